# SPDX-License-Identifier: MIT
"""A 5xx from the proxy on one request is retried, and the file's result
says so in `attempts` ("S3 transfers: how many tries the request took
(retries included)", io.fds.Transfer.CopyResult)."""

import pytest

from fdslarge import DEFAULT_CHUNK, MiB, pattern, read, write
from proxy import Cut, Reply, is_object_get, is_part_put, is_range_get


@pytest.mark.parametrize("kind", [
    "single-put", "single-get", "multipart-upload", "ranged-download", "copy-object", "multipart-copy"])
def test_retried_request_is_reported_in_attempts(fds, proxy, s3, make_bucket, tmp_path, kind):
    bucket = make_bucket()
    local = str(tmp_path / "f.bin")
    transfer = {}
    if kind == "single-put":
        data = pattern(1 * MiB, 81)
        write(local, data)
        pair = (local, f"s3://{bucket}/f.bin")
        match = lambda q: q.method == "PUT" and q.key == "f.bin"  # noqa: E731
    elif kind == "multipart-upload":
        data = pattern(20 * MiB, 82)
        write(local, data)
        pair = (local, f"s3://{bucket}/f.bin")
        match = is_part_put(2)
    elif kind == "single-get":
        data = pattern(1 * MiB, 83)
        s3.put_object(Bucket=bucket, Key="f.bin", Body=data)
        pair = (f"s3://{bucket}/f.bin", local)
        match = is_object_get("f.bin")
    elif kind == "ranged-download":
        data = pattern(20 * MiB, 84)
        s3.put_object(Bucket=bucket, Key="f.bin", Body=data)
        pair = (f"s3://{bucket}/f.bin", local)
        match = is_range_get(DEFAULT_CHUNK)
    elif kind == "copy-object":
        data = pattern(20 * MiB, 86)
        s3.put_object(Bucket=bucket, Key="f.bin", Body=data)
        dst_b = make_bucket()
        pair = (f"s3://{bucket}/f.bin", f"s3://{dst_b}/f.bin")
        match = lambda q: q.method == "PUT" and q.bucket == dst_b  # noqa: E731
    else:
        data = pattern(20 * MiB, 85)
        s3.put_object(Bucket=bucket, Key="f.bin", Body=data)
        dst_b = make_bucket()
        pair = (f"s3://{bucket}/f.bin", f"s3://{dst_b}/f.bin")
        match = is_part_put(2)
        transfer = {"copy_cutoff": 5 * MiB}  # in parts, not one CopyObject
    rule = proxy.add_rule(match, Reply(500, "InternalError"))

    r = fds.copy1(*pair, **({"transfer": transfer} if transfer else {}))
    assert r["ok"], r
    assert rule.hits == 1
    # The bytes arrived whole.
    if pair[1].startswith("s3://"):
        b, k = pair[1][5:].split("/", 1)
        assert s3.get_object(Bucket=b, Key=k)["Body"].read() == data
    else:
        assert read(local) == data
    assert r.get("attempts", 0) >= 2, (
        f"a request of this file was tried twice (a 500, then success) but the result "
        f"reports attempts={r.get('attempts')}: {r}")


@pytest.mark.parametrize("kind", ["part-put", "streamed-put", "small-put", "range-get"])
def test_connection_dropped_without_answer_is_retried(fds, proxy, s3, bucket, tmp_path, kind):
    """The server reads a request and closes the connection without a final
    answer (a restart, a load balancer's reset): a transient failure, retried
    like a reset. PUT bodies of 1 MiB and more carry "Expect: 100-continue",
    so that request saw "100 Continue" first; a 100 is no answer to it."""
    local = str(tmp_path / "f.bin")
    if kind == "range-get":
        data = pattern(20 * MiB, 86)
        s3.put_object(Bucket=bucket, Key="f.bin", Body=data)
        pair, match = (f"s3://{bucket}/f.bin", local), is_range_get(DEFAULT_CHUNK)
    else:
        size = {"part-put": 20 * MiB, "streamed-put": 2 * MiB, "small-put": 100 * 1024}[kind]
        data = pattern(size, 87)
        write(local, data)
        pair = (local, f"s3://{bucket}/f.bin")
        match = is_part_put(2) if kind == "part-put" else (
            lambda q: q.method == "PUT" and q.key == "f.bin")
    rule = proxy.add_rule(match, Cut())

    r = fds.copy1(*pair)
    assert rule.hits == 1
    expect = rule.requests[0].header("Expect")
    assert r["ok"], f"not retried after a dropped connection (request had Expect: {expect}): {r}"
    if kind == "range-get":
        assert read(local) == data
    else:
        assert s3.get_object(Bucket=bucket, Key="f.bin")["Body"].read() == data
