# SPDX-License-Identifier: MIT
"""A bucket in another region is followed, not reported as a signature
error. RGW has one region, so a small stand-in plays S3's part: it answers
requests signed for the wrong region as S3 does (301 PermanentRedirect for
HEAD and GET with x-amz-bucket-region, 400 AuthorizationHeaderMalformed
with <Region> otherwise) and serves those signed for the bucket's region.
"""

import hashlib
import http.server
import re
import threading

import pytest

from s3fds import read, write

BUCKET_REGION = "eu-west-1"
DATA = b"served from eu-west-1\n" * 100


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def region(self):
        m = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/s3/", self.headers.get("Authorization", ""))
        return m.group(1) if m else None

    def wrong_region(self, body_allowed):
        region = self.region()
        self.server.seen.append((self.command, region))
        if region == BUCKET_REGION:
            return False
        body = (b"<?xml version=\"1.0\"?><Error><Code>AuthorizationHeaderMalformed</Code>"
                b"<Message>the region is wrong</Message><Region>" + BUCKET_REGION.encode() +
                b"</Region></Error>")
        self.send_response(301 if not body_allowed else 400)
        self.send_header("x-amz-bucket-region", BUCKET_REGION)
        self.send_header("Content-Length", "0" if not body_allowed else str(len(body)))
        self.end_headers()
        if body_allowed and self.command != "HEAD":
            self.wfile.write(body)
        return True

    def do_HEAD(self):
        if self.wrong_region(False):
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(DATA)))
        self.send_header("ETag", '"%s"' % hashlib.md5(DATA).hexdigest())
        self.end_headers()

    def do_GET(self):
        if self.wrong_region(False):
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(DATA)))
        self.send_header("ETag", '"%s"' % hashlib.md5(DATA).hexdigest())
        self.end_headers()
        self.wfile.write(DATA)

    def do_PUT(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        if self.wrong_region(True):
            return
        self.server.stored = body
        self.send_response(200)
        self.send_header("ETag", '"%s"' % hashlib.md5(body).hexdigest())
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def other_region():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.seen = []
    srv.stored = None
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    srv.endpoint = "http://127.0.0.1:%d" % srv.server_address[1]
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def opts(srv):
    return {"s3": {"endpoint_url": srv.endpoint, "region": "us-east-1", "addressing_style": "path",
                   "access_key_id": "FDSREGIONKEY00000000", "secret_access_key": "secret"}}


def test_bucket_in_another_region_is_followed(start_fds, other_region, tmp_path):
    fds = start_fds("none")
    dst = str(tmp_path / "a")
    reply = fds.copy([("s3://far-bucket/a", dst), ("s3://far-bucket/b", str(tmp_path / "b"))],
                     **opts(other_region))
    assert all(r["ok"] for r in reply["results"]), reply
    assert read(dst) == DATA
    seen = other_region.seen
    # The checks run in parallel, so each may meet the redirect once; what
    # was learned then signs every later request for the bucket's region.
    assert sum(1 for m, region in seen if region != BUCKET_REGION) <= 2, seen
    assert [region for m, region in seen if m == "GET"] == [BUCKET_REGION] * 2, seen


def test_upload_follows_the_region_in_the_error_body(start_fds, other_region, tmp_path):
    fds = start_fds("none")
    src = write(str(tmp_path / "up"), b"to the far bucket")
    reply = fds.copy([(src, "s3://far-bucket/up")], **opts(other_region))
    r = reply["results"][0]
    assert r["ok"], r
    assert other_region.stored == b"to the far bucket"
    # The redirect is not a failed attempt.
    assert r["attempts"] == 1, r
