# SPDX-License-Identifier: MIT
"""Live control of a real fdsd: Calls lists running calls, Cancel stops
one (its caller still gets every result, canceled files end Canceled and
leave no temporary file), SetBandwidth changes a call's or the daemon's
cap while bytes move, and the observed rate follows."""

import os
import time

import pytest

from fdstest import IFACE, Streamed, VarlinkError, pattern, read, temp_files, wait_for, write

MIB = 1 << 20


def make_files(root, n, size):
    return [write(f"{root}/f{i:03d}", pattern(size, i)) for i in range(n)]


def calls(fdsd):
    with fdsd.connect() as c:
        return c.call(f"{IFACE}.Calls")


def the_call(fdsd, method="Copy"):
    """The one running call of that method, once it is running."""
    def find():
        mine = [x for x in calls(fdsd)["calls"] if x["method"] == method and x["state"] == "running"]
        return mine[0] if len(mine) == 1 else None
    return wait_for(find, what=f"a running {method} call")


def test_calls_shows_a_running_call_and_nothing_after(fdsd, tmp_path):
    assert calls(fdsd) == {"calls": [], "max_bandwidth": 0}
    srcs = make_files(str(tmp_path / "src"), 8, 256 << 10)
    pairs = [(s, str(tmp_path / "out" / os.path.basename(s))) for s in srcs]
    call = Streamed(fdsd, pairs, parallelism=1, transfer={"max_bandwidth": 1 * MIB})
    info = the_call(fdsd)
    assert info["uid"] == os.getuid() and info["pid"] == os.getpid(), info
    assert info["files"] == 8 and info["max_bandwidth"] == MIB, info
    assert info["files_in_flight"] == 1, info
    assert info["files_ok"] + info["files_queued"] + 1 == 8, info
    assert info["seconds"] > 0, info
    later = wait_for(lambda: (lambda x: x if x and x["files_ok"] >= 2 else None)(
        next(iter(calls(fdsd)["calls"]), None)), what="two files done")
    assert later["bytes"] >= 2 * (256 << 10), later
    # bytes over seconds: around the cap, never far over it.
    assert later["bytes_per_second"] <= 1.5 * MIB, later
    last = call.join()
    assert last["parameters"]["summary"]["files_ok"] == 8, last
    assert calls(fdsd)["calls"] == []


def test_cancel_answers_the_caller_with_every_result(fdsd, tmp_path):
    srcs = make_files(str(tmp_path / "src"), 12, 512 << 10)
    out = tmp_path / "out"
    pairs = [(s, str(out / os.path.basename(s))) for s in srcs]
    call = Streamed(fdsd, pairs, parallelism=2, transfer={"max_bandwidth": 2 * MIB})
    info = the_call(fdsd)
    wait_for(lambda: len(call.results) >= 2, what="two results")
    with fdsd.connect() as c:
        assert c.call(f"{IFACE}.Cancel", {"id": info["id"]}) == {"canceled": True}
    last = call.join()
    assert "error" not in last, last
    summary = last["parameters"]["summary"]
    results = [r for _, r in call.results]
    assert sorted(r["index"] for r in results) == list(range(12)), results
    ok = [r for r in results if r["ok"]]
    canceled = [r for r in results if not r["ok"]]
    assert summary["files_ok"] == len(ok) >= 2 and summary["files_failed"] == len(canceled) >= 1, summary
    for r in canceled:
        assert r["error"]["code"] == "Canceled", r
        assert not os.path.exists(r["dst"]), r
    for r in ok:
        assert read(r["dst"]) == read(r["src"]), r
    assert temp_files(str(out)) == []
    assert calls(fdsd)["calls"] == []
    # Gone now, so a second Cancel finds nothing.
    with fdsd.connect() as c:
        e = c.call_error(f"{IFACE}.Cancel", {"id": info["id"]})
    assert e["error"] == f"{IFACE}.NoSuchCall" and e["parameters"] == {"id": info["id"]}, e


def test_cancel_a_big_call_early(fdsd, tmp_path):
    """A call of 5,000 files canceled as soon as it shows: the files that
    did not run end Canceled, in the one unstreamed reply."""
    n = 5000
    src = write(str(tmp_path / "one"), pattern(1024, 1))
    out = tmp_path / "o"
    c = fdsd.connect(timeout=120)
    c.send(f"{IFACE}.Copy", {"copies": [{"src": src, "dst": f"{out}/{i}"} for i in range(n)],
                             "options": {"parallelism": 1, "transfer": {"max_bandwidth": 1024}}})
    info = wait_for(lambda: next(iter(calls(fdsd)["calls"]), None), what="the call")
    with fdsd.connect() as k:
        assert k.call(f"{IFACE}.Cancel", {"id": info["id"]})["canceled"] is True
    reply = c.recv()
    c.close()
    p = reply["parameters"]
    assert p["summary"]["files_ok"] + p["summary"]["files_failed"] == n, p["summary"]
    assert p["summary"]["files_failed"] >= n - 10, p["summary"]
    assert len(p["results"]) == n
    codes = {r["error"]["code"] for r in p["results"] if not r["ok"]}
    assert codes == {"Canceled"}, codes
    assert not out.exists() or temp_files(str(out)) == []


