# SPDX-License-Identifier: MIT
"""Copy in all four directions against a real S3 server, checked with boto3:
mixed batches, streaming and not, big and empty objects, overwrites."""

import hashlib
import os

import pytest

from s3fds import md5_hex, pattern, read, temp_files, write


def get(s3, bucket, key):
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def check_results(results, pairs, sizes):
    """Every entry exactly once, in the request's terms, all ok; S3
    transfers say how many tries they took, local copies do not; downloads
    (and only they) say their bytes were checked against the ETag."""
    assert sorted(r["index"] for r in results) == list(range(len(pairs))), results
    for r in results:
        s, d = pairs[r["index"]]
        r = dict(r)
        attempts = r.pop("attempts", None)
        verified = r.pop("verified", None)
        assert verified is (True if s.startswith("s3://") and not d.startswith("s3://") else None), r
        assert r == {"index": r["index"], "src": s, "dst": d, "ok": True,
                     "bytes": sizes[r["index"]]}, r
        if s.startswith("s3://") or d.startswith("s3://"):
            assert isinstance(attempts, int) and attempts >= 1, (attempts, r)
        else:
            assert attempts is None, (attempts, r)


@pytest.mark.parametrize("more", [False, True], ids=["reply", "more"])
def test_mixed_batch_all_four_directions(fds, s3, make_bucket, tmp_path, more):
    b1, b2 = make_bucket(), make_bucket()
    src, out = str(tmp_path / "src"), str(tmp_path / "out")
    # Sizes around the daemon's 256 KiB buffers and 0.
    sizes = [0, 1, 4096, 256 << 10, (256 << 10) + 1, 700_000]
    pairs, expect, want = [], [], []
    for i, n in enumerate(sizes):
        data = pattern(n, i)
        # local -> local
        pairs.append((write(f"{src}/ll{i}", data), f"{out}/ll/{i}"))
        want.append(("local", f"{out}/ll/{i}", data))
        # local -> S3
        pairs.append((write(f"{src}/ls{i}", data), f"s3://{b1}/up/{i}"))
        want.append(("s3", (b1, f"up/{i}"), data))
        # S3 -> local (into directories that do not exist yet)
        s3.put_object(Bucket=b2, Key=f"in/{i}", Body=data)
        pairs.append((f"s3://{b2}/in/{i}", f"{out}/sl/deep/{i}"))
        want.append(("local", f"{out}/sl/deep/{i}", data))
        # S3 -> S3, across buckets
        pairs.append((f"s3://{b2}/in/{i}", f"s3://{b1}/copied/{i}"))
        want.append(("s3", (b1, f"copied/{i}"), data))
        expect += [n] * 4

    if more:
        results, summary = fds.copy_more(pairs, parallelism=3)
    else:
        reply = fds.copy(pairs, parallelism=3)
        assert set(reply) == {"results", "summary"}
        results, summary = reply["results"], reply["summary"]
        assert [r["index"] for r in results] == list(range(len(pairs)))
    check_results(results, pairs, expect)
    assert (summary["files_ok"], summary["files_failed"], summary["bytes"]) == \
        (len(pairs), 0, sum(expect))

    for kind, where, data in want:
        if kind == "local":
            assert read(where) == data, where
        else:
            assert get(s3, *where) == data, where
    assert temp_files(out) == []
    # The S3 -> S3 sources are untouched.
    for i, n in enumerate(sizes):
        assert get(s3, b2, f"in/{i}") == pattern(n, i)


def multipart_etag(data, part_size):
    """The ETag S3 gives a multipart upload of data in parts of part_size."""
    parts = [data[i:i + part_size] for i in range(0, len(data), part_size)]
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f'"{digest}-{len(parts)}"'


# (size, transfer options, expected ETag scheme): the 3 MiB object goes in
# one streamed PUT; 20 MiB in 8 MiB parts by default (boto3's values), in
# 5 MiB parts when asked, or in one streamed PUT with multipart off.
BIG = [
    pytest.param(3 << 20, {}, None, id="3MiB"),
    pytest.param(20 << 20, {}, 8 << 20, id="20MiB-multipart"),
    pytest.param((20 << 20) + 3, {"multipart_chunksize": 5 << 20}, 5 << 20, id="20MiB-5MiB-parts"),
    pytest.param(20 << 20, {"multipart": False}, None, id="20MiB-single-put"),
]


@pytest.mark.parametrize("size,transfer,part_size", BIG)
def test_big_objects_round_trip(fds, s3, make_bucket, tmp_path, size, transfer, part_size):
    """Upload, download and server-side copy of objects much larger than the
    daemon's buffers, byte for byte, with the ETag S3 computes."""
    b1, b2 = make_bucket(), make_bucket()
    data = pattern(size, size)
    src = write(str(tmp_path / "big.src"), data)
    up = fds.copy([(src, f"s3://{b1}/big object")], transfer=transfer)
    assert up["results"][0]["ok"] and up["results"][0]["bytes"] == size, up
    head = s3.head_object(Bucket=b1, Key="big object")
    assert head["ContentLength"] == size
    if part_size is None:
        # A single PUT: the ETag is the MD5 of the data.
        assert head["ETag"] == f'"{md5_hex(data)}"'
    else:
        assert head["ETag"] == multipart_etag(data, part_size)
    assert get(s3, b1, "big object") == data

    dst = str(tmp_path / "down" / "big.bin")
    pairs = [(f"s3://{b1}/big object", dst), (f"s3://{b1}/big object", f"s3://{b2}/copy/big")]
    reply = fds.copy(pairs, transfer=transfer)
    assert [r["ok"] for r in reply["results"]] == [True, True], reply
    assert [r["bytes"] for r in reply["results"]] == [size, size]
    assert read(dst) == data
    assert get(s3, b2, "copy/big") == data
    assert s3.head_object(Bucket=b2, Key="copy/big")["ContentLength"] == size
    assert temp_files(str(tmp_path / "down")) == []
    # No multipart upload left behind.
    for b in (b1, b2):
        assert s3.list_multipart_uploads(Bucket=b).get("Uploads", []) == []


