# SPDX-License-Identifier: MIT
"""varlink over a Unix socket: one connection, and a per-process pool of them.

A message is one JSON object followed by a NUL byte. A connection carries one
call at a time; the pool hands each call a connection of its own, so threads
never share one, and a forked child never touches its parent's (the pool is
emptied in the child right after fork).
"""

from __future__ import annotations

import json
import os
import select
import socket
import threading
import weakref
from typing import Any, Dict, Iterator, List, Optional

IFACE = "io.fds.Transfer"

# Idle connections a pool keeps; more threads than this still work, the
# extra connections are closed when their call ends.
MAX_IDLE = 32
_RECV = 1 << 20


def default_socket() -> str:
    """The socket fdsctl uses: $FDS_SOCKET, else $XDG_RUNTIME_DIR/fds/fdsd.sock
    for a non-root user, else /run/fds/fdsd.sock."""
    env = os.environ.get("FDS_SOCKET")
    if env:
        return env
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if os.geteuid() != 0 and xdg and xdg.startswith("/"):
        return os.path.join(xdg, "fds", "fdsd.sock")
    return "/run/fds/fdsd.sock"


class DaemonError(Exception):
    """fdsd answered a call with a varlink error (other than InvalidRequest,
    which becomes a ValidationError).

    Attributes:
        name: The error's reverse-domain name, e.g. ``io.fds.Transfer.ReadLimitExceeded``.
        parameters: The error's parameters as sent.
    """

    def __init__(self, name: str, parameters: Optional[Dict[str, Any]] = None) -> None:
        self.name = name
        self.parameters = dict(parameters or {})
        super().__init__(f"{name}: {json.dumps(self.parameters)}")

    def __reduce__(self):  # type: ignore[override]
        return (type(self), (self.name, self.parameters))


class DaemonUnavailable(DaemonError, ConnectionError):
    """The daemon's socket could not be reached, or it closed the connection."""

    def __init__(self, name: str, parameters: Optional[Dict[str, Any]] = None) -> None:
        DaemonError.__init__(self, name, parameters)


class Connection:
    """One varlink connection; not thread-safe (the pool gives each call its own)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pid = os.getpid()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            self.sock.connect(path)
        except OSError as e:
            self.sock.close()
            raise DaemonUnavailable("connect", {"socket": path, "reason": e.strerror or str(e)}) from e
        self.buf = bytearray()
        self.scanned = 0
        self.used = False

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None  # type: ignore[assignment]

    def healthy(self) -> bool:
        """True if the daemon has not closed this idle connection (nothing
        is readable on it)."""
        if self.sock is None or self.buf:
            return False
        try:
            r, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not r

    def send(self, method: str, parameters: Dict[str, Any], more: bool = False) -> None:
        msg: Dict[str, Any] = {"method": method, "parameters": parameters}
        if more:
            msg["more"] = True
        data = json.dumps(msg, separators=(",", ":")).encode() + b"\0"
        self.sock.sendall(data)

    def recv(self) -> Dict[str, Any]:
        """The next message; DaemonUnavailable when the daemon closed."""
        while True:
            i = self.buf.find(b"\0", self.scanned)
            if i >= 0:
                msg = bytes(self.buf[:i])
                del self.buf[: i + 1]
                self.scanned = 0
                self.used = True
                return json.loads(msg)
            self.scanned = len(self.buf)
            data = self.sock.recv(_RECV)
            if not data:
                raise DaemonUnavailable("closed", {"socket": self.path,
                                                   "reason": "fdsd closed the connection"})
            self.buf += data


class Pool:
    """Connections to one socket, reused across calls and threads, re-made
    after fork."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._reset()
        _pools.add(self)

    def _reset(self) -> None:
        self.lock = threading.Lock()
        self.idle: List[Connection] = []
        self.pid = os.getpid()
        self.opened = 0

    def after_fork(self) -> None:
        # The parent's sockets stay open in the parent; the child only drops
        # its copies of the descriptors.
        for c in self.idle:
            try:
                c.close()
            except OSError:
                pass
        self._reset()

    def get(self) -> Connection:
        if self.pid != os.getpid():
            self.after_fork()
        with self.lock:
            while self.idle:
                c = self.idle.pop()
                if c.healthy():
                    return c
                c.close()
        c = Connection(self.path)
        self.opened += 1
        return c

    def put(self, c: Connection) -> None:
        if c.pid != os.getpid() or c.sock is None or c.buf:
            c.close()
            return
        with self.lock:
            if len(self.idle) < MAX_IDLE:
                self.idle.append(c)
                return
        c.close()

    def close(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for c in idle:
            c.close()

    def call(self, method: str, parameters: Dict[str, Any]) -> Dict[str, Any]:
        """One call with one reply: its parameters; a varlink error raises
        DaemonError (its name and parameters)."""
        for reply in self.stream(method, parameters, more=False):
            return reply
        raise AssertionError("unreachable")

    def stream(self, method: str, parameters: Dict[str, Any], more: bool = True
               ) -> Iterator[Dict[str, Any]]:
        """The replies' parameters of a call, the last included. A connection
        whose call is abandoned half-way is closed, not reused."""
        c = self.get()
        try:
            try:
                c.send(method, parameters, more)
                reply = c.recv()
            except (DaemonUnavailable, BrokenPipeError, ConnectionResetError):
                # A pooled connection the daemon closed between calls (it
                # restarted): nothing of this call reached it; try once anew.
                if not c.used:
                    raise
                c.close()
                c = Connection(self.path)
                c.send(method, parameters, more)
                reply = c.recv()
            while True:
                if "error" in reply:
                    err = DaemonError(reply["error"], reply.get("parameters"))
                    # The call is over; the connection stays usable unless
                    # the daemon closes it (the pool's health check sees that).
                    self.put(c)
                    c = None  # type: ignore[assignment]
                    raise err
                cont = bool(reply.get("continues"))
                if not cont:
                    self.put(c)
                    c = None  # type: ignore[assignment]
                yield reply.get("parameters") or {}
                if not cont:
                    return
                reply = c.recv()
        except OSError as e:
            if isinstance(e, DaemonError):
                raise
            raise DaemonUnavailable("io", {"socket": self.path,
                                           "reason": e.strerror or str(e)}) from e
        finally:
            if c is not None:
                c.close()


_pools: "weakref.WeakSet[Pool]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for p in list(_pools):
        p.after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def close_all() -> None:
    for p in list(_pools):
        p.close()


__all__ = ["IFACE", "Connection", "DaemonError", "DaemonUnavailable", "Pool", "close_all",
           "default_socket"]
