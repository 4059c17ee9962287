# SPDX-License-Identifier: MIT
"""Retries, made deterministic: a tiny scripted S3 stand-in on 127.0.0.1
cuts connections mid-body or answers 503 exactly when told, which a real
server cannot be made to do on cue. fdsd is real and so is its socket.

The stand-in checks nothing about signatures; it serves one object for
HEAD/GET (ranges included), accepts PUTs, and answers the multipart calls
(create, part, complete, abort), following a script of what each request
gets.
"""

import hashlib
import http.server
import os
import socket
import threading
import time
import urllib.parse

import pytest

from s3fds import pattern, read, temp_files, write

KEY_ID = "FDSFAKEKEY0000000000"
SECRET = "fds-fake-secret"


class Script:
    """What the next requests of each method get: "ok", "cut" (headers and
    part of the body, then the connection is closed) or "503"."""

    def __init__(self, data):
        self.set_data(data)
        self.plan = {"GET": [], "PUT": [], "HEAD": []}
        # Set: CreateMultipartUpload answers (it waits for this).
        self.create_gate = threading.Event()
        self.create_gate.set()
        self.seen = []  # (method, path, If-Match)
        self.stored = {}
        self.lock = threading.Lock()

    def set_data(self, data):
        self.data = data
        self.etag = '"%s"' % hashlib.md5(data).hexdigest()

    def next(self, method):
        with self.lock:
            return self.plan[method].pop(0) if self.plan[method] else "ok"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _record(self):
        sc = self.server.script
        with sc.lock:
            sc.seen.append((self.command, self.path, self.headers.get("If-Match")))
        return sc

    def _error(self, status, code):
        body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                f"<Message></Message></Error>").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _cut(self):
        self.wfile.flush()
        # Let the client read what was sent (status line, headers, the first
        # bytes): a reset discards whatever it has not read yet.
        time.sleep(0.3)
        # An abrupt end: RST rather than an orderly close.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        self.close_connection = True
        self.connection.close()

    def do_HEAD(self):
        sc = self._record()
        if sc.next("HEAD") == "503":
            return self._error(503, "SlowDown")
        self.send_response(200)
        self.send_header("Content-Length", str(len(sc.data)))
        self.send_header("ETag", sc.etag)
        self.end_headers()

    def do_GET(self):
        sc = self._record()
        what = sc.next("GET")
        if what == "503":
            return self._error(503, "SlowDown")
        if self.headers.get("If-Match") not in (None, sc.etag):
            return self._error(412, "PreconditionFailed")
        body = sc.data
        rng = self.headers.get("Range")
        if rng:
            first, last = rng.split("=", 1)[1].split("-")
            first, last = int(first), min(int(last), len(sc.data) - 1)
            body = sc.data[first:last + 1]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {first}-{last}/{len(sc.data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", sc.etag)
        self.end_headers()
        if what == "cut":
            self.wfile.write(body[: len(body) // 3])
            return self._cut()
        self.wfile.write(body)

    def _xml(self, body):
        body = ('<?xml version="1.0" encoding="UTF-8"?>' + body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        sc = self._record()
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query,
                                      keep_blank_values=True)
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        if "uploads" in query:
            sc.create_gate.wait(30)
            return self._xml("<InitiateMultipartUploadResult><Bucket>bucket</Bucket>"
                             "<Key>k</Key><UploadId>fds-upload-1</UploadId>"
                             "</InitiateMultipartUploadResult>")
        return self._xml('<CompleteMultipartUploadResult><ETag>"x-1"</ETag>'
                         "</CompleteMultipartUploadResult>")

    def do_DELETE(self):
        self._record()
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_PUT(self):
        sc = self._record()
        what = sc.next("PUT")
        n = int(self.headers.get("Content-Length", "0"))
        if self.headers.get("Expect", "").lower() == "100-continue":
            self.send_response_only(100)
            self.end_headers()
        if what == "cut":
            self.rfile.read(n // 3)
            return self._cut()
        body = self.rfile.read(n)
        if what == "503":
            return self._error(503, "SlowDown")
        sc.stored[self.path] = body
        self.send_response(200)
        self.send_header("ETag", '"%s"' % hashlib.md5(body).hexdigest())
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def fake_s3():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.script = Script(pattern((3 << 20) + 5, 42))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    srv.endpoint = "http://127.0.0.1:%d" % srv.server_address[1]
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def options(srv, attempts):
    return {"s3": {"endpoint_url": srv.endpoint, "access_key_id": KEY_ID,
                   "secret_access_key": SECRET, "addressing_style": "path"},
            "transfer": {"max_attempts": attempts}}


def gets(sc):
    return [s for s in sc.seen if s[0] == "GET"]


def test_download_cut_mid_body_is_retried_whole(start_fds, fake_s3, tmp_path):
    """The first GET dies after a third of the body (past the daemon's
    256 KiB buffers, so bytes reached the temporary): the retry starts the
    file over and it ends byte-identical."""
    sc = fake_s3.script
    sc.plan["GET"] = ["cut"]
    fds = start_fds("none")
    dst = str(tmp_path / "out" / "obj")
    reply = fds.copy([("s3://bucket/obj", dst)], **options(fake_s3, 3))
    r = reply["results"][0]
    assert r["ok"], r
    assert r["attempts"] == 2, r
    assert read(dst) == sc.data
    assert temp_files(str(tmp_path / "out")) == []
    # Both tries pinned to the ETag validation saw.
    assert [g[2] for g in gets(sc)] == [sc.etag, sc.etag]


def test_download_cut_every_time_fails_cleanly(start_fds, fake_s3, tmp_path):
    sc = fake_s3.script
    sc.plan["GET"] = ["cut"] * 3
    fds = start_fds("none")
    out = str(tmp_path / "out")
    reply = fds.copy([("s3://bucket/obj", f"{out}/obj")], **options(fake_s3, 3))
    r = reply["results"][0]
    assert not r["ok"], r
    assert r["attempts"] == 3, r
    e = r["error"]
    # No S3 answer to report: the connection broke.
    assert e["code"] == "IOError", e
    assert "http_status" not in e and "s3_code" not in e, e
    # Three failures in a row made the endpoint suspect: fdsd probed it
    # (an unsigned GET /), got an answer, and so counted the failures as
    # the object's own rather than waiting out an outage.
    assert [g[1] for g in gets(sc)] == ["/bucket/obj"] * 3 + ["/"]
    assert not os.path.exists(f"{out}/obj")
    assert temp_files(out) == []


def test_slow_down_is_retried(start_fds, fake_s3, tmp_path):
    sc = fake_s3.script
    sc.plan["HEAD"] = ["503"]
    sc.plan["GET"] = ["503", "503"]
    fds = start_fds("none")
    dst = str(tmp_path / "obj")
    r = fds.copy([("s3://bucket/obj", dst)], **options(fake_s3, 3))["results"][0]
    assert r["ok"] and r["attempts"] == 3, r
    assert read(dst) == sc.data
    # One more 503 than attempts allow: the file fails with the server's word.
    sc.plan["GET"] = ["503"] * 2
    os.unlink(dst)
    r = fds.copy([("s3://bucket/obj", dst)], **options(fake_s3, 2))["results"][0]
    assert not r["ok"] and r["attempts"] == 2, r
    assert (r["error"]["http_status"], r["error"]["s3_code"]) == (503, "SlowDown"), r
    assert not os.path.exists(dst)
    assert temp_files(str(tmp_path)) == []


@pytest.mark.parametrize("size", [100_000, (2 << 20) + 3], ids=["in-memory", "streamed"])
def test_upload_cut_mid_body_is_retried_whole(start_fds, fake_s3, tmp_path, size):
    sc = fake_s3.script
    sc.plan["PUT"] = ["cut", "503"]
    data = pattern(size, size)
    src = write(str(tmp_path / "src"), data)
    fds = start_fds("none")
    r = fds.copy([(src, "s3://bucket/dir/up")], **options(fake_s3, 3))["results"][0]
    assert r["ok"] and r["attempts"] == 3, r
    assert sc.stored["/bucket/dir/up"] == data


def test_ranged_download_cut_is_retried_whole(start_fds, fake_s3, tmp_path):
    """Above the multipart threshold downloads are parallel ranged GETs; one
    range cut mid-body is fetched again and the file is whole."""
    sc = fake_s3.script
    sc.set_data(pattern((20 << 20) + 5, 43))
    sc.plan["GET"] = ["ok", "cut"]
    fds = start_fds("none")
    out = str(tmp_path / "out")
    r = fds.copy([("s3://bucket/obj", f"{out}/obj")], **options(fake_s3, 3))["results"][0]
    assert r["ok"], r
    assert read(f"{out}/obj") == sc.data
    assert temp_files(out) == []
    ranges = gets(sc)
    assert len(ranges) >= 4, ranges
    assert all(g[2] == sc.etag for g in ranges), ranges


def test_ranged_download_cut_every_time_fails_cleanly(start_fds, fake_s3, tmp_path):
    sc = fake_s3.script
    sc.set_data(pattern((20 << 20) + 5, 44))
    sc.plan["GET"] = ["cut"] * 100
    fds = start_fds("none")
    out = str(tmp_path / "out")
    r = fds.copy([("s3://bucket/obj", f"{out}/obj")], **options(fake_s3, 2))["results"][0]
    assert not r["ok"], r
    e = r["error"]
    assert e["code"] == "IOError", e
    assert "http_status" not in e and "s3_code" not in e, e
    assert not os.path.exists(f"{out}/obj")
    assert temp_files(out) == []


def test_cancel_while_creating_a_multipart_upload_aborts_it(start_fds, fake_s3, tmp_path):
    """The client leaves while CreateMultipartUpload is in flight. The
    server may already have created the upload, so the daemon must learn
    its id and abort it (s3_multipart.c: "the abort follows its end"),
    not leave an upload nobody will ever complete or abort."""
    sc = fake_s3.script
    sc.create_gate.clear()
    src = write(str(tmp_path / "src"), pattern(12 << 20, 45))
    fds = start_fds("none")
    c = fds.connect()
    opts = options(fake_s3, 3)
    opts["transfer"]["multipart_chunksize"] = 5 << 20
    c.send("io.fds.Transfer.Copy", {"copies": [{"src": src, "dst": "s3://bucket/mp"}],
                                    "options": opts}, more=True)
    deadline = time.monotonic() + 20
    while not any(m == "POST" and "uploads" in path for m, path, _ in sc.seen):
        assert time.monotonic() < deadline, sc.seen
        time.sleep(0.02)
    c.close()
    fds.daemon.wait_log(r"client went away; canceling batch")
    sc.create_gate.set()
    deadline = time.monotonic() + 5
    while not any(m == "DELETE" for m, _, _ in sc.seen):
        if time.monotonic() > deadline:
            raise AssertionError(f"upload fds-upload-1 never aborted; requests: {sc.seen}")
        time.sleep(0.05)
    assert any(m == "DELETE" and "uploadId=fds-upload-1" in path for m, path, _ in sc.seen), sc.seen
