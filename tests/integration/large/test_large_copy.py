# SPDX-License-Identifier: MIT
"""S3 -> S3 for large objects, through the fault proxy: one CopyObject up to
the copy cutoff (4768 MiB by default, as rclone's), UploadPartCopy parts above
it; no byte of the object passes through the daemon either way."""

import threading

import botocore.exceptions
import pytest

import fdstest

from fdslarge import DEFAULT_CHUNK, MiB, md5_hex, multipart_etag, pattern, uploads_in_progress
from proxy import Reply, Stall, is_part_put

# Below the test objects' sizes, so that they are copied in parts.
PARTS = {"copy_cutoff": 5 * MiB}


def get_object(s3, bucket, key):
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def server_honours_copy_source_if_match(s3, bucket):
    """Whether the server refuses a CopyObject whose x-amz-copy-source-if-match
    does not match (RGW 16 does not: it reads only x-amz-copy-if-match)."""
    s3.put_object(Bucket=bucket, Key="probe", Body=b"probe")
    try:
        s3.copy_object(Bucket=bucket, Key="probe-copy", CopySource=f"{bucket}/probe",
                       CopySourceIfMatch='"00000000000000000000000000000000"')
    except botocore.exceptions.ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    return False


def test_multipart_copy_is_byte_identical_with_parts_etag(fds, proxy, s3, make_bucket):
    src_b, dst_b = make_bucket(), make_bucket()
    size = 30 * MiB + 5
    data = pattern(size, 21)
    src_etag = s3.put_object(Bucket=src_b, Key="obj", Body=data)["ETag"]

    r = fds.copy1(f"s3://{src_b}/obj", f"s3://{dst_b}/copy", transfer=PARTS)
    assert r["ok"], r
    assert r["bytes"] == size

    head = s3.head_object(Bucket=dst_b, Key="copy")
    assert head["ETag"] == multipart_etag(data, DEFAULT_CHUNK)
    assert head["ETag"].endswith('-4"')
    assert get_object(s3, dst_b, "copy") == data
    assert uploads_in_progress(s3, dst_b) == []

    parts = sorted(proxy.seen(is_part_put()), key=lambda q: int(q.query["partNumber"]))
    assert [q.query["partNumber"] for q in parts] == ["1", "2", "3", "4"]
    for i, q in enumerate(parts):
        end = min((i + 1) * DEFAULT_CHUNK, size) - 1
        assert q.header("x-amz-copy-source") == f"/{src_b}/obj"
        assert q.header("x-amz-copy-source-range") == f"bytes={i * DEFAULT_CHUNK}-{end}"
        # Pinned to the source validation saw.
        assert q.header("x-amz-copy-source-if-match") == src_etag
        assert q.body == b""
    # No byte of the object passed through the daemon.
    assert proxy.seen(lambda q: q.method == "GET" and q.bucket == src_b) == []


def test_multipart_copy_part_failing_once_is_retried(fds, proxy, s3, make_bucket):
    src_b, dst_b = make_bucket(), make_bucket()
    data = pattern(20 * MiB, 22)
    s3.put_object(Bucket=src_b, Key="obj", Body=data)
    rule = proxy.add_rule(is_part_put(2), Reply(500, "InternalError"))

    r = fds.copy1(f"s3://{src_b}/obj", f"s3://{dst_b}/obj", transfer=PARTS)
    assert r["ok"], r
    assert rule.hits == 1
    assert [q.status for q in proxy.seen(is_part_put(2))] == [500, 200]
    assert s3.head_object(Bucket=dst_b, Key="obj")["ETag"] == multipart_etag(data, DEFAULT_CHUNK)
    assert get_object(s3, dst_b, "obj") == data
    assert uploads_in_progress(s3, dst_b) == []


def test_source_overwritten_mid_copy_fails_and_aborts(fds, proxy, s3, make_bucket):
    """Part 2's copy is held until the source has been replaced: its
    x-amz-copy-source-if-match fails, the copy fails, the upload is aborted
    and no destination object appears."""
    src_b, dst_b = make_bucket(), make_bucket()
    size = 24 * MiB
    s3.put_object(Bucket=src_b, Key="obj", Body=pattern(size, 23))
    stall = Stall(timeout=60)
    rule = proxy.add_rule(is_part_put(2), stall)
    result = {}
    t = threading.Thread(target=lambda: result.update(
        r=fds.copy1(f"s3://{src_b}/obj", f"s3://{dst_b}/obj", transfer=dict(PARTS, max_concurrency=1))))
    t.start()
    try:
        assert rule.fired.wait(60), "part 2 never reached the proxy"
        s3.put_object(Bucket=src_b, Key="obj", Body=pattern(size, 24))
    finally:
        stall.release()
        t.join(120)
    r = result["r"]
    if r["ok"] and not server_honours_copy_source_if_match(s3, src_b):
        mixed = get_object(s3, dst_b, "obj")
        pytest.xfail("RGW 16 ignores x-amz-copy-source-if-match (on UploadPartCopy and CopyObject; "
                     "probed with boto3 here), so fdsd's pin cannot work against it; the copy "
                     "succeeded with a mix of both versions: "
                     f"{mixed[:DEFAULT_CHUNK] == pattern(size, 23)[:DEFAULT_CHUNK]=} (part 1 old), "
                     f"{mixed[DEFAULT_CHUNK:] == pattern(size, 24)[DEFAULT_CHUNK:]=} (parts 2.. new)")
    assert not r["ok"], r
    assert r["error"]["http_status"] == 412, r
    assert [q.status for q in proxy.seen(is_part_put(2))] == [412]
    assert proxy.seen(lambda q: q.method == "DELETE" and "uploadId" in q.query)
    assert uploads_in_progress(s3, dst_b) == []
    assert s3.list_objects_v2(Bucket=dst_b).get("KeyCount") == 0


