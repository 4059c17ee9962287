# SPDX-License-Identifier: MIT
"""Edges of bad input, against a real fdsd: paths over PATH_MAX and keys
over 1,024 bytes are problems as soon as the request is read; what an error
echoes of a value is at most 256 bytes and its length (a 3 MB path does not
come back whole); a NUL inside a path is named as such, elsewhere it refuses
the message; and the bandwidth cap holds for local copies too."""

import os
import time

from fdstest import IFACE, write

INVALID_REQUEST = f"{IFACE}.InvalidRequest"
INVALID_MESSAGE = f"{IFACE}.InvalidMessage"
ECHO_MAX = 256


def problems(reply):
    assert reply.get("error") == INVALID_REQUEST, reply
    return reply["parameters"]["problems"]


def test_long_path_is_a_problem_echoed_bounded(fdsd, tmp_path):
    for n in (5000, 3_000_000):
        path = "/tmp/" + "a" * n
        with fdsd.connect() as c:
            [p] = problems(c.call_error(f"{IFACE}.Copy", {"copies": [{"src": path, "dst": str(tmp_path / "x")}]}))
        assert p["reason"] == "path longer than PATH_MAX", p
        assert p["path"] == path[:ECHO_MAX] + f"...({len(path)} bytes)", p["path"][-40:]


def test_long_key_is_a_problem(fdsd, tmp_path):
    src = write(str(tmp_path / "s"), b"x")
    url = "s3://bucket/" + "k" * 1025
    with fdsd.connect() as c:
        [p] = problems(c.call_error(f"{IFACE}.Copy", {"copies": [{"src": src, "dst": url}]}))
    assert p["reason"] == "S3 key longer than 1024 bytes", p
    assert p["path"].endswith(f"...({len(url)} bytes)") and len(p["path"]) < ECHO_MAX + 32, p


def test_nul_in_a_path_is_named(fdsd, tmp_path):
    src = write(str(tmp_path / "s"), b"x")
    with fdsd.connect() as c:
        c.send_raw(b'{"method":"io.fds.Transfer.Copy","parameters":{"copies":[{"src":"'
                   + src.encode() + b'\\u0000/etc/shadow","dst":"/tmp/fds-nul-test"}]}}\0')
        [p] = problems(c.recv())
        assert p == {"index": 0, "path": src, "reason": "path contains a NUL byte"}, p
        c.send_raw(b'{"method":"io.fds.Transfer.Size","parameters":{"files":{"k":"/tmp/a\\u0000b"}}}\0')
        [p] = problems(c.recv())
        assert p == {"key": "k", "path": "/tmp/a", "reason": "path contains a NUL byte"}, p
        # Anywhere else, the message is refused, and the connection serves on.
        c.send_raw(b'{"method":"io.fds.Transfer.Copy","parameters":{"copies":[],'
                   b'"options":{"s3":{"region":"us\\u0000east"}}}}\0')
        r = c.recv()
        assert r.get("error") == INVALID_MESSAGE and "NUL byte" in r["parameters"]["reason"], r
        assert c.call(f"{IFACE}.Size", {"files": {"k": src}})["sizes"] == {"k": 1}
    assert not os.path.exists("/tmp/fds-nul-test")


def test_bandwidth_cap_applies_to_local_copies(fdsd, tmp_path):
    """Two 10 MiB files at 10 MB/s for the call: about 2.1 s, shared, not
    each at the full rate; without a cap, a fraction of that."""
    data = os.urandom(10 << 20)
    srcs = [write(str(tmp_path / f"s{i}"), data) for i in range(2)]
    copies = [{"src": s, "dst": str(tmp_path / f"d{i}")} for i, s in enumerate(srcs)]
    with fdsd.connect(timeout=60) as c:
        t0 = time.monotonic()
        r = c.call(f"{IFACE}.Copy", {"copies": copies, "options": {"transfer": {"max_bandwidth": 10_000_000}}})
        capped = time.monotonic() - t0
        assert all(x["ok"] for x in r["results"]), r
        for x in copies:
            os.unlink(x["dst"])
        t0 = time.monotonic()
        r = c.call(f"{IFACE}.Copy", {"copies": copies, "options": {"verify": True}})
        free = time.monotonic() - t0
        assert all(x["ok"] for x in r["results"]), r
    total = 2 * len(data)
    assert capped >= 0.9 * total / 10_000_000, f"{capped:.2f} s: the cap did not hold"
    assert capped < 3 * total / 10_000_000 + 2, f"{capped:.2f} s: far slower than the cap"
    assert free < capped / 2, (free, capped)
    for x in copies:
        with open(x["dst"], "rb") as f:
            assert f.read() == data
