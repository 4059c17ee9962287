# SPDX-License-Identifier: MIT
"""io.fds.Transfer.Size and Read: maps keyed by the caller's keys, errors
per key, base64 contents, and the read limit."""

import base64
import os

import pytest

from fdstest import IFACE, b64, write

INVALID_REQUEST = f"{IFACE}.InvalidRequest"
READ_LIMIT = f"{IFACE}.ReadLimitExceeded"


@pytest.fixture
def files(tmp_path):
    t = str(tmp_path)
    os.makedirs(os.path.join(t, "dir"))
    os.mkfifo(os.path.join(t, "fifo"))
    return {
        "empty": write(os.path.join(t, "empty"), b""),
        "small": write(os.path.join(t, "small"), b"hello\n"),
        "binary": write(os.path.join(t, "binary"), bytes(range(256)) * 3 + b"\0\0"),
        "big": write(os.path.join(t, "big"), os.urandom((1 << 20) + 3)),
        "dir": os.path.join(t, "dir"),
        "fifo": os.path.join(t, "fifo"),
        "missing": os.path.join(t, "missing"),
        "notdir": os.path.join(t, "small", "below"),
    }


def test_size(client, files):
    keys = {
        "e": files["empty"],
        "s": files["small"],
        "b": files["big"],
        "same path, other key": files["small"],
        "ключ ✓": files["binary"],
        "m": files["missing"],
        "d": files["dir"],
        "n": files["notdir"],
    }
    r = client.call(f"{IFACE}.Size", {"files": keys})
    assert r["sizes"] == {
        "e": 0, "s": 6, "b": (1 << 20) + 3, "same path, other key": 6, "ключ ✓": 770,
    }
    assert set(r["errors"]) == {"m", "d", "n"}
    assert r["errors"]["m"]["code"] == "NotFound"
    assert r["errors"]["d"]["code"] == "IsADirectory"
    assert r["errors"]["n"]["code"] == "NotADirectory"
    for e in r["errors"].values():
        assert isinstance(e["message"], str) and e["message"]


def test_size_empty(client):
    assert client.call(f"{IFACE}.Size", {"files": {}}) == {"sizes": {}, "errors": {}}


def test_size_invalid_paths_all_listed(client, files):
    e = client.call_error(f"{IFACE}.Size", {"files": {
        "ok": files["small"], "rel": "relative/path", "s3": "s3://bucket-name/key",
        "bad": "s3://NO/key", "empty": ""}})
    assert e["error"] == INVALID_REQUEST
    got = {p["key"]: p["path"] for p in e["parameters"]["problems"]}
    assert got == {"rel": "relative/path", "s3": "s3://bucket-name/key", "bad": "s3://NO/key",
                   "empty": ""}
    for p in e["parameters"]["problems"]:
        assert "index" not in p and p["reason"]


def test_read_roundtrip(client, files):
    keys = {k: files[k] for k in ("empty", "small", "binary", "big")}
    r = client.call(f"{IFACE}.Read", {"files": keys})
    assert r["errors"] == {}
    assert set(r["contents"]) == set(keys)
    for k, path in keys.items():
        with open(path, "rb") as f:
            want = f.read()
        assert base64.b64decode(r["contents"][k], validate=True) == want, k
        assert r["contents"][k] == b64(want)


def test_read_errors_per_key(client, files):
    r = client.call(f"{IFACE}.Read", {"files": {
        "s": files["small"], "m": files["missing"], "d": files["dir"], "f": files["fifo"],
        "n": files["notdir"]}})
    assert r["contents"] == {"s": b64(b"hello\n")}
    assert r["errors"]["m"]["code"] == "NotFound"
    assert r["errors"]["d"]["code"] == "IsADirectory"
    assert r["errors"]["n"]["code"] == "NotADirectory"
    assert set(r["errors"]) == {"m", "d", "f", "n"}


def test_read_non_regular_file_error_matches_size(client, files):
    """A FIFO or device is "not a regular file" for Read as for Size (and
    Copy's validation), not an internal errno's strerror."""
    keys = {"fifo": files["fifo"], "dev": "/dev/null"}
    size = client.call(f"{IFACE}.Size", {"files": keys})["errors"]
    read_ = client.call(f"{IFACE}.Read", {"files": keys})["errors"]
    for k in keys:
        assert size[k] == {"code": "InvalidPath", "message": "not a regular file"}, size
        assert read_[k] == size[k], f"Read answers {read_[k]} where Size answers {size[k]}"


def test_read_limit_from_options(client, files):
    keys = {"s": files["small"], "b": files["binary"], "m": files["missing"]}
    total = 6 + 770
    e = client.call_error(f"{IFACE}.Read", {"files": keys, "options": {"max_bytes": total - 1}})
    assert e == {"error": READ_LIMIT, "parameters": {"limit": total - 1, "requested": total}}
    # Exactly at the limit is fine; missing files do not count.
    r = client.call(f"{IFACE}.Read", {"files": keys, "options": {"max_bytes": total}})
    assert set(r["contents"]) == {"s", "b"} and set(r["errors"]) == {"m"}


def test_read_limit_of_daemon(start_fdsd, files):
    d = start_fdsd("--max-read-bytes", "1K")
    with d.connect() as c:
        e = c.call_error(f"{IFACE}.Read", {"files": {"b": files["big"]},
                                           "options": {"max_bytes": 1 << 30}})
        assert e == {"error": READ_LIMIT,
                     "parameters": {"limit": 1024, "requested": (1 << 20) + 3}}
        r = c.call(f"{IFACE}.Read", {"files": {"b": files["binary"]}})
        assert base64.b64decode(r["contents"]["b"]) == bytes(range(256)) * 3 + b"\0\0"
