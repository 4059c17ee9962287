# SPDX-License-Identifier: MIT
"""Type=notify: READY=1 once serving, STATUS= kept current, RELOADING=1 on
SIGHUP, STOPPING=1 on the way out, WATCHDOG=1 from a loop timer when
WATCHDOG_USEC asks for it; read from a NOTIFY_SOCKET the test owns."""

import os
import signal
import socket
import time

from conftest import wait_exit
from fdstest import IFACE, write


def test_ready_status_stopping(start_daemon, notify_socket, tmp_path):
    d = start_daemon(env={"NOTIFY_SOCKET": notify_socket.path}, wait=False)
    i, ready = notify_socket.wait_for("READY", "1")
    assert ready["STATUS"].startswith("0 connections, 0 batches, 0 files in flight"), ready
    # READY=1 comes once the socket accepts: systemd may start clients now.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(d.socket)

    with d.connect() as c:
        notify_socket.wait_for("STATUS", start=i + 1, match=lambda v: v.startswith("1 connection,"))
        src = write(str(tmp_path / "src"), b"x" * 1000)
        reply = c.call(f"{IFACE}.Copy", {"copies": [{"src": src, "dst": str(tmp_path / "dst")}]})
        assert reply["summary"]["files_ok"] == 1
    j, _ = notify_socket.wait_for("STATUS", start=i + 1, match=lambda v: v.startswith("0 connections,"))

    d.proc.send_signal(signal.SIGTERM)
    _, stopping = notify_socket.wait_for("STOPPING", "1", start=j)
    assert stopping["STATUS"].startswith("Stopping"), stopping
    assert wait_exit(d) == 0, d.log()
    assert all("WATCHDOG" not in m for m in notify_socket.messages), "WATCHDOG=1 without WATCHDOG_USEC"


def test_watchdog(start_daemon, notify_socket):
    d = start_daemon(env={"NOTIFY_SOCKET": notify_socket.path, "WATCHDOG_USEC": "200000"}, wait=False)
    i, _ = notify_socket.wait_for("READY", "1")
    t0 = time.monotonic()
    notify_socket.drain(1.5)
    n = sum(1 for m in notify_socket.messages[i:] if m.get("WATCHDOG") == "1")
    elapsed = time.monotonic() - t0
    # Every 100 ms (half the interval); slow machines and sanitizers get slack.
    assert n >= 5, f"{n} WATCHDOG=1 in {elapsed:.1f} s"
    d.check_stopped_cleanly()


def test_watchdog_for_another_process(start_daemon, notify_socket):
    """WATCHDOG_PID names the process the watchdog is for: not us, no pings."""
    d = start_daemon(env={"NOTIFY_SOCKET": notify_socket.path, "WATCHDOG_USEC": "100000",
                          "WATCHDOG_PID": str(os.getpid())}, wait=False)
    notify_socket.wait_for("READY", "1")
    notify_socket.drain(0.5)
    assert all("WATCHDOG" not in m for m in notify_socket.messages), notify_socket.messages
    d.check_stopped_cleanly()


def test_reload_notifies(start_daemon, notify_socket):
    d = start_daemon(env={"NOTIFY_SOCKET": notify_socket.path}, wait=False)
    i, _ = notify_socket.wait_for("READY", "1")
    d.proc.send_signal(signal.SIGHUP)
    j, reloading = notify_socket.wait_for("RELOADING", "1", start=i + 1)
    assert int(reloading["MONOTONIC_USEC"]) > 0, reloading
    notify_socket.wait_for("READY", "1", start=j + 1)
    d.wait_log("reloaded the settings")
    with d.connect() as c:
        assert c.call(f"{IFACE}.Status")["connections"] == 1


def test_failed_start_says_why(start_daemon, notify_socket, tmp_path):
    in_the_way = write(str(tmp_path / "not-a-socket"), b"")
    d = start_daemon(env={"NOTIFY_SOCKET": notify_socket.path}, socket_path=in_the_way, wait=False)
    assert wait_exit(d) == 1, d.log()
    _, m = notify_socket.wait_for("ERRNO")
    assert m["ERRNO"] == "17" and m["STATUS"].startswith("Failed: cannot listen"), m
    assert all("READY" not in m for m in notify_socket.messages), notify_socket.messages


def test_no_notify_socket_no_messages(start_daemon, notify_socket):
    """Without NOTIFY_SOCKET nothing is sent, watchdog or not."""
    d = start_daemon(env={"WATCHDOG_USEC": "100000"})
    notify_socket.drain(0.3)
    assert notify_socket.messages == []
    d.check_stopped_cleanly()
