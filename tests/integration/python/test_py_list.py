# SPDX-License-Identifier: MIT
"""fds.list_files / fds.iter_files: the entries boto3 sees, local entries
as os.stat sees them, and failures as the builtin exceptions."""

import os

import pytest

import fds


def test_list_s3_prefix_as_boto3_sees_it(opts, s3, bucket):
    for key, body in [("d/a.csv", b"1"), ("d/b/c.csv", b"22"), ("d.txt", b"")]:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    got = fds.list_files(f"s3://{bucket}/d/", opts)
    assert [(e.path, e.size, e.is_dir) for e in got] == [
        (f"s3://{bucket}/d/a.csv", 1, False), (f"s3://{bucket}/d/b/", None, True)]
    head = s3.head_object(Bucket=bucket, Key="d/a.csv")
    assert got[0].etag == head["ETag"].strip('"')
    assert got[0].mtime == pytest.approx(head["LastModified"].timestamp(), abs=1.0)
    assert got[1].mtime is None
    rec = fds.list_files(f"s3://{bucket}", opts, recursive=True)
    assert [e.path for e in rec] == [f"s3://{bucket}/{k}" for k in ("d.txt", "d/a.csv", "d/b/c.csv")]
    # What a listing yields is what do_copy takes.
    dst = fds.do_copy([(rec[2].path, f"s3://{bucket}/copy.csv")], opts)
    assert dst[0].ok and s3.get_object(Bucket=bucket, Key="copy.csv")["Body"].read() == b"22"


def test_list_local_directory(opts, tmp_path, monkeypatch):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_bytes(b"abc")
    (tmp_path / "x" / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    got = fds.list_files("x", opts)
    assert [(e.path, e.size, e.is_dir) for e in got] == [
        (f"{tmp_path}/x/f", 3, False), (f"{tmp_path}/x/sub/", None, True)]
    assert got[0].mtime == pytest.approx(os.stat(tmp_path / "x" / "f").st_mtime, abs=0.002)
    assert got[0].etag is None


def test_list_failures_are_builtin_exceptions(opts, rgw, fdsd, bucket, tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        fds.list_files(tmp_path / "missing", opts)
    assert e.value.filename == str(tmp_path / "missing") and "no such file" in e.value.strerror
    with pytest.raises(FileNotFoundError):
        fds.list_files("s3://fds-no-such-bucket-py/", opts)
    with pytest.raises(PermissionError):
        fds.list_files(f"s3://{bucket}/", fds.S3Options(
            endpoint_url=rgw["AWS_ENDPOINT_URL"], region=rgw["AWS_REGION"], addressing_style="path",
            access_key_id=rgw["AWS_ACCESS_KEY_ID"], secret_access_key="wrong" * 8, socket=fdsd.socket))
    with pytest.raises(fds.ValidationError):
        fds.list_files("s3://b/x")  # no s3_options
    with pytest.raises(fds.ValidationError):
        fds.list_files("s3://Bad_Bucket/", opts)


def test_iter_files_abandoned_midway(opts, tmp_path):
    """A caller that stops after the first entry of three pages: the
    connection is dropped, not reused with replies pending, and the next
    listing is whole."""
    d = tmp_path / "many"
    d.mkdir()
    for i in range(2500):
        (d / f"f{i:05d}").write_bytes(b"")
    it = fds.iter_files(d, opts)
    assert next(it).path == f"{d}/f00000"
    it.close()
    got = fds.list_files(d, opts)
    assert [e.path for e in got] == [f"{d}/f{i:05d}" for i in range(2500)]
