# SPDX-License-Identifier: MIT
"""S3 -> local for large objects: parallel ranged GETs pinned to the ETag
validation saw, through the fault proxy; objects made by boto3."""

import os
import threading

import boto3.s3.transfer
import pytest

from fdslarge import (DEFAULT_CHUNK, MiB, md5_hex, multipart_etag, pattern, read,
                      temp_files)
from proxy import CutResponseAfter, FlipResponseByte, Reply, Stall, is_object_get, is_range_get

CHECKSUM_WORDS = "checksum mismatch"


def ranges_of(reqs):
    """[(start, end)] of ranged GETs, sorted."""
    out = []
    for q in reqs:
        a, b = q.header("Range")[len("bytes="):].split("-")
        out.append((int(a), int(b)))
    return sorted(out)


def boto3_upload_multipart(s3, bucket, key, data, chunk):
    """A multipart object made by boto3 itself (its own part logic)."""
    import io
    cfg = boto3.s3.transfer.TransferConfig(multipart_threshold=chunk, multipart_chunksize=chunk,
                                           max_concurrency=4, use_threads=True)
    s3.upload_fileobj(io.BytesIO(data), bucket, key, Config=cfg)
    etag = s3.head_object(Bucket=bucket, Key=key)["ETag"]
    assert etag == multipart_etag(data, chunk), "boto3 did not make the multipart object expected"
    return etag


@pytest.mark.parametrize("kind", ["boto3-multipart", "single-part"])
def test_ranged_download_is_byte_identical(fds, proxy, s3, bucket, tmp_path, kind):
    """A multipart object uploaded by boto3 (6 MiB parts, so fdsd's ranges
    do not line up with them) and a single-part object put in one request:
    both come down as parallel ranges pinned with If-Match, byte-identical."""
    size = 30 * MiB + 777
    data = pattern(size, 11)
    if kind == "boto3-multipart":
        etag = boto3_upload_multipart(s3, bucket, "obj", data, 6 * MiB)
    else:
        etag = s3.put_object(Bucket=bucket, Key="obj", Body=data)["ETag"]
        assert etag == f'"{md5_hex(data)}"'
    dst = str(tmp_path / "out" / "obj.bin")

    r = fds.copy1(f"s3://{bucket}/obj", dst)
    assert r["ok"], r
    assert r["bytes"] == size
    assert read(dst) == data
    assert temp_files(str(tmp_path / "out")) == []

    heads = proxy.seen(lambda q: q.method == "HEAD")
    gets = proxy.seen(lambda q: q.method == "GET")
    assert len(heads) == 1
    assert all(q.header("Range") for q in gets), "a GET without Range for a large object"
    assert all(q.header("If-Match") == etag for q in gets)
    # The ranges are fdsd's 8 MiB chunks and cover the object exactly once.
    expect = [(o, min(o + DEFAULT_CHUNK, size) - 1) for o in range(0, size, DEFAULT_CHUNK)]
    assert ranges_of(gets) == expect
    assert all(q.status == 206 for q in gets)


def test_ranged_download_with_custom_chunksize(fds, proxy, s3, bucket, tmp_path):
    """multipart_chunksize sets the range size of a download too."""
    size = 16 * MiB
    data = pattern(size, 12)
    s3.put_object(Bucket=bucket, Key="obj", Body=data)
    dst = str(tmp_path / "obj.bin")
    r = fds.copy1(f"s3://{bucket}/obj", dst, transfer={"multipart_chunksize": 5 * MiB})
    assert r["ok"], r
    assert read(dst) == data
    chunk = 5 * MiB
    assert ranges_of(proxy.seen(is_range_get())) == [
        (o, min(o + chunk, size) - 1) for o in range(0, size, chunk)]


def test_range_failing_once_is_retried(fds, proxy, s3, bucket, tmp_path):
    size = 20 * MiB
    data = pattern(size, 13)
    boto3_upload_multipart(s3, bucket, "obj", data, 5 * MiB)
    rule = proxy.add_rule(is_range_get(DEFAULT_CHUNK), Reply(503, "SlowDown"))
    dst = str(tmp_path / "obj.bin")

    r = fds.copy1(f"s3://{bucket}/obj", dst)
    assert r["ok"], r
    assert rule.hits == 1
    assert [q.status for q in proxy.seen(is_range_get(DEFAULT_CHUNK))] == [503, 206]
    assert read(dst) == data
    assert temp_files(str(tmp_path)) == []


def test_range_failing_every_time_fails_cleanly(fds, proxy, s3, bucket, tmp_path):
    size = 20 * MiB
    data = pattern(size, 14)
    s3.put_object(Bucket=bucket, Key="obj", Body=data)
    proxy.add_rule(is_range_get(DEFAULT_CHUNK), Reply(500, "InternalError"), times=None)
    dst = str(tmp_path / "obj.bin")

    r = fds.copy1(f"s3://{bucket}/obj", dst, transfer={"max_attempts": 2})
    assert not r["ok"], r
    assert r["error"]["code"] == "S3Error"
    assert r["error"]["http_status"] == 500
    assert r["attempts"] == 2
    assert len(proxy.seen(is_range_get(DEFAULT_CHUNK))) == 2
    assert not os.path.exists(dst)
    assert temp_files(str(tmp_path)) == []


