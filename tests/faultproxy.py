# SPDX-License-Identifier: MIT
"""A fault-injecting HTTP/1.1 reverse proxy for S3 tests (Python standard
library only: asyncio, on an event loop of its own in a background thread,
so that pytest tests drive it synchronously).

    p = FaultProxy("127.0.0.1", rgw_port).start()
    p.url                      # http://127.0.0.1:PORT: fdsd's endpoint_url
    rule = p.add_rule(Reply(503, "SlowDown"), method="PUT", query={"partNumber": "2"})
    rule = p.add_rule(FlipResponseByte(99), method="GET", path=r"^/b/obj$", nth=3)
    rule = p.add_rule(Reset(), method="PUT", probability=0.1, seed=7, times=None)
    p.outage(30, "503")        # every request answered 503 for 30 s
    p.outage(30, "refuse")     # nothing listens for 30 s: connections refused
    ...
    rule.hits                  # how often it fired
    p.requests                 # every request seen, in arrival order (Seen)
    p.log                      # one line per request: what came, what was done
    p.stop()

It listens on 127.0.0.1 (a free port) and forwards every request to the
upstream server byte for byte, keeping the client's headers exactly as sent,
Host included. SigV4 signs the Host header, so the client (fdsd) must sign for
the proxy's address; RGW checks the signature against the Host it received and
does not compare it with its own address, so the forwarded request is valid
as is (RGW answers 403 SignatureDoesNotMatch if the Host is rewritten after
signing; tests/integration/large/test_large_proxy.py checks both).

Request bodies are read whole (Content-Length, or chunked, re-sent with a
Content-Length), so that a rule can look at or change them; response bodies
are streamed (chunked upstream answers are read whole and re-sent with a
Content-Length). One upstream connection per client connection, reopened when
the upstream closes it. "Expect: 100-continue" is answered at once, as RGW
does, and not forwarded.

Rules are tried in the order added; the first one that matches a request and
still has firings left acts on it, as soon as the request's head has
arrived (its body is read afterwards). A rule matches on all of the
conditions it is given:

    method        "PUT", or a collection of methods
    path          a regex searched in the decoded path ("/bucket/key")
    key           the object key, exactly
    query         {name: value}: each name present, with that value unless None
    match         a callable taking the Seen request (the older interface)
    nth           fire only on the n-th request that matches the above
                  (1-based; an int or a collection of ints)
    probability   fire on each candidate with this probability, drawn from a
                  random.Random(seed) of the rule's own (deterministic for a
                  given order of requests)
    times         how many firings in all (None: no limit; default 1)

Actions:

    Reply(status, code)        answer at once with an S3 error document
    Reset(after=None)          close with RST (SO_LINGER 0): after reading the
                               request (None), or after the answer's head and
                               `after` body bytes
    ResetRequest(after)        RST after reading `after` bytes of the request
                               body (a connection lost mid-upload)
    CutResponseAfter(n, flip)  forward the head and the first n body bytes
                               (one bit of byte flip flipped, if given), then
                               close the connection (FIN): a truncated body
    FlipResponseByte(offset)   forward, one bit of response body byte offset
                               flipped
    FlipRequestByte(offset)    flip one bit of request body byte offset, forward
    DelayHead(seconds)         forward; hold the answer's head this long
    DelayBody(seconds, after)  forward the head and `after` body bytes, then
                               hold the rest this long
    Stall(event, timeout)      hold the request until event is set or timeout
                               seconds passed, then forward it (a client that
                               hangs up meanwhile gets nothing)
    Cut()                      read the request, then close the connection
                               without an answer (FIN)
    Outage(seconds, mode)      start an outage window now (see outage());
                               this request is its first victim

An outage window (proxy.outage(seconds, mode) or the Outage action):
"503" answers every request with 503 (code SlowDown unless given) until it
ends; "refuse" closes the listening socket, resets every open connection and
listens again on the same port when it ends, so that connections are refused
meanwhile, as when the server is down.
"""

import asyncio
import http.client
import random
import re
import socket
import struct
import threading
import time
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer",
              "transfer-encoding", "upgrade", "expect"}
