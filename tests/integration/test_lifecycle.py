# SPDX-License-Identifier: MIT
"""Connections and the daemon's life: a client leaving mid-batch, fairness
between connections, SIGTERM during work, and who owns the socket."""

import os
import select
import signal
import socket
import subprocess
import threading
import time

import pytest

from fdstest import Daemon
from fdstest import (FDSD, IFACE, SERVICE, STOP_TIMEOUT, make_sparse, make_tree, read, temp_files,
                     write)

CANCEL_LOG = r"client went away; canceling batch"


def copies(pairs):
    return [{"src": s, "dst": d} for s, d in pairs]


def big_sources(root, n, size):
    """n sparse files of size bytes, each with a distinct head."""
    return [make_sparse(os.path.join(root, f"big{i:03d}"), size, head=os.urandom(4096))
            for i in range(n)]


def wait_no_temp_files(root, timeout=5.0):
    deadline = time.monotonic() + timeout
    while temp_files(root) and time.monotonic() < deadline:
        time.sleep(0.05)
    return temp_files(root)


def assert_whole_copies(pairs):
    """Every destination that exists is a complete copy: no half-written file."""
    done = 0
    for s, d in pairs:
        if os.path.exists(d):
            assert os.path.getsize(d) == os.path.getsize(s), d
            assert read(d) == read(s), d
            done += 1
    return done


def one_copy(conn, tmp_path, name):
    src = write(str(tmp_path / f"{name}.src"), name.encode())
    dst = str(tmp_path / "small-out" / name)
    reply = conn.call(f"{IFACE}.Copy", {"copies": [{"src": src, "dst": dst}]})
    assert reply["summary"]["files_ok"] == 1, reply
    assert read(dst) == name.encode()


def test_client_disconnects_mid_batch(start_fdsd, tmp_path):
    d = start_fdsd("--log-level", "debug")
    n, size = 200, 5 << 20
    srcs = big_sources(str(tmp_path / "src"), n, size)
    out = str(tmp_path / "out")
    pairs = [(s, os.path.join(out, f"sub{i % 4}", f"f{i:03d}")) for i, s in enumerate(srcs)]

    leaving = d.connect()
    leaving.send(f"{IFACE}.Copy", {"copies": copies(pairs), "options": {"parallelism": 2}},
                 more=True)
    first = leaving.recv()
    assert first.get("continues") and first["parameters"]["result"]["ok"], first
    leaving.close()

    d.wait_log(CANCEL_LOG)
    # The daemon keeps serving: another client copies a file.
    with d.connect() as other:
        one_copy(other, tmp_path, "after-cancel")
        assert IFACE in other.call(f"{SERVICE}.GetInfo")["interfaces"]

    assert wait_no_temp_files(out) == [], "temporary files left after the cancel"
    copied = assert_whole_copies(pairs)
    assert 1 <= copied < n, f"{copied} of {n} files copied: the batch was not canceled"
    # Nothing more is written after the cancel.
    time.sleep(0.3)
    assert assert_whole_copies(pairs) == copied
    assert temp_files(out) == []


def test_fairness_small_call_overtakes_big_batch(start_fdsd, tmp_path):
    d = start_fdsd("--max-inflight", "2")
    n = 20000
    # One source (creating 20,000 would cost more than copying them) to
    # destinations in 200 directories.
    src = write(str(tmp_path / "src"), b"fairness" * 8)
    pairs = [(src, str(tmp_path / "dst" / f"d{i // 100:03d}" / f"f{i:05d}")) for i in range(n)]

    with d.connect() as big, d.connect() as small:
        t0 = time.monotonic()
        big.send(f"{IFACE}.Copy", {"copies": copies(pairs)})
        # Wait for the big batch to be copying (past its validation).
        while not os.path.exists(pairs[0][1]):
            assert time.monotonic() - t0 < 60, "the big batch never started copying"
            time.sleep(0.005)
        t1 = time.monotonic()
        one_copy(small, tmp_path, "small")
        t_small = time.monotonic() - t1
        big_done_first = bool(select.select([big.sock], [], [], 0)[0])
        reply = big.recv()
        t_big = time.monotonic() - t0
    assert not big_done_first, (
        f"the one-file Copy ({t_small:.2f} s) finished only after the {n}-file batch")
    assert reply["parameters"]["summary"]["files_ok"] == n, reply["parameters"]["summary"]
    assert t_small < 5.0, f"the one-file Copy took {t_small:.2f} s"
    print(f"small: {t_small:.3f} s, big: {t_big:.3f} s")
    for i in range(0, n, 997):
        assert read(pairs[i][1]) == b"fairness" * 8


