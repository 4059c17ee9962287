# SPDX-License-Identifier: MIT
"""fdsctl calls, cancel and bwlimit against a real fdsd, with a capped copy
running so there is something to see and steer."""

import json
import os
import subprocess
import time

from fdstest import FDSCTL, IFACE, need_fdsctl, pattern, write
from test_control import MIB, Streamed, make_files, the_call


def running_copy(fdsd, tmp_path, n=20, size=256 << 10, cap=1 * MIB):
    srcs = make_files(str(tmp_path / "src"), n, size)
    pairs = [(s, str(tmp_path / "out" / os.path.basename(s))) for s in srcs]
    call = Streamed(fdsd, pairs, parallelism=1, transfer={"max_bandwidth": cap})
    return call, the_call(fdsd)


def test_calls_table_and_json(run_fdsctl, fdsd, tmp_path):
    p = run_fdsctl("calls")
    assert p.returncode == 0
    assert p.stdout.decode().splitlines()[1:] == ["daemon cap: none"], p.stdout
    call, info = running_copy(fdsd, tmp_path)
    p = run_fdsctl("--json", "calls")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert [c["id"] for c in out["calls"]] == [info["id"]] and out["max_bandwidth"] == 0, out
    c = out["calls"][0]
    assert (c["method"], c["uid"], c["pid"], c["files"], c["max_bandwidth"]) == \
        ("Copy", os.getuid(), os.getpid(), 20, MIB), c
    p = run_fdsctl("calls")
    lines = p.stdout.decode().splitlines()
    assert lines[0].split() == ["ID", "CALL", "UID", "PID", "STATE", "DONE/FILES", "FLIGHT", "QUEUED",
                                "BYTES", "RATE", "CAP", "AGE"], lines
    row = lines[1].split()
    assert row[:5] == [str(info["id"]), "Copy", str(os.getuid()), str(os.getpid()), "running"], row
    assert row[5].endswith("/20") and "1.0 MiB/s" in lines[1], lines[1]
    assert run_fdsctl("cancel", info["id"]).returncode == 0
    call.join()


def test_cancel_and_bwlimit_a_call(run_fdsctl, fdsd, tmp_path):
    call, info = running_copy(fdsd, tmp_path)
    p = run_fdsctl("bwlimit", "4M", info["id"])
    assert p.returncode == 0 and p.stdout.decode() == f"call {info['id']} cap: 4.0 MiB/s\n", p
    assert the_call(fdsd)["max_bandwidth"] == 4 * MIB
    p = run_fdsctl("cancel", info["id"])
    assert p.returncode == 0 and p.stdout.decode() == f"call {info['id']}: canceled\n", p
    last = call.join()
    assert last["parameters"]["summary"]["files_failed"] >= 1, last
    # Gone: reported, exit 1, and the other IDs still tried.
    p = run_fdsctl("cancel", info["id"], "999999")
    assert p.returncode == 1, p
    err = p.stderr.decode()
    assert f"call {info['id']}: no running call has id {info['id']}" in err, err
    assert "call 999999: no running call has id 999999" in err, err
    p = run_fdsctl("bwlimit", "1M", "999999")
    assert p.returncode == 1 and "no running call has id 999999" in p.stderr.decode(), p


def test_bwlimit_of_the_daemon(run_fdsctl, fdsd):
    assert run_fdsctl("bwlimit").stdout == b"off\n"
    p = run_fdsctl("bwlimit", "1.5G")
    assert p.returncode == 0 and p.stdout == b"daemon cap: 1.5 GiB/s\n", p
    assert run_fdsctl("bwlimit").stdout == b"1.5 GiB/s\n"
    with fdsd.connect() as c:
        assert c.call(f"{IFACE}.Calls")["max_bandwidth"] == 3 * (1 << 29)
    assert run_fdsctl("-q", "bwlimit", "off").stdout == b""
    assert run_fdsctl("bwlimit").stdout == b"off\n"


def test_cancel_a_running_fdsctl_copy(run_fdsctl, fdsd, tmp_path):
    """The copying fdsctl hears every result: exit 1, Canceled named."""
    need_fdsctl()
    src = write(str(tmp_path / "big"), pattern(4 * MIB, 1))
    cp = subprocess.Popen([FDSCTL, "--socket", fdsd.socket, "-o", "transfer.max_bandwidth=1048576",
                           "copy", src, str(tmp_path / "copy")], stderr=subprocess.PIPE)
    info = the_call(fdsd)
    time.sleep(0.3)
    assert run_fdsctl("-q", "cancel", info["id"]).returncode == 0
    _, err = cp.communicate(timeout=30)
    assert cp.returncode == 1, err
    assert b"Canceled" in err, err
    assert not os.path.exists(tmp_path / "copy")


def test_usage_errors(run_fdsctl):
    for args, words in ((["cancel"], "cancel wants the ID"),
                        (["cancel", "-3"], "invalid option"),
                        (["cancel", "x1"], "'x1' is not a call ID"),
                        (["calls", "1"], "calls takes no operands"),
                        (["bwlimit", "100"], "'100' is not a rate"),
                        (["bwlimit", "10Q"], "'10Q' is not a rate"),
                        (["bwlimit", "10M", "1", "2"], "bwlimit wants [RATE [ID]]"),
                        (["-r", "calls"], "calls takes none of")):
        p = run_fdsctl(*args)
        assert p.returncode == 2 and words in p.stderr.decode(), (args, p.stderr)
