# SPDX-License-Identifier: MIT
"""Opt-outs and limits of options.transfer and options.validate/verify,
checked on the wire (the proxy's request log) and with boto3."""

import os

import pytest

from fdslarge import MiB, md5_hex, pattern, read, temp_files, write
from proxy import Stall, is_part_put, is_range_get


def get_object(s3, bucket, key):
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_multipart_off_upload_is_one_put(fds, proxy, s3, bucket, tmp_path):
    size = 20 * MiB
    data = pattern(size, 61)
    src = write(str(tmp_path / "f.bin"), data)
    r = fds.copy1(src, f"s3://{bucket}/f.bin", transfer={"multipart": False})
    assert r["ok"], r
    reqs = proxy.seen()
    assert [(q.method, q.raw_query) for q in reqs] == [("PUT", "")], reqs
    assert reqs[0].body == data
    # A single PUT's ETag is the plain MD5 (a multipart one would end in -N).
    assert s3.head_object(Bucket=bucket, Key="f.bin")["ETag"] == f'"{md5_hex(data)}"'
    assert get_object(s3, bucket, "f.bin") == data


def test_multipart_off_download_is_one_get(fds, proxy, s3, bucket, tmp_path):
    size = 20 * MiB
    data = pattern(size, 62)
    etag = s3.put_object(Bucket=bucket, Key="obj", Body=data)["ETag"]
    dst = str(tmp_path / "obj.bin")
    r = fds.copy1(f"s3://{bucket}/obj", dst, transfer={"multipart": False})
    assert r["ok"], r
    gets = proxy.seen(lambda q: q.method == "GET")
    assert len(gets) == 1 and gets[0].header("Range") is None, gets
    assert gets[0].header("If-Match") == etag
    assert read(dst) == data


def test_multipart_off_refuses_upload_over_5gib(fds, proxy, bucket, tmp_path):
    """S3 takes at most 5 GiB in one PUT: with multipart off a larger file
    fails at once with TooLarge (a sparse file: no disk, no bytes sent)."""
    src = str(tmp_path / "huge.bin")
    with open(src, "wb") as f:
        f.truncate(5 * 1024 * MiB + 1)
    r = fds.copy1(src, f"s3://{bucket}/huge.bin", transfer={"multipart": False})
    assert not r["ok"], r
    assert r["error"]["code"] == "TooLarge", r
    assert proxy.seen(lambda q: q.method in ("PUT", "POST")) == []


@pytest.mark.parametrize("size", [3 * MiB, 20 * MiB], ids=["small", "large"])
def test_validate_off_skips_the_head(fds, proxy, s3, bucket, tmp_path, size):
    """validate: false: no HEAD before the transfer; the bytes are right."""
    data = pattern(size, 63)
    s3.put_object(Bucket=bucket, Key="obj", Body=data)
    dst = str(tmp_path / "obj.bin")
    r = fds.copy1(f"s3://{bucket}/obj", dst, validate=False)
    assert r["ok"], r
    assert proxy.seen(lambda q: q.method == "HEAD") == []
    assert read(dst) == data


def test_validate_off_missing_source_is_the_files_error(fds, proxy, bucket, tmp_path):
    r = fds.copy1(f"s3://{bucket}/missing", str(tmp_path / "x"), validate=False)
    assert not r["ok"]
    assert r["error"]["code"] == "NotFound", r
    assert r["error"]["http_status"] == 404
    assert proxy.seen(lambda q: q.method == "HEAD") == []
    assert not os.path.exists(str(tmp_path / "x"))


@pytest.mark.parametrize("verify", [True, False])
def test_verify_local_copy(fds, tmp_path, verify):
    data = pattern(30 * MiB, 64)
    src = write(str(tmp_path / "a.bin"), data)
    dst = str(tmp_path / "b.bin")
    r = fds.copy1(src, dst, verify=verify)
    assert r["ok"], r
    assert read(dst) == data
    assert temp_files(str(tmp_path)) == []


@pytest.mark.parametrize("direction", ["upload", "download"])
@pytest.mark.parametrize("concurrency", [1, 2])
def test_max_concurrency_limits_parts_in_flight(fds, proxy, s3, bucket, tmp_path, direction,
                                                concurrency):
    size = 20 * MiB + 3
    chunk = 5 * MiB
    data = pattern(size, 65)
    local = str(tmp_path / "f.bin")
    transfer = {"max_concurrency": concurrency, "multipart_chunksize": chunk}
    # The first part is held a while: the others go on meanwhile, as many
    # at a time as allowed, so the limit is reached (and must hold).
    first = is_part_put(1) if direction == "upload" else is_range_get(0)
    hold = proxy.add_rule(first, Stall(timeout=0.5))
    if direction == "upload":
        write(local, data)
        r = fds.copy1(local, f"s3://{bucket}/f.bin", transfer=transfer)
        parts = proxy.seen(is_part_put())
    else:
        s3.put_object(Bucket=bucket, Key="f.bin", Body=data)
        r = fds.copy1(f"s3://{bucket}/f.bin", local, transfer=transfer)
        parts = proxy.seen(is_range_get())
        assert read(local) == data
    assert r["ok"], r
    assert len(parts) == 5
    assert hold.hits == 1
    assert proxy.max_inflight == concurrency, proxy.requests
    # Checked from the requests' own times too: never more at once.
    for q in parts:
        overlapping = [p for p in parts if p.started <= q.started < p.ended]
        assert len(overlapping) <= concurrency
    if direction == "upload":
        assert get_object(s3, bucket, "f.bin") == data
