# SPDX-License-Identifier: MIT
"""Helpers for the large-object S3 tests: a real fdsd with an environment of
our choosing, a minimal varlink client, data and checksum utilities.

Only the standard library; boto3 is used by the tests themselves.
"""

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
MiB = 1024 * 1024
# fdsd's defaults (boto3's TransferConfig), from the interface file.
DEFAULT_THRESHOLD = 8 * MiB
DEFAULT_CHUNK = 8 * MiB

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
# One reply; generous for an ASan build on 2 cores.
REPLY_TIMEOUT = 180.0

SANITIZER_RE = re.compile(
    r"ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|"
    r"SUMMARY: \w+Sanitizer|WARNING: \w+Sanitizer")

# fdsd's temporaries: ".<name>.fds-<16 hex>".
TEMP_RE = re.compile(r"^\..*\.fds-[0-9a-f]{16}$")


def sanitizer_reports(text):
    return [line for line in text.splitlines() if SANITIZER_RE.search(line)]


def fdsd_help():
    p = subprocess.run([FDSD, "--help"], capture_output=True, timeout=10)
    return (p.stdout + p.stderr).decode(errors="replace")


def is_asan_binary(path):
    """True if path links AddressSanitizer (its memory use is not comparable)."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


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
        self.send(method, parameters)
        reply = self.recv()
        if "error" in reply:
            raise VarlinkError(reply)
        assert not reply.get("continues"), reply
        return reply["parameters"]


# ---- fdsd --------------------------------------------------------------

def base_env(home):
    """fdsd's environment without any S3 settings of the caller's: no AWS_*,
    a HOME without ~/.aws, no instance metadata service."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = home
    env["AWS_CONFIG_FILE"] = os.path.join(home, "no-aws-config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(home, "no-aws-credentials")
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


class Daemon:
    """One fdsd with its socket and log in workdir."""

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

    def vm(self, field="VmHWM"):
        """A /proc/PID/status memory field of the running fdsd, in bytes."""
        with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        raise AssertionError(f"no {field} in /proc/{self.proc.pid}/status")

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM and wait: the exit status (None if it did not exit in time)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop_and_check(self):
        """SIGTERM; a list of problems (empty: exit 0 in time, no sanitizer report)."""
        if self.proc is None:
            return []
        problems = []
        was_running = self.proc.poll() is None
        rc = self.stop()
        if rc is None:
            self.proc.kill()
            self.proc.wait()
            problems.append(f"fdsd did not exit within {STOP_TIMEOUT} s of SIGTERM")
        elif rc != 0:
            problems.append(f"fdsd exited with {rc}" + (" after SIGTERM" if was_running else ""))
        reports = sanitizer_reports(self.log())
        if reports:
            problems.append("sanitizer reports in the fdsd log:\n" + "\n".join(reports[:20]))
        return problems


class Fds:
    """An fdsd and the defaults for its calls."""

    def __init__(self, daemon, s3opts=None):
        self.daemon = daemon
        self.s3opts = s3opts

    def params(self, pairs, options):
        o = dict(options)
        if self.s3opts is not None or "s3" in o:
            o["s3"] = dict(self.s3opts or {}, **o.get("s3", {}))
        p = {"copies": [{"src": s, "dst": d} for s, d in pairs]}
        if o:
            p["options"] = o
        return p

    def copy(self, pairs, **options):
        """Copy (one reply): the results, in request order."""
        with self.daemon.connect() as c:
            out = c.call(f"{IFACE}.Copy", self.params(pairs, options))
        return sorted(out["results"], key=lambda r: r["index"])

    def copy1(self, src, dst, **options):
        """Copy of one file: its result."""
        results = self.copy([(src, dst)], **options)
        assert len(results) == 1, results
        return results[0]

    def send_copy(self, pairs, **options):
        """Start a streaming Copy and return the open connection."""
        c = self.daemon.connect()
        c.send(f"{IFACE}.Copy", self.params(pairs, options), more=True)
        return c


# ---- data --------------------------------------------------------------

def pattern(size, seed):
    """size bytes, cheap to make, different for every seed and every 64 KiB
    block (so a misplaced, repeated or missing block shows)."""
    block = hashlib.sha256(b"fds-large-%d" % seed).digest() * 2048  # 64 KiB
    out = bytearray()
    i = 0
    while len(out) < size:
        out += (b"%016x%012x" % (seed, i)) + block[: 65536 - 28]
        i += 1
    del out[size:]
    return bytes(out)


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


def md5_hex(data):
    return hashlib.md5(data).hexdigest()


def multipart_etag(data, chunk):
    """The ETag S3 gives an object uploaded in parts of chunk bytes:
    MD5 of the parts' binary MD5s, "-" and the number of parts."""
    digests = b"".join(hashlib.md5(data[i:i + chunk]).digest()
                       for i in range(0, len(data), chunk))
    n = (len(data) + chunk - 1) // chunk
    return f'"{hashlib.md5(digests).hexdigest()}-{n}"'


def uploads_in_progress(s3, bucket):
    """ListMultipartUploads (boto3): [(key, upload id)]."""
    out = s3.list_multipart_uploads(Bucket=bucket)
    return [(u["Key"], u["UploadId"]) for u in out.get("Uploads", [])]


def wait_for(pred, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