@pytest.mark.parametrize("kind", ["boto3-multipart", "single-part"])
def test_object_overwritten_mid_download_fails_clearly(fds, proxy, s3, bucket, tmp_path, kind):
    """The second range is held at the proxy until the object has been
    replaced (by boto3, directly on RGW): its If-Match no longer holds, and
    the file fails saying the object changed; nothing is left behind."""
    size = 24 * MiB
    data = pattern(size, 15)
    if kind == "boto3-multipart":
        boto3_upload_multipart(s3, bucket, "obj", data, 8 * MiB)
    else:
        s3.put_object(Bucket=bucket, Key="obj", Body=data)
    stall = Stall(timeout=60)
    rule = proxy.add_rule(is_range_get(DEFAULT_CHUNK), stall)
    dst = str(tmp_path / "out" / "obj.bin")
    os.makedirs(os.path.dirname(dst))

    result = {}
    t = threading.Thread(target=lambda: result.update(
        r=fds.copy1(f"s3://{bucket}/obj", dst, transfer={"max_concurrency": 1})))
    t.start()
    try:
        assert rule.fired.wait(60), "the second range never reached the proxy"
        # The first range is in, the second waits: now replace the object.
        s3.put_object(Bucket=bucket, Key="obj", Body=pattern(size, 16))
    finally:
        stall.release()
        t.join(120)
    assert not t.is_alive()
    r = result["r"]
    assert not r["ok"], r
    err = r["error"]
    assert err["code"] == "IOError", err
    assert err["http_status"] == 412, err
    assert "changed" in err["message"], err
    assert [q.status for q in proxy.seen(is_range_get(DEFAULT_CHUNK))] == [412]
    assert not os.path.exists(dst)
    assert temp_files(str(tmp_path / "out")) == []


@pytest.mark.parametrize("size,transfer", [
    (100 * 1024, {}),                          # one GET into two small buffers
    (3 * MiB, {}),                             # one GET, streamed to disk
    (12 * MiB, {"multipart": False}),          # one GET, multipart off
    (20 * MiB, {}),                            # ranged GETs, MD5 of the whole file
], ids=["small", "streamed", "multipart-off", "ranged"])
def test_corrupted_download_of_single_part_object_is_detected(fds, proxy, s3, bucket, tmp_path,
                                                              size, transfer):
    """One bit flipped in a GET response (the third range's, if ranged): the
    single-part ETag is the object's MD5, so the file must fail with a
    checksum mismatch, and neither it nor a temporary may be left."""
    data = pattern(size, 17)
    s3.put_object(Bucket=bucket, Key="obj", Body=data)
    offset = size // 2
    if size > DEFAULT_CHUNK and transfer.get("multipart", True):
        match = is_range_get(2 * DEFAULT_CHUNK)
        offset = 1000
    else:
        match = is_object_get("obj")
    rule = proxy.add_rule(match, FlipResponseByte(offset))
    dst = str(tmp_path / "out" / "obj.bin")
    os.makedirs(os.path.dirname(dst))

    r = fds.copy1(f"s3://{bucket}/obj", dst, transfer=transfer)
    assert rule.hits == 1
    assert not r["ok"], f"a corrupted download was accepted: {r}"
    assert r["error"]["code"] == "IOError", r
    assert CHECKSUM_WORDS in r["error"]["message"], r
    assert not os.path.exists(dst)
    assert temp_files(str(tmp_path / "out")) == []
    # The object itself is fine and a second try gets it.
    r = fds.copy1(f"s3://{bucket}/obj", dst, transfer=transfer)
    assert r["ok"], r
    assert read(dst) == data


def test_whole_object_cut_mid_body_is_retried_and_checked(fds, proxy, s3, bucket, tmp_path):
    """A single-part object held whole is hashed as it arrives. The first
    answer is corrupted early and breaks after 1.5 MiB: the bytes already
    hashed belong to the failed try, so the retry must start its MD5 over
    (and wait for the lanes to let go of the buffer); the clean retry must
    then check out against the ETag."""
    size = 5 * MiB
    data = pattern(size, 19)
    s3.put_object(Bucket=bucket, Key="obj", Body=data)
    rule = proxy.add_rule(is_object_get("obj"), CutResponseAfter(3 * MiB // 2, flip=100 * 1024))
    dst = str(tmp_path / "out" / "obj.bin")
    os.makedirs(os.path.dirname(dst))

    r = fds.copy1(f"s3://{bucket}/obj", dst)
    assert rule.hits == 1
    assert r["ok"], r
    assert r["attempts"] == 2, r
    assert read(dst) == data
    assert temp_files(str(tmp_path / "out")) == []
    # And a corrupted retry is still caught: the first try cut, the second flipped.
    proxy.add_rule(is_object_get("obj"), CutResponseAfter(MiB))
    proxy.add_rule(is_object_get("obj"), FlipResponseByte(4 * MiB))
    r = fds.copy1(f"s3://{bucket}/obj", str(tmp_path / "out" / "again.bin"))
    assert not r["ok"], r
    assert CHECKSUM_WORDS in r["error"]["message"], r
    assert temp_files(str(tmp_path / "out")) == []


@pytest.mark.xfail(reason="design: a multipart object's -N ETag is no MD5 of its bytes and RGW 16 "
                          "keeps no x-amz-checksum-*, so fdsd has nothing to check a multipart "
                          "object's bytes against (checking each part would need its own ETag, "
                          "e.g. GET ?partNumber=N, with ranges aligned to the upload's parts)",
                   strict=True)
def test_corrupted_download_of_multipart_object_is_detected(fds, proxy, s3, bucket, tmp_path):
    size = 16 * MiB
    data = pattern(size, 18)
    boto3_upload_multipart(s3, bucket, "obj", data, 8 * MiB)
    proxy.add_rule(is_range_get(DEFAULT_CHUNK), FlipResponseByte(99))
    dst = str(tmp_path / "obj.bin")
    r = fds.copy1(f"s3://{bucket}/obj", dst)
    assert not r["ok"], r
