# SPDX-License-Identifier: MIT
"""Validation of S3 sources by listing: files that share a bucket and a
directory are checked with ListObjectsV2 pages instead of a HEAD each. The
listing must find exactly what HEADs would, and anything it cannot vouch for
(missing keys, a refused listing) still gets its HEAD and its precise
error. Request counts come from the daemon's Status (s3_requests)."""

import json
import os

from s3fds import INVALID_REQUEST, IFACE, pattern, read, temp_files


def s3_requests(fds):
    with fds.connect() as c:
        return c.call(f"{IFACE}.Status")["s3_requests"]


def put_all(s3, bucket, keys):
    data = {}
    for i, k in enumerate(keys):
        data[k] = pattern(100 + i, i)
        s3.put_object(Bucket=bucket, Key=k, Body=data[k])
    return data


def download(fds, bucket, keys, out, **options):
    pairs = [(f"s3://{bucket}/{k}", f"{out}/{i}") for i, k in enumerate(keys)]
    before = s3_requests(fds)
    reply = fds.copy(pairs, **options)
    return reply, s3_requests(fds) - before


def test_one_listing_replaces_the_heads(fds, s3, bucket, tmp_path):
    """20 files of one directory: one LIST and 20 GETs, no HEAD; each file
    is pinned to the listed ETag and arrives intact."""
    keys = [f"data/part-{i:03d}.bin" for i in range(20)]
    data = put_all(s3, bucket, keys)
    # Neighbours that are not asked for, inside the listed range and below.
    put_all(s3, bucket, ["data/part-005.bin.extra", "data/sub/part-001.bin", "data/a", "datum"])
    out = str(tmp_path / "out")
    reply, requests = download(fds, bucket, keys, out)
    assert reply["summary"]["files_ok"] == 20, reply
    assert requests == 1 + 20, requests
    for i, k in enumerate(keys):
        assert read(f"{out}/{i}") == data[k]
    assert temp_files(out) == []


def test_awkward_keys_match_their_listing(fds_env, s3, bucket, tmp_path):
    """Keys whose bytes sort unlike their characters (UTF-8, '+', spaces,
    '%', upper case) are still matched one to one: no HEAD is needed."""
    names = ["a b", "a+b", "a%20b", "Zed", "zed", "é", "ü", "日本", "~x", "-", "0", "a.b",
             "a\tb", "a=b&c", "a?b", "a#b"]
    keys = [f"odd dir/{n}" for n in names]
    data = put_all(s3, bucket, keys)
    out = str(tmp_path / "out")
    reply, requests = download(fds_env, bucket, keys, out)
    assert reply["summary"]["files_ok"] == len(keys), reply
    assert requests == 1 + len(keys), requests
    for i, k in enumerate(keys):
        assert read(f"{out}/{i}") == data[k], k


def test_groups_per_bucket_and_directory(fds_env, s3, make_bucket, tmp_path):
    """Two buckets, two directories each, and a few loose files: one LIST
    per directory with enough files, HEADs for the rest."""
    b1, b2 = make_bucket(), make_bucket()
    keys1 = [f"x/{i}" for i in range(10)] + [f"y/{i}" for i in range(10)] + ["z/0", "z/1"]
    keys2 = [f"x/{i}" for i in range(12)] + [f"top{i}" for i in range(9)]
    put_all(s3, b1, keys1)
    put_all(s3, b2, keys2)
    pairs = [(f"s3://{b1}/{k}", str(tmp_path / "o1" / k)) for k in keys1]
    pairs += [(f"s3://{b2}/{k}", str(tmp_path / "o2" / k)) for k in keys2]
    before = s3_requests(fds_env)
    reply = fds_env.copy(pairs)
    requests = s3_requests(fds_env) - before
    assert reply["summary"]["files_ok"] == len(pairs), reply
    # Lists: b1 x/, b1 y/, b2 x/, b2 top level; HEADs: z/0, z/1.
    assert requests == 4 + 2 + len(pairs), requests


def test_missing_keys_among_listed_ones_get_precise_errors(fds, s3, bucket, tmp_path):
    """The listing cannot vouch for a key it did not see: those get their
    HEAD, and the error names each one, as without listing."""
    keys = [f"d/{i:02d}" for i in range(30)]
    put_all(s3, bucket, keys)
    s3.delete_object(Bucket=bucket, Key="d/07")
    s3.delete_object(Bucket=bucket, Key="d/29")
    asked = keys + ["d/99", "d/", "d/07x"]
    out = str(tmp_path / "out")
    pairs = [(f"s3://{bucket}/{k}", f"{out}/{i}") for i, k in enumerate(asked)]
    name, params = fds.copy_error(pairs)
    assert name == INVALID_REQUEST, params
    bad = {p["index"]: p["reason"] for p in params["problems"]}
    assert sorted(bad) == [7, 29, 30, 31, 32], params
    for reason in bad.values():
        assert "does not exist" in reason and "404" in reason, params
    assert not os.path.exists(out)


