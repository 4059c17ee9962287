# SPDX-License-Identifier: MIT
"""Logging: levelled lines on stderr when run by hand; the journal's native
protocol, with FDS_BATCH=, FDS_PEER_UID=, FDS_PEER_PID=, FDS_PATH= and
FDS_CODE=, when systemd connected stderr to the journal (JOURNAL_STREAM
names stderr) or --log-target journal says so.

libsystemd always sends to /run/systemd/journal/socket. Where a private
mount namespace is allowed (root, unshare(1)), fdsd runs in one whose
/run/systemd/journal is a directory holding a socket this test listens on,
so the records can be read field by field without a journald. Where a real
journald runs, a record is also looked up with journalctl."""

import json
import os
import shutil
import socket
import struct
import subprocess
import time

import pytest

from fdstest import IFACE, write

UNSHARE = shutil.which("unshare")
JOURNALCTL = shutil.which("journalctl")


def parse_native(data):
    """One datagram of the journal's native protocol: KEY=VALUE lines, or
    KEY, a newline, a 64-bit little-endian length and that many bytes."""
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, _, v = line.partition(b"=")
            i = nl + 1
        else:
            k = line
            (n,) = struct.unpack("<Q", data[nl + 1:nl + 9])
            v = data[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        fields[k.decode()] = v.decode()
    return fields


def namespace_works():
    if os.geteuid() != 0 or not UNSHARE:
        return False
    p = subprocess.run([UNSHARE, "--mount", "--propagation", "private", "true"], capture_output=True)
    return p.returncode == 0


needs_namespace = pytest.mark.skipif(
    not namespace_works(),
    reason="needs root and unshare(1) for a private mount namespace holding a stand-in journal socket")


class FakeJournal:
    def __init__(self, directory):
        self.dir = directory
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(os.path.join(directory, "socket"))
        self.records = []

    def wrapper(self):
        """Run a command with this journal at /run/systemd/journal; the
        tmpfs over /run lives and dies with the namespace."""
        script = ('mount -t tmpfs fds-test /run && mkdir -p /run/systemd/journal && '
                  'mount --bind "$0" /run/systemd/journal && exec "$@"')
        return [UNSHARE, "--mount", "--propagation", "private", "sh", "-c", script, self.dir]

    def wait_for(self, match, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            for r in self.records:
                if match(r):
                    return r
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no such record; got {self.records}")
            self.sock.settimeout(left)
            try:
                self.records.append(parse_native(self.sock.recv(1 << 20)))
            except socket.timeout:
                pass

    def close(self):
        self.sock.close()


@pytest.fixture
def journal(tmp_path):
    d = tmp_path / "journal"
    d.mkdir()
    j = FakeJournal(str(d))
    yield j
    j.close()


def copy_two_batches(d, tmp_path):
    """Batch 1 all ok; batch 2 with a missing source (so a failed file)."""
    src = write(str(tmp_path / "src"), b"journal")
    with d.connect() as c:
        c.call(f"{IFACE}.Copy", {"copies": [{"src": src, "dst": str(tmp_path / "dst1")}]})
        missing = str(tmp_path / "missing")
        c.call(f"{IFACE}.Copy", {"copies": [{"src": src, "dst": str(tmp_path / "dst2")},
                                            {"src": missing, "dst": str(tmp_path / "dst3")}],
                                 "options": {"validate": False}})
    return missing


def check_batch_records(journal, missing):
    ok = journal.wait_for(lambda r: r.get("FDS_BATCH") == "1")
    assert ok["PRIORITY"] == "6" and ok["SYSLOG_IDENTIFIER"] == "fdsd", ok
    assert ok["MESSAGE"].startswith("batch 1: Copy from uid"), ok
    assert ok["FDS_PEER_UID"] == str(os.getuid()) and ok["FDS_PEER_PID"] == str(os.getpid()), ok
    assert "FDS_CODE" not in ok and "FDS_PATH" not in ok, ok
    failed = journal.wait_for(lambda r: r.get("FDS_BATCH") == "2")
    assert failed["FDS_CODE"] == "NotFound" and failed["FDS_PATH"] == missing, failed
    assert "1 ok, 1 failed" in failed["MESSAGE"], failed


@needs_namespace
def test_journal_when_stderr_is_the_journal(start_daemon, journal, tmp_path):
    d = start_daemon(wrapper=journal.wrapper(), journal_stream=True)
    listening = journal.wait_for(lambda r: r.get("MESSAGE", "").startswith("listening on"))
    assert listening["PRIORITY"] == "6", listening
    missing = copy_two_batches(d, tmp_path)
    check_batch_records(journal, missing)
    d.check_stopped_cleanly()
    journal.wait_for(lambda r: r.get("MESSAGE") == "stopping")
    # Records went to the journal, not to stderr as well.
    assert "batch 1:" not in d.log() and "listening on" not in d.log(), d.log()


@needs_namespace
def test_journal_by_flag(start_daemon, journal, tmp_path):
    d = start_daemon("--log-target", "journal", wrapper=journal.wrapper())
    missing = copy_two_batches(d, tmp_path)
    check_batch_records(journal, missing)


@needs_namespace
def test_journal_gone_falls_back_to_stderr(start_daemon, tmp_path):
    """No journal socket (sd_journal_send() would drop records silently):
    records go to stderr."""
    empty = tmp_path / "no-journal"
    empty.mkdir()
    j = FakeJournal(str(empty))
    j.close()
    os.unlink(os.path.join(str(empty), "socket"))
    d = start_daemon("--log-target", "journal", wrapper=j.wrapper())
    d.wait_log("listening on")


def test_console_when_journal_stream_is_another_file(start_daemon, tmp_path):
    d = start_daemon(env={"JOURNAL_STREAM": "1:1"})
    d.wait_log(r"fdsd\[info\]: listening on")


def test_console_by_flag_despite_journal_stream(start_daemon, tmp_path):
    d = start_daemon("--log-target", "console", journal_stream=True)
    d.wait_log(r"fdsd\[info\]: listening on")


def journald_running():
    return JOURNALCTL and os.path.exists("/run/systemd/journal/socket") and subprocess.run(
        [JOURNALCTL, "-n", "0", "-q"], capture_output=True).returncode == 0


@pytest.mark.skipif(not journald_running(),
                    reason="no journald here (/run/systemd/journal/socket missing or journalctl failing); "
                           "the fields are checked against a stand-in journal socket instead")
def test_real_journal(start_daemon, tmp_path):
    d = start_daemon("--log-target", "journal")
    missing = copy_two_batches(d, tmp_path)
    pid = str(d.proc.pid)
    deadline = time.monotonic() + 10
    while True:
        p = subprocess.run([JOURNALCTL, "-o", "json", "--no-pager", f"_PID={pid}", "FDS_BATCH=2"],
                           capture_output=True, text=True)
        if p.stdout.strip() or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert p.stdout.strip(), f"journalctl _PID={pid} FDS_BATCH=2 found nothing: {p.stderr}"
    rec = json.loads(p.stdout.splitlines()[-1])
    assert rec["FDS_CODE"] == "NotFound" and rec["FDS_PATH"] == missing, rec
