# SPDX-License-Identifier: MIT
"""What goes wrong with S3 and how fdsd says so: missing keys and buckets,
wrong or missing credentials, Size/Read errors, the Read limit."""

import base64
import os

import pytest

from s3fds import INVALID_REQUEST, READ_LIMIT, listing, pattern, read, write


def keys_of(s3, bucket):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def missing_bucket_name(bucket):
    return bucket + "-missing"


# ---- missing objects ----------------------------------------------------

def test_missing_sources_rejected_nothing_written(fds, s3, bucket, tmp_path):
    s3.put_object(Bucket=bucket, Key="there", Body=b"here")
    local = write(str(tmp_path / "local"), b"local data")
    out = str(tmp_path / "out")
    nob = missing_bucket_name(bucket)
    pairs = [
        (f"s3://{bucket}/there", f"{out}/0"),                  # 0 fine
        (f"s3://{bucket}/missing", f"{out}/1"),                # 1 missing key
        (local, f"s3://{bucket}/uploaded"),                    # 2 fine
        (f"s3://{nob}/key", f"{out}/3"),                       # 3 missing bucket
        (f"s3://{bucket}/missing/too", f"s3://{bucket}/c"),    # 4 missing key, S3 -> S3
        (str(tmp_path / "no-such-file"), f"s3://{bucket}/u"),  # 5 missing local source
        (f"s3://{bucket}/there", f"{out}/6"),                  # 6 fine
        (f"s3://{nob}/other", f"s3://{bucket}/d"),             # 7 missing bucket, S3 -> S3
    ]
    name, params = fds.copy_error(pairs)
    assert name == INVALID_REQUEST, params
    problems = params["problems"]
    assert [p["index"] for p in problems] == [1, 3, 4, 5, 7], problems
    for p in problems:
        assert set(p) == {"index", "path", "reason"}, p
        assert p["path"] == pairs[p["index"]][0], p
    for p in problems:
        if p["index"] != 5:
            assert "404" in p["reason"] or "does not exist" in p["reason"], p
    assert "does not exist" in problems[3]["reason"], problems[3]
    # Nothing moved: no local file or directory, no new object.
    assert not os.path.exists(out)
    assert keys_of(s3, bucket) == ["there"]


def test_missing_sources_without_validation(fds_env, s3, bucket, tmp_path):
    """options.validate = false: files start at once; each missing source is
    that file's error (NotFound, HTTP 404) and leaves nothing behind."""
    s3.put_object(Bucket=bucket, Key="there", Body=b"here")
    out = str(tmp_path / "out")
    nob = missing_bucket_name(bucket)
    pairs = [
        (f"s3://{bucket}/there", f"{out}/0"),
        (f"s3://{bucket}/missing", f"{out}/1"),
        (f"s3://{nob}/key", f"{out}/2"),
        (f"s3://{bucket}/missing", f"s3://{bucket}/3"),
        (f"s3://{nob}/key", f"s3://{bucket}/4"),
    ]
    reply = fds_env.copy(pairs, validate=False)
    res = reply["results"]
    assert res[0]["ok"], res[0]
    for r in res[1:]:
        assert not r["ok"], r
        assert r["error"]["code"] == "NotFound", r
        assert r["error"]["http_status"] == 404, r
    assert res[1]["error"].get("s3_code") in ("NoSuchKey", None), res[1]
    assert res[2]["error"].get("s3_code") in ("NoSuchBucket", None), res[2]
    assert res[3]["error"]["s3_code"] == "NoSuchKey", res[3]
    assert res[4]["error"]["s3_code"] == "NoSuchBucket", res[4]
    assert listing(out) == ["0"]
    assert read(f"{out}/0") == b"here"
    assert keys_of(s3, bucket) == ["there"]


