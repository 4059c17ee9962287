# SPDX-License-Identifier: MIT
"""local -> S3 for large files: multipart upload through the fault proxy,
checked with boto3 against RGW directly."""

import base64
import hashlib
import json
import os

import pytest

from fdslarge import (DEFAULT_CHUNK, MiB, md5_hex, multipart_etag, pattern,
                      uploads_in_progress, write)
from proxy import FlipRequestByte, Reply, is_part_put


def get_object(s3, bucket, key):
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def b64md5(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def test_multipart_upload_etag_parts_and_boto3_readback(fds, proxy, s3, bucket, tmp_path):
    size = 30 * MiB + 12345
    data = pattern(size, 1)
    src = write(str(tmp_path / "big.bin"), data)

    r = fds.copy1(src, f"s3://{bucket}/big.bin")
    assert r["ok"], r
    assert r["bytes"] == size

    # The object: S3's multipart ETag of 8 MiB parts, and the same bytes.
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ETag"] == multipart_etag(data, DEFAULT_CHUNK)
    assert head["ETag"].endswith('-4"')
    assert head["ContentLength"] == size
    assert get_object(s3, bucket, "big.bin") == data
    assert uploads_in_progress(s3, bucket) == []

    # On the wire: create, four parts (each with its Content-MD5), complete.
    reqs = proxy.seen()
    creates = [q for q in reqs if q.method == "POST" and "uploads" in q.query]
    completes = [q for q in reqs if q.method == "POST" and "uploadId" in q.query]
    parts = sorted(proxy.seen(is_part_put()), key=lambda q: int(q.query["partNumber"]))
    assert len(creates) == 1 and len(completes) == 1, reqs
    assert [q.query["partNumber"] for q in parts] == ["1", "2", "3", "4"]
    for i, q in enumerate(parts):
        chunk = data[i * DEFAULT_CHUNK:(i + 1) * DEFAULT_CHUNK]
        assert q.body == chunk, f"part {i + 1} carries the wrong bytes"
        assert q.header("Content-MD5") == b64md5(chunk)
        assert q.status == 200
    assert all(q.query["uploadId"] == parts[0].query["uploadId"] for q in parts + completes)
    # Complete names every part with the ETag the server gave it.
    body = completes[0].body.decode()
    for i, chunk in enumerate(data[j:j + DEFAULT_CHUNK] for j in range(0, size, DEFAULT_CHUNK)):
        assert f"<PartNumber>{i + 1}</PartNumber>" in body
        assert md5_hex(chunk) in body
    # Nothing else: no single PUT of the whole file.
    assert len(reqs) == 6, reqs


@pytest.mark.parametrize("size,options,chunk", [
    # multipart_chunksize: parts of 5 MiB, the last one short.
    (12 * MiB + 1, {"multipart_chunksize": 5 * MiB}, 5 * MiB),
    # A chunk size that is no multiple of a MiB, and a lower threshold.
    (7 * MiB, {"multipart_threshold": 5 * MiB, "multipart_chunksize": 5 * MiB + 4097}, 5 * MiB + 4097),
    # Above the default threshold but below this one: one PUT.
    (9 * MiB, {"multipart_threshold": 16 * MiB}, None),
], ids=["chunksize-5MiB", "odd-chunksize", "threshold-above-size"])
def test_transfer_options_shape_the_upload(fds, proxy, s3, bucket, tmp_path, size, options, chunk):
    data = pattern(size, 2)
    src = write(str(tmp_path / "f.bin"), data)
    r = fds.copy1(src, f"s3://{bucket}/f.bin", transfer=options)
    assert r["ok"], r
    etag = s3.head_object(Bucket=bucket, Key="f.bin")["ETag"]
    parts = proxy.seen(is_part_put())
    if chunk is None:
        assert etag == f'"{md5_hex(data)}"'
        assert parts == []
        puts = proxy.seen(lambda q: q.method == "PUT")
        assert len(puts) == 1 and len(puts[0].body) == size
    else:
        assert etag == multipart_etag(data, chunk)
        assert sorted(len(q.body) for q in parts) == sorted(
            len(data[i:i + chunk]) for i in range(0, size, chunk))
    assert get_object(s3, bucket, "f.bin") == data


def test_part_failing_once_is_retried(fds, proxy, s3, bucket, tmp_path):
    """A 500 on part 2's first try: that part is sent again, the upload
    completes, and the object is whole."""
    data = pattern(20 * MiB, 3)
    src = write(str(tmp_path / "f.bin"), data)
    rule = proxy.add_rule(is_part_put(2), Reply(500, "InternalError"))

    r = fds.copy1(src, f"s3://{bucket}/f.bin")
    assert r["ok"], r
    assert rule.hits == 1
    part2 = proxy.seen(is_part_put(2))
    assert [q.status for q in part2] == [500, 200]
    assert part2[1].body == part2[0].body == data[DEFAULT_CHUNK:2 * DEFAULT_CHUNK]
    # The other parts went once each.
    assert len(proxy.seen(is_part_put(1))) == len(proxy.seen(is_part_put(3))) == 1
    assert s3.head_object(Bucket=bucket, Key="f.bin")["ETag"] == multipart_etag(data, DEFAULT_CHUNK)
    assert get_object(s3, bucket, "f.bin") == data
    assert uploads_in_progress(s3, bucket) == []


@pytest.mark.parametrize("max_attempts", [1, 3])
def test_part_failing_every_time_fails_the_file_and_aborts(fds, proxy, s3, bucket, tmp_path,
                                                            max_attempts):
    """A part that fails on every try: exactly max_attempts tries, the file
    fails with the server's status and code, and the upload is aborted (no
    upload left listed, no object)."""
    data = pattern(20 * MiB, 4)
    src = write(str(tmp_path / "f.bin"), data)
    proxy.add_rule(is_part_put(2), Reply(500, "InternalError"), times=None)

    r = fds.copy1(src, f"s3://{bucket}/f.bin", transfer={"max_attempts": max_attempts})
    assert not r["ok"], r
    err = r["error"]
    assert err["code"] == "S3Error", err
    assert err["http_status"] == 500
    assert err["s3_code"] == "InternalError"
    assert r["attempts"] == max_attempts
    assert len(proxy.seen(is_part_put(2))) == max_attempts
    aborts = proxy.seen(lambda q: q.method == "DELETE" and "uploadId" in q.query)
    assert len(aborts) == 1 and aborts[0].status == 204, proxy.requests
    assert uploads_in_progress(s3, bucket) == []
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_corrupted_part_is_caught_by_content_md5(fds, proxy, s3, bucket, tmp_path):
    """One bit of part 2 flipped on the way: RGW refuses the part (BadDigest)
    and no corrupt object may appear. Either the upload fails and is aborted,
    or the part is sent again and the object is whole."""
    data = pattern(20 * MiB, 5)
    src = write(str(tmp_path / "f.bin"), data)
    rule = proxy.add_rule(is_part_put(2), FlipRequestByte(12345))

    r = fds.copy1(src, f"s3://{bucket}/f.bin")
    assert rule.hits == 1
    assert proxy.seen(is_part_put(2))[0].status == 400
    if r["ok"]:
        assert get_object(s3, bucket, "f.bin") == data
    else:
        assert r["error"]["http_status"] == 400, r
        assert r["error"]["s3_code"] == "BadDigest", r
        assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert uploads_in_progress(s3, bucket) == []


@pytest.mark.parametrize("size,transfer", [
    (100 * 1024, {}),                       # one PUT from memory with Content-MD5
    (1 * MiB, {}),                          # one streamed PUT (256 KiB .. threshold)
    (12 * MiB, {"multipart": False}),       # one streamed PUT, multipart off
], ids=["small-put", "streamed-put", "streamed-put-multipart-off"])
def test_corrupted_single_put_is_not_stored_silently(fds, proxy, s3, bucket, tmp_path, size, transfer):
    """One bit flipped in a single PUT's body on the way: the daemon must not
    report success for an object that differs from the file (Content-MD5
    lets the server refuse it; without it, the ETag the server answers is
    the MD5 of what it stored, which the daemon can compare)."""
    data = pattern(size, 6)
    src = write(str(tmp_path / "f.bin"), data)
    rule = proxy.add_rule(lambda q: q.method == "PUT" and q.key == "f.bin", FlipRequestByte(size // 2))

    r = fds.copy1(src, f"s3://{bucket}/f.bin", transfer=transfer)
    assert rule.hits == 1
    stored = None
    if s3.list_objects_v2(Bucket=bucket).get("KeyCount"):
        stored = get_object(s3, bucket, "f.bin")
    if r["ok"]:
        assert stored == data, (
            f"fdsd reported success but the stored object differs from the file "
            f"(ETag {s3.head_object(Bucket=bucket, Key='f.bin')['ETag']}, file MD5 {md5_hex(data)}); "
            f"requests: {proxy.requests}")
    else:
        assert stored is None or stored == data


def test_abort_that_keeps_failing_is_logged_kept_and_done_at_next_start(start_fds, proxy, s3, bucket,
                                                                        tmp_path):
    """Part 2 is refused for good and every AbortMultipartUpload fails (500):
    the file fails, the upload stays open, and fdsd says so at warning level
    with bucket, key and upload id, keeping it in its state directory. The
    next fdsd with the same state directory aborts it at start."""
    state = str(tmp_path / "state")
    env = {"STATE_DIRECTORY": state}
    data = pattern(20 * MiB, 6)
    src = write(str(tmp_path / "f.bin"), data)
    proxy.add_rule(is_part_put(2), Reply(403, "AccessDenied"), times=None)
    failing = {"abort": True}
    abort = proxy.add_rule(lambda q: failing["abort"] and q.method == "DELETE" and "uploadId" in q.query,
                           Reply(500, "InternalError"), times=None)
    fds = start_fds(env=env)
    r = fds.copy1(src, f"s3://{bucket}/f.bin", transfer={"max_attempts": 2, "retry_time_budget": 5})
    assert not r["ok"], r
    assert r["error"]["http_status"] == 403, r
    assert abort.hits == 5, "the abort is retried, at least 5 tries whatever the call allowed"
    [(key, upload_id)] = uploads_in_progress(s3, bucket)
    assert key == "f.bin"
    fds.daemon.wait_log(rf"warning.*multipart upload left open.*s3://{bucket}/f\.bin upload id "
                        rf"{upload_id}.*the next start aborts it")
    kept = [json.loads(line) for line in open(os.path.join(state, "uploads-left.jsonl"))]
    assert [(k["bucket"], k["key"], k["upload_id"]) for k in kept] == [(bucket, "f.bin", upload_id)]

    # Still failing at the next start: kept again, nothing lost.
    fds.daemon.check_stopped_cleanly()
    again = start_fds(env=env)
    again.daemon.wait_log(r"multipart upload still left open.*kept for the next start", timeout=30)
    assert uploads_in_progress(s3, bucket) == [(key, upload_id)]
    again.daemon.check_stopped_cleanly()

    # The server lets it through now: the start aborts it and forgets it.
    failing["abort"] = False
    third = start_fds(env=env)
    third.daemon.wait_log(rf"aborted the multipart upload an earlier run left open: s3://{bucket}/f\.bin",
                          timeout=30)
    assert uploads_in_progress(s3, bucket) == []
    assert not os.path.exists(os.path.join(state, "uploads-left.jsonl"))