def test_sigterm_during_big_batch(start_fdsd, tmp_path):
    d = start_fdsd("--log-level", "debug")
    n, size = 100, 5 << 20
    srcs = big_sources(str(tmp_path / "src"), n, size)
    out = str(tmp_path / "out")
    pairs = [(s, os.path.join(out, f"f{i:03d}")) for i, s in enumerate(srcs)]
    with d.connect() as conn:
        conn.send(f"{IFACE}.Copy", {"copies": copies(pairs), "options": {"parallelism": 4}},
                  more=True)
        assert conn.recv()["parameters"]["result"]["ok"]
        t0 = time.monotonic()
        # Raises unless fdsd exits 0 within STOP_TIMEOUT and the log is clean.
        d.check_stopped_cleanly(STOP_TIMEOUT)
        elapsed = time.monotonic() - t0
        # The client sees the connection end, possibly after a few results,
        # never a summary claiming every file.
        try:
            while True:
                msg = conn.recv()
                assert "summary" not in msg["parameters"] or \
                    msg["parameters"]["summary"]["files_ok"] < n, msg
        except (EOFError, ConnectionResetError):
            pass
    print(f"exited {elapsed:.2f} s after SIGTERM")
    assert temp_files(out) == []
    copied = assert_whole_copies(pairs)
    assert copied < n
    assert not os.path.exists(d.socket), "the socket file is left behind"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_idle_with_connections(start_fdsd, sig):
    d = start_fdsd()
    with d.connect() as a, d.connect() as b:
        assert IFACE in a.call(f"{SERVICE}.GetInfo")["interfaces"]
        b.send_raw(b'{"method": "org.varlink.service.GetInfo"')  # half a message
        time.sleep(0.1)
        d.proc.send_signal(sig)
        assert d.proc.wait(STOP_TIMEOUT) == 0, d.log()
        assert a.at_eof() and b.at_eof()
    assert "Sanitizer" not in d.log()
    assert not os.path.exists(d.socket)


def test_second_daemon_refuses_live_socket(start_fdsd, tmp_path):
    first = start_fdsd()
    second = start_fdsd(socket_path=first.socket, wait=False, name="second")
    rc = second.proc.wait(STOP_TIMEOUT)
    assert rc != 0
    log = second.log()
    assert first.socket in log, log
    assert "another fdsd" in log or "in use" in log.lower(), log
    # The first keeps its socket and keeps serving.
    assert os.path.exists(first.socket)
    with first.connect() as c:
        assert IFACE in c.call(f"{SERVICE}.GetInfo")["interfaces"]