PIECE = 64 * 1024
MAX_HEAD = 64 * 1024


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
        self.done = []                    # what the proxy did, in words
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

    def line(self):
        rng = self.header("Range")
        return (f"{self.method} {self.target}{' range=' + rng if rng else ''} "
                f"body={len(self.body)} -> {self.status if self.status is not None else '-'}"
                f"{' [' + '; '.join(self.done) + ']' if self.done else ''}"
                f"{' error=' + self.error if self.error else ''}")

    def __repr__(self):
        return (f"<{self.method} {self.target} range={self.header('Range')} "
                f"len={len(self.body)} -> {self.status}{' by ' + repr(self.rule) if self.rule else ''}>")


# ---- actions -------------------------------------------------------------

class Reply:
    """Answer with an S3 error document; nothing reaches the server."""

    def __init__(self, status=500, code="InternalError", message="injected by the test proxy"):
        self.status = status
        self.code = code
        self.message = message

    def __repr__(self):
        return f"Reply({self.status}, {self.code})"


class Reset:
    """RST (SO_LINGER 0) instead of an answer, or after `after` body bytes."""

    def __init__(self, after=None):
        self.after = after

    def __repr__(self):
        return f"Reset({self.after})"


class ResetRequest:
    """RST after reading `after` bytes of the request body."""

    def __init__(self, after=0):
        self.after = after

    def __repr__(self):
        return f"ResetRequest({self.after})"


class CutResponseAfter:
    def __init__(self, n, flip=None):
        self.n = n
        self.flip = flip

    def __repr__(self):
        return f"CutResponseAfter({self.n}, {self.flip})"


Truncate = CutResponseAfter


class FlipResponseByte:
    def __init__(self, offset=0):
        self.offset = offset

    def __repr__(self):
        return f"FlipResponseByte({self.offset})"


class FlipRequestByte:
    def __init__(self, offset=0):
        self.offset = offset

    def __repr__(self):
        return f"FlipRequestByte({self.offset})"


class DelayHead:
    def __init__(self, seconds):
        self.seconds = seconds

    def __repr__(self):
        return f"DelayHead({self.seconds})"


class DelayBody:
    def __init__(self, seconds, after=0):
        self.seconds = seconds
        self.after = after

    def __repr__(self):
        return f"DelayBody({self.seconds}, after={self.after})"


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


class Outage:
    """An outage window of `seconds` starting when the rule fires."""

    MODES = ("503", "refuse")

    def __init__(self, seconds, mode="503", status=503, code="SlowDown"):
        if mode not in self.MODES:
            raise ValueError(f"outage mode {mode!r}: one of {self.MODES}")
        self.seconds = seconds
        self.mode = mode
        self.status = status
        self.code = code
        self.start = None                 # monotonic times, once started
        self.end = None
        self.hits = 0                     # requests it answered or refused
        self.over = threading.Event()

    def active(self, now=None):
        now = time.monotonic() if now is None else now
        return self.start is not None and self.start <= now < self.end

    def __repr__(self):
        return f"Outage({self.seconds}, {self.mode})"


class Rule:
    def __init__(self, action, match=None, times=1, method=None, path=None, key=None,
                 query=None, nth=None, probability=None, seed=0):
        self.action = action
        self.match = match
        self.times = times                # None: every time
        self.methods = {method} if isinstance(method, str) else (
            set(method) if method is not None else None)
        self.path = re.compile(path) if isinstance(path, str) else path
        self.key = key
        self.query = dict(query or {})
        self.nth = {nth} if isinstance(nth, int) else (set(nth) if nth is not None else None)
        self.probability = probability
        self.rng = random.Random(seed)
        self.matched = 0                  # requests that met the conditions
        self.hits = 0
        self.fired = threading.Event()    # set at the first firing
        self.requests = []

    def conditions(self, r):
        if self.methods is not None and r.method not in self.methods:
            return False
        if self.path is not None and not self.path.search(r.path):
            return False
        if self.key is not None and r.key != self.key:
            return False
        for name, value in self.query.items():
            if name not in r.query or (value is not None and r.query[name] != str(value)):
                return False
        if self.match is not None:
            try:
                return bool(self.match(r))
            except Exception:  # pylint: disable=broad-except
                return False
        return True

    def __repr__(self):
        return f"Rule({self.action!r}, hits={self.hits})"


# ---- one client connection -----------------------------------------------

class _Closed(Exception):
    """The client connection is over (closed, reset, or by a rule)."""


