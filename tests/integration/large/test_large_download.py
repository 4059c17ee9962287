# SPDX-License-Identifier: MIT
"""S3 -> local for large objects: parallel ranged GETs pinned to the ETag
validation saw, through the fault proxy; objects made by boto3."""

import os
import threading

import boto3.s3.transfer
import pytest

from fdslarge import (DEFAULT_CHUNK, MiB, md5_hex, multipart_etag, pattern, read,
                      temp_files)
from proxy import (CutResponseAfter, FlipResponseByte, Reply, Reset, Stall, is_object_get,
                   is_range_get)

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


def flipped_once_is_refetched(fds, proxy, bucket, tmp_path, match, offset, data, transfer):
    """One bit flipped at offset in the first response match finds: the
    download is fetched again (2 attempts), verified, byte-identical, with
    no temporary left. Returns the destination path."""
    rule = proxy.add_rule(match, FlipResponseByte(offset))
    os.makedirs(str(tmp_path / "out"))
    dst = str(tmp_path / "out" / "obj.bin")
    r = fds.copy1(f"s3://{bucket}/obj", dst, transfer=transfer)
    assert rule.hits == 1
    assert r["ok"], r
    assert r["verified"] is True, r
    assert r["attempts"] == 2, r
    assert read(dst) == data
    assert temp_files(str(tmp_path / "out")) == []
    return dst


def upload_parts(s3, bucket, key, data, sizes, metadata=None):
    """A multipart object of parts of the given sizes (unequal ones too)."""
    up = s3.create_multipart_upload(Bucket=bucket, Key=key, Metadata=metadata or {})
    parts, off = [], 0
    for i, n in enumerate(sizes, 1):
        p = s3.upload_part(Bucket=bucket, Key=key, UploadId=up["UploadId"], PartNumber=i,
                           Body=data[off:off + n])
        parts.append({"PartNumber": i, "ETag": p["ETag"]})
        off += n
    assert off == len(data)
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": parts})


@pytest.mark.parametrize("kind", ["boto3-multipart", "single-part"])
def test_ranged_download_is_byte_identical(fds, proxy, s3, bucket, tmp_path, kind):
    """A multipart object uploaded by boto3 (6 MiB parts: not fdsd's 8 MiB,
    so the layout is found from size and part count) and a single-part object
    put in one request: both come down as parallel ranges pinned with
    If-Match, byte-identical and checked against the ETag (verified)."""
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
    assert r["verified"] is True, r
    assert read(dst) == data
    assert temp_files(str(tmp_path / "out")) == []

    heads = proxy.seen(lambda q: q.method == "HEAD")
    gets = proxy.seen(lambda q: q.method == "GET")
    assert len(heads) == 1
    assert all(q.header("Range") for q in gets), "a GET without Range for a large object"
    assert all(q.header("If-Match") == etag for q in gets)
    # The ranges cover the object exactly once: the object's own 6 MiB parts
    # (each range's MD5 is a part's), or fdsd's 8 MiB chunks.
    chunk = 6 * MiB if kind == "boto3-multipart" else DEFAULT_CHUNK
    expect = [(o, min(o + chunk, size) - 1) for o in range(0, size, chunk)]
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
    # The ranges follow the object's 5 MiB parts.
    rule = proxy.add_rule(is_range_get(5 * MiB), Reply(503, "SlowDown"))
    dst = str(tmp_path / "obj.bin")

    r = fds.copy1(f"s3://{bucket}/obj", dst)
    assert r["ok"], r
    assert rule.hits == 1
    assert [q.status for q in proxy.seen(is_range_get(5 * MiB))] == [503, 206]
    assert read(dst) == data
    assert temp_files(str(tmp_path)) == []


@pytest.mark.parametrize("fault", ["reset", "cut", "flip"])
def test_range_failing_late_is_retried_from_its_start(fds, proxy, s3, bucket, tmp_path, fault):
    """A range is written and hashed a MiB at a time as it arrives: a fault
    after several MiB meets that work in flight. The retry starts the range
    over (its bytes wait until the last try's work lets go of the buffer),
    and the file is whole and checked."""
    size = 24 * MiB
    data = pattern(size, 17)
    boto3_upload_multipart(s3, bucket, "obj", data, 8 * MiB)
    late = 5 * MiB + 4321
    fault_of = {"reset": lambda: Reset(after=late), "cut": lambda: CutResponseAfter(late),
                "flip": lambda: FlipResponseByte(late)}
    rule = proxy.add_rule(is_range_get(8 * MiB), fault_of[fault]())
    dst = str(tmp_path / "obj.bin")

    r = fds.copy1(f"s3://{bucket}/obj", dst)
    assert r["ok"], r
    assert r["verified"] is True, r
    assert rule.hits == 1
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
def test_corrupted_download_of_single_part_object_is_retried(fds, proxy, s3, bucket, tmp_path,
                                                             size, transfer):
    """One bit flipped in a GET response (the third range's, if ranged): the
    single-part ETag is the object's MD5, so the mismatch is caught and the
    file fetched again, its tries counted; corrupted every time, it fails
    with a checksum mismatch and neither it nor a temporary is left."""
    data = pattern(size, 17)
    s3.put_object(Bucket=bucket, Key="obj", Body=data)
    offset = size // 2
    if size > DEFAULT_CHUNK and transfer.get("multipart", True):
        match = is_range_get(2 * DEFAULT_CHUNK)
        offset = 1000
    else:
        match = is_object_get("obj")
    dst = flipped_once_is_refetched(fds, proxy, bucket, tmp_path, match, offset, data, transfer)

    os.unlink(dst)
    rule = proxy.add_rule(match, FlipResponseByte(offset), times=None)
    r = fds.copy1(f"s3://{bucket}/obj", dst, transfer=dict(transfer, max_attempts=3))
    assert rule.hits == 3, "each of the 3 attempts fetched the bytes again"
    assert not r["ok"], f"a corrupted download was accepted: {r}"
    assert r["error"]["code"] == "IOError", r
    assert CHECKSUM_WORDS in r["error"]["message"], r
    assert r["attempts"] == 3, r
    assert not os.path.exists(dst)
    assert temp_files(str(tmp_path / "out")) == []


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
    # And a corrupted retry is still caught: the first try cut, the second
    # flipped (a mismatch: the file again), the third clean.
    proxy.add_rule(is_object_get("obj"), CutResponseAfter(MiB))
    proxy.add_rule(is_object_get("obj"), FlipResponseByte(4 * MiB))
    again = str(tmp_path / "out" / "again.bin")
    r = fds.copy1(f"s3://{bucket}/obj", again)
    assert r["ok"], r
    assert r["attempts"] == 3, r
    assert r["verified"] is True, r
    assert read(again) == data
    assert temp_files(str(tmp_path / "out")) == []


