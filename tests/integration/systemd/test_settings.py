# SPDX-License-Identifier: MIT
"""The settings file: --check-config, errors with their line, flags over
the file, and SIGHUP applying what can change at run time."""

import os
import signal
import subprocess
import time

from conftest import wait_exit
from fdstest import FDSD, IFACE, write

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def fdsd(*args, timeout=30):
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID")}
    return subprocess.run([FDSD, *args], capture_output=True, text=True, timeout=timeout, env=env)


def read_limit(d, path):
    """The daemon's limit on what one Read returns, as ReadLimitExceeded
    reports it for a file larger than the limit."""
    with d.connect() as c:
        e = c.call_error(f"{IFACE}.Read", {"files": {"f": path}})
    assert e["error"] == f"{IFACE}.ReadLimitExceeded", e
    return e["parameters"]["limit"]


def test_check_config_prints_effective_settings(tmp_path):
    conf = write(str(tmp_path / "fdsd.conf"),
                 f"[limits]\nmax_connections = 7\nmax_inflight = 8\n\n"
                 f"[s3]\nendpoint = http://127.0.0.1:7480\naccess_key_id = AKIAIOSFODNN7EXAMPLE\n"
                 f"secret_access_key = {SECRET}\n\n[log]\nlevel = warning\n".encode())
    os.chmod(conf, 0o600)
    sock = str(tmp_path / "never.sock")
    p = fdsd("--config", conf, "--check-config", "--max-inflight", "9", "--socket", sock)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert f"the file {conf}" in out.splitlines()[0]
    for line in ("max_connections = 7", "max_inflight = 9", "endpoint = http://127.0.0.1:7480",
                 "access_key_id = AKIA****MPLE", "secret_access_key = ****", "level = warning",
                 f"path = {sock}", "[transfer]", "max_attempts = 5"):
        assert line in out.splitlines(), (line, out)
    assert SECRET not in out + p.stderr
    assert p.stderr == ""
    assert not os.path.exists(sock), "--check-config must not start serving"


def test_check_config_reports_the_line(tmp_path):
    conf = write(str(tmp_path / "fdsd.conf"), b"[limits]\nmax_inflight = 8\n\n[limits]\nmax_conections = 3\n")
    sock = str(tmp_path / "never.sock")
    for args in (["--check-config"], []):
        p = fdsd("--config", conf, "--socket", sock, *args)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert p.stderr == f"fdsd: {conf}:5: unknown key 'max_conections' in section [limits]\n"
        assert p.stdout == ""
        assert not os.path.exists(sock)


def test_bad_value_names_key_line_and_range(tmp_path):
    conf = write(str(tmp_path / "fdsd.conf"), b"[transfer]\n# ok\nmax_attempts = 500\n")
    p = fdsd("--config", conf, "--check-config")
    assert p.returncode == 2
    assert p.stderr == (f"fdsd: {conf}:3: invalid value for 'max_attempts' in [transfer]: '500' "
                        "(expected an integer from 1 to 100)\n")


def test_named_settings_file_must_exist(tmp_path):
    p = fdsd("--config", str(tmp_path / "missing.conf"), "--check-config")
    assert p.returncode == 2
    assert "missing.conf: No such file or directory" in p.stderr


def test_secrets_readable_by_others_warned(tmp_path):
    conf = write(str(tmp_path / "fdsd.conf"),
                 f"[s3]\naccess_key_id = AKIAIOSFODNN7EXAMPLE\nsecret_access_key = {SECRET}\n".encode())
    os.chmod(conf, 0o644)
    p = fdsd("--config", conf, "--check-config")
    assert p.returncode == 0
    assert "holds S3 credentials and others may read it" in p.stderr
    assert SECRET not in p.stdout + p.stderr


def test_settings_file_applies_and_flags_win(start_daemon, tmp_path):
    big = write(str(tmp_path / "big"), b"x" * 10000)
    conf = write(str(tmp_path / "fdsd.conf"), b"[limits]\nmax_read_bytes = 1K\n")
    d = start_daemon("--config", conf)
    assert read_limit(d, big) == 1024
    d.check_stopped_cleanly()

    d = start_daemon("--config", conf, "--max-read-bytes", "2K", name="flags")
    assert read_limit(d, big) == 2048


def test_reload_applies_run_time_settings(start_daemon, tmp_path):
    big = write(str(tmp_path / "big"), b"x" * 10000)
    conf = write(str(tmp_path / "fdsd.conf"), b"[limits]\nmax_read_bytes = 1K\n[log]\nlevel = info\n")
    d = start_daemon("--config", conf)
    assert read_limit(d, big) == 1024
    assert "connected uid" not in d.log()

    write(conf, b"[limits]\nmax_read_bytes = 3K\n[log]\nlevel = debug\n")
    d.proc.send_signal(signal.SIGHUP)
    d.wait_log(f'reloaded the settings from "{conf}"')
    assert read_limit(d, big) == 3072
    d.wait_log("connected uid")  # debug now


