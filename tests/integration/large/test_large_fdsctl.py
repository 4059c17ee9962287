# SPDX-License-Identifier: MIT
"""fdsctl's flags for large transfers: -o transfer.*, --endpoint,
--max-attempts, --no-validate, --json; against a real fdsd and RGW through
the proxy."""

import json
import os
import subprocess

import pytest

from fdslarge import FDSCTL, MiB, multipart_etag, pattern, read, sanitizer_reports, write
from proxy import Reply, is_part_put

# An endpoint nothing listens on: the daemon's own setting, so that only
# what fdsctl sends can make a transfer work.
DEAD_ENDPOINT = "http://127.0.0.1:9"


@pytest.fixture
def fdsctl(rgw):
    if not os.access(FDSCTL, os.X_OK):
        pytest.skip(f"fdsctl is not built ({FDSCTL} missing)")

    def run(socket, *args, credentials=True):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        if credentials:
            env["AWS_ACCESS_KEY_ID"] = rgw["AWS_ACCESS_KEY_ID"]
            env["AWS_SECRET_ACCESS_KEY"] = rgw["AWS_SECRET_ACCESS_KEY"]
            env["AWS_REGION"] = rgw["AWS_REGION"]
        cmd = [FDSCTL, "--socket", socket, "--json", *map(str, args)]
        p = subprocess.run(cmd, capture_output=True, timeout=180, env=env)
        err = p.stderr.decode(errors="replace")
        print(f"$ {' '.join(cmd)}\n-> {p.returncode}\n{p.stdout.decode(errors='replace')}{err}")
        assert not sanitizer_reports(err), err
        lines = [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]
        return p.returncode, lines

    return run


def test_fdsctl_upload_with_chunksize_and_endpoint(start_fds, fdsctl, proxy, s3, bucket, tmp_path):
    fds = start_fds(DEAD_ENDPOINT)
    size = 17 * MiB
    data = pattern(size, 71)
    src = write(str(tmp_path / "f.bin"), data)
    rc, lines = fdsctl(fds.daemon.socket, "--endpoint", proxy.url, "--path-style",
                       "-o", "transfer.multipart_chunksize=5242880", "copy", src, f"s3://{bucket}/f.bin")
    assert rc == 0, lines
    assert lines[0]["ok"] is True and lines[0]["bytes"] == size
    assert lines[-1]["summary"]["files_ok"] == 1
    assert s3.head_object(Bucket=bucket, Key="f.bin")["ETag"] == multipart_etag(data, 5 * MiB)
    assert len(proxy.seen(is_part_put())) == 4
    assert s3.get_object(Bucket=bucket, Key="f.bin")["Body"].read() == data


@pytest.mark.parametrize("attempts", [1, 2])
def test_fdsctl_max_attempts(start_fds, fdsctl, proxy, s3, bucket, tmp_path, attempts):
    fds = start_fds()
    src = write(str(tmp_path / "f.bin"), pattern(12 * MiB, 72))
    proxy.add_rule(is_part_put(1), Reply(503, "SlowDown"), times=None)
    rc, lines = fdsctl(fds.daemon.socket, "--max-attempts", attempts, "copy", src, f"s3://{bucket}/f.bin")
    assert rc == 1, lines
    res = lines[0]
    assert res["ok"] is False
    assert res["error"]["http_status"] == 503 and res["error"]["s3_code"] == "SlowDown", res
    assert res["attempts"] == attempts
    assert len(proxy.seen(is_part_put(1))) == attempts
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_fdsctl_no_validate_download(start_fds, fdsctl, proxy, s3, bucket, tmp_path):
    fds = start_fds()
    data = pattern(10 * MiB, 73)
    s3.put_object(Bucket=bucket, Key="obj", Body=data)
    dst = str(tmp_path / "obj.bin")
    rc, lines = fdsctl(fds.daemon.socket, "--no-validate", "copy", f"s3://{bucket}/obj", dst)
    assert rc == 0, lines
    assert proxy.seen(lambda q: q.method == "HEAD") == []
    assert read(dst) == data
