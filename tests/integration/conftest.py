# SPDX-License-Identifier: MIT
"""Fixtures: a real fdsd per test on a socket in the test's tmp dir.

Run with `meson test -C build --suite integration` (any build dir, the
ASan one included), or directly:
    FDSD=build/daemon/fdsd FDSCTL=build/client/fdsctl \
        /usr/bin/python3 -m pytest -q tests/integration

At teardown every daemon a test started gets SIGTERM and must exit 0 within
STOP_TIMEOUT (fdsd exits 1 when uv_loop_close() finds handles left), and its
log must hold no sanitizer report.
"""

import os
import subprocess

import pytest

from fdstest import FDSCTL, FDSD, Daemon, need_fdsctl, sanitizer_reports, stop_daemons

# Each of these folders is its own meson test (own server, own fixtures).
collect_ignore = ["s3", "large", "systemd"]


def pytest_report_header(config):
    return [f"fdsd: {FDSD}", f"fdsctl: {FDSCTL}"]


def pytest_sessionstart(session):
    if not os.access(FDSD, os.X_OK):
        raise pytest.UsageError(f"fdsd not found at {FDSD} (set $FDSD)")


@pytest.fixture
def start_fdsd(tmp_path):
    """start_fdsd(*args, workdir=None, socket_path=None, wait=True,
    name=None) -> Daemon, stopped and checked at teardown."""
    daemons = []

    def start(*args, workdir=None, socket_path=None, wait=True, name=None):
        d = Daemon(workdir or str(tmp_path), args, socket_path=socket_path,
                   name=name or f"fdsd{len(daemons)}")
        daemons.append(d)
        return d.start(wait)

    yield start
    # A test may have made fdsd exit on purpose (bad options, a signal).
    stop_daemons(daemons, exited_ok=True)


@pytest.fixture
def fdsd(start_fdsd):
    """An fdsd with the default limits."""
    return start_fdsd("--log-level", "debug")


@pytest.fixture
def client(fdsd):
    with fdsd.connect() as c:
        yield c


@pytest.fixture
def run_fdsctl(fdsd):
    """run_fdsctl(*args, input=None, cwd=None, socket=fdsd.socket) ->
    CompletedProcess with bytes stdout/stderr; fails on sanitizer reports."""
    need_fdsctl()

    def run(*args, input=None, cwd=None, socket=None, timeout=120):
        sock = fdsd.socket if socket is None else socket
        cmd = [FDSCTL] + (["--socket", sock] if sock else []) + [str(a) for a in args]
        p = subprocess.run(cmd, input=input, cwd=cwd, capture_output=True, timeout=timeout)
        err = p.stderr.decode(errors="replace")
        reports = sanitizer_reports(err)
        assert not reports, f"sanitizer reports from fdsctl {args}:\n{err}"
        print(f"$ {' '.join(cmd)}\n-> {p.returncode}\n{err}")
        return p

    return run