def test_multipart_off_copies_with_one_copy_object(fds, proxy, s3, make_bucket):
    src_b, dst_b = make_bucket(), make_bucket()
    data = pattern(20 * MiB, 25)
    s3.put_object(Bucket=src_b, Key="obj", Body=data)

    r = fds.copy1(f"s3://{src_b}/obj", f"s3://{dst_b}/obj", transfer={"multipart": False})
    assert r["ok"], r
    puts = proxy.seen(lambda q: q.method == "PUT")
    assert len(puts) == 1 and "uploadId" not in puts[0].query
    assert puts[0].header("x-amz-copy-source") == f"/{src_b}/obj"
    assert puts[0].header("x-amz-copy-source-range") is None
    assert proxy.seen(lambda q: q.method == "POST") == []
    assert s3.head_object(Bucket=dst_b, Key="obj")["ETag"] == f'"{md5_hex(data)}"'
    assert get_object(s3, dst_b, "obj") == data


def copied_by_one_copy_object(proxy, src_b, dst_b):
    puts = proxy.seen(lambda q: q.method == "PUT" and q.bucket == dst_b)
    return (len(puts) == 1 and "uploadId" not in puts[0].query
            and puts[0].header("x-amz-copy-source") == f"/{src_b}/obj"
            and puts[0].header("x-amz-copy-source-range") is None
            and proxy.seen(lambda q: q.method == "POST" and q.bucket == dst_b) == [])


def test_below_the_copy_cutoff_one_copy_object(fds, proxy, s3, make_bucket):
    """30 MiB is over the multipart threshold (8 MiB) but under the default
    copy cutoff: one CopyObject, the server copying without moving the bytes,
    and the copy keeps the source's plain MD5 ETag."""
    src_b, dst_b = make_bucket(), make_bucket()
    data = pattern(30 * MiB + 5, 26)
    src_etag = s3.put_object(Bucket=src_b, Key="obj", Body=data)["ETag"]

    r = fds.copy1(f"s3://{src_b}/obj", f"s3://{dst_b}/obj")
    assert r["ok"], r
    assert r["bytes"] == len(data)
    assert copied_by_one_copy_object(proxy, src_b, dst_b)
    assert s3.head_object(Bucket=dst_b, Key="obj")["ETag"] == src_etag == f'"{md5_hex(data)}"'
    assert get_object(s3, dst_b, "obj") == data
    assert proxy.seen(lambda q: q.method == "GET" and q.bucket == src_b) == []


def test_copy_cutoff_and_not_multipart_threshold_decides(fds, proxy, s3, make_bucket):
    """A lower multipart_threshold does not split a copy; a copy_cutoff below
    the size does, in multipart_chunksize parts."""
    src_b, dst_b, parts_b = make_bucket(), make_bucket(), make_bucket()
    data = pattern(12 * MiB, 27)
    s3.put_object(Bucket=src_b, Key="obj", Body=data)

    r = fds.copy1(f"s3://{src_b}/obj", f"s3://{dst_b}/obj", transfer={"multipart_threshold": 5 * MiB})
    assert r["ok"], r
    assert copied_by_one_copy_object(proxy, src_b, dst_b)

    r = fds.copy1(f"s3://{src_b}/obj", f"s3://{parts_b}/obj",
                  transfer={"copy_cutoff": 10 * MiB, "multipart_chunksize": 6 * MiB})
    assert r["ok"], r
    parts = proxy.seen(lambda q: is_part_put()(q) and q.bucket == parts_b)
    assert sorted(q.query["partNumber"] for q in parts) == ["1", "2"]
    assert s3.head_object(Bucket=parts_b, Key="obj")["ETag"] == multipart_etag(data, 6 * MiB)
    assert get_object(s3, parts_b, "obj") == get_object(s3, dst_b, "obj") == data
    assert uploads_in_progress(s3, parts_b) == []


def test_copy_cutoff_out_of_range_is_refused(fds, s3, make_bucket):
    src_b = make_bucket()
    s3.put_object(Bucket=src_b, Key="obj", Body=b"x")
    for bad in (5 * MiB - 1, 5 * 1024 * MiB + 1, "big"):
        with pytest.raises(fdstest.VarlinkError) as e:
            fds.copy1(f"s3://{src_b}/obj", f"s3://{src_b}/copy", transfer={"copy_cutoff": bad})
        assert "copy_cutoff" in str(e.value)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=src_b)["Contents"]] == ["obj"]