@pytest.mark.parametrize("chunk,parts,ranges,transfer", [
    (8 * MiB, 4, 8 * MiB, {}),                  # ranges are the parts: no read back
    (6 * MiB, 11, 6 * MiB, {}),                 # the parts' size found from size and N
    (7 * MiB, 4, 6 * MiB, {}),                  # 6 MiB guessed, 7 MiB found reading back
    (8 * MiB, 4, None, {"multipart": False}),   # one GET of a multipart object
], ids=["aligned", "from-n", "read-back", "one-get"])
def test_corrupted_download_of_multipart_object_is_retried(fds, proxy, s3, bucket, tmp_path,
                                                           chunk, parts, ranges, transfer):
    """A multipart object's ETag is the MD5 of its parts' MD5s: a bit
    flipped in one range is caught, whatever the ranges, and the file is
    fetched again; corrupted on every try, it fails and leaves nothing."""
    size = (parts - 1) * chunk + 12345
    data = pattern(size, 18)
    etag = boto3_upload_multipart(s3, bucket, "obj", data, chunk)
    assert etag.endswith(f'-{parts}"')
    match = is_object_get("obj") if ranges is None else is_range_get(ranges)
    dst = flipped_once_is_refetched(fds, proxy, bucket, tmp_path, match, 99, data, transfer)

    # Corrupted on every try, somewhere else each time (the same bytes
    # twice would say the layout is unknown, not that the bytes are bad).
    os.unlink(dst)
    rules = [proxy.add_rule(match, FlipResponseByte(off)) for off in (99, 4321, 777)]
    r = fds.copy1(f"s3://{bucket}/obj", dst, transfer=dict(transfer, max_attempts=3))
    assert [q.hits for q in rules] == [1, 1, 1]
    assert not r["ok"], f"a corrupted download was accepted: {r}"
    assert r["error"]["code"] == "IOError", r
    assert CHECKSUM_WORDS in r["error"]["message"], r
    assert not os.path.exists(dst)
    assert temp_files(str(tmp_path / "out")) == []


def test_multipart_object_of_unknown_layout_says_unverified(fds, s3, bucket, tmp_path):
    """Parts of 9, 5 and 7 MiB: no layout of one part size gives the ETag
    (8 MiB parts would cut 21 MiB in three too, and are tried), so there is
    nothing to check against. Fetched twice with the same bytes, the file is
    ok (the bytes are the object's, per boto3) and says verified: false."""
    data = pattern(21 * MiB, 21)
    upload_parts(s3, bucket, "odd", data, [9 * MiB, 5 * MiB, 7 * MiB])
    dst = str(tmp_path / "odd.bin")
    r = fds.copy1(f"s3://{bucket}/odd", dst)
    assert r["ok"], r
    assert r["verified"] is False, r
    assert r["attempts"] == 2, r
    assert read(dst) == data


def test_fds_multipart_upload_says_its_layout(fds, s3, bucket, tmp_path):
    """Parts of 5 MiB + 12,345 bytes, a size no uploader's layout guess
    finds: fdsd's own upload carries its part size in metadata (read here by
    boto3), so its download checks every byte at once (verified, 1 try)."""
    chunk = 5 * MiB + 12345
    data = pattern(3 * chunk + 100, 22)
    src = str(tmp_path / "src.bin")
    with open(src, "wb") as f:
        f.write(data)
    r = fds.copy1(src, f"s3://{bucket}/odd", transfer={"multipart_chunksize": chunk})
    assert r["ok"], r
    head = s3.head_object(Bucket=bucket, Key="odd")
    assert head["ETag"] == multipart_etag(data, chunk)
    assert head["Metadata"].get("fds-part-size") == str(chunk), head["Metadata"]
    dst = str(tmp_path / "odd.bin")
    r = fds.copy1(f"s3://{bucket}/odd", dst)
    assert r["ok"], r
    assert r["verified"] is True and r["attempts"] == 1, r
    assert read(dst) == data


def test_rclone_md5_metadata_verifies_unequal_parts(fds, s3, bucket, tmp_path):
    """Parts of 9, 5 and 7 MiB (no layout to find) with rclone's
    X-Amz-Meta-Md5chksum: the whole object's MD5 is checked instead."""
    import base64
    import hashlib
    data = pattern(21 * MiB, 23)
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    upload_parts(s3, bucket, "rc", data, [9 * MiB, 5 * MiB, 7 * MiB], metadata={"md5chksum": md5})
    dst = str(tmp_path / "rc.bin")
    r = fds.copy1(f"s3://{bucket}/rc", dst)
    assert r["ok"], r
    assert r["verified"] is True and r["attempts"] == 1, r
    assert read(dst) == data
