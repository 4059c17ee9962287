# SPDX-License-Identifier: MIT
"""Object keys that need care in URLs and signatures, in every direction,
against boto3's view of the bucket."""

import base64

import pytest

from s3fds import pattern, read, write

# Keys fds must store and fetch exactly as given (s3://bucket/KEY: the key is
# everything after the bucket's slash, so "s3://b//lead" is the key "/lead").
KEYS = [
    "plain.txt",
    "with space",
    "two  spaces and trailing ",
    "unicode ü ñ 日本語 🚀",
    "plus+sign+",
    "pct%41%",
    "100%25literal",
    "eq=amp&q?hash#end",
    "?leading-question",
    "#leading-hash",
    "a//b",
    "trail/",
    "dir/sub//x//",
    "/lead",
    "//double-lead",
    "tilde~!$'()*,;:@[]",
    "caret^`{}|\\<>\"",
    "tab\there",
    "deep/" * 30 + "x",
    "k" * 1024,
]

# Path segments "." and ".." are ordinary characters in S3 keys; an HTTP
# client that normalizes the path sends another request than it signed.
DOT_KEYS = ["x/./y", "x/../y", "./z", "z/.", "z/..", ".", ".."]


def ids(keys):
    return [repr(k)[:40] for k in keys]


def test_special_keys_upload(fds, s3, bucket, tmp_path):
    datas = {k: pattern(100 + i * 13, i) for i, k in enumerate(KEYS)}
    pairs = [(write(str(tmp_path / "src" / f"f {i} ü"), datas[k]), f"s3://{bucket}/{k}")
             for i, k in enumerate(KEYS)]
    reply = fds.copy(pairs, parallelism=4)
    bad = [r for r in reply["results"] if not r["ok"]]
    assert not bad, bad
    got = set()
    token = None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket=bucket, **kw)
        got |= {o["Key"] for o in page.get("Contents", [])}
        if not page.get("IsTruncated"):
            break
        token = page["NextContinuationToken"]
    assert got == set(KEYS)
    for k in KEYS:
        assert s3.get_object(Bucket=bucket, Key=k)["Body"].read() == datas[k], repr(k)


def test_special_keys_download_size_read(fds, s3, bucket, tmp_path):
    datas = {k: pattern(50 + i * 7, 100 + i) for i, k in enumerate(KEYS)}
    for k, d in datas.items():
        s3.put_object(Bucket=bucket, Key=k, Body=d)
    out = tmp_path / "out"
    pairs = [(f"s3://{bucket}/{k}", str(out / f"{i}")) for i, k in enumerate(KEYS)]
    reply = fds.copy(pairs, parallelism=4)
    bad = [r for r in reply["results"] if not r["ok"]]
    assert not bad, bad
    for i, k in enumerate(KEYS):
        assert read(str(out / f"{i}")) == datas[k], repr(k)

    files = {f"key{i}": f"s3://{bucket}/{k}" for i, k in enumerate(KEYS)}
    sizes = fds.size(files)
    assert sizes["errors"] == {}
    assert sizes["sizes"] == {f"key{i}": len(datas[k]) for i, k in enumerate(KEYS)}
    contents = fds.read(files)
    assert contents["errors"] == {}
    assert {n: base64.b64decode(v) for n, v in contents["contents"].items()} == \
        {f"key{i}": datas[k] for i, k in enumerate(KEYS)}


def test_special_keys_s3_to_s3(fds, s3, make_bucket):
    b1, b2 = make_bucket(), make_bucket()
    datas = {k: pattern(10 + i, 200 + i) for i, k in enumerate(KEYS)}
    for k, d in datas.items():
        s3.put_object(Bucket=b1, Key=k, Body=d)
    # Same key in another bucket, and a derived key in the same bucket.
    pairs = [(f"s3://{b1}/{k}", f"s3://{b2}/{k}") for k in KEYS] + \
            [(f"s3://{b1}/{k}", f"s3://{b1}/copy of {k}") for k in KEYS if len(k) < 1000]
    reply = fds.copy(pairs, parallelism=4)
    bad = [r for r in reply["results"] if not r["ok"]]
    assert not bad, bad
    for k, d in datas.items():
        assert s3.get_object(Bucket=b2, Key=k)["Body"].read() == d, repr(k)
        if len(k) < 1000:
            assert s3.get_object(Bucket=b1, Key=f"copy of {k}")["Body"].read() == d, repr(k)


def copy_one(fds, src, dst):
    """One Copy without retries: its result, or the InvalidRequest problems."""
    with fds.connect() as c:
        c.send("io.fds.Transfer.Copy", {"copies": [{"src": src, "dst": dst}],
                                        "options": {"transfer": {"max_attempts": 1}}})
        reply = c.recv()
    if "error" in reply:
        return reply
    return reply["parameters"]["results"][0]


@pytest.mark.parametrize("direction", ["upload", "download", "s3-to-s3"])
def test_dot_segment_keys(fds_env, s3, bucket, tmp_path, direction):
    """boto3 stores and fetches keys with "." and ".." segments; fds must
    too, and must never touch another key than the one named."""
    failures = []
    expect = set()
    for i, key in enumerate(DOT_KEYS):
        data = pattern(1000 + i, 300 + i)
        if direction == "upload":
            src = write(str(tmp_path / f"up{i}"), data)
            dst_key = f"up/{key}"
            r = copy_one(fds_env, src, f"s3://{bucket}/{dst_key}")
        else:
            s3.put_object(Bucket=bucket, Key=key, Body=data)
            expect.add(key)
            dst_key = f"copy/{key}"
            dst = str(tmp_path / f"down{i}") if direction == "download" else f"s3://{bucket}/{dst_key}"
            r = copy_one(fds_env, f"s3://{bucket}/{key}", dst)
        if not r.get("ok"):
            failures.append((key, r.get("error", r)))
            continue
        if direction == "download":
            got = read(str(tmp_path / f"down{i}"))
        else:
            expect.add(dst_key)
            got = s3.get_object(Bucket=bucket, Key=dst_key)["Body"].read()
        if got != data:
            failures.append((key, "wrong data"))
    # Nothing landed under a normalized name.
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert keys == expect
    assert not failures, "\n".join(f"{k!r}: {e}" for k, e in failures)
