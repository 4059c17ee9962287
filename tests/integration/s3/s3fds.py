# SPDX-License-Identifier: MIT
"""Helpers for the S3 integration tests: fdstest's fdsd, varlink client and
file utilities (tests/integration/fdstest.py), with this suite's longer
timeouts and its call_error() shape, plus a few S3-suite extras.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# fdstest lives in the parent directory (tests/integration).
if os.path.dirname(HERE) not in sys.path:
    sys.path.insert(0, os.path.dirname(HERE))

import fdstest  # noqa: E402
from fdstest import (FDSCTL, FDSD, IFACE, SANITIZER_RE, SOURCE_ROOT, START_TIMEOUT,  # noqa: E402,F401
                     TEMP_RE, VarlinkError, b64, md5_hex, read, sanitizer_reports,
                     temp_files, write)

INVALID_REQUEST = IFACE + ".InvalidRequest"
READ_LIMIT = IFACE + ".ReadLimitExceeded"

STOP_TIMEOUT = 10.0
# One reply; generous for an ASan build on 2 cores.
REPLY_TIMEOUT = 120.0


# ---- varlink -----------------------------------------------------------

class Conn(fdstest.Varlink):
    """fdstest's connection; call_error() gives (error name, parameters)."""

    def __init__(self, path, timeout=REPLY_TIMEOUT):
        super().__init__(path, timeout)

    def call_error(self, method, parameters):
        """A call that must fail: (error name, parameters)."""
        reply = super().call_error(method, parameters)
        return reply["error"], reply.get("parameters", {})


# ---- fdsd --------------------------------------------------------------

class Daemon(fdstest.Daemon):
    """One fdsd with its socket and log in workdir, run with env."""

    reply_timeout = REPLY_TIMEOUT
    stop_timeout = STOP_TIMEOUT
    log_timeout = 20.0

    def __init__(self, workdir, env, args=(), name="fdsd"):
        super().__init__(workdir, args, name=name, env=env)

    def connect(self, timeout=REPLY_TIMEOUT):
        return Conn(self.socket, timeout)


# ---- files -------------------------------------------------------------

def listing(root):
    """Every file under root, relative, sorted (temporaries included)."""
    out = []
    for d, _, files in os.walk(root):
        out += [os.path.relpath(os.path.join(d, f), root) for f in files]
    return sorted(out)


def pattern(size, seed):
    """fdstest.pattern() with this suite's salt."""
    return fdstest.pattern(size, seed, b"fds")


def copies(pairs):
    return [{"src": s, "dst": d} for s, d in pairs]
