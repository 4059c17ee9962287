# SPDX-License-Identifier: MIT
"""A small fault-injecting HTTP/1.1 reverse proxy for S3 tests (stdlib only).

    p = FaultProxy("127.0.0.1", rgw_port).start()
    p.url                      # http://127.0.0.1:PORT: fdsd's endpoint_url
    rule = p.add_rule(match=lambda r: r.method == "PUT" and r.query.get("partNumber") == "2",
                      action=Reply(500, "InternalError"))
    ...
    rule.hits                  # how often it fired
    p.requests                 # every request seen, in arrival order (Seen)
    p.stop()

It listens on 127.0.0.1 (a free port) and forwards every request to the
upstream server byte for byte, keeping the client's headers exactly as sent,
Host included. SigV4 signs the Host header, so the client (fdsd) must sign for
the proxy's address; RGW checks the signature against the Host it received
and does not compare it with its own address, so the forwarded request is
valid as is (RGW answers 403 SignatureDoesNotMatch if the Host is rewritten
after signing; see test_large_proxy.py, which checks both).

Request bodies are read whole (Content-Length, or chunked, re-sent with a
Content-Length), so a rule can look at or change them; response bodies are
streamed (chunked upstream answers are read whole and re-sent with a
Content-Length). One upstream connection per client connection, reopened
when the upstream closes it.

Rules are tried in the order added; the first one that matches a request and
still has firings left acts on it:

    Reply(status, code)        answer at once with an S3 error, forward nothing
    FlipResponseByte(offset)   forward, flip one bit of response body byte offset
    CutResponseAfter(n, flip)  forward the answer's head and first n body bytes
                               (one bit of byte flip flipped, if given), then
                               close the connection
    FlipRequestByte(offset)    flip one bit of request body byte offset, forward
    Stall(event, timeout)      hold the request until event is set or timeout
                               seconds passed, then forward it (a client that
                               hangs up meanwhile gets nothing)
    Cut()                      read the request, then close the connection
                               without an answer (after "100 Continue" if the
                               client asked for one)
"""

import http.client
import http.server
import select
import socket
import socketserver
import threading
import time
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer",
              "transfer-encoding", "upgrade", "expect"}


class Seen:
    """One request as the proxy saw it (and what became of it)."""

    def __init__(self, method, target, headers, body):
        self.method = method
        self.target = target
        parsed = urllib.parse.urlsplit(target)
        self.path = urllib.parse.unquote(parsed.path)
        self.raw_query = parsed.query
        self.query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        self.headers = headers            # list of (name, value) as received
        self.body = body
        self.status = None                # what the client got; None: nothing
        self.rule = None                  # the rule that acted, if any
        self.started = time.monotonic()
        self.ended = None
        self.error = None

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    @property
    def key(self):
        """The object key of a path-style request ("/bucket/key" -> "key")."""
        parts = self.path.lstrip("/").split("/", 1)
        return parts[1] if len(parts) == 2 else ""

    @property
    def bucket(self):
        return self.path.lstrip("/").split("/", 1)[0]

    def __repr__(self):
        return (f"<{self.method} {self.target} range={self.header('Range')} "
                f"len={len(self.body)} -> {self.status}{' by ' + repr(self.rule) if self.rule else ''}>")


# ---- actions -------------------------------------------------------------

class Reply:
    """Answer with an S3 error document; nothing reaches the server."""

    def __init__(self, status=500, code="InternalError"):
        self.status = status
        self.code = code

    def __repr__(self):
        return f"Reply({self.status}, {self.code})"


class FlipResponseByte:
    def __init__(self, offset=0):
        self.offset = offset

    def __repr__(self):
        return f"FlipResponseByte({self.offset})"


class CutResponseAfter:
    def __init__(self, n, flip=None):
        self.n = n
        self.flip = flip

    def __repr__(self):
        return f"CutResponseAfter({self.n}, {self.flip})"


class FlipRequestByte:
    def __init__(self, offset=0):
        self.offset = offset

    def __repr__(self):
        return f"FlipRequestByte({self.offset})"


class Stall:
    def __init__(self, event=None, timeout=60.0):
        self.event = event or threading.Event()
        self.timeout = timeout

    def release(self):
        self.event.set()

    def __repr__(self):
        return "Stall()"


class Cut:
    def __repr__(self):
        return "Cut()"


