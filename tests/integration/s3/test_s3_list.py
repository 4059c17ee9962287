# SPDX-License-Identifier: MIT
"""List against RGW, with boto3 as the oracle: what boto3 wrote, fds lists
as ListObjectsV2 (aws s3 ls) sees it, with the same sizes, ETags and times;
pages stream; failures come back as the reply's error."""

from concurrent.futures import ThreadPoolExecutor

from s3fds import IFACE, pattern

OBJECTS = {
    "data.csv": 11, "data/a.csv": 3000, "data/b.txt": 10, "data/deep/c.csv": 5000,
    "data/deep/x/y": 7, "data/folder/": 0, "other/z": 1,
}


def put_all(s3, bucket, objects):
    for i, (key, n) in enumerate(objects.items()):
        s3.put_object(Bucket=bucket, Key=key, Body=pattern(n, i))


def boto3_listing(s3, bucket, prefix, delimiter=None):
    """(files as {path: (size, etag, mtime)}, directory paths), from boto3."""
    kw = {"Bucket": bucket, "Prefix": prefix}
    if delimiter:
        kw["Delimiter"] = delimiter
    files, dirs = {}, []
    for page in s3.get_paginator("list_objects_v2").paginate(**kw):
        for o in page.get("Contents", []):
            if not o["Key"].endswith("/"):
                files[f"s3://{bucket}/{o['Key']}"] = (o["Size"], o["ETag"].strip('"'),
                                                      o["LastModified"].timestamp())
        dirs += [f"s3://{bucket}/{p['Prefix']}" for p in page.get("CommonPrefixes", [])]
    return files, dirs


def split(entries):
    files = {e["path"]: (e["size"], e["etag"], e["mtime"]) for e in entries if not e.get("dir")}
    dirs = [e["path"] for e in entries if e.get("dir")]
    for e in entries:
        assert ("size" in e) != bool(e.get("dir")), e
    return files, dirs


def assert_same(got, want):
    gf, gd = got
    wf, wd = want
    assert sorted(gf) == sorted(wf) and sorted(gd) == sorted(wd), (got, want)
    for path, (size, etag, mtime) in gf.items():
        assert (size, etag) == wf[path][:2], path
        assert abs(mtime - wf[path][2]) < 0.002, (path, mtime, wf[path][2])


def test_list_as_aws_s3_ls(fds, s3, bucket):
    put_all(s3, bucket, OBJECTS)
    cases = [("data/", False), ("data", False), ("", False), ("data/", True), ("data", True),
             ("data/deep/", False), ("", True)]
    for prefix, recursive in cases:
        r = fds.list(f"s3://{bucket}/{prefix}", recursive)
        assert "error" not in r, (prefix, r)
        want = boto3_listing(s3, bucket, prefix, None if recursive else "/")
        assert_same(split(r["entries"]), want)
    # The bucket alone, without its slash, is the whole bucket.
    assert fds.list(f"s3://{bucket}") == fds.list(f"s3://{bucket}/")
    # A few answers spelt out, so the oracle cannot be wrong with us.
    r = fds.list(f"s3://{bucket}/data/")
    assert [e["path"] for e in r["entries"]] == [
        f"s3://{bucket}/data/{k}" for k in ("a.csv", "b.txt", "deep/", "folder/")]
    r = fds.list(f"s3://{bucket}/data", True)
    assert [e["path"].split("/", 3)[3] for e in r["entries"]] == [
        "data.csv", "data/a.csv", "data/b.txt", "data/deep/c.csv", "data/deep/x/y"]


def test_list_pages_stream(fds, s3, bucket):
    """1,100 objects: two ListObjectsV2 pages, two replies with continues,
    in key order; unstreamed, one reply with all of them."""
    keys = [f"many/{i:05d}" for i in range(1100)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=b"x"), keys))
    pages, last = fds.list_more(f"s3://{bucket}/many/", True)
    assert [len(p) for p in pages] == [1000, 100] and "error" not in last
    assert [e["path"] for p in pages for e in p] == [f"s3://{bucket}/{k}" for k in keys]
    whole = fds.list(f"s3://{bucket}/many/")
    assert [e["path"] for e in whole["entries"]] == [e["path"] for p in pages for e in p]


def test_list_empty_prefix_and_missing_bucket(fds, bucket):
    assert fds.list(f"s3://{bucket}/nothing-here/") == {"entries": []}
    r = fds.list("s3://fds-no-such-bucket-here/x/")
    assert r["entries"] == [], r
    assert r["error"]["code"] == "NotFound" and r["error"]["http_status"] == 404, r
    assert r["error"]["s3_code"] == "NoSuchBucket", r


def test_list_wrong_credentials(start_fds, rgw, bucket):
    f = start_fds("none")
    s3 = {"endpoint_url": rgw["AWS_ENDPOINT_URL"], "region": rgw["AWS_REGION"], "addressing_style": "path",
          "access_key_id": rgw["AWS_ACCESS_KEY_ID"], "secret_access_key": "wrong" * 8}
    with f.connect() as c:
        r = c.call(f"{IFACE}.List", {"path": f"s3://{bucket}/", "options": {"s3": s3}})
    assert r["entries"] == [] and r["error"]["code"] == "PermissionDenied", r
    assert r["error"]["http_status"] == 403 and r["error"]["s3_code"] == "SignatureDoesNotMatch", r


def test_list_bad_urls_are_the_request_problems(start_fds):
    f = start_fds("none")
    with f.connect() as c:
        name, p = c.call_error(f"{IFACE}.List", {"path": "s3://Bad_Bucket/x"})
        assert name == f"{IFACE}.InvalidRequest" and p["problems"][0]["path"] == "s3://Bad_Bucket/x", p
        name, p = c.call_error(f"{IFACE}.List", {"path": "s3://bucket/"})
        assert name == f"{IFACE}.InvalidRequest" and "no credentials" in p["problems"][0]["reason"], p
        name, p = c.call_error(f"{IFACE}.List", {"path": "s3://bucket/", "recursive": "yes"})
        assert (name, p) == ("org.varlink.service.InvalidParameter", {"parameter": "recursive"})


def test_client_gone_mid_listing(fds_env, s3, bucket):
    """A client that reads one page and goes: the daemon cancels the
    listing and serves the next caller (teardown checks a clean exit)."""
    keys = [f"p/{i:05d}" for i in range(2100)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=b""), keys))
    c = fds_env.connect()
    c.send(f"{IFACE}.List", fds_env.list_params(f"s3://{bucket}/p/", True), more=True)
    first = c.recv()
    assert len(first["parameters"]["entries"]) == 1000 and first["continues"], first
    c.close()
    fds_env.daemon.wait_log(r"client went away; canceling batch")
    r = fds_env.list(f"s3://{bucket}/p/00000")
    assert [e["path"] for e in r["entries"]] == [f"s3://{bucket}/p/00000"]
