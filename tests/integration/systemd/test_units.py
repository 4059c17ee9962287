# SPDX-License-Identifier: MIT
"""The unit files in contrib/systemd: systemd-analyze verify passes, the
system service stays well sandboxed (systemd-analyze security), and the
units agree with what fdsd expects (socket name and path, notify)."""

import os
import re
import shutil
import subprocess

import pytest

from conftest import HERE
from fdstest import FDSD

SOURCE = os.environ.get("FDS_UNIT_SOURCE_DIR") or os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(HERE))),
                                                                 "contrib", "systemd")
BUILD = os.environ.get("FDS_UNIT_BUILD_DIR") or os.path.join(os.path.dirname(os.path.dirname(FDSD)), "contrib",
                                                               "systemd")
ANALYZE = shutil.which("systemd-analyze")
# The exposure contrib/systemd/README.md records; a change that raises it
# should say why there.
MAX_EXPOSURE = 3.0

needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is missing (Debian: apt-get install systemd)")


def unit_text(*parts):
    for base in (BUILD, SOURCE):
        p = os.path.join(base, *parts)
        if os.path.exists(p):
            with open(p, encoding="utf-8") as f:
                return f.read()
    raise AssertionError(f"{os.path.join(*parts)} is in neither {BUILD} nor {SOURCE}")


def settings(text):
    """KEY=VALUE lines of a unit, values of repeated keys in a list."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            k, _, v = line.partition("=")
            out.setdefault(k.strip(), []).append(v.strip())
    return out


def install_units(tmp_path, *parts):
    """The units as built, with ExecStart= pointing at the fdsd under test
    (verify wants the binary to exist)."""
    d = tmp_path / "units"
    d.mkdir(exist_ok=True)
    paths = []
    for part in parts:
        text = re.sub(r"(?m)^ExecStart=\S+", f"ExecStart={FDSD}", unit_text(*part))
        p = d / part[-1]
        p.write_text(text)
        paths.append(str(p))
    return paths


def analyze(*args, env=None):
    e = dict(os.environ, SYSTEMD_PAGER="", SYSTEMD_COLORS="0", **(env or {}))
    return subprocess.run([ANALYZE, *args], capture_output=True, text=True, timeout=120, env=e)


@needs_analyze
def test_system_units_verify(tmp_path):
    units = install_units(tmp_path, ("fdsd.socket",), ("fdsd.service",))
    p = analyze("verify", "--man=no", *units)
    assert p.returncode == 0 and p.stdout + p.stderr == "", p.stdout + p.stderr


@needs_analyze
def test_user_units_verify(tmp_path):
    units = install_units(tmp_path, ("user", "fdsd.socket"), ("user", "fdsd.service"))
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    p = analyze("--user", "verify", "--man=no", *units, env={"XDG_RUNTIME_DIR": str(runtime)})
    assert p.returncode == 0 and p.stdout + p.stderr == "", p.stdout + p.stderr


@needs_analyze
def test_system_service_exposure(tmp_path):
    (unit,) = install_units(tmp_path, ("fdsd.service",))
    p = analyze("security", "--offline=yes", unit)
    assert p.returncode == 0, p.stdout + p.stderr
    m = re.search(r"Overall exposure level for fdsd\.service: ([0-9.]+)", p.stdout)
    assert m, p.stdout
    print(p.stdout)
    assert float(m.group(1)) <= MAX_EXPOSURE, p.stdout


def test_units_match_the_daemon():
    sock = settings(unit_text("fdsd.socket"))
    svc = settings(unit_text("fdsd.service"))
    assert sock["ListenStream"] == ["/run/fds/fdsd.sock"]  # fdsd's and fdsctl's default for root
    assert sock["FileDescriptorName"] == ["varlink"]        # server.h: SERVER_FD_NAME
    assert sock["SocketMode"] == ["0660"] and sock["SocketGroup"] == ["fds"]
    assert svc["Type"] == ["notify"] and "WatchdogSec" in svc
    assert svc["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    # Clients copy into their own /tmp: a private one would hide it.
    assert svc["PrivateTmp"] == ["no"]
    assert "RuntimeDirectory" not in svc, "it would remove the socket unit's /run/fds on stop"
    for key in ("NoNewPrivileges", "ProtectSystem", "ReadWritePaths", "ProtectHome", "RestrictAddressFamilies",
                "LockPersonality", "MemoryDenyWriteExecute", "SystemCallFilter"):
        assert key in svc, key
    assert svc["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6"]
    assert svc["ProtectSystem"] == ["strict"]

    usock = settings(unit_text("user", "fdsd.socket"))
    usvc = settings(unit_text("user", "fdsd.service"))
    assert usock["ListenStream"] == ["%t/fds/fdsd.sock"]    # $XDG_RUNTIME_DIR/fds/fdsd.sock
    assert usock["FileDescriptorName"] == ["varlink"] and usock["SocketMode"] == ["0600"]
    assert usvc["Type"] == ["notify"]
    assert "PrivateTmp" not in usvc or usvc["PrivateTmp"] == ["no"]