def test_refused_listing_falls_back_to_heads(fds_env, s3, bucket, tmp_path):
    """Without s3:ListBucket (a bucket policy denies it) validation still
    works, one HEAD per file, and reports a missing key."""
    keys = [f"p/{i}" for i in range(10)]
    data = put_all(s3, bucket, keys)
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:ListBucket",
        "Resource": f"arn:aws:s3:::{bucket}"}]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    try:
        try:
            s3.list_objects_v2(Bucket=bucket)
            refused = False
        except s3.exceptions.ClientError as e:
            refused = e.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert refused, "the bucket policy did not take: the test proves nothing"
        out = str(tmp_path / "out")
        reply, requests = download(fds_env, bucket, keys, out)
        assert reply["summary"]["files_ok"] == 10, reply
        assert requests == 1 + 10 + 10, requests  # the refused LIST, HEADs, GETs
        for i, k in enumerate(keys):
            assert read(f"{out}/{i}") == data[k]
        name, params = fds_env.copy_error(
            [(f"s3://{bucket}/{k}", f"{out}/again{i}") for i, k in enumerate(keys + ["p/none"])])
        assert name == INVALID_REQUEST, params
        assert [p["index"] for p in params["problems"]] == [10], params
    finally:
        s3.delete_bucket_policy(Bucket=bucket)


def test_crowded_directory_stops_listing(fds_env, s3, bucket, tmp_path):
    """A few wanted files spread through a directory of many others: the
    listing gives up after its budget and HEADs the rest, so a huge
    directory never costs more than a couple of pages."""
    # 2,500 neighbours, uploaded by fdsd itself without validation (fast).
    src = tmp_path / "src"
    src.mkdir()
    empty = src / "empty"
    empty.write_bytes(b"")
    fill = [(str(empty), f"s3://{bucket}/c/{i:05d}") for i in range(2500)]
    reply = fds_env.copy(fill, validate=False)
    assert reply["summary"]["files_ok"] == 2500, reply["summary"]
    # Wanted: 8 keys spread from the start to the end of the directory.
    wanted = [f"c/{312 * i:05d}" for i in range(8)]
    out = str(tmp_path / "out")
    reply, requests = download(fds_env, bucket, wanted, out)
    assert reply["summary"]["files_ok"] == 8, reply
    # Budget: 4 entries per wanted file plus one page (1,032 entries): two
    # pages read (keys 0-1999), then a HEAD for c/02184, then 8 GETs.
    unlisted = [k for k in wanted if int(k[2:]) >= 2000]
    assert unlisted == ["c/02184"]
    assert requests == 2 + 1 + 8, requests
    for i in range(8):
        assert read(f"{out}/{i}") == b""


def test_unvalidated_copies_list_for_their_sizes(fds_env, s3, make_bucket, tmp_path):
    """validate: false starts files at once, but an S3 -> S3 copy needs its
    source's size first (CopyObject or parts): one listing gives it for the
    whole directory. A missing source is that file's own error. Downloads
    need no size and send no listing."""
    b1, b2 = make_bucket(), make_bucket()
    keys = [f"in/{i}" for i in range(10)]
    data = put_all(s3, b1, keys)
    pairs = [(f"s3://{b1}/{k}", f"s3://{b2}/{k}") for k in keys + ["in/none"]]
    before = s3_requests(fds_env)
    reply = fds_env.copy(pairs, validate=False)
    requests = s3_requests(fds_env) - before
    s = reply["summary"]
    assert (s["files_ok"], s["files_failed"]) == (10, 1), reply
    [bad] = [r for r in reply["results"] if not r["ok"]]
    assert bad["index"] == 10 and bad["error"]["http_status"] == 404, bad
    # The LIST, 10 CopyObjects, and for the missing one a HEAD and the
    # CopyObject that says NoSuchKey in the server's words.
    assert requests == 1 + 10 + 2, requests
    for k in keys:
        assert s3.get_object(Bucket=b2, Key=k)["Body"].read() == data[k]

    out = str(tmp_path / "out")
    reply, requests = download(fds_env, b1, keys, out, validate=False)
    assert reply["summary"]["files_ok"] == 10, reply
    assert requests == 10, requests


def test_unicode_first_key_duplicates_and_split_directories(fds_env, s3, bucket, tmp_path):
    """The listing starts just before the first wanted key without cutting a
    UTF-8 character ("é" is two bytes); a source asked for twice matches
    twice; and a directory whose keys sort around a subdirectory's
    ("a/b.txt" < "a/b/..." < "a/c") is still one listing."""
    keys = ["u/é"] + [f"u/é{i}" for i in range(8)]
    sub = [f"a/b/{i}" for i in range(8)]
    top = ["a/b.txt"] + [f"a/c{i}" for i in range(7)]
    data = put_all(s3, bucket, keys + sub + top)
    pairs = [(f"s3://{bucket}/{k}", str(tmp_path / "o" / f"{i}")) for i, k in enumerate(keys + sub + top)]
    pairs.append((f"s3://{bucket}/u/é", str(tmp_path / "o" / "dup")))
    before = s3_requests(fds_env)
    reply = fds_env.copy(pairs)
    requests = s3_requests(fds_env) - before
    assert reply["summary"]["files_ok"] == len(pairs), reply
    # Lists: u/, a/b/, a/ (8 files with a/b.txt); GETs: one per pair.
    assert requests == 3 + len(pairs), requests
    assert read(str(tmp_path / "o" / "dup")) == data["u/é"]
    for i, k in enumerate(keys + sub + top):
        assert read(str(tmp_path / "o" / f"{i}")) == data[k], k
