# SPDX-License-Identifier: MIT
"""Helpers for the integration tests: a real fdsd in a temporary directory,
a minimal varlink client, and small file-tree utilities.

Nothing here is mocked: every test talks to the fdsd binary named by $FDSD
over a Unix socket, and runs the fdsctl binary named by $FDSCTL.
"""

import base64
import errno
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))

# Meson passes the built binaries; the defaults serve a plain `pytest` run
# from a tree built in ./build.
FDSD = os.environ.get("FDSD") or os.path.join(SOURCE_ROOT, "build", "daemon", "fdsd")
FDSCTL = os.environ.get("FDSCTL") or os.path.join(SOURCE_ROOT, "build", "client", "fdsctl")
INTERFACE_FILE = os.environ.get("FDS_INTERFACE_FILE") or os.path.join(
    SOURCE_ROOT, "proto", "io.fds.Transfer.varlink")

IFACE = "io.fds.Transfer"
SERVICE = "org.varlink.service"

# How long fdsd may take to exit after SIGTERM. Its own limit for work to
# drain is 10 s; an idle daemon or one whose jobs honour the cancel flag
# should need a fraction of a second, ASan included.
STOP_TIMEOUT = 5.0
START_TIMEOUT = 10.0
# A single reply on a healthy daemon; generous for ASan on 2 cores.
REPLY_TIMEOUT = 60.0

# Reports of AddressSanitizer, LeakSanitizer and UBSan (which by default
# prints and carries on, so the exit status alone would not show it).
SANITIZER_RE = re.compile(
    r"ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|"
    r"SUMMARY: \w+Sanitizer|WARNING: \w+Sanitizer")

# Temporary files of an unfinished copy: ".<name>.fds-<16 hex>".
TEMP_RE = re.compile(r"^\..*\.fds-[0-9a-f]{16}$")

# FileError codes the interface file promises (its comment on FileError).
def documented_file_error_codes():
    text = open(INTERFACE_FILE, encoding="utf-8").read()
    m = re.search(r"# Why one file failed\. code is one of ([^.]*)\.", text)
    assert m, "cannot find the list of FileError codes in the interface file"
    return {c.strip() for c in m.group(1).replace("#", " ").split(",")}


def need_fdsctl():
    if not os.access(FDSCTL, os.X_OK):
        pytest.skip(f"fdsctl is not built ({FDSCTL} missing)")


def sanitizer_reports(text):
    return [line for line in text.splitlines() if SANITIZER_RE.search(line)]


def assert_no_sanitizer_reports(stderr, what="fdsctl"):
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    assert not sanitizer_reports(text), f"sanitizer reports from {what}:\n{text}"


class VarlinkError(Exception):
    def __init__(self, reply):
        super().__init__(f"{reply.get('error')}: {reply.get('parameters')}")
        self.name = reply.get("error")
        self.parameters = reply.get("parameters", {})


