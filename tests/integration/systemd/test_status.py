# SPDX-License-Identifier: MIT
"""The Status call and `fdsctl status`: version, uptime, work in flight and
counters since start, for people and as JSON."""

import json
import os
import re
import subprocess
import time

import pytest

from fdstest import FDSCTL, IFACE, SERVICE, make_sparse, need_fdsctl, write

FIELDS = {"version": str, "uptime_seconds": float, "connections": int, "connections_total": int,
          "batches": int, "batches_total": int, "files_in_flight": int, "files_queued": int,
          "files_ok": int, "files_failed": int, "bytes": int, "bytes_per_second": int, "s3_requests": int, "retries": int,
          "calls_failed": int}


def status(d):
    with d.connect() as c:
        return c.call(f"{IFACE}.Status")


def test_status_fields(start_daemon):
    d = start_daemon()
    with d.connect() as c:
        s = c.call(f"{IFACE}.Status")
        assert set(s) == set(FIELDS), s
        for k, t in FIELDS.items():
            assert isinstance(s[k], t) and (t is str or s[k] >= 0), (k, s[k])
        assert s["version"] == c.call(f"{SERVICE}.GetInfo")["version"]
        assert s["connections"] >= 1
        assert s["batches"] == s["files_in_flight"] == s["files_queued"] == 0
        time.sleep(0.2)
        assert c.call(f"{IFACE}.Status")["uptime_seconds"] >= s["uptime_seconds"] + 0.2


def test_status_refuses_parameters(start_daemon):
    d = start_daemon()
    with d.connect() as c:
        e = c.call_error(f"{IFACE}.Status", {"verbose": True})
        assert e["error"] == f"{SERVICE}.InvalidParameter"
        assert e["parameters"] == {"parameter": "verbose"}
        assert c.call(f"{IFACE}.Status")["version"]


def test_status_counts(start_daemon, tmp_path):
    d = start_daemon()
    a = write(str(tmp_path / "a"), b"a" * 1000)
    b = write(str(tmp_path / "b"), b"b" * 3000)
    with d.connect() as c:
        c.call(f"{IFACE}.Copy", {"copies": [{"src": a, "dst": str(tmp_path / "out" / "a")},
                                            {"src": b, "dst": str(tmp_path / "out" / "b")}]})
        # Size moves nothing; Read moves what it returns.
        c.call(f"{IFACE}.Size", {"files": {"b": b}})
        c.call(f"{IFACE}.Read", {"files": {"a": a}})
        # Refused as a whole: a failed call, no file.
        c.call_error(f"{IFACE}.Copy", {"copies": [{"src": str(tmp_path / "none"), "dst": str(tmp_path / "x")}]})
        # Started without validation: a failed file.
        c.call(f"{IFACE}.Copy", {"copies": [{"src": str(tmp_path / "none"), "dst": str(tmp_path / "x")}],
                                 "options": {"validate": False}})
        s = c.call(f"{IFACE}.Status")
    assert s["batches_total"] == 5, s
    assert s["files_ok"] == 4, s
    assert s["files_failed"] == 1, s
    assert s["bytes"] == 1000 + 3000 + 1000, s
    assert s["calls_failed"] == 1, s
    assert s["retries"] == 0, s
    assert s["s3_requests"] == 0, s  # all local


def test_status_rate(start_daemon, tmp_path):
    """The rate covers the last few seconds: soon after a copy it shows."""
    d = start_daemon()
    src = write(str(tmp_path / "big"), os.urandom(8 << 20))
    with d.connect() as c:
        c.call(f"{IFACE}.Copy", {"copies": [{"src": src, "dst": str(tmp_path / "copy")}]})
        deadline = time.monotonic() + 3
        while (s := c.call(f"{IFACE}.Status"))["bytes_per_second"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert s["bytes"] == 8 << 20
    # Bytes over the seconds between two samples; a timer may fire a little early.
    assert 0 < s["bytes_per_second"] <= 2 * (8 << 20), s


def test_status_in_flight(start_daemon, tmp_path):
    d = start_daemon("--max-inflight", "2")
    srcs = [make_sparse(str(tmp_path / "src" / f"f{i:03d}"), 4 << 20, head=os.urandom(64)) for i in range(200)]
    copies = [{"src": s, "dst": str(tmp_path / "dst" / os.path.basename(s))} for s in srcs]
    with d.connect() as busy:
        busy.send(f"{IFACE}.Copy", {"copies": copies, "options": {"parallelism": 2}}, more=True)
        assert busy.recv()["parameters"]["result"]["ok"]
        s = status(d)
        assert s["batches"] == 1, s
        assert 1 <= s["files_in_flight"] <= 2, s
        assert 0 < s["files_queued"] < 200, s
        assert s["connections"] >= 2, s
    # The busy client left: its batch is canceled and nothing stays in flight.
    deadline = time.monotonic() + 10
    while (s := status(d))["batches"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert s["batches"] == s["files_in_flight"] == s["files_queued"] == 0, s


@pytest.fixture
def fdsctl_status(start_daemon):
    need_fdsctl()
    d = start_daemon()

    def run(*args):
        p = subprocess.run([FDSCTL, "--socket", d.socket, *args], capture_output=True, text=True,
                           timeout=60)
        print(f"$ fdsctl {' '.join(args)} -> {p.returncode}\n{p.stdout}{p.stderr}")
        return p

    run.daemon = d
    return run


def test_fdsctl_status_human(fdsctl_status, tmp_path):
    p = fdsctl_status("status")
    assert p.returncode == 0 and p.stderr == ""
    lines = p.stdout.splitlines()
    assert re.fullmatch(r"fdsd \S+, up \d+s", lines[0]), lines
    assert [line.split(":")[0] for line in lines[1:]] == [
        "connections", "batches", "files", "moved", "s3 requests", "calls failed"]
    assert re.fullmatch(r"connections:\s+\d+ \(\d+ since start\)", lines[1]), lines
    assert re.fullmatch(r"moved:\s+0 B, 0 B/s now", lines[4]), lines


def test_fdsctl_status_json(fdsctl_status, tmp_path):
    src = write(str(tmp_path / "a"), b"z" * 2048)
    with fdsctl_status.daemon.connect() as c:
        c.call(f"{IFACE}.Copy", {"copies": [{"src": src, "dst": str(tmp_path / "b")}]})
    p = fdsctl_status("--json", "status")
    assert p.returncode == 0 and p.stderr == ""
    s = json.loads(p.stdout)
    assert set(s) == set(FIELDS), s
    assert s["files_ok"] == 1 and s["bytes"] == 2048 and s["connections"] >= 1, s
    assert p.stdout.count("\n") == 1


def test_fdsctl_status_usage(fdsctl_status):
    p = fdsctl_status("status", "/extra")
    assert p.returncode == 2
    assert "status takes no PATH" in p.stderr


def test_fdsctl_status_no_daemon(tmp_path):
    need_fdsctl()
    p = subprocess.run([FDSCTL, "--socket", str(tmp_path / "none.sock"), "status"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 2
    assert "cannot connect" in p.stderr
