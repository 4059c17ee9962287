# SPDX-License-Identifier: MIT
"""Helpers for the large-object S3 tests: a real fdsd with an environment of
our choosing, a minimal varlink client, data and checksum utilities.

Only the standard library; boto3 is used by the tests themselves.
"""

import hashlib
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# fdstest lives in the parent directory (tests/integration).
if os.path.dirname(HERE) not in sys.path:
    sys.path.insert(0, os.path.dirname(HERE))

import fdstest  # noqa: E402
from fdstest import (FDSCTL, FDSD, IFACE, SANITIZER_RE, SOURCE_ROOT, START_TIMEOUT,  # noqa: E402,F401
                     TEMP_RE, VarlinkError, base_env, md5_hex, read, sanitizer_reports,
                     temp_files, uploads_in_progress, write)

MiB = 1024 * 1024
# fdsd's defaults (boto3's TransferConfig), from the interface file.
DEFAULT_THRESHOLD = 8 * MiB
DEFAULT_CHUNK = 8 * MiB

STOP_TIMEOUT = 10.0
# One reply; generous for an ASan build on 2 cores.
REPLY_TIMEOUT = 180.0


def fdsd_help():
    p = subprocess.run([FDSD, "--help"], capture_output=True, timeout=10)
    return (p.stdout + p.stderr).decode(errors="replace")


is_asan_binary = fdstest.is_asan_binary


# ---- varlink -----------------------------------------------------------

class Conn(fdstest.Varlink):
    """fdstest's connection with this suite's reply timeout."""

    def __init__(self, path, timeout=REPLY_TIMEOUT):
        super().__init__(path, timeout)


# ---- fdsd --------------------------------------------------------------

class Daemon(fdstest.Daemon):
    """One fdsd with its socket and log in workdir, run with env."""

    reply_timeout = REPLY_TIMEOUT
    stop_timeout = STOP_TIMEOUT

    def __init__(self, workdir, env, args=(), name="fdsd"):
        super().__init__(workdir, args, name=name, env=env)

    def connect(self, timeout=REPLY_TIMEOUT):
        return Conn(self.socket, timeout)

    def vm(self, field="VmHWM"):
        """A /proc/PID/status memory field of the running fdsd, in bytes."""
        with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        raise AssertionError(f"no {field} in /proc/{self.proc.pid}/status")


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
    """fdstest.pattern() with this suite's salt."""
    return fdstest.pattern(size, seed, b"fds-large")


def multipart_etag(data, chunk):
    """The ETag S3 gives an object uploaded in parts of chunk bytes:
    MD5 of the parts' binary MD5s, "-" and the number of parts."""
    digests = b"".join(hashlib.md5(data[i:i + chunk]).digest()
                       for i in range(0, len(data), chunk))
    n = (len(data) + chunk - 1) // chunk
    return f'"{hashlib.md5(digests).hexdigest()}-{n}"'


def wait_for(pred, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