def test_upload_to_missing_bucket_fails_per_file(fds_env, s3, bucket, tmp_path):
    src = write(str(tmp_path / "a"), b"data")
    nob = missing_bucket_name(bucket)
    reply = fds_env.copy([(src, f"s3://{nob}/k"), (src, f"s3://{bucket}/k")])
    bad, good = reply["results"]
    assert good["ok"], good
    assert not bad["ok"], bad
    assert bad["error"]["code"] == "NotFound", bad
    assert bad["error"]["http_status"] == 404 and bad["error"]["s3_code"] == "NoSuchBucket", bad


# ---- Size and Read -------------------------------------------------------

def test_size_keyed_results_and_errors(fds, s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"12345")
    s3.put_object(Bucket=bucket, Key="dir/b", Body=b"")
    nob = missing_bucket_name(bucket)
    reply = fds.size({"a": f"s3://{bucket}/a", "b": f"s3://{bucket}/dir/b",
                      "nokey": f"s3://{bucket}/nope", "nobucket": f"s3://{nob}/a"})
    assert reply["sizes"] == {"a": 5, "b": 0}
    assert set(reply["errors"]) == {"nokey", "nobucket"}
    for e in reply["errors"].values():
        assert e["code"] == "NotFound", e
        assert e["http_status"] == 404, e
        assert e["message"], e


def test_read_keyed_results_and_errors(fds, s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"12345")
    nob = missing_bucket_name(bucket)
    reply = fds.read({"a": f"s3://{bucket}/a", "nokey": f"s3://{bucket}/nope",
                      "nobucket": f"s3://{nob}/a"})
    assert reply["contents"] == {"a": base64.b64encode(b"12345").decode()}
    assert set(reply["errors"]) == {"nokey", "nobucket"}
    for e in reply["errors"].values():
        assert e["code"] == "NotFound", e
        # FileError: "http_status and s3_code are set when an S3 server answered".
        assert e.get("http_status") == 404, e


def test_read_errors_carry_http_status_403(start_fds, rgw, s3, bucket):
    """Like Size's, Read's per-key errors say what the server answered."""
    fds = start_fds("none")
    s3.put_object(Bucket=bucket, Key="a", Body=b"12345")
    opts = {"s3": wrong(rgw, secret_access_key="wrong-secret")}
    sizes = fds.size({"k": f"s3://{bucket}/a"}, **opts)
    assert sizes["errors"]["k"]["http_status"] == 403, sizes
    reply = fds.read({"k": f"s3://{bucket}/a"}, **opts)
    assert reply["contents"] == {}
    e = reply["errors"]["k"]
    assert e["code"] == "PermissionDenied", e
    assert e.get("http_status") == 403, e


def test_read_limit(fds, s3, bucket, tmp_path):
    s3.put_object(Bucket=bucket, Key="a", Body=pattern(3000, 1))
    s3.put_object(Bucket=bucket, Key="b", Body=pattern(2000, 2))
    local = write(str(tmp_path / "l"), b"x" * 100)
    files = {"a": f"s3://{bucket}/a", "b": f"s3://{bucket}/b", "l": local}
    name, params = fds.files_error("Read", files, max_bytes=5099)
    assert name == READ_LIMIT, params
    assert params == {"limit": 5099, "requested": 5100}
    # Exactly at the limit is fine.
    reply = fds.read(files, max_bytes=5100)
    assert reply["errors"] == {}
    assert base64.b64decode(reply["contents"]["a"]) == pattern(3000, 1)
    assert base64.b64decode(reply["contents"]["b"]) == pattern(2000, 2)


# ---- credentials ----------------------------------------------------------

def wrong(rgw, **kw):
    o = {"endpoint_url": rgw["AWS_ENDPOINT_URL"], "region": rgw["AWS_REGION"],
         "addressing_style": "path", "access_key_id": rgw["AWS_ACCESS_KEY_ID"],
         "secret_access_key": rgw["AWS_SECRET_ACCESS_KEY"]}
    o.update(kw)
    return o


