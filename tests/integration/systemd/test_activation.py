# SPDX-License-Identifier: MIT
"""The listening socket: passed by systemd (here systemd-socket-activate on
a temporary socket, which listens, then execs fdsd on the first connection
with LISTEN_FDS and LISTEN_FDNAMES set), or bound by fdsd itself with the
mode, group and directory permissions asked for."""

import os
import shutil
import socket
import stat
import time

import pytest

from conftest import wait_exit
from fdstest import IFACE, SERVICE, read, write

ACTIVATE = shutil.which("systemd-socket-activate")

needs_activate = pytest.mark.skipif(
    ACTIVATE is None, reason="systemd-socket-activate is missing (Debian: apt-get install systemd)")


def activate(*sockets, names=None):
    """systemd-socket-activate listening on sockets, passing them named."""
    cmd = [ACTIVATE]
    for s in sockets:
        cmd += ["--listen", s]
    if names:
        cmd.append("--fdname=" + ":".join(names))
    return cmd


def refused(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(path)
        except ConnectionRefusedError:
            return True
    return False


@needs_activate
def test_socket_activation(start_daemon, tmp_path):
    sock = str(tmp_path / "act.sock")
    unused = str(tmp_path / "not-this.sock")
    # --socket is for a socket fdsd binds itself; systemd's takes precedence.
    d = start_daemon("--socket", unused, "--log-level", "debug", socket_path=sock, socket_flag=False,
                     wrapper=activate(sock, names=["varlink"]))
    d.wait_log(r"listening on \"%s\" \(socket activation\)" % sock)
    with d.connect() as c:
        assert IFACE in c.call(f"{SERVICE}.GetInfo")["interfaces"]
        src = write(str(tmp_path / "src"), b"activated")
        reply = c.call(f"{IFACE}.Copy", {"copies": [{"src": src, "dst": str(tmp_path / "dst")}]})
        assert reply["summary"]["files_ok"] == 1
        assert read(str(tmp_path / "dst")) == b"activated"
        assert c.call(f"{IFACE}.Status")["connections"] >= 1
    assert not os.path.exists(unused)
    d.check_stopped_cleanly()
    # The socket belongs to whoever passed it: fdsd leaves the file alone.
    assert stat.S_ISSOCK(os.lstat(sock).st_mode)


@needs_activate
def test_activation_without_names(start_daemon, tmp_path):
    """One socket and no LISTEN_FDNAMES: that socket."""
    sock = str(tmp_path / "act.sock")
    d = start_daemon(socket_path=sock, socket_flag=False, wrapper=activate(sock))
    with d.connect() as c:
        assert c.call(f"{IFACE}.Status")["version"]
    d.check_stopped_cleanly()


@needs_activate
def test_activation_picks_the_varlink_socket(start_daemon, tmp_path):
    other = str(tmp_path / "other.sock")
    sock = str(tmp_path / "varlink.sock")
    d = start_daemon(socket_path=sock, socket_flag=False,
                     wrapper=activate(other, sock, names=["metrics", "varlink"]))
    with d.connect() as c:
        assert c.call(f"{IFACE}.Status")["version"]
    # The socket fdsd has no use for is closed, not left to fill up.
    assert refused(other)
    d.check_stopped_cleanly()


@needs_activate
def test_activation_without_a_varlink_socket(start_daemon, tmp_path):
    a, b = str(tmp_path / "a.sock"), str(tmp_path / "b.sock")
    d = start_daemon(socket_path=a, socket_flag=False, wrapper=activate(a, b, names=["x", "y"]), wait=False)
    # The first connection makes systemd-socket-activate exec fdsd.
    for _ in range(250):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(a)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            time.sleep(0.02)
    else:
        raise AssertionError(f"{a} never accepted:\n{d.log()}")
    assert wait_exit(d) == 1, d.log()
    assert 'none is named "varlink"' in d.log(), d.log()


@needs_activate
def test_bound_fdsd_refuses_an_activated_socket(start_daemon, tmp_path):
    """A socket a live fdsd serves, activated or not, is never taken over."""
    sock = str(tmp_path / "act.sock")
    first = start_daemon(socket_path=sock, socket_flag=False, wrapper=activate(sock, names=["varlink"]))
    second = start_daemon(socket_path=sock, wait=False)
    assert wait_exit(second) == 1, second.log()
    assert "another fdsd is serving it" in second.log(), second.log()
    with first.connect() as c:
        assert c.call(f"{IFACE}.Status")["version"]
    first.check_stopped_cleanly()


def test_bound_socket_mode_and_group(start_daemon, tmp_path):
    gid = os.getgid() if os.geteuid() != 0 else 4242
    d = start_daemon("--socket-mode", "0640", "--socket-group", str(gid))
    st = os.lstat(d.socket)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o640, oct(st.st_mode)
    assert st.st_gid == gid
    d.check_stopped_cleanly()
    assert not os.path.exists(d.socket)


def test_bound_socket_default_mode(start_daemon, tmp_path):
    d = start_daemon()
    want = 0o660 if os.geteuid() == 0 else 0o600
    assert stat.S_IMODE(os.lstat(d.socket).st_mode) == want


def test_bound_socket_mode_from_settings_file(start_daemon, tmp_path):
    conf = write(str(tmp_path / "fdsd.conf"), b"[socket]\nmode = 0600\n")
    d = start_daemon("--config", conf)
    assert stat.S_IMODE(os.lstat(d.socket).st_mode) == 0o600


def test_bound_socket_directory_is_created_private(start_daemon, tmp_path):
    sock = str(tmp_path / "run" / "fds" / "fdsd.sock")
    start_daemon(socket_path=sock)
    want = 0o755 if os.geteuid() == 0 else 0o700
    for d in (tmp_path / "run", tmp_path / "run" / "fds"):
        assert stat.S_IMODE(os.stat(d).st_mode) == want, (d, oct(os.stat(d).st_mode))
