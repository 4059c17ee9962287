# SPDX-License-Identifier: MIT
"""fdsctl against S3 through a real fdsd: copy, cat and size, with the S3
settings in the daemon's environment or sent by fdsctl from its own."""

import os
import subprocess

import pytest

from s3fds import FDSCTL, pattern, read, sanitizer_reports, write


def run(args, env, timeout=120):
    p = subprocess.run([FDSCTL] + [str(a) for a in args], env=env, capture_output=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    err = p.stderr.decode(errors="replace")
    print(f"$ fdsctl {' '.join(map(str, args))}\n-> {p.returncode}\n{err}")
    assert not sanitizer_reports(err), err
    return p


@pytest.fixture
def client_env(tmp_path):
    if not os.access(FDSCTL, os.X_OK):
        pytest.skip(f"fdsctl is not built ({FDSCTL})")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = str(tmp_path)
    return env


def test_fdsctl_with_daemon_settings(start_fds, client_env, s3, bucket, tmp_path):
    fds = start_fds("env")
    sock = fds.daemon.socket
    data = pattern(700_000, 11)
    src = write(str(tmp_path / "src file"), data)
    p = run(["-s", sock, "-q", "copy", src, f"s3://{bucket}/a b/c"], client_env)
    assert p.returncode == 0
    assert s3.get_object(Bucket=bucket, Key="a b/c")["Body"].read() == data

    p = run(["-s", sock, "cat", f"s3://{bucket}/a b/c"], client_env)
    assert p.returncode == 0 and p.stdout == data

    p = run(["-s", sock, "size", f"s3://{bucket}/a b/c"], client_env)
    assert p.returncode == 0
    assert p.stdout.decode() == f"{len(data)}\ts3://{bucket}/a b/c\n"

    dst = str(tmp_path / "down" / "x")
    p = run(["-s", sock, "-q", "copy", f"s3://{bucket}/a b/c", dst], client_env)
    assert p.returncode == 0 and read(dst) == data

    p = run(["-s", sock, "cat", f"s3://{bucket}/missing"], client_env)
    assert p.returncode != 0
    assert p.stdout == b""
    assert "404" in p.stderr.decode() or "not" in p.stderr.decode().lower()


def test_fdsctl_sends_its_own_settings(start_fds, client_env, rgw, s3, bucket, tmp_path):
    """A daemon without S3 settings; fdsctl passes endpoint and credentials
    from its own environment and flags."""
    fds = start_fds("none")
    sock = fds.daemon.socket
    data = pattern(5000, 12)
    src = write(str(tmp_path / "src"), data)

    p = run(["-s", sock, "-q", "copy", src, f"s3://{bucket}/k"], client_env)
    assert p.returncode != 0, "the daemon has no credentials: this must fail"

    env = dict(client_env, AWS_ACCESS_KEY_ID=rgw["AWS_ACCESS_KEY_ID"],
               AWS_SECRET_ACCESS_KEY=rgw["AWS_SECRET_ACCESS_KEY"])
    p = run(["-s", sock, "-q", "--endpoint", rgw["AWS_ENDPOINT_URL"], "--path-style",
             "copy", src, f"s3://{bucket}/k"], env)
    assert p.returncode == 0
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == data
    env["AWS_ENDPOINT_URL"] = rgw["AWS_ENDPOINT_URL"]
    p = run(["-s", sock, "cat", f"s3://{bucket}/k"], env)
    assert p.returncode == 0 and p.stdout == data
