# SPDX-License-Identifier: MIT
"""fdsd under systemd's protocols, without systemd running: each test owns
the sockets systemd would own (the listening socket through
systemd-socket-activate, NOTIFY_SOCKET, the journal's socket) and checks
what fdsd does with them.

These tests are meson's `integration-systemd` test. When pytest is pointed
at the parent directory (the `integration` test) they are not collected, so
they do not run twice; name this directory (or a file in it) or set
FDS_SYSTEMD_TESTS=1 to run them.
"""

import os
import socket
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import fdstest  # noqa: E402
from fdstest import FDSCTL, FDSD, START_TIMEOUT, STOP_TIMEOUT, Daemon  # noqa: E402

# What systemd would set; a test sets what it wants and nothing leaks in
# from the environment the tests run in.
SYSTEMD_ENV = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID",
               "LISTEN_FDNAMES", "JOURNAL_STREAM", "FDS_SOCKET")


def pytest_ignore_collect(collection_path, config):
    """Collect these tests only when asked for by path (or FDS_SYSTEMD_TESTS=1)."""
    return fdstest.collect_only_when_asked(collection_path, config, HERE, "FDS_SYSTEMD_TESTS")


def pytest_report_header(config):
    return [f"fdsd: {FDSD}", f"fdsctl: {FDSCTL}"]


class SysDaemon(Daemon):
    """An fdsd with a chosen environment, optionally behind a wrapper
    (systemd-socket-activate, unshare) that execs it in the same process."""

    def __init__(self, workdir, args=(), socket_path=None, name="fdsd", env=None, wrapper=(),
                 socket_flag=True, journal_stream=False):
        super().__init__(workdir, args, socket_path=socket_path, name=name)
        self.env = env or {}
        self.wrapper = list(wrapper)
        self.socket_flag = socket_flag
        self.journal_stream = journal_stream

    def command(self):
        # A settings file installed on this machine must not change the tests.
        conf = [] if "--config" in self.args else ["--config", "/dev/null"]
        return (self.wrapper + [FDSD] + conf + (["--socket", self.socket] if self.socket_flag else [])
                + self.args)

    def start(self, wait=True):
        env = {k: v for k, v in os.environ.items() if k not in SYSTEMD_ENV}
        with open(self.log_path, "ab") as log:
            if self.journal_stream:
                # As systemd does for a service whose stderr is the journal.
                st = os.fstat(log.fileno())
                env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
            env.update(self.env)
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, env=env)
        if wait:
            self.wait_ready()
        return self


@pytest.fixture
def start_daemon(tmp_path):
    """start_daemon(*args, **SysDaemon options, wait=True) -> SysDaemon,
    stopped at teardown, which fails unless it exits 0 with a clean log."""
    daemons = []

    def start(*args, wait=True, name=None, **kw):
        d = SysDaemon(str(tmp_path), args, name=name or f"fdsd{len(daemons)}", **kw)
        daemons.append(d)
        return d.start(wait)

    yield start
    # A test may have made fdsd exit on purpose (a bad config, a signal).
    fdstest.stop_daemons(daemons, exited_ok=True)


class NotifySocket:
    """The datagram socket systemd reads sd_notify() messages from."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []  # each a dict of its KEY=VALUE lines

    def close(self):
        self.sock.close()

    def _receive(self, timeout):
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        fields = {}
        for line in data.decode().split("\n"):
            if line:
                k, _, v = line.partition("=")
                fields[k] = v
        self.messages.append(fields)
        return True

    def drain(self, seconds):
        """Collect whatever arrives within seconds."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._receive(deadline - time.monotonic())
        return self.messages

    def wait_for(self, key, value=None, start=0, timeout=START_TIMEOUT, match=None):
        """The first message from index start on with key (= value, or for
        which match(value) holds); its index and the message."""
        deadline = time.monotonic() + timeout
        i = start
        while True:
            while i < len(self.messages):
                m = self.messages[i]
                if key in m and (value is None or m[key] == value) and (match is None or match(m[key])):
                    return i, m
                i += 1
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {key}={value or '...'} from fdsd in {timeout} s; got {self.messages}")
            self._receive(left)


@pytest.fixture
def notify_socket(tmp_path):
    n = NotifySocket(str(tmp_path / "notify.sock"))
    yield n
    n.close()


def wait_exit(d, timeout=STOP_TIMEOUT):
    """The exit status of a daemon expected to stop on its own."""
    try:
        return d.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        d.kill()
        raise AssertionError(f"fdsd still running after {timeout} s:\n{d.log()}")