class Rule:
    def __init__(self, match, action, times=1):
        self.match = match
        self.action = action
        self.times = times                # None: every time
        self.hits = 0
        self.fired = threading.Event()    # set at the first firing
        self.requests = []

    def __repr__(self):
        return f"Rule({self.action!r}, hits={self.hits})"


# ---- the proxy -----------------------------------------------------------

class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Nagle off for small answers; the default buffer sizes otherwise.
    disable_nagle_algorithm = True

    def log_message(self, *args):  # quiet
        pass

    # libcurl sends "Expect: 100-continue" with large in-memory PUT bodies
    # (fdsd's parts): go ahead at once, as RGW does; the header itself is
    # hop-by-hop and not forwarded.
    def handle_expect_100(self):
        self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.wfile.flush()
        return True

    def setup(self):
        super().setup()
        self.upstream = None

    def finish(self):
        try:
            super().finish()
        finally:
            if self.upstream is not None:
                self.upstream.close()
                self.upstream = None

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise ConnectionError("client closed inside a chunked body")
                n = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(n)
                self.rfile.readline(16)
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n else b""
        if len(data) != n:
            raise ConnectionError("client closed inside the body")
        return data

    def _client_gone(self):
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if not r:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _send_head(self, status, reason, headers):
        lines = [f"HTTP/1.1 {status} {reason}\r\n"]
        lines += [f"{k}: {v}\r\n" for k, v in headers]
        lines.append("\r\n")
        self.wfile.write("".join(lines).encode("latin-1"))

    def _reply_error(self, seen, status, code):
        body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                f"<Message>injected by the test proxy</Message><RequestId>fds-proxy</RequestId>"
                f"</Error>").encode()
        seen.status = status
        self.server.proxy._complete(seen)
        self._send_head(status, http.client.responses.get(status, "Error"),
                        [("Content-Type", "application/xml"),
                         ("Content-Length", str(len(body))),
                         ("x-amz-request-id", "fds-proxy")])
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _upstream(self):
        if self.upstream is None:
            p = self.server.proxy
            self.upstream = http.client.HTTPConnection(p.upstream_host, p.upstream_port,
                                                       timeout=p.upstream_timeout)
        return self.upstream

    def _forward(self, seen, body, action):
        headers = [(k, v) for k, v in seen.headers if k.lower() not in HOP_BY_HOP
                   and k.lower() != "content-length"]
        if body or self.command in ("PUT", "POST") or seen.header("Content-Length") is not None:
            headers.append(("Content-Length", str(len(body))))
        for attempt in range(2):
            conn = self._upstream()
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    conn.putheader(k, v)
                conn.endheaders(body if body else None)
                resp = conn.getresponse()
                break
            except (ConnectionError, http.client.RemoteDisconnected, BrokenPipeError):
                # A kept-alive upstream connection the server had closed.
                conn.close()
                self.upstream = None
                if attempt == 1:
                    raise
        rheaders = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
        chunked = resp.chunked
        if chunked:
            data = resp.read()
            rheaders = [(k, v) for k, v in rheaders if k.lower() != "content-length"]
            rheaders.append(("Content-Length", str(len(data))))
        if resp.will_close:
            rheaders.append(("Connection", "close"))
            self.close_connection = True
        # Status and completion are recorded before the client can see the
        # end of the answer: it may start its next request (and a test may
        # look) at once.
        seen.status = resp.status
        p = self.server.proxy
        flip = action.offset if isinstance(action, FlipResponseByte) else None
        cut = action.n if isinstance(action, CutResponseAfter) else None
        if cut is not None:
            self._send_head(resp.status, resp.reason, rheaders)
            pos = 0
            while pos < cut:
                piece = resp.read(min(64 * 1024, cut - pos))
                if not piece:
                    break
                f = action.flip
                if f is not None and pos <= f < pos + len(piece):
                    b = bytearray(piece)
                    b[f - pos] ^= 0x01
                    piece = bytes(b)
                self.wfile.write(piece)
                pos += len(piece)
            p._complete(seen)
            self.wfile.flush()
            self.close_connection = True
            self.upstream.close()
            self.upstream = None
            return
        if chunked or resp.length == 0:
            # (read even when empty: http.client then frees the connection)
            body = data if chunked else resp.read()
            if flip is not None and flip < len(body):
                body = body[:flip] + bytes([body[flip] ^ 0x01]) + body[flip + 1:]
            p._complete(seen)
            self._send_head(resp.status, resp.reason, rheaders)
            self.wfile.write(body)
        else:
            self._send_head(resp.status, resp.reason, rheaders)
            pos = 0
            while True:
                piece = resp.read(64 * 1024)
                last = not piece or resp.length == 0
                if flip is not None and pos <= flip < pos + len(piece):
                    b = bytearray(piece)
                    b[flip - pos] ^= 0x01
                    piece = bytes(b)
                if last:
                    p._complete(seen)
                self.wfile.write(piece)
                pos += len(piece)
                if last:
                    break
        self.wfile.flush()
        if resp.will_close:
            self.upstream.close()
            self.upstream = None

    def _proxy(self):
        p = self.server.proxy
        # In flight from the request line on, so that a body still arriving
        # counts too.
        p._begin()
        started = time.monotonic()
        try:
            body = self._read_body()
        except (ConnectionError, ValueError):
            self.close_connection = True
            with p.lock:
                p.inflight -= 1
            return
        seen = Seen(self.command, self.path, list(self.headers.items()), body)
        seen.started = started
        p._record(seen)
        action = None
        rule = p._match(seen)
        if rule is not None:
            action = rule.action
            seen.rule = rule
        try:
            if isinstance(action, Reply):
                self._reply_error(seen, action.status, action.code)
                return
            if isinstance(action, Cut):
                self.close_connection = True
                p._complete(seen)
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if isinstance(action, Stall):
                # Until released or timed out (then forwarded); a client that
                # hung up, or a stopping proxy, ends it without an answer.
                deadline = time.monotonic() + action.timeout
                while not action.event.wait(0.02) and time.monotonic() < deadline:
                    if self._client_gone() or p.stopping:
                        self.close_connection = True
                        return
            if isinstance(action, FlipRequestByte) and action.offset < len(body):
                b = bytearray(body)
                b[action.offset] ^= 0x01
                body = bytes(b)
            self._forward(seen, body, action)
        except (ConnectionError, OSError, http.client.HTTPException) as e:
            seen.error = repr(e)
            self.close_connection = True
        finally:
            p._complete(seen)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _proxy


