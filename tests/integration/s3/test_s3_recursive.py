# SPDX-License-Identifier: MIT
"""Recursive copies to, from and between S3 prefixes against RGW, with
filters as aws s3 cp --exclude/--include; boto3 lists and reads what fds
wrote, and fds lists what boto3 wrote."""

import os

from s3fds import pattern, read, write

FILES = {"a.csv": 3000, "b.txt": 10, "deep/c.csv": 5000, "deep/d.json": 7, "tmp/e.csv": 1,
         "tmp/keep.csv": 2000}
CSV_BUT_TMP = [{"exclude": "*"}, {"include": "*.csv"}, {"exclude": "tmp/*"}, {"include": "tmp/keep*"}]
WANT = ["a.csv", "deep/c.csv", "tmp/keep.csv"]


def tree(root):
    for i, (rel, n) in enumerate(FILES.items()):
        write(os.path.join(root, rel), pattern(n, i))


def keys(s3, bucket, prefix):
    return sorted(o["Key"][len(prefix):] for o in
                  s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def copy_recursive(fds, src, dst, filters=None):
    entry = {"src": src, "dst": dst, "recursive": True}
    if filters is not None:
        entry["filters"] = filters
    with fds.connect() as c:
        return c.call("io.fds.Transfer.Copy", fds.params("copies", [entry], {}))


def test_upload_download_and_copy_prefixes_with_filters(fds, s3, bucket, tmp_path):
    root = str(tmp_path / "data")
    tree(root)
    r = copy_recursive(fds, root, f"s3://{bucket}/up/", CSV_BUT_TMP)
    assert r["summary"]["files_ok"] == len(WANT), r
    assert keys(s3, bucket, "up/") == WANT
    for rel in WANT:
        assert s3.get_object(Bucket=bucket, Key="up/" + rel)["Body"].read() == read(os.path.join(root, rel))

    # Objects boto3 wrote, listed and fetched by fds, filtered again.
    for i, (rel, n) in enumerate(FILES.items()):
        s3.put_object(Bucket=bucket, Key=f"theirs/{rel}", Body=pattern(n, 100 + i))
    out = str(tmp_path / "down")
    r = copy_recursive(fds, f"s3://{bucket}/theirs/", out, [{"exclude": "deep/*"}])
    got = sorted(os.path.relpath(os.path.join(d, f), out) for d, _, fs in os.walk(out) for f in fs)
    assert got == sorted(k for k in FILES if not k.startswith("deep/")), r
    for i, rel in enumerate(FILES):
        if not rel.startswith("deep/"):
            assert read(os.path.join(out, rel)) == pattern(FILES[rel], 100 + i)

    # S3 -> S3, no filters: everything under the prefix.
    r = copy_recursive(fds, f"s3://{bucket}/theirs", f"s3://{bucket}/copied/")
    assert r["summary"]["files_ok"] == len(FILES), r
    assert keys(s3, bucket, "copied/") == sorted(FILES)


def test_filters_that_leave_nothing(fds, bucket, tmp_path):
    root = str(tmp_path / "data")
    tree(root)
    r = copy_recursive(fds, root, f"s3://{bucket}/none/", [{"exclude": "*"}])
    assert r["summary"]["files_ok"] == 0 and r["summary"]["files_failed"] == 0, r
    assert r["results"] == []


def test_dry_run_lists_what_would_move(fds, s3, bucket, tmp_path):
    """Sizes from the listing (S3 source) and from stat (local source); no
    object and no file appears."""
    for i, (rel, n) in enumerate(FILES.items()):
        s3.put_object(Bucket=bucket, Key=f"src/{rel}", Body=pattern(n, i))
    out = str(tmp_path / "down")
    with fds.connect() as c:
        r = c.call("io.fds.Transfer.Copy", fds.params("copies", [
            {"src": f"s3://{bucket}/src/", "dst": out, "recursive": True, "filters": CSV_BUT_TMP},
            {"src": f"s3://{bucket}/src/b.txt", "dst": f"s3://{bucket}/elsewhere/b.txt"}],
            {"dry_run": True}))
    assert r["summary"].get("dry_run") is True, r
    got = sorted((x["dst"], x["bytes"]) for x in r["results"])
    want = sorted([(os.path.join(out, k), FILES[k]) for k in WANT] +
                  [(f"s3://{bucket}/elsewhere/b.txt", FILES["b.txt"])])
    assert got == want
    assert not os.path.exists(out)
    assert keys(s3, bucket, "elsewhere/") == []


def test_no_clobber_leaves_objects_and_files_alone(fds, s3, bucket, tmp_path):
    """A HEAD before anything moves finds the objects that exist (upload,
    S3->S3); a stat finds the files (download). Those are left as they were."""
    root = str(tmp_path / "data")
    tree(root)
    with fds.connect() as c:
        r = c.call("io.fds.Transfer.Copy", fds.params("copies", [
            {"src": root, "dst": f"s3://{bucket}/nc2/", "recursive": True}], {}))
    assert r["summary"]["files_ok"] == len(FILES)
    s3.put_object(Bucket=bucket, Key="nc3/b.txt", Body=b"theirs too")
    with fds.connect() as c:
        r = c.call("io.fds.Transfer.Copy", fds.params("copies", [
            {"src": os.path.join(root, "b.txt"), "dst": f"s3://{bucket}/nc3/b.txt"},
            {"src": f"s3://{bucket}/nc2/a.csv", "dst": f"s3://{bucket}/nc3/a.csv"},
            {"src": f"s3://{bucket}/nc2/deep/c.csv", "dst": f"s3://{bucket}/nc3/b.txt.copy"}],
            {"no_clobber": True}))
    assert [x.get("skipped", False) for x in r["results"]] == [True, False, False], r
    assert r["summary"]["files_skipped"] == 1
    assert s3.get_object(Bucket=bucket, Key="nc3/b.txt")["Body"].read() == b"theirs too"
    assert s3.get_object(Bucket=bucket, Key="nc3/a.csv")["Body"].read() == read(os.path.join(root, "a.csv"))
    out = str(tmp_path / "down")
    write(os.path.join(out, "deep/c.csv"), b"mine")
    with fds.connect() as c:
        r = c.call("io.fds.Transfer.Copy", fds.params("copies", [
            {"src": f"s3://{bucket}/nc2/", "dst": out, "recursive": True}], {"no_clobber": True}))
    assert r["summary"]["files_skipped"] == 1 and r["summary"]["files_ok"] == len(FILES), r["summary"]
    assert read(os.path.join(out, "deep/c.csv")) == b"mine"
    assert read(os.path.join(out, "a.csv")) == read(os.path.join(root, "a.csv"))