def test_stale_socket_is_taken_over(start_fdsd, tmp_path):
    path = str(tmp_path / "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()  # the file stays, nobody listens: what a crashed daemon leaves
    assert os.path.exists(path)
    d = start_fdsd(socket_path=path)
    with d.connect() as c:
        assert IFACE in c.call(f"{SERVICE}.GetInfo")["interfaces"]


def test_socket_path_that_is_a_regular_file(start_fdsd, tmp_path):
    path = write(str(tmp_path / "not-a-socket"), b"precious")
    d = start_fdsd(socket_path=path, wait=False)
    assert d.proc.wait(STOP_TIMEOUT) != 0
    assert path in d.log(), d.log()
    assert read(path) == b"precious"


def test_socket_directory_created(start_fdsd, tmp_path):
    path = str(tmp_path / "run" / "fds" / "fdsd.sock")
    d = start_fdsd(socket_path=path)
    with d.connect() as c:
        assert IFACE in c.call(f"{SERVICE}.GetInfo")["interfaces"]


def fd_count(d):
    return len(os.listdir(f"/proc/{d.proc.pid}/fd"))


def test_many_clients_at_once(start_fdsd, tmp_path):
    d = start_fdsd("--max-inflight", "8")
    src_root = str(tmp_path / "src")
    rels = make_tree(src_root, 25, per_dir=5)
    errors = []

    def worker(k):
        try:
            pairs = [(os.path.join(src_root, r), str(tmp_path / f"c{k}" / r)) for r in rels]
            with d.connect() as c:
                if k % 2:
                    replies = c.call_more(f"{IFACE}.Copy", {"copies": copies(pairs)})
                    assert replies[-1]["parameters"]["summary"]["files_ok"] == len(pairs)
                else:
                    reply = c.call(f"{IFACE}.Copy", {"copies": copies(pairs)})
                    assert reply["summary"]["files_ok"] == len(pairs)
                sizes = c.call(f"{IFACE}.Size", {"files": {r: d_ for r, (_, d_) in
                                                            zip(rels, pairs)}})
                assert sizes["errors"] == {}
            for s, dst in pairs:
                assert read(dst) == read(s)
        except Exception as e:  # reported below, with the client's number
            errors.append(f"client {k}: {e!r}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors


def test_no_fd_leak(start_fdsd, tmp_path):
    d = start_fdsd("--max-message-size", "64K", "--max-connections", "8")
    time.sleep(0.2)
    base = fd_count(d)
    src = write(str(tmp_path / "a"), b"a" * 1000)
    bigs = big_sources(str(tmp_path / "big"), 20, 5 << 20)
    for i in range(3):
        with d.connect() as c:
            c.call(f"{IFACE}.Copy", {"copies": [{"src": src, "dst": str(tmp_path / f"o{i}")}]})
            c.call(f"{IFACE}.Copy", {"copies": [{"src": src, "dst": src}]})  # per-file error
            c.call_error(f"{IFACE}.Copy", {"copies": [{"src": "/nope", "dst": "/x"}]})
            c.call(f"{IFACE}.Size", {"files": {"a": src, "m": "/nope"}})
            c.call(f"{IFACE}.Read", {"files": {"a": src, "d": str(tmp_path)}})
            c.send_raw(b"garbage\0")
            c.recv()
        with d.connect() as c:
            c.send_raw(b"x" * (128 << 10))
            assert c.recv()["error"].endswith("MessageTooLarge")
        leaving = d.connect()
        leaving.send(f"{IFACE}.Copy", {"copies": [
            {"src": s, "dst": str(tmp_path / f"bo{i}" / os.path.basename(s))} for s in bigs],
            "options": {"parallelism": 2}}, more=True)
        leaving.recv()
        leaving.close()
    time.sleep(0.2)
    conns = [d.connect() for _ in range(10)]  # two over the limit
    for c in conns:
        c.close()
    deadline = time.monotonic() + 5
    while fd_count(d) != base and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fd_count(d) == base, os.listdir(f"/proc/{d.proc.pid}/fd")
    assert temp_files(str(tmp_path)) == []


def long_dst_pairs(tmp_path, n):
    """n copies of one file to paths of about 1,100 bytes, so that the
    results of a few thousand outgrow fdsd's reply backlog (4 MiB)."""
    src = write(str(tmp_path / "one-source"), b"same source for every copy")
    deep = os.path.join(str(tmp_path), *[f"{k}" * 200 for k in range(5)])
    return [(src, os.path.join(deep, f"copy-{i:05d}")) for i in range(n)]


def test_slow_reader_gets_every_result(start_fdsd, tmp_path):
    """A streaming client that stops reading (the daemon has to hold back
    replies) still gets each result exactly once."""
    d = start_fdsd()
    n = 5000
    pairs = long_dst_pairs(tmp_path, n)
    with d.connect() as c:
        c.send(f"{IFACE}.Copy", {"copies": copies(pairs)}, more=True)
        time.sleep(1.5)
        seen = set()
        while True:
            msg = c.recv()
            assert "error" not in msg, msg
            if not msg.get("continues"):
                break
            r = msg["parameters"]["result"]
            assert r["ok"] and r["index"] not in seen, r
            seen.add(r["index"])
        assert seen == set(range(n))
        assert msg["parameters"]["summary"]["files_ok"] == n
        # The connection is still good for another call.
        assert IFACE in c.call(f"{SERVICE}.GetInfo")["interfaces"]


def test_sigterm_with_client_not_reading(start_fdsd, tmp_path):
    """Replies the client never reads do not keep fdsd from stopping."""
    d = start_fdsd()
    pairs = long_dst_pairs(tmp_path, 5000)
    with d.connect() as c:
        c.send(f"{IFACE}.Copy", {"copies": copies(pairs)}, more=True)
        time.sleep(1.0)
        d.check_stopped_cleanly(STOP_TIMEOUT)
    assert temp_files(str(tmp_path)) == []


def test_sigterm_right_after_big_call(start_fdsd, tmp_path):
    d = start_fdsd()
    pairs = long_dst_pairs(tmp_path, 20000)
    with d.connect() as c:
        c.send(f"{IFACE}.Copy", {"copies": copies(pairs)})
        time.sleep(0.05)
        # The signal waits while the loop decodes a 20,000-file message;
        # the bound is the daemon's own (10 s), which sanitizers and a
        # loaded machine can approach.
        d.check_stopped_cleanly(10.0)
    assert temp_files(str(tmp_path)) == []


@pytest.mark.parametrize("args", [
    ["--parallelism", "0"],
    ["--max-inflight", "-1"],
    ["--max-message-size", "10"],
    ["--max-message-size", "1Q"],
    ["--log-level", "chatty"],
    ["--no-such-option"],
    ["extra-argument"],
])
def test_fdsd_bad_arguments(tmp_path, args):
    p = subprocess.run([FDSD, "--socket", str(tmp_path / "s.sock")] + args,
                       capture_output=True, timeout=30)
    assert p.returncode == 2, (args, p.returncode, p.stderr)
    assert p.stderr
    assert not os.path.exists(str(tmp_path / "s.sock"))


def test_fdsd_socket_path_too_long(start_fdsd, tmp_path):
    """A path that does not fit sockaddr_un is refused, not cut short."""
    parent = str(tmp_path / ("d" * 120))
    path = os.path.join(parent, "fdsd.sock")
    d = start_fdsd(socket_path=path, wait=False)
    try:
        rc = d.proc.wait(3)
    except subprocess.TimeoutExpired:
        rc = None
    leftovers = [os.path.join(dp, f) for dp, _, fs in os.walk(str(tmp_path))
                 for f in fs if not f.endswith(".log")]
    assert rc is not None and rc != 0, (
        f"fdsd with a {len(path)}-byte socket path kept running; it created "
        f"{leftovers} instead:\n{d.log()}")
    assert "fdsd.sock" in d.log(), d.log()
    assert leftovers == [], leftovers


def test_kill_9_mid_copy_then_restart_removes_the_temporaries(start_fdsd, tmp_path):
    """SIGKILL while local copies run leaves their temporaries; the next
    start on the same state directory removes them (the crash journal) and
    says so, and the destinations are whole or absent."""
    data = os.urandom(4 << 20)
    src = write(str(tmp_path / "src"), data)
    out = tmp_path / "out"
    d = start_fdsd("--max-bandwidth", str(1 << 20), name="crashy")
    c = d.connect()
    c.send(f"{IFACE}.Copy", {"copies": [{"src": src, "dst": str(out / f"d{i}" / "f")} for i in range(4)],
                             "options": {"parallelism": 4}}, more=True)
    deadline = time.monotonic() + 20
    while len(temp_files(str(out))) < 4:
        assert time.monotonic() < deadline, "the copies did not start"
        time.sleep(0.02)
    d.kill()
    c.close()
    assert len(temp_files(str(out))) == 4
    d = start_fdsd(name="crashy")
    assert temp_files(str(out)) == []
    d.wait_log("an earlier run did not end: removed 4 temporary files, 0 multipart uploads to abort")
    for i in range(4):
        f = out / f"d{i}" / "f"
        assert not f.exists() or f.read_bytes() == data


def test_a_second_daemon_on_the_same_state_directory_keeps_no_journal(start_fdsd, tmp_path):
    """It must not clean up what the first one is doing: it says so and
    serves anyway, and the first one's temporaries stay."""
    state = str(tmp_path / "shared-state")
    env = {**os.environ, "STATE_DIRECTORY": state}
    first = Daemon(str(tmp_path), ["--max-bandwidth", str(1 << 20)], name="first", env=env).start()
    try:
        src = write(str(tmp_path / "src"), os.urandom(2 << 20))
        c = first.connect()
        c.send(f"{IFACE}.Copy", {"copies": [{"src": src, "dst": str(tmp_path / "out" / "f")}]}, more=True)
        deadline = time.monotonic() + 20
        while not temp_files(str(tmp_path / "out")):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        second = Daemon(str(tmp_path), [], name="second", env=env).start()
        try:
            second.wait_log("another fdsd keeps its journal in")
            assert len(temp_files(str(tmp_path / "out"))) == 1
            with second.connect() as s:
                assert IFACE in s.call(f"{SERVICE}.GetInfo")["interfaces"]
        finally:
            assert second.stop_and_check() == []
        c.close()
    finally:
        assert first.stop_and_check() == []


def test_restart_removes_the_temporary_of_a_name_with_fds_in_it(start_fdsd, tmp_path):
    """The temporary's tag is the end of its name: a file called
    "x.fds-notes" gets ".x.fds-notes.fds-<hex>", removed all the same."""
    src = write(str(tmp_path / "src"), os.urandom(2 << 20))
    out = tmp_path / "out"
    d = start_fdsd("--max-bandwidth", str(1 << 20), name="crashy2")
    c = d.connect()
    c.send(f"{IFACE}.Copy", {"copies": [{"src": src, "dst": str(out / "x.fds-notes")}]}, more=True)
    deadline = time.monotonic() + 20
    while not temp_files(str(out)):
        assert time.monotonic() < deadline, "the copy did not start"
        time.sleep(0.02)
    d.kill()
    c.close()
    start_fdsd(name="crashy2")
    assert temp_files(str(out)) == []