class FaultProxy:
    def __init__(self, upstream_host, upstream_port, upstream_timeout=120.0):
        self.upstream_host = upstream_host
        self.upstream_port = int(upstream_port)
        self.upstream_timeout = upstream_timeout
        self.rules = []
        self.requests = []
        self.lock = threading.Lock()
        self.inflight = 0
        self.max_inflight = 0
        self.stopping = False
        self.server = None
        self.thread = None

    def start(self):
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.proxy = self
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stopping = True
        for r in self.rules:
            if isinstance(r.action, Stall):
                r.action.release()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def add_rule(self, match, action, times=1):
        rule = Rule(match, action, times)
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self):
        """Forget the rules (releasing stalls) and the requests seen."""
        with self.lock:
            for r in self.rules:
                if isinstance(r.action, Stall):
                    r.action.release()
            self.rules = []
            self.requests = []
            self.max_inflight = 0

    def _begin(self):
        with self.lock:
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)

    def _record(self, seen):
        with self.lock:
            self.requests.append(seen)

    def _complete(self, seen):
        """The request is over (idempotent): no longer in flight."""
        with self.lock:
            if seen.ended is None:
                seen.ended = time.monotonic()
                self.inflight -= 1

    def _match(self, seen):
        with self.lock:
            for rule in self.rules:
                if rule.times is not None and rule.hits >= rule.times:
                    continue
                try:
                    ok = rule.match(seen)
                except Exception:  # pylint: disable=broad-except
                    ok = False
                if ok:
                    rule.hits += 1
                    rule.requests.append(seen)
                    rule.fired.set()
                    return rule
        return None

    def seen(self, pred=lambda r: True):
        with self.lock:
            return [r for r in self.requests if pred(r)]


# ---- request predicates --------------------------------------------------

def is_part_put(n=None, key=None):
    """UploadPart (or UploadPartCopy) of part n (any if None)."""
    def match(r):
        return (r.method == "PUT" and "uploadId" in r.query and
                (n is None or r.query.get("partNumber") == str(n)) and
                (key is None or r.key == key))
    return match


def is_range_get(start=None, key=None):
    """A ranged GET (starting at byte start, any if None)."""
    def match(r):
        rng = r.header("Range")
        return (r.method == "GET" and rng is not None and
                (start is None or rng.startswith(f"bytes={start}-")) and
                (key is None or r.key == key))
    return match


def is_object_get(key=None):
    def match(r):
        return r.method == "GET" and r.key != "" and (key is None or r.key == key)
    return match
