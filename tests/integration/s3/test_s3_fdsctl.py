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


def test_fdsctl_ls(start_fds, client_env, s3, bucket, make_bucket):
    """Names as aws s3 ls prints them: below the prefix's last '/'."""
    import json

    sock = start_fds("env").daemon.socket
    for key, body in [("data.csv", b"1"), ("data/a.csv", b"22"), ("data/deep/c", b"333"), ("z", b"")]:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    out = run(["-s", sock, "ls", f"s3://{bucket}/data/"], client_env)
    assert out.returncode == 0 and out.stdout.decode().splitlines() == ["a.csv", "deep/"]
    out = run(["-s", sock, "ls", f"s3://{bucket}/data"], client_env)
    assert out.stdout.decode().splitlines() == ["data.csv", "data/"]
    out = run(["-s", sock, "ls", "-r", f"s3://{bucket}"], client_env)
    assert out.stdout.decode().splitlines() == ["data.csv", "data/a.csv", "data/deep/c", "z"]
    out = run(["-s", sock, "ls", "-l", "--summarize", f"s3://{bucket}/data/"], client_env).stdout.decode()
    rows = out.splitlines()
    assert rows[0].split()[2:] == ["2", "a.csv"] and rows[1].split() == ["PRE", "deep/"], out
    assert rows[2:] == ["", "Total Objects: 1", "   Total Size: 2"], out
    out = run(["-s", sock, "--json", "ls", "-r", f"s3://{bucket}/data/"], client_env)
    got = [json.loads(x) for x in out.stdout.decode().splitlines()]
    head = s3.head_object(Bucket=bucket, Key="data/deep/c")
    assert got[1]["path"] == f"s3://{bucket}/data/deep/c" and got[1]["size"] == 3
    assert got[1]["etag"] == head["ETag"].strip('"')
    assert abs(got[1]["mtime"] - head["LastModified"].timestamp()) < 1.0

    out = run(["-s", sock, "ls", f"s3://{bucket}/nothing/"], client_env)
    assert out.returncode == 1 and out.stdout == b""
    assert out.stderr.decode() == f"fdsctl: s3://{bucket}/nothing/: nothing there\n"
    empty = make_bucket()
    out = run(["-s", sock, "ls", f"s3://{empty}"], client_env)
    assert out.returncode == 0 and out.stdout == b"" and out.stderr == b"", out
    out = run(["-s", sock, "ls", "s3://fds-no-such-bucket-x/"], client_env)
    assert out.returncode == 1 and "NoSuchBucket" in out.stderr.decode() and "HTTP 404" in out.stderr.decode()