@pytest.mark.parametrize("params,bad", [
    ({}, "id"),
    ({"id": "1"}, "id"),
    ({"id": -1}, "id"),
    ({"id": 1, "force": 1}, "force"),
])
def test_cancel_bad_parameters(client, params, bad):
    e = client.call_error(f"{IFACE}.Cancel", params)
    assert e["error"] == "org.varlink.service.InvalidParameter" and e["parameters"] == {"parameter": bad}, e


def test_no_such_call(client):
    for method, params in ((f"{IFACE}.Cancel", {"id": 4242}),
                           (f"{IFACE}.SetBandwidth", {"id": 4242, "max_bandwidth": MIB})):
        e = client.call_error(method, params)
        assert e["error"] == f"{IFACE}.NoSuchCall" and e["parameters"] == {"id": 4242}, e


@pytest.mark.parametrize("params,bad", [
    ({}, "max_bandwidth"),
    ({"max_bandwidth": -5}, "max_bandwidth"),
    ({"max_bandwidth": 1.5}, "max_bandwidth"),
    ({"max_bandwidth": 1023}, "max_bandwidth"),
    ({"max_bandwidth": (1 << 50) + 1}, "max_bandwidth"),
    ({"max_bandwidth": 1, "id": "x"}, "id"),
    ({"max_bandwidth": 1, "rate": 1}, "rate"),
])
def test_set_bandwidth_bad_parameters(client, params, bad):
    e = client.call_error(f"{IFACE}.SetBandwidth", params)
    assert e["error"] == "org.varlink.service.InvalidParameter" and e["parameters"] == {"parameter": bad}, e


def rate(call, t0, t1):
    """Bytes per second of the results that arrived within [t0, t1]: the
    bytes after the first of them over the time from it to the last."""
    inside = [(t, r["bytes"]) for t, r in call.results if t0 <= t <= t1]
    assert len(inside) >= 3, (t0, t1, len(inside))
    return sum(b for _, b in inside[1:]) / (inside[-1][0] - inside[0][0])


def test_set_bandwidth_of_a_call_changes_its_rate(fdsd, tmp_path):
    srcs = make_files(str(tmp_path / "src"), 60, 256 << 10)
    pairs = [(s, str(tmp_path / "out" / os.path.basename(s))) for s in srcs]
    call = Streamed(fdsd, pairs, parallelism=1, transfer={"max_bandwidth": 1 * MIB})
    info = the_call(fdsd)
    t0 = time.monotonic()
    time.sleep(3)
    t1 = time.monotonic()
    with fdsd.connect() as c:
        assert c.call(f"{IFACE}.SetBandwidth", {"id": info["id"], "max_bandwidth": 4 * MIB}) == {}
    assert the_call(fdsd)["max_bandwidth"] == 4 * MIB
    time.sleep(1.5)
    t2 = time.monotonic()
    last = call.join()
    t3 = max(t for t, _ in call.results)
    assert last["parameters"]["summary"]["files_ok"] == 60, last
    before, after = rate(call, t0, t1), rate(call, t2, t3)
    print(f"before {before / MIB:.2f} MiB/s, after {after / MIB:.2f} MiB/s")
    assert 0.8 * MIB <= before <= 1.25 * MIB, before
    assert 3.2 * MIB <= after <= 5 * MIB, after


def test_set_bandwidth_of_the_daemon(fdsd, tmp_path):
    with fdsd.connect() as c:
        assert c.call(f"{IFACE}.SetBandwidth", {"max_bandwidth": 1 * MIB}) == {}
    assert calls(fdsd)["max_bandwidth"] == MIB
    srcs = make_files(str(tmp_path / "src"), 12, 256 << 10)
    pairs = [(s, str(tmp_path / "out" / os.path.basename(s))) for s in srcs]
    call = Streamed(fdsd, pairs, parallelism=1)
    the_call(fdsd)
    t0 = time.monotonic()
    time.sleep(1.5)
    t1 = time.monotonic()
    with fdsd.connect() as c:
        c.call(f"{IFACE}.SetBandwidth", {"max_bandwidth": 0})
    last = call.join()
    t2 = time.monotonic()
    assert last["parameters"]["summary"]["files_ok"] == 12, last
    assert rate(call, t0, t1) <= 1.25 * MIB, rate(call, t0, t1)
    # Uncapped, the 3 MiB left go at once.
    assert t2 - t1 < 1.5, t2 - t1
    assert calls(fdsd)["max_bandwidth"] == 0


def test_oneway_cancel_says_nothing_and_cancels(fdsd, tmp_path):
    srcs = make_files(str(tmp_path / "src"), 6, 256 << 10)
    pairs = [(s, str(tmp_path / "out" / os.path.basename(s))) for s in srcs]
    call = Streamed(fdsd, pairs, parallelism=1, transfer={"max_bandwidth": 256 << 10})
    info = the_call(fdsd)
    with fdsd.connect() as c:
        c.send(f"{IFACE}.Cancel", {"id": info["id"]}, oneway=True)
        # The next reply on the connection is that of the next call.
        assert set(c.call(f"{IFACE}.Calls")) == {"calls", "max_bandwidth"}
    last = call.join()
    assert last["parameters"]["summary"]["files_failed"] >= 1, last