def test_zero_byte_objects(fds, s3, bucket, tmp_path):
    empty = write(str(tmp_path / "empty"), b"")
    s3.put_object(Bucket=bucket, Key="boto-empty", Body=b"")
    # The download replaces a non-empty local file.
    old = write(str(tmp_path / "out" / "was-full"), b"old content" * 1000)
    pairs = [
        (empty, f"s3://{bucket}/fds-empty"),
        (f"s3://{bucket}/boto-empty", old),
        (f"s3://{bucket}/boto-empty", str(tmp_path / "out" / "new" / "e")),
        (f"s3://{bucket}/boto-empty", f"s3://{bucket}/copied-empty"),
    ]
    reply = fds.copy(pairs)
    assert [(r["ok"], r["bytes"]) for r in reply["results"]] == [(True, 0)] * 4, reply
    for key in ("fds-empty", "copied-empty"):
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ContentLength"] == 0
        assert head["ETag"] == f'"{md5_hex(b"")}"'
    assert read(old) == b""
    assert read(str(tmp_path / "out" / "new" / "e")) == b""
    sizes = fds.size({"a": f"s3://{bucket}/fds-empty", "b": f"s3://{bucket}/boto-empty"})
    assert sizes == {"sizes": {"a": 0, "b": 0}, "errors": {}}
    contents = fds.read({"a": f"s3://{bucket}/fds-empty"})
    assert contents == {"contents": {"a": ""}, "errors": {}}


def test_overwrite_existing_keys(fds_env, s3, bucket, tmp_path):
    """Copy onto an existing key replaces it, from local and from S3; a
    download replaces an existing local file."""
    old = pattern(900_000, 1)
    for key in ("dst-up", "dst-copy"):
        s3.put_object(Bucket=bucket, Key=key, Body=old)
    new_local = pattern(5000, 2)
    new_s3 = pattern(300_000, 3)
    s3.put_object(Bucket=bucket, Key="src", Body=new_s3)
    local_old = write(str(tmp_path / "local-old"), old)
    pairs = [
        (write(str(tmp_path / "new"), new_local), f"s3://{bucket}/dst-up"),
        (f"s3://{bucket}/src", f"s3://{bucket}/dst-copy"),
        (f"s3://{bucket}/src", local_old),
    ]
    reply = fds_env.copy(pairs)
    assert all(r["ok"] for r in reply["results"]), reply
    assert get(s3, bucket, "dst-up") == new_local
    assert get(s3, bucket, "dst-copy") == new_s3
    assert s3.head_object(Bucket=bucket, Key="dst-copy")["ContentLength"] == len(new_s3)
    assert read(local_old) == new_s3


def test_copy_object_onto_itself_fails_and_keeps_it(fds_env, s3, bucket):
    data = pattern(10_000, 9)
    s3.put_object(Bucket=bucket, Key="same", Body=data)
    reply = fds_env.copy([(f"s3://{bucket}/same", f"s3://{bucket}/same")])
    r = reply["results"][0]
    assert not r["ok"] and r["error"]["message"], reply
    assert get(s3, bucket, "same") == data


def test_copy_object_onto_itself_is_same_file(fds_env, s3, bucket):
    s3.put_object(Bucket=bucket, Key="same", Body=b"x")
    reply = fds_env.copy([(f"s3://{bucket}/same", f"s3://{bucket}/same")])
    assert reply["results"][0]["error"]["code"] == "SameFile", reply


def test_many_small_objects_streamed(fds_env, s3, bucket, tmp_path):
    """300 uploads then 300 downloads at parallelism 8, results streamed."""
    n = 300
    src, out = str(tmp_path / "src"), str(tmp_path / "out")
    datas = [pattern(i * 37 % 5000, i) for i in range(n)]
    up = [(write(f"{src}/{i:03d}", datas[i]), f"s3://{bucket}/many/{i:03d}") for i in range(n)]
    results, summary = fds_env.copy_more(up, parallelism=8)
    assert summary["files_ok"] == n and summary["files_failed"] == 0, summary
    assert sorted(r["index"] for r in results) == list(range(n))
    listing = s3.list_objects_v2(Bucket=bucket, Prefix="many/")["Contents"]
    assert len(listing) == n
    for o in listing:
        i = int(o["Key"].split("/")[1])
        assert o["Size"] == len(datas[i]) and o["ETag"] == f'"{md5_hex(datas[i])}"', o

    down = [(f"s3://{bucket}/many/{i:03d}", f"{out}/{i:03d}") for i in range(n)]
    results, summary = fds_env.copy_more(down, parallelism=8)
    assert summary["files_ok"] == n and summary["bytes"] == sum(map(len, datas)), summary
    for i in range(n):
        assert read(f"{out}/{i:03d}") == datas[i]
    assert sorted(os.listdir(out)) == [f"{i:03d}" for i in range(n)]