class _Conn:
    def __init__(self, proxy, reader, writer):
        self.p = proxy
        self.reader = reader
        self.writer = writer
        self.up = None                    # (reader, writer) to the upstream

    # -- client side

    def gone(self):
        return self.reader.at_eof() or self.reader.exception() is not None \
            or self.writer.is_closing()

    async def sleep_unless_gone(self, seconds, event=None):
        """Wait seconds (or until event is set); False if the client hung up
        or the proxy is stopping meanwhile."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.gone() or self.p.stopping:
                return False
            if event is not None and event.is_set():
                return True
            await asyncio.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
        return not (self.gone() or self.p.stopping)

    async def write(self, data):
        if self.writer.is_closing():
            raise _Closed()
        self.writer.write(data)
        await self.writer.drain()

    async def flush(self):
        """Until every byte written is in the kernel's hands."""
        self.writer.transport.set_write_buffer_limits(high=0)
        await self.writer.drain()
        self.writer.transport.set_write_buffer_limits()

    def reset(self):
        """Close with RST: SO_LINGER on, timeout 0."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        self.writer.transport.abort()

    async def read_body(self, headers):
        te = _get(headers, "Transfer-Encoding", "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = await self.reader.readline()
                if not line:
                    raise _Closed()
                n = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if n == 0:
                    while (await self.reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += await self.reader.readexactly(n)
                await self.reader.readline()
        n = int(_get(headers, "Content-Length", "0") or 0)
        return await self.reader.readexactly(n) if n else b""

    # -- upstream side

    async def upstream(self):
        if self.up is None:
            self.up = await asyncio.wait_for(
                asyncio.open_connection(self.p.upstream_host, self.p.upstream_port),
                self.p.upstream_timeout)
            sock = self.up[1].get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.up

    def close_upstream(self):
        if self.up is not None:
            self.up[1].transport.abort()
            self.up = None

    async def exchange(self, seen, body):
        """Send the request upstream; the answer's (status, reason, headers,
        reader) with its head read (1xx answers skipped)."""
        headers = [(k, v) for k, v in seen.headers
                   if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
        if body or seen.method in ("PUT", "POST") or seen.header("Content-Length") is not None:
            headers.append(("Content-Length", str(len(body))))
        head = f"{seen.method} {seen.target} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        for attempt in range(2):
            fresh = self.up is None
            ur, uw = await self.upstream()
            try:
                uw.write(head.encode("latin-1") + body)
                await uw.drain()
                while True:
                    raw = await asyncio.wait_for(ur.readuntil(b"\r\n\r\n"), self.p.upstream_timeout)
                    status, reason, rheaders = _parse_status(raw)
                    if status >= 200:
                        return status, reason, rheaders, ur
            except (ConnectionError, asyncio.IncompleteReadError, BrokenPipeError):
                # A kept-alive upstream connection the server had closed.
                self.close_upstream()
                if fresh or attempt == 1:
                    raise
        raise AssertionError("not reached")

    # -- one request

    async def serve(self):
        try:
            while not self.p.stopping:
                if not await self.one():
                    break
        except (_Closed, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                OSError, ValueError):
            pass
        finally:
            self.close_upstream()
            if not self.writer.is_closing():
                self.writer.close()

    async def one(self):
        """One request and its answer; False when the connection is over."""
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        p = self.p
        # In flight from the request line on, so that a body still arriving
        # counts too.
        p._begin()
        started = time.monotonic()
        try:
            method, target, version, headers = _parse_request(raw)
        except BaseException:
            with p.lock:
                p.inflight -= 1
            raise
        seen = Seen(method, target, headers, b"")
        seen.started = started
        keep = version == "HTTP/1.1" and _get(headers, "Connection", "").lower() != "close"
        p._record(seen)
        try:
            # Rules see the request's head (the body is not read yet).
            outage, action = self.decide(seen)
            if outage is not None and outage.mode == "refuse":
                with p.lock:
                    outage.hits += 1
                seen.done.append(f"outage {outage.mode}: reset")
                p._complete(seen)
                self.reset()
                return False
            if _get(headers, "Expect", "").lower() == "100-continue":
                await self.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            if isinstance(action, ResetRequest) and outage is None:
                seen.done.append(repr(action))
                n = int(_get(headers, "Content-Length", "0") or 0)
                seen.body = await self.reader.readexactly(min(action.after, n))
                seen.done.append(f"reset after {len(seen.body)} request body bytes of {n}")
                p._complete(seen)
                self.reset()
                return False
            seen.body = body = await self.read_body(headers)
            return await self.act(seen, body, outage, action) and keep
        except (ConnectionError, OSError, asyncio.IncompleteReadError, asyncio.TimeoutError,
                ValueError, _Closed) as e:
            seen.error = seen.error or repr(e)
            raise _Closed() from e
        finally:
            p._complete(seen)
            p._log(seen)

    def decide(self, seen):
        """The outage window the request falls in, or the action of the
        first rule that fires on it: (outage, action)."""
        p = self.p
        outage = p._outage_now()
        action = None
        if outage is None:
            rule = p._match(seen)
            if rule is not None:
                seen.rule = rule
                action = rule.action
                if isinstance(action, Outage):
                    p._start_outage(action)
                    outage = action
        return outage, action

    async def act(self, seen, body, outage, action):
        p = self.p
        if outage is not None:
            with p.lock:
                outage.hits += 1
            seen.done.append(f"outage {outage.mode}")
            return await self.reply_error(seen, outage.status, outage.code, "S3 is down (test proxy)")
        if action is not None:
            seen.done.append(repr(action))
        if isinstance(action, Reply):
            return await self.reply_error(seen, action.status, action.code, action.message)
        if isinstance(action, Cut):
            p._complete(seen)
            self.writer.close()
            return False
        if isinstance(action, Reset) and action.after is None:
            p._complete(seen)
            self.reset()
            return False
        if isinstance(action, Stall):
            # Until released or timed out (then forwarded); a client that
            # hung up, or a stopping proxy, ends it without an answer.
            if not await self.sleep_unless_gone(action.timeout, action.event):
                seen.done.append("client gone while stalled")
                return False
        if isinstance(action, FlipRequestByte) and action.offset < len(body):
            b = bytearray(body)
            b[action.offset] ^= 0x01
            body = bytes(b)
        return await self.forward(seen, body, action)

    async def reply_error(self, seen, status, code, message):
        doc = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
               f"<Message>{message}</Message><RequestId>fds-proxy</RequestId>"
               f"</Error>").encode()
        seen.status = status
        self.p._complete(seen)
        head = _head(status, http.client.responses.get(status, "Error"),
                     [("Content-Type", "application/xml"), ("Content-Length", str(len(doc))),
                      ("x-amz-request-id", "fds-proxy")])
        await self.write(head + (b"" if seen.method == "HEAD" else doc))
        return True

    async def forward(self, seen, body, action):
        p = self.p
        status, reason, rheaders, ur = await self.exchange(seen, body)
        clen = _get(rheaders, "Content-Length")
        chunked = "chunked" in _get(rheaders, "Transfer-Encoding", "").lower()
        up_close = _get(rheaders, "Connection", "").lower() == "close"
        no_body = seen.method == "HEAD" or status in (204, 304)
        rheaders = [(k, v) for k, v in rheaders if k.lower() not in HOP_BY_HOP]
        whole = None
        if no_body:
            length = 0
        elif chunked:
            whole = await _read_chunked(ur, p.upstream_timeout)
            rheaders = [(k, v) for k, v in rheaders if k.lower() != "content-length"]
            rheaders.append(("Content-Length", str(len(whole))))
            length = len(whole)
        elif clen is not None:
            length = int(clen)
        else:
            # Until the upstream closes.
            whole = await asyncio.wait_for(ur.read(), p.upstream_timeout)
            rheaders.append(("Content-Length", str(len(whole))))
            length = len(whole)
            up_close = True
        close = up_close
        if up_close:
            rheaders.append(("Connection", "close"))
        # Status and completion are recorded before the client can see the
        # end of the answer: it may start its next request (and a test may
        # look) at once.
        seen.status = status
        if isinstance(action, DelayHead):
            if not await self.sleep_unless_gone(action.seconds):
                seen.done.append("client gone during the delay")
                self.close_upstream()
                return False
        flip = action.offset if isinstance(action, FlipResponseByte) else None
        cut = action.n if isinstance(action, CutResponseAfter) else None
        if isinstance(action, CutResponseAfter):
            flip = action.flip
        reset_at = action.after if isinstance(action, Reset) else None
        pause_at = action.after if isinstance(action, DelayBody) else None
        stop_at = cut if cut is not None else reset_at
        if stop_at is not None and stop_at >= length:
            stop_at = None                # the whole body goes: nothing to cut
            seen.done.append("body shorter than the cut: sent whole")
        head = _head(status, reason, rheaders)
        if length == 0 or stop_at == 0:
            if stop_at is None:
                p._complete(seen)
            await self.write(head)
        else:
            await self.write(head)
            pos = 0
            while pos < length:
                if pause_at is not None and pos >= pause_at:
                    await self.flush()
                    pause_at = None
                    if not await self.sleep_unless_gone(action.seconds):
                        seen.done.append("client gone during the body delay")
                        self.close_upstream()
                        return False
                want = min(PIECE, length - pos)
                if stop_at is not None:
                    want = min(want, stop_at - pos)
                if pause_at is not None and pause_at > pos:
                    want = min(want, pause_at - pos)
                if whole is not None:
                    piece = whole[pos:pos + want]
                else:
                    piece = await asyncio.wait_for(ur.readexactly(want), p.upstream_timeout)
                if flip is not None and pos <= flip < pos + len(piece):
                    b = bytearray(piece)
                    b[flip - pos] ^= 0x01
                    piece = bytes(b)
                    seen.done.append(f"flipped body byte {flip}")
                pos += len(piece)
                if pos == length or (stop_at is not None and pos == stop_at):
                    p._complete(seen)
                await self.write(piece)
                if stop_at is not None and pos == stop_at:
                    break
        if stop_at is not None:
            self.close_upstream()
            await self.flush()
            if reset_at is not None:
                # Let loopback carry the bytes before the RST discards them.
                await asyncio.sleep(0.05)
                seen.done.append(f"reset after {pos} body bytes of {length}")
                self.reset()
            else:
                seen.done.append(f"closed after {pos} body bytes of {length}")
                self.writer.close()
            return False
        if up_close:
            self.close_upstream()
        return not close


# ---- the proxy -----------------------------------------------------------

class FaultProxy:
    def __init__(self, upstream_host, upstream_port, upstream_timeout=120.0, log_path=None):
        self.upstream_host = upstream_host
        self.upstream_port = int(upstream_port)
        self.upstream_timeout = upstream_timeout
        self.log_path = log_path
        self.rules = []
        self.requests = []
        self.events = []                  # (time, text): outages beginning and ending
        self.outages = []
        self.lock = threading.Lock()
        self.inflight = 0
        self.max_inflight = 0
        self.stopping = False
        self.port = None
        self.url = None
        self._loop = None
        self._thread = None
        self._server = None
        self._conns = set()
        self._t0 = time.monotonic()

    # -- life

    def start(self):
        ready = threading.Event()
        failure = []

        def run():
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._listen(0))
            except Exception as e:  # pylint: disable=broad-except
                failure.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="faultproxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def stop(self):
        if self._loop is None:
            return
        self.stopping = True
        with self.lock:
            for r in self.rules:
                if isinstance(r.action, Stall):
                    r.action.release()
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        try:
            fut.result(10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    async def _listen(self, port):
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", port,
                                                  reuse_address=True, backlog=128,
                                                  limit=MAX_HEAD)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _unlisten(self):
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _shutdown(self):
        await self._unlisten()
        for c in list(self._conns):
            c.writer.transport.abort()
            c.close_upstream()
        await asyncio.sleep(0)
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _accept(self, reader, writer):
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._outage_now() is not None and self._outage_now().mode == "refuse":
            # Accepted just before the listener closed.
            writer.transport.abort()
            return
        c = _Conn(self, reader, writer)
        self._conns.add(c)
        try:
            await c.serve()
        finally:
            self._conns.discard(c)

    # -- rules

    def add_rule(self, *args, match=None, action=None, times=1, **conditions):
        """add_rule(action, method=..., path=..., ...) or, as before,
        add_rule(match, action, times): see the module's doc."""
        if len(args) == 2:
            match, action = args
        elif len(args) == 1:
            if action is not None:
                match = args[0]
            else:
                action = args[0]
        elif len(args) == 3:
            match, action, times = args
        if action is None:
            raise TypeError("add_rule needs an action")
        rule = Rule(action, match=match, times=times, **conditions)
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
            self.events = []
            self.max_inflight = 0

    def _match(self, seen):
        with self.lock:
            for rule in self.rules:
                if rule.times is not None and rule.hits >= rule.times:
                    continue
                if not rule.conditions(seen):
                    continue
                rule.matched += 1
                if rule.nth is not None and rule.matched not in rule.nth:
                    continue
                if rule.probability is not None and rule.rng.random() >= rule.probability:
                    continue
                rule.hits += 1
                rule.requests.append(seen)
                rule.fired.set()
                return rule
        return None

    # -- outages

    def outage(self, seconds, mode="503", status=503, code="SlowDown"):
        """Start an outage window now (see the module's doc); returns it.
        outage.over is set when it has ended (and, for "refuse", the port
        listens again)."""
        o = Outage(seconds, mode, status, code)
        fut = asyncio.run_coroutine_threadsafe(self._start_outage_async(o), self._loop)
        fut.result(10)
        return o

    def _start_outage(self, o):
        """From the loop's thread (a rule fired)."""
        self._loop.create_task(self._start_outage_async(o))
        # The window counts from now; the listener closes in a moment.
        o.start = time.monotonic()
        o.end = o.start + o.seconds

    async def _start_outage_async(self, o):
        if o.start is None:
            o.start = time.monotonic()
            o.end = o.start + o.seconds
        with self.lock:
            self.outages.append(o)
        self._event(f"outage {o.mode} for {o.seconds} s begins")
        if o.mode == "refuse":
            await self._unlisten()
            for c in list(self._conns):
                c.reset()
        self._loop.call_at(self._loop.time() + (o.end - time.monotonic()),
                           lambda: self._loop.create_task(self._end_outage(o)))

    async def _end_outage(self, o):
        if o.mode == "refuse" and not self.stopping:
            for i in range(50):
                try:
                    await self._listen(self.port)
                    break
                except OSError:
                    # The port is briefly someone else's (or in a state
                    # that forbids the bind): try again.
                    await asyncio.sleep(0.1)
            else:
                self._event("could not listen again on the port after the outage")
        self._event(f"outage {o.mode} ends ({o.hits} requests hit)")
        o.over.set()

    def _outage_now(self):
        now = time.monotonic()
        with self.lock:
            for o in self.outages:
                if o.active(now):
                    return o
        return None

    # -- bookkeeping

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

    def _log(self, seen):
        """The request's line in the log file, once it is over."""
        if self.log_path:
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(f"{seen.started - self._t0:9.3f} {seen.line()}\n")

    def _event(self, text):
        with self.lock:
            self.events.append((time.monotonic(), text))
        if self.log_path:
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(f"{time.monotonic() - self._t0:9.3f} {text}\n")

    @property
    def log(self):
        """One line per request (and per outage event) in time order, as
        things stand now (the client may see an answer's end just before
        its line says so)."""
        with self.lock:
            items = [(q.started, q.line()) for q in self.requests] + list(self.events)
        return [f"{t - self._t0:9.3f} {text}" for t, text in sorted(items, key=lambda x: x[0])]

    def log_text(self):
        return "\n".join(self.log) + "\n"

    def seen(self, pred=lambda r: True):
        with self.lock:
            return [r for r in self.requests if pred(r)]