class Varlink:
    """One connection: NUL-terminated JSON messages, nothing else."""

    def __init__(self, path, timeout=REPLY_TIMEOUT):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, method, parameters=None, more=False, oneway=False):
        msg = {"method": method}
        if parameters is not None:
            msg["parameters"] = parameters
        if more:
            msg["more"] = True
        if oneway:
            msg["oneway"] = True
        self.send_raw(json.dumps(msg).encode() + b"\0")

    def recv(self):
        """The next message as a dict; EOFError when the daemon closed."""
        while b"\0" not in self.buf:
            data = self.sock.recv(1 << 16)
            if not data:
                raise EOFError("connection closed by fdsd")
            self.buf += data
        msg, _, self.buf = self.buf.partition(b"\0")
        return json.loads(msg)

    def at_eof(self, timeout=REPLY_TIMEOUT):
        """True when the daemon closes the connection with nothing more to
        say; any further message is an error."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if self.buf:
                    raise AssertionError(f"unexpected data: {self.buf[:200]!r}")
                data = self.sock.recv(1 << 16)
                if not data:
                    return True
                self.buf += data
        except ConnectionResetError:
            return True

    def call(self, method, parameters=None):
        """One reply; a varlink error raises VarlinkError."""
        self.send(method, parameters)
        reply = self.recv()
        if "error" in reply:
            raise VarlinkError(reply)
        assert "continues" not in reply, reply
        return reply["parameters"]

    def call_error(self, method, parameters=None):
        """A call that must fail: the error reply."""
        self.send(method, parameters)
        reply = self.recv()
        assert "error" in reply, f"expected an error, got {reply}"
        return reply

    def call_more(self, method, parameters=None):
        """All replies of a "more" call, the last one without continues."""
        self.send(method, parameters, more=True)
        replies = []
        while True:
            reply = self.recv()
            replies.append(reply)
            if "error" in reply or not reply.get("continues"):
                return replies


class Daemon:
    """One fdsd process with its socket and log in a directory of its own."""

    def __init__(self, workdir, args=(), socket_path=None, name="fdsd"):
        self.workdir = workdir
        self.socket = socket_path or os.path.join(workdir, f"{name}.sock")
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.args = list(args)
        self.proc = None
        self.returncode = None

    def command(self):
        return [FDSD, "--socket", self.socket] + self.args

    def start(self, wait=True):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError(f"fdsd exited with {rc} while starting:\n{self.log()}")
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.connect(self.socket)
                return
            except OSError as e:
                if e.errno not in (errno.ENOENT, errno.ECONNREFUSED):
                    raise
            if time.monotonic() > deadline:
                raise AssertionError(f"fdsd did not accept on {self.socket}:\n{self.log()}")
            time.sleep(0.02)

    def connect(self, timeout=REPLY_TIMEOUT):
        return Varlink(self.socket, timeout)

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.log()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not in the log:\n{self.log()}")
            time.sleep(0.02)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, timeout=STOP_TIMEOUT):
        """SIGTERM and wait: the exit status, None if still running."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def check_stopped_cleanly(self, timeout=STOP_TIMEOUT):
        """Stop (if running) and raise unless fdsd exited 0 within timeout
        with no sanitizer report in its log."""
        rc = self.terminate(timeout)
        if rc is None:
            self.kill()
            raise AssertionError(
                f"fdsd did not exit within {timeout} s of SIGTERM:\n{self.log()}")
        reports = sanitizer_reports(self.log())
        assert not reports, "sanitizer reports in the fdsd log:\n" + self.log()
        assert rc == 0, f"fdsd exited with {rc} after SIGTERM:\n{self.log()}"


# ---- files ------------------------------------------------------------

def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def read(path):
    with open(path, "rb") as f:
        return f.read()


def make_tree(root, n, per_dir=10, seed=1, max_size=4096, zero_every=7):
    """n files in nested directories (a/b/fNNN); every zero_every-th is empty.
    Returns the relative paths in order."""
    rng = random.Random(seed)
    rels = []
    for i in range(n):
        d = i // per_dir
        rel = os.path.join(f"d{d // per_dir:03d}", f"s{d % per_dir:02d}", f"f{i:05d}.bin")
        size = 0 if i % zero_every == 0 else rng.randint(1, max_size)
        write(os.path.join(root, rel), rng.randbytes(size))
        rels.append(rel)
    return rels


def make_sparse(path, size, head=b""):
    """A file of size bytes that costs almost no disk: head, then a hole."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)
    return path


def temp_files(root):
    """Leftover temporary files of fdsd anywhere under root."""
    found = []
    for d, _, files in os.walk(root):
        found += [os.path.join(d, f) for f in files if TEMP_RE.match(f)]
    return found


def b64(data):
    return base64.b64encode(data).decode()


def shared_tmpdir(prefix):
    """A directory an unprivileged user may work in (pytest's tmp_path sits
    under a 0700 directory of root's)."""
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(d, 0o777)
    return d


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)


# Run as another user: sends each call of argv[2] (a JSON list of
# [method, parameters]) on one connection, prints each reply as a line.
CALLS_AS_USER = """
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
buf = b""
for method, params in json.loads(sys.argv[2]):
    s.sendall(json.dumps({"method": method, "parameters": params}).encode() + b"\\0")
    while b"\\0" not in buf:
        data = s.recv(65536)
        if not data:
            sys.exit("connection closed")
        buf += data
    msg, _, buf = buf.partition(b"\\0")
    print(msg.decode())
"""


def calls_as(user, socket_path, calls):
    """Replies to calls ([method, parameters] each) made on one connection,
    by user (a uid, through setpriv) or, for None, by this process."""
    if user is None:
        with Varlink(socket_path) as c:
            out = []
            for method, params in calls:
                c.send(method, params)
                out.append(c.recv())
            return out
    p = subprocess.run(["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups",
                        "/usr/bin/python3", "-c", CALLS_AS_USER, socket_path,
                        json.dumps(calls)], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return [json.loads(x) for x in p.stdout.splitlines()]


def run_fdsctl_as(user, *args):
    priv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] \
        if user is not None else []
    p = subprocess.run(priv + [FDSCTL] + list(args), capture_output=True, timeout=60)
    assert_no_sanitizer_reports(p.stderr)
    return p