@pytest.mark.parametrize("where", ["options", "env"])
def test_wrong_secret(start_fds, rgw, s3, bucket, tmp_path, where):
    bad_secret = "x" + rgw["AWS_SECRET_ACCESS_KEY"][1:]
    if where == "env":
        fds = start_fds("env", env={"AWS_SECRET_ACCESS_KEY": bad_secret})
        opts = {}
    else:
        fds = start_fds("none")
        opts = {"s3": wrong(rgw, secret_access_key=bad_secret)}
    s3.put_object(Bucket=bucket, Key="obj", Body=b"content")
    src = write(str(tmp_path / "src"), b"upload me")

    reply = fds.copy([(src, f"s3://{bucket}/up")], **opts)
    r = reply["results"][0]
    assert not r["ok"], r
    e = r["error"]
    assert (e["code"], e["http_status"], e["s3_code"]) == \
        ("PermissionDenied", 403, "SignatureDoesNotMatch"), e
    assert bad_secret not in e["message"]
    # A client error is not retried.
    assert r.get("attempts", 1) == 1, r

    out = str(tmp_path / "out")
    name, params = fds.copy_error([(f"s3://{bucket}/obj", f"{out}/obj")], **opts)
    assert name == INVALID_REQUEST, params
    [p] = params["problems"]
    assert p["index"] == 0 and p["path"] == f"s3://{bucket}/obj", p
    assert "403" in p["reason"], p
    assert not os.path.exists(out)

    sizes = fds.size({"k": f"s3://{bucket}/obj"}, **opts)
    assert sizes["sizes"] == {} and sizes["errors"]["k"]["code"] == "PermissionDenied", sizes
    assert sizes["errors"]["k"]["http_status"] == 403, sizes
    assert keys_of(s3, bucket) == ["obj"]


def test_unknown_access_key(start_fds, rgw, s3, bucket, tmp_path):
    fds = start_fds("none")
    opts = {"s3": wrong(rgw, access_key_id="FDSNOSUCHKEY00000000")}
    s3.put_object(Bucket=bucket, Key="obj", Body=b"content")
    src = write(str(tmp_path / "src"), b"upload me")
    r = fds.copy([(src, f"s3://{bucket}/up")], **opts)["results"][0]
    assert not r["ok"], r
    e = r["error"]
    assert (e["code"], e["http_status"], e["s3_code"]) == \
        ("PermissionDenied", 403, "InvalidAccessKeyId"), e
    # The message may name the key id only masked.
    assert "FDSNOSUCHKEY00000000" not in e["message"]

    name, params = fds.copy_error([(f"s3://{bucket}/obj", str(tmp_path / "out"))], **opts)
    assert name == INVALID_REQUEST
    assert "403" in params["problems"][0]["reason"], params
    assert not os.path.exists(str(tmp_path / "out"))
    assert keys_of(s3, bucket) == ["obj"]


def test_no_credentials(start_fds, rgw, bucket, tmp_path):
    """No AWS_* in fdsd's environment, no ~/.aws, no options.s3 keys: the
    call is refused as a whole, naming the missing credentials."""
    fds = start_fds("none")
    src = write(str(tmp_path / "src"), b"x")
    out = str(tmp_path / "out")
    endpoint = {"s3": {"endpoint_url": rgw["AWS_ENDPOINT_URL"]}}
    for opts in ({}, endpoint):
        name, params = fds.copy_error([(src, f"{out}/local-copy"),
                                       (src, f"s3://{bucket}/up"),
                                       (f"s3://{bucket}/down", f"{out}/down")], **opts)
        assert name == INVALID_REQUEST, params
        assert params["problems"], params
        for p in params["problems"]:
            assert "credential" in p["reason"].lower(), p
        assert params["problems"][0]["index"] == 1, params
        for method in ("Size", "Read"):
            name, params = fds.files_error(method, {"k": f"s3://{bucket}/x"}, **opts)
            assert name == INVALID_REQUEST, params
            assert params["problems"][0]["key"] == "k", params
            assert "credential" in params["problems"][0]["reason"].lower(), params
    assert not os.path.exists(out)
    # Local work needs no credentials.
    reply = fds.copy([(src, f"{out}/local-copy")])
    assert reply["results"][0]["ok"], reply