# ---- HTTP bits -----------------------------------------------------------

def _get(headers, name, default=None):
    name = name.lower()
    for k, v in headers:
        if k.lower() == name:
            return v
    return default


def _parse_headers(lines):
    out = []
    for line in lines:
        if not line:
            continue
        k, _, v = line.partition(":")
        out.append((k.strip(), v.strip()))
    return out


def _parse_request(raw):
    lines = raw.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    return method, target, version.strip(), _parse_headers(lines[1:])


def _parse_status(raw):
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    return status, reason, _parse_headers(lines[1:])


def _head(status, reason, headers):
    return (f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
            + "\r\n").encode("latin-1")


async def _read_chunked(reader, timeout):
    out = bytearray()
    while True:
        line = await asyncio.wait_for(reader.readline(), timeout)
        if not line:
            raise asyncio.IncompleteReadError(bytes(out), None)
        n = int(line.split(b";", 1)[0].strip() or b"0", 16)
        if n == 0:
            while (await asyncio.wait_for(reader.readline(), timeout)) not in (b"\r\n", b"\n", b""):
                pass
            return bytes(out)
        out += await asyncio.wait_for(reader.readexactly(n), timeout)
        await reader.readline()


# ---- request predicates (for match=) --------------------------------------

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


def is_abort(key=None):
    """AbortMultipartUpload."""
    def match(r):
        return (r.method == "DELETE" and "uploadId" in r.query and
                (key is None or r.key == key))
    return match
