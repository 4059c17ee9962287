# SPDX-License-Identifier: MIT
"""The last reply of a Copy, Size or Read is encoded a piece at a time as
the client reads it, not built whole first: a client that reads slowly
costs the daemon a few hundred KiB of reply, not the reply's size (for a
Read, before this, the contents twice more: as a JSON tree of base64
strings and as its text)."""

import base64
import json
import os
import socket
import threading
import time

import pytest

from fdstest import FDSD, IFACE, is_asan_binary, write

MiB = 1024 * 1024


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def sample_peak(pid, stop, out):
    while not stop.is_set():
        out.append(rss(pid))
        time.sleep(0.02)


def recv_big(c):
    """One message, read in a list (Varlink.recv's += is quadratic)."""
    parts = [c.buf]
    while b"\0" not in parts[-1]:
        data = c.sock.recv(1 << 20)
        assert data, "connection closed by fdsd"
        parts.append(data)
    msg, _, c.buf = b"".join(parts).partition(b"\0")
    return json.loads(msg)


def read_files(tmp_path, n, size):
    files, data = {}, {}
    for i in range(n):
        body = os.urandom(size)
        files[f"k{i}"] = write(str(tmp_path / f"f{i}"), body)
        data[f"k{i}"] = body
    return files, data


@pytest.mark.skipif(is_asan_binary(FDSD), reason="under ASan, RSS is the sanitizer's (quarantine, shadow)")
def test_a_slow_reader_costs_the_contents_not_the_reply_too(start_fdsd, tmp_path):
    n, size = 3000, 16 * 1024  # 46.9 MiB of contents, a 62.5 MiB reply
    files, data = read_files(tmp_path, n, size)
    d = start_fdsd("--max-read-bytes", "128M")
    pid = d.proc.pid
    time.sleep(0.2)
    before = rss(pid)
    samples, stop = [], threading.Event()
    sampler = threading.Thread(target=sample_peak, args=(pid, stop, samples))
    sampler.start()
    try:
        with d.connect(timeout=60) as c:
            c.send(f"{IFACE}.Read", {"files": files})
            # Read nothing until the daemon has read every file and has had
            # time to build the whole reply, if it were to.
            with d.connect() as ctl:
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    calls = ctl.call(f"{IFACE}.Calls", {})["calls"]
                    if calls and calls[0]["files_ok"] + calls[0]["files_failed"] == n:
                        # The call stays listed until its reply is out.
                        assert calls[0]["state"] == "replying", calls
                        break
                    time.sleep(0.05)
                else:
                    raise AssertionError("the Read did not finish")
            time.sleep(1.0)
            unread_peak = max(samples) - before
            r = recv_big(c)
    finally:
        stop.set()
        sampler.join()
    assert "error" not in r, r
    got = r["parameters"]
    assert got["errors"] == {}
    assert len(got["contents"]) == n
    assert all(base64.b64decode(got["contents"][k]) == v for k, v in data.items())
    contents = n * size
    print(f"RSS before {before / MiB:.1f} MiB; growth while the client did not read "
          f"{unread_peak / MiB:.1f} MiB for {contents / MiB:.1f} MiB of contents")
    # The contents themselves are held until the reply is out; the reply
    # in the write queue must not be (it would add 62.5 MiB).
    assert unread_peak <= contents * 1.15 + 16 * MiB, (unread_peak, contents)


def test_keys_that_need_escaping_come_back_intact(start_fdsd, tmp_path):
    d = start_fdsd()
    src = write(str(tmp_path / "f"), b"12345")
    keys = ['a"b', "back\\slash", "ünïcødé ✓", "ctl\x01\x1f", "", "tab\tnl\n", "k" * 300]
    files = {k: src for k in keys}
    files["missing"] = str(tmp_path / "no-such-file")
    with d.connect() as c:
        c.send(f"{IFACE}.Size", {"files": files, "options": {"validate": False}})
        r = c.recv()
    assert "error" not in r, r
    assert r["parameters"]["sizes"] == {k: 5 for k in keys}
    err = r["parameters"]["errors"]["missing"]
    assert list(r["parameters"]["errors"]) == ["missing"]
    assert err["code"] == "NotFound" and err["message"], err


def test_a_pipelined_call_is_answered_after_the_whole_last_reply(start_fdsd, tmp_path):
    n = 20000
    src = write(str(tmp_path / "f"), b"x" * 10)
    d = start_fdsd()
    with d.connect(timeout=60) as c:
        # Both calls in one write: the second must wait for every piece of
        # the first's reply (about 0.3 MiB, several pieces).
        c.send_raw(b"".join([
            (f'{{"method":"{IFACE}.Size","parameters":{{"files":{{' +
             ",".join(f'"key-{i:06d}":"{src}"' for i in range(n)) + "}}}").encode() + b"\0",
            b'{"method":"org.varlink.service.GetInfo"}\0',
        ]))
        first = c.recv()
        second = c.recv()
    assert len(first["parameters"]["sizes"]) == n and first["parameters"]["errors"] == {}
    assert second["parameters"]["product"] == "fdsd"


def test_a_client_that_leaves_mid_reply_frees_its_call(start_fdsd, tmp_path):
    files, _ = read_files(tmp_path, 400, 64 * 1024)
    d = start_fdsd()
    c = d.connect(timeout=30)
    c.send(f"{IFACE}.Read", {"files": files})
    got = 0
    while got < 256 * 1024:
        got += len(c.sock.recv(1 << 16))
    # Leave with most of the 34 MiB reply unsent.
    c.sock.shutdown(socket.SHUT_RDWR)
    c.close()
    with d.connect() as ctl:
        deadline = time.monotonic() + 10
        while ctl.call(f"{IFACE}.Status", {})["batches"] != 0:
            assert time.monotonic() < deadline, "the call outlived its client"
            time.sleep(0.05)
        assert ctl.call(f"{IFACE}.Size", {"files": {"a": files["k0"]}})["sizes"] == {"a": 64 * 1024}


def test_an_oversized_message_behind_a_streamed_reply_is_refused_after_it(start_fdsd, tmp_path):
    """The refusal of the next message comes after the whole last reply,
    never between two of its pieces."""
    n = 6000  # a message under 1 MiB, a reply of about 400 KiB: several pieces
    src = write(str(tmp_path / "f"), b"x" * 10)
    d = start_fdsd("--max-message-size", "1M")
    with d.connect(timeout=60) as c:
        call = (f'{{"method":"{IFACE}.Size","parameters":{{"files":{{' +
                ",".join(f'"key-{i:06d}-{"k" * 50}":"{src}"' for i in range(n)) + "}}}").encode() + b"\0"
        assert len(call) < 1 << 20
        # The daemon reads the junk only once the reply is out: send it
        # from a thread while this one reads.
        def send():
            try:
                c.sock.sendall(call + b"y" * (2 << 20))
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused: the daemon closes once it has said so

        sender = threading.Thread(target=send)
        sender.start()
        time.sleep(0.5)  # the reply waits in pieces meanwhile
        first = recv_big(c)
        second = c.recv()
        sender.join(30)
    assert len(first["parameters"]["sizes"]) == n, list(first)[:3]
    assert second["error"] == f"{IFACE}.MessageTooLarge", second
