# SPDX-License-Identifier: MIT
"""The varlink surface: introspection, malformed and oversized messages,
connection and request limits."""

import json
import socket
import time

import pytest

from fdstest import (IFACE, INTERFACE_FILE, SERVICE, make_sparse, read, write)

INVALID_MESSAGE = f"{IFACE}.InvalidMessage"


def assert_alive(conn):
    """The connection still answers a well-formed call."""
    info = conn.call(f"{SERVICE}.GetInfo")
    assert IFACE in info["interfaces"]


def test_get_info(client):
    info = client.call(f"{SERVICE}.GetInfo")
    for field in ("vendor", "product", "version", "url"):
        assert isinstance(info[field], str) and info[field], field
    assert info["interfaces"] == [SERVICE, IFACE] or set(info["interfaces"]) == {SERVICE, IFACE}


def test_interface_description_is_the_file(client):
    reply = client.call(f"{SERVICE}.GetInterfaceDescription", {"interface": IFACE})
    assert reply["description"].encode("utf-8") == read(INTERFACE_FILE)


def test_interface_description_errors(client):
    e = client.call_error(f"{SERVICE}.GetInterfaceDescription", {"interface": "com.example.No"})
    assert e["error"] == f"{SERVICE}.InterfaceNotFound"
    assert e["parameters"] == {"interface": "com.example.No"}
    e = client.call_error(f"{SERVICE}.GetInterfaceDescription", {})
    assert e["error"] == f"{SERVICE}.InvalidParameter"
    assert e["parameters"] == {"parameter": "interface"}
    assert_alive(client)


