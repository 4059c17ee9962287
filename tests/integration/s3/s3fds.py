# SPDX-License-Identifier: MIT
"""Helpers for the S3 integration tests: a real fdsd with an environment of
our choosing, a small varlink client, and file utilities.

Self-contained on purpose (only the standard library): the local
integration tests' helpers may change without breaking these.
"""

import base64
import errno
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))

FDSD = os.environ.get("FDSD") or os.path.join(SOURCE_ROOT, "build", "daemon", "fdsd")
FDSCTL = os.environ.get("FDSCTL") or os.path.join(SOURCE_ROOT, "build", "client", "fdsctl")

IFACE = "io.fds.Transfer"
INVALID_REQUEST = IFACE + ".InvalidRequest"
READ_LIMIT = IFACE + ".ReadLimitExceeded"

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
# One reply; generous for an ASan build on 2 cores.
REPLY_TIMEOUT = 120.0

SANITIZER_RE = re.compile(
    r"ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|"
    r"SUMMARY: \w+Sanitizer|WARNING: \w+Sanitizer")

# fdsd's temporaries: ".<name>.fds-<16 hex>".
TEMP_RE = re.compile(r"^\..*\.fds-[0-9a-f]{16}$")


def sanitizer_reports(text):
    return [line for line in text.splitlines() if SANITIZER_RE.search(line)]


# ---- varlink -----------------------------------------------------------

class VarlinkError(Exception):
    def __init__(self, reply):
        super().__init__(f"{reply.get('error')}: {reply.get('parameters')}")
        self.name = reply.get("error")
        self.parameters = reply.get("parameters", {})


class Conn:
    """One connection: JSON objects terminated by NUL."""

    def __init__(self, path, timeout=REPLY_TIMEOUT):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, method, parameters, more=False):
        msg = {"method": method, "parameters": parameters}
        if more:
            msg["more"] = True
        self.sock.sendall(json.dumps(msg).encode() + b"\0")

    def recv(self):
        while b"\0" not in self.buf:
            data = self.sock.recv(1 << 16)
            if not data:
                raise EOFError("fdsd closed the connection")
            self.buf += data
        msg, _, self.buf = self.buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method, parameters):
        """The one reply's parameters; a varlink error raises VarlinkError."""
        self.send(method, parameters)
        reply = self.recv()
        if "error" in reply:
            raise VarlinkError(reply)
        assert not reply.get("continues"), reply
        return reply["parameters"]

    def call_error(self, method, parameters):
        """A call that must fail: (error name, parameters)."""
        self.send(method, parameters)
        reply = self.recv()
        assert "error" in reply, f"expected an error, got {json.dumps(reply)[:2000]}"
        return reply["error"], reply.get("parameters", {})

    def replies(self, method, parameters):
        """Generator over the replies of a "more" call, the last included."""
        self.send(method, parameters, more=True)
        while True:
            reply = self.recv()
            yield reply
            if "error" in reply or not reply.get("continues"):
                return


# ---- fdsd --------------------------------------------------------------

class Daemon:
    """One fdsd with its socket and log in workdir, run with env."""

    def __init__(self, workdir, env, args=(), name="fdsd"):
        self.socket = os.path.join(workdir, f"{name}.sock")
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.env = env
        self.args = list(args)
        self.proc = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([FDSD, "--socket", self.socket] + self.args,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         env=self.env)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError(f"fdsd exited with {rc} while starting:\n{self.log()}")
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.connect(self.socket)
                return self
            except OSError as e:
                if e.errno not in (errno.ENOENT, errno.ECONNREFUSED):
                    raise
            if time.monotonic() > deadline:
                raise AssertionError(f"fdsd did not accept on {self.socket}:\n{self.log()}")
            time.sleep(0.02)

    def connect(self, timeout=REPLY_TIMEOUT):
        return Conn(self.socket, timeout)

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=20.0):
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.log()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not in the fdsd log:\n{self.log()[-5000:]}")
            time.sleep(0.02)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop_and_check(self):
        """SIGTERM; a list of problems (empty: exit 0 in time, no sanitizer report)."""
        if self.proc is None:
            return []
        problems = []
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problems.append(f"fdsd did not exit within {STOP_TIMEOUT} s of SIGTERM")
        rc = self.proc.returncode
        reports = sanitizer_reports(self.log())
        if rc != 0 and not problems:
            why = ("a sanitizer's exit status, see below" if reports
                   else "its loop did not close cleanly" if rc == 1 else "unexpected")
            problems.append(f"fdsd exited with {rc} after SIGTERM ({why})")
        if reports:
            problems.append("sanitizer reports in the fdsd log:\n" + "\n".join(reports[:20]))
        return problems


# ---- files -------------------------------------------------------------

def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def read(path):
    with open(path, "rb") as f:
        return f.read()


def temp_files(root):
    found = []
    for d, _, files in os.walk(root):
        found += [os.path.join(d, f) for f in files if TEMP_RE.match(f)]
    return found


def listing(root):
    """Every file under root, relative, sorted (temporaries included)."""
    out = []
    for d, _, files in os.walk(root):
        out += [os.path.relpath(os.path.join(d, f), root) for f in files]
    return sorted(out)


def md5_hex(data):
    return hashlib.md5(data).hexdigest()


def b64(data):
    return base64.b64encode(data).decode()


def pattern(size, seed):
    """size bytes, cheap to make and different for every seed (not random,
    so a wrong offset or a repeated block shows)."""
    block = hashlib.sha256(b"fds-%d" % seed).digest() * 2048  # 64 KiB
    tag = (b"%016x" % seed)
    out = bytearray()
    i = 0
    while len(out) < size:
        out += tag + (b"%012x" % i) + block[: 65536 - 28]
        i += 1
    return bytes(out[:size])


def copies(pairs):
    return [{"src": s, "dst": d} for s, d in pairs]