def test_incomplete_credentials(start_fds, rgw, bucket, tmp_path):
    fds = start_fds("none")
    src = write(str(tmp_path / "src"), b"x")
    opts = {"s3": {"endpoint_url": rgw["AWS_ENDPOINT_URL"],
                   "access_key_id": rgw["AWS_ACCESS_KEY_ID"]}}
    name, params = fds.copy_error([(src, f"s3://{bucket}/up")], **opts)
    assert name == INVALID_REQUEST, params
    reason = params["problems"][0]["reason"].lower()
    assert "secret" in reason, params
    assert rgw["AWS_ACCESS_KEY_ID"] not in params["problems"][0]["reason"]


def test_call_options_override_daemon_environment(start_fds, rgw, s3, bucket, tmp_path):
    src = write(str(tmp_path / "src"), b"payload")
    # The environment's secret is wrong; the call's is right.
    fds = start_fds("env", env={"AWS_SECRET_ACCESS_KEY": "wrong-secret"})
    r = fds.copy([(src, f"s3://{bucket}/a")],
                 s3={"access_key_id": rgw["AWS_ACCESS_KEY_ID"],
                     "secret_access_key": rgw["AWS_SECRET_ACCESS_KEY"]})["results"][0]
    assert r["ok"], r
    # The environment is right; the call's secret is wrong and wins.
    fds2 = start_fds("env")
    r = fds2.copy([(src, f"s3://{bucket}/b")],
                  s3={"access_key_id": rgw["AWS_ACCESS_KEY_ID"],
                      "secret_access_key": "wrong-secret"})["results"][0]
    assert not r["ok"] and r["error"]["s3_code"] == "SignatureDoesNotMatch", r
    # The environment names no endpoint reachable; the call's endpoint wins.
    fds3 = start_fds("env", env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    r = fds3.copy([(src, f"s3://{bucket}/c")],
                  s3={"endpoint_url": rgw["AWS_ENDPOINT_URL"]})["results"][0]
    assert r["ok"], r
    assert keys_of(s3, bucket) == ["a", "c"]


def test_invalid_endpoint_rejected(start_fds, rgw, bucket, tmp_path):
    fds = start_fds("env")
    src = write(str(tmp_path / "src"), b"x")
    name, params = fds.copy_error([(src, f"s3://{bucket}/a")],
                                  s3={"endpoint_url": "ftp://127.0.0.1/x"})
    assert name == INVALID_REQUEST, params
    assert "endpoint" in params["problems"][0]["reason"].lower(), params


def test_unreachable_endpoint_is_a_clear_error(start_fds, rgw, bucket, tmp_path):
    """Nothing listens on the endpoint: uploads fail per file after the
    allowed attempts; downloads are refused by validation."""
    fds = start_fds("env", env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    src = write(str(tmp_path / "src"), b"x")
    reply = fds.copy([(src, f"s3://{bucket}/a")], transfer={"max_attempts": 2})
    r = reply["results"][0]
    assert not r["ok"], r
    assert r["error"]["code"] == "IOError", r
    assert "http_status" not in r["error"], r
    assert r.get("attempts") == 2, r
    name, params = fds.copy_error([(f"s3://{bucket}/a", str(tmp_path / "out"))],
                                  transfer={"max_attempts": 2})
    assert name == INVALID_REQUEST, params
    assert "2 attempts" in params["problems"][0]["reason"], params
    assert not os.path.exists(str(tmp_path / "out"))


def test_virtual_addressing_with_ip_endpoint_falls_back_to_path(start_fds, rgw, s3, bucket,
                                                                tmp_path):
    """s3_settings.h: an endpoint given as an IP address cannot carry the
    bucket in its host name; virtual addressing falls back to path style."""
    fds = start_fds("env")
    src = write(str(tmp_path / "src"), b"virtual")
    r = fds.copy([(src, f"s3://{bucket}/v")], s3={"addressing_style": "virtual"},
                 transfer={"max_attempts": 1})["results"][0]
    assert r["ok"], r
    assert s3.get_object(Bucket=bucket, Key="v")["Body"].read() == b"virtual"