# Each case: raw bytes sent (a NUL is appended), the errors expected in
# order, and for InvalidMessage a piece of the reason.
MALFORMED = {
    "invalid-json": (b'{"method": "org.varlink.service.GetInfo"', [INVALID_MESSAGE]),
    "trailing-garbage": (b'{"method": "org.varlink.service.GetInfo"} x', [INVALID_MESSAGE]),
    "empty": (b"", [INVALID_MESSAGE]),
    "array": (b'["org.varlink.service.GetInfo"]', [INVALID_MESSAGE]),
    "string": (b'"org.varlink.service.GetInfo"', [INVALID_MESSAGE]),
    "number": (b"42", [INVALID_MESSAGE]),
    "null": (b"null", [INVALID_MESSAGE]),
    "missing-method": (b'{"parameters": {}}', [INVALID_MESSAGE]),
    "method-not-string": (b'{"method": 7}', [INVALID_MESSAGE]),
    "parameters-not-object": (b'{"method": "io.fds.Transfer.Copy", "parameters": []}',
                              [INVALID_MESSAGE]),
    "more-not-bool": (b'{"method": "org.varlink.service.GetInfo", "more": 1}',
                      [INVALID_MESSAGE]),
    "duplicate-keys": (b'{"method": "org.varlink.service.GetInfo", "method": "x.y.Z"}',
                       [INVALID_MESSAGE]),
    "unknown-method": (b'{"method": "io.fds.Transfer.Frobnicate"}',
                       [f"{SERVICE}.MethodNotFound"]),
    "unknown-service-method": (b'{"method": "org.varlink.service.Frobnicate"}',
                               [f"{SERVICE}.MethodNotFound"]),
    "unknown-interface": (b'{"method": "com.example.Thing.Do"}',
                          [f"{SERVICE}.InterfaceNotFound"]),
    "invalid-utf8-method": (b'{"method": "io.fds.Transfer.Size\xff\xfe"}', [INVALID_MESSAGE]),
    "invalid-utf8-path": (b'{"method": "io.fds.Transfer.Size", "parameters": '
                          b'{"files": {"a": "/tmp/\xc3\x28"}}}', [INVALID_MESSAGE]),
    "overlong-utf8": (b'{"method": "io.fds.Transfer.Size", "parameters": '
                      b'{"files": {"a": "/tmp/\xc0\xaf"}}}', [INVALID_MESSAGE]),
    "deep-nesting": (b'{"method": "io.fds.Transfer.Size", "parameters": {"x": '
                     + b"[" * 5000 + b"]" * 5000 + b"}}", [INVALID_MESSAGE]),
    "very-deep-unclosed": (b"[" * 200000, [INVALID_MESSAGE]),
    # Outside a path (test_bad_input_edges.py has those), a NUL refuses the message.
    "escaped-nul": (b'{"method": "io.fds.Transfer.Size\\u0000", "parameters": '
                    b'{"files": {"a": "/tmp/ab"}}}', [INVALID_MESSAGE]),
    # A NUL inside a message ends it: two broken halves, two errors.
    "raw-nul-inside": (b'{"method": "org.varlink.\x00service.GetInfo"}',
                       [INVALID_MESSAGE, INVALID_MESSAGE]),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_message(fdsd, case):
    data, expected = MALFORMED[case]
    with fdsd.connect() as conn:
        conn.send_raw(data + b"\0")
        for name in expected:
            reply = conn.recv()
            assert reply.get("error") == name, reply
            if name == INVALID_MESSAGE:
                assert isinstance(reply["parameters"]["reason"], str)
                assert reply["parameters"]["reason"]
        assert_alive(conn)
    # The daemon serves others too.
    with fdsd.connect() as other:
        assert_alive(other)


def test_invalid_parameters(client, tmp_path):
    src = write(str(tmp_path / "a"), b"x")
    cases = [
        ("Copy", {}, "copies"),
        ("Copy", {"copies": {}}, "copies"),
        ("Copy", {"copies": [{"src": src}]}, "copies[0]"),
        ("Copy", {"copies": [{"src": src, "dst": "/tmp/x", "extra": 1}]}, "copies[0]"),
        ("Copy", {"copies": [], "bogus": 1}, "bogus"),
        ("Copy", {"copies": [], "options": {"parallelism": 0}}, "options.parallelism"),
        ("Copy", {"copies": [], "options": {"parallelism": "2"}}, "options.parallelism"),
        ("Copy", {"copies": [], "options": {"unknown": 1}}, "options.unknown"),
        ("Copy", {"copies": [], "options": {"s3": {"region": 5}}}, "options.s3.region"),
        ("Size", {"files": []}, "files"),
        ("Size", {"files": {"a": 1}}, "files.a"),
        ("Read", {"files": {"a": src}, "options": {"max_bytes": -1}}, "options.max_bytes"),
    ]
    for method, params, param in cases:
        e = client.call_error(f"{IFACE}.{method}", params)
        assert e["error"] == f"{SERVICE}.InvalidParameter", (method, params, e)
        assert e["parameters"] == {"parameter": param}, (method, params, e)
    assert_alive(client)


def test_pipelined_calls_answered_in_order(client, tmp_path):
    src = write(str(tmp_path / "src"), b"pipelined")
    dst = str(tmp_path / "dst")
    msgs = [
        b"not json",
        json.dumps({"method": f"{IFACE}.Copy",
                    "parameters": {"copies": [{"src": src, "dst": dst}]}}).encode(),
        json.dumps({"method": f"{IFACE}.Size", "parameters": {"files": {"k": dst}}}).encode(),
        json.dumps({"method": f"{SERVICE}.GetInfo"}).encode(),
    ]
    client.send_raw(b"\0".join(msgs) + b"\0")
    assert client.recv()["error"] == INVALID_MESSAGE
    assert client.recv()["parameters"]["summary"]["files_ok"] == 1
    assert client.recv()["parameters"] == {"sizes": {"k": 9}, "errors": {}}
    assert IFACE in client.recv()["parameters"]["interfaces"]


def test_oneway_call_sends_no_reply(client, tmp_path):
    src = write(str(tmp_path / "src"), b"oneway")
    dst = str(tmp_path / "dst")
    client.send(f"{IFACE}.Copy", {"copies": [{"src": src, "dst": dst}]}, oneway=True)
    # Calls run one at a time per connection: when GetInfo answers, the
    # copy has finished, and GetInfo's is the first reply.
    assert_alive(client)
    assert read(dst) == b"oneway"


def copy_msg(pairs, more=False):
    msg = {"method": f"{IFACE}.Copy",
           "parameters": {"copies": [{"src": s, "dst": d} for s, d in pairs],
                          "options": {"parallelism": 1}}}
    if more:
        msg["more"] = True
    return json.dumps(msg).encode() + b"\0"


def test_message_too_large_while_other_client_copies(start_fdsd, tmp_path):
    limit = 4096
    d = start_fdsd("--max-message-size", str(limit), "--log-level", "debug")
    # The other client's batch: a few large (sparse) files one at a time,
    # so it is still running when the oversized message arrives.
    pairs = [(make_sparse(str(tmp_path / f"s{i}"), 16 << 20, head=b"head%d" % i),
              str(tmp_path / "out" / f"d{i}")) for i in range(6)]
    msg = copy_msg(pairs, more=True)
    assert len(msg) <= limit
    with d.connect() as busy, d.connect() as big:
        busy.send_raw(msg)
        first = busy.recv()
        assert first.get("continues") and first["parameters"]["result"]["ok"], first
        big.send_raw(b'{"method": "io.fds.Transfer.Size", "parameters": {"files": {"a": "'
                     + b"x" * (4 * limit) + b'"}}}\0')
        reply = big.recv()
        assert reply == {"error": f"{IFACE}.MessageTooLarge", "parameters": {"limit": limit}}
        assert big.at_eof(), "the connection stays open after MessageTooLarge"
        replies = [first]
        while replies[-1].get("continues"):
            replies.append(busy.recv())
    assert replies[-1]["parameters"]["summary"]["files_ok"] == len(pairs)
    assert len(replies) == len(pairs) + 1
    for s, dst in pairs:
        assert read(dst) == read(s)
    with d.connect() as c:
        assert_alive(c)


def test_message_size_boundary(start_fdsd):
    limit = 1024
    d = start_fdsd("--max-message-size", str(limit))
    base = b'{"method": "org.varlink.service.GetInfo"}'
    # Exactly the limit (without its NUL) is accepted.
    with d.connect() as c:
        c.send_raw(base + b" " * (limit - len(base)) + b"\0")
        assert IFACE in c.recv()["parameters"]["interfaces"]
    # One byte more is not.
    with d.connect() as c:
        c.send_raw(base + b" " * (limit + 1 - len(base)) + b"\0")
        assert c.recv() == {"error": f"{IFACE}.MessageTooLarge", "parameters": {"limit": limit}}
        assert c.at_eof()


def test_message_too_large_without_nul(start_fdsd):
    """A sender that never ends its message is cut off, not buffered."""
    limit = 1024
    d = start_fdsd("--max-message-size", str(limit))
    with d.connect() as c:
        try:
            c.send_raw(b"{" + b" " * (64 * limit))
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert c.recv() == {"error": f"{IFACE}.MessageTooLarge", "parameters": {"limit": limit}}
        assert c.at_eof()
    with d.connect() as c:
        assert_alive(c)


def test_too_many_connections(start_fdsd):
    # The daemon's limit, not the per-user one (by default one less).
    d = start_fdsd("--max-connections", "2", "--max-connections-per-user", "2")
    # One after the other, so the start-up probe's connection is surely gone.
    a = d.connect()
    assert_alive(a)
    b = d.connect()
    try:
        assert_alive(b)
        with d.connect() as c:
            assert c.recv() == {"error": f"{IFACE}.TooManyConnections",
                                "parameters": {"limit": 2}}
            assert c.at_eof()
        a.close()
        # The freed slot is usable again (the close may take a moment to be seen).
        # Until it is seen, a connection is refused: the daemon writes the
        # error and closes, so our send may meet a closed socket (EPIPE).
        for _ in range(100):
            with d.connect() as c:
                try:
                    c.send(f"{SERVICE}.GetInfo")
                    reply = c.recv()
                except (BrokenPipeError, ConnectionResetError):
                    reply = {"error": "refused before our send"}
                if "error" not in reply:
                    break
                time.sleep(0.02)
        assert "error" not in reply, reply
    finally:
        a.close()
        b.close()


def test_max_files(start_fdsd, tmp_path):
    d = start_fdsd("--max-files", "10")
    src = write(str(tmp_path / "src"), b"x")
    copies = [{"src": src, "dst": str(tmp_path / "out" / f"{i}")} for i in range(11)]
    with d.connect() as c:
        e = c.call_error(f"{IFACE}.Copy", {"copies": copies})
        assert e["error"] == f"{IFACE}.InvalidRequest"
        assert any("limit" in p["reason"] for p in e["parameters"]["problems"]), e
        assert not (tmp_path / "out").exists()
        r = c.call(f"{IFACE}.Copy", {"copies": copies[:10]})
        assert r["summary"]["files_ok"] == 10


def test_half_closed_client_gets_its_reply(fdsd):
    """A client may shut down its sending side after the call."""
    with fdsd.connect() as c:
        c.send(f"{SERVICE}.GetInfo")
        c.sock.shutdown(socket.SHUT_WR)
        try:
            reply = c.recv()
        except EOFError:
            pytest.fail("fdsd closed without answering a call sent before the client's EOF")
        assert IFACE in reply["parameters"]["interfaces"]


def test_half_closed_client_gets_copy_result(fdsd, tmp_path):
    src = write(str(tmp_path / "src"), b"half")
    dst = str(tmp_path / "dst")
    with fdsd.connect() as c:
        c.send(f"{IFACE}.Copy", {"copies": [{"src": src, "dst": dst}]})
        c.sock.shutdown(socket.SHUT_WR)
        try:
            reply = c.recv()
        except EOFError:
            pytest.fail("no reply: the Copy was canceled by the client's EOF")
    assert reply["parameters"]["summary"]["files_ok"] == 1
    assert read(dst) == b"half"