def test_reload_keeps_settings_when_the_file_is_bad(start_daemon, tmp_path):
    big = write(str(tmp_path / "big"), b"x" * 10000)
    conf = write(str(tmp_path / "fdsd.conf"), b"[limits]\nmax_read_bytes = 1K\n")
    d = start_daemon("--config", conf)
    write(conf, b"[limits]\nmax_read_bytes = lots\n")
    d.proc.send_signal(signal.SIGHUP)
    d.wait_log(f"reload: {conf}:2: invalid value for 'max_read_bytes'.*the settings stay as they were")
    assert read_limit(d, big) == 1024


def test_reload_says_what_needs_a_restart(start_daemon, tmp_path):
    conf = write(str(tmp_path / "fdsd.conf"), b"[socket]\nmode = 0600\n")
    d = start_daemon("--config", conf)
    write(conf, b"[socket]\nmode = 0666\n[s3]\nregion = eu-west-1\n")
    d.proc.send_signal(signal.SIGHUP)
    d.wait_log("reload: socket.mode changed; it takes effect when fdsd restarts")
    d.wait_log(r"reload: \[s3\] changed")
    assert oct(os.lstat(d.socket).st_mode & 0o777) == "0o600"


def test_bad_flag_after_good_file(start_daemon, tmp_path):
    conf = write(str(tmp_path / "fdsd.conf"), b"[limits]\nmax_inflight = 4\n")
    d = start_daemon("--config", conf, "--log-target", "syslog", wait=False)
    assert wait_exit(d) == 2
    assert "invalid value for --log-target: 'syslog' (expected one of auto, console, journal)" in d.log()
    assert not os.path.exists(d.socket)


def daemon_cap(d):
    with d.connect() as c:
        return c.call(f"{IFACE}.Calls", {})["max_bandwidth"]


def first_reply(d):
    """What a new connection's first call gets: a reply, or the error of a
    refused connection."""
    with d.connect() as c:
        try:
            c.send("org.varlink.service.GetInfo")
        except BrokenPipeError:
            pass  # refused at once: the error is waiting to be read
        return c.recv()


def reload(d, conf, text):
    n = d.log().count("reloaded the settings")
    write(conf, text)
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while d.log().count("reloaded the settings") == n:
        assert time.monotonic() < deadline, "no reload logged"
        time.sleep(0.02)


def test_reload_applies_the_bandwidth_cap_unless_set_live(start_daemon, tmp_path):
    conf = write(str(tmp_path / "fdsd.conf"), b"[transfer]\nmax_bandwidth = 1M\n")
    d = start_daemon("--config", conf)
    assert daemon_cap(d) == 1 << 20
    reload(d, conf, b"[transfer]\nmax_bandwidth = 5M\n")
    assert daemon_cap(d) == 5 << 20
    assert "max_bandwidth changed" not in d.log()
    # An operator's live cap survives a reload of an unchanged file...
    with d.connect() as c:
        c.call(f"{IFACE}.SetBandwidth", {"max_bandwidth": 2 << 20})
    reload(d, conf, b"[transfer]\nmax_bandwidth = 5M\n")
    assert daemon_cap(d) == 2 << 20
    # ...and a changed file wins again.
    reload(d, conf, b"[transfer]\nmax_bandwidth = 0\n")
    assert daemon_cap(d) == 0


def test_reload_applies_access_and_per_user_limits(start_daemon, tmp_path):
    me = os.getuid()
    other = 4242 if me != 4242 else 4243
    conf = write(str(tmp_path / "fdsd.conf"), b"")
    d = start_daemon("--config", conf)
    assert first_reply(d)["parameters"]["product"] == "fdsd"

    reload(d, conf, f"[access]\nallow_users = {other}\n".encode())
    r = first_reply(d)
    assert r["error"] == f"{IFACE}.PermissionDenied" and r["parameters"]["uid"] == me, r

    reload(d, conf, f"[access]\nallow_users = {other},{me}\n[limits]\nmax_connections_per_user = 1\n".encode())
    with d.connect() as held:
        assert held.call("org.varlink.service.GetInfo")["product"] == "fdsd"
        r = first_reply(d)
        assert r["error"] == f"{IFACE}.TooManyConnections" and r["parameters"]["limit"] == 1, r
    reload(d, conf, b"[limits]\nmax_connections_per_user = 2\n")
    with d.connect() as held:
        held.call("org.varlink.service.GetInfo")
        assert first_reply(d)["parameters"]["product"] == "fdsd"


def test_every_setting_is_in_the_manual(tmp_path):
    """fdsd.conf(5) has a section for every section --check-config prints
    and an entry for every key in it."""
    man = open(os.path.join(os.path.dirname(__file__), "..", "..", "..", "docs", "man",
                            "fdsd.conf.5.scd")).read()
    p = fdsd("--config", "/dev/null", "--check-config", "--metrics-listen", "127.0.0.1:9464")
    assert p.returncode == 0, p.stderr
    sections, keys = [], []
    for line in p.stdout.splitlines():
        line = line.lstrip("# ")
        if line.startswith("["):
            sections.append(line)
        elif " =" in line:
            keys.append((sections[-1], line.split(" =")[0]))
    assert len(sections) >= 7 and len(keys) >= 30, p.stdout
    missing = [s for s in sections if f"\n# {s}\n" not in man]
    missing += [f"{s} {k}" for s, k in keys if f"*{k} =*" not in man]
    assert missing == [], missing
