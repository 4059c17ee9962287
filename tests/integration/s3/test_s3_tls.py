# SPDX-License-Identifier: MIT
"""S3 over TLS: RGW's HTTPS endpoint, whose certificate a throw-away CA
signed (tests/harness/rgw/rgw.sh). fds trusts it through AWS_CA_BUNDLE or a
profile's ca_bundle, never by default; boto3, told the same CA, reads back
what fds wrote over TLS and the reverse."""

import os

import boto3
import botocore.config
import pytest

from s3fds import IFACE, pattern, read, write

NO_KEYS = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_ENDPOINT_URL": None,
           "AWS_EC2_METADATA_DISABLED": "true"}


@pytest.fixture
def tls(rgw):
    if "RGW_HTTPS_URL" not in rgw:
        pytest.skip("this RGW has no HTTPS endpoint")
    return rgw["RGW_HTTPS_URL"], rgw["RGW_CA_BUNDLE"]


def boto3_tls(rgw, url, ca):
    return boto3.session.Session(
        aws_access_key_id=rgw["AWS_ACCESS_KEY_ID"], aws_secret_access_key=rgw["AWS_SECRET_ACCESS_KEY"],
        region_name=rgw["AWS_REGION"]).client(
            "s3", endpoint_url=url, verify=ca,
            config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0}))


def config_file(tmp_path, rgw, url, ca):
    path = str(tmp_path / "aws-config")
    write(path, (f"[default]\nregion = {rgw['AWS_REGION']}\nendpoint_url = {url}\n"
                 f"aws_access_key_id = {rgw['AWS_ACCESS_KEY_ID']}\n"
                 f"aws_secret_access_key = {rgw['AWS_SECRET_ACCESS_KEY']}\n"
                 "s3 =\n    addressing_style = path\n"
                 f"[profile tls]\nregion = {rgw['AWS_REGION']}\nendpoint_url = {url}\nca_bundle = {ca}\n"
                 f"aws_access_key_id = {rgw['AWS_ACCESS_KEY_ID']}\n"
                 f"aws_secret_access_key = {rgw['AWS_SECRET_ACCESS_KEY']}\n"
                 "s3 =\n    addressing_style = path\n"
                 f"[profile gone]\nendpoint_url = {url}\nca_bundle = {ca}.gone\n"
                 f"aws_access_key_id = {rgw['AWS_ACCESS_KEY_ID']}\n"
                 f"aws_secret_access_key = {rgw['AWS_SECRET_ACCESS_KEY']}\n").encode())
    return path


def test_profile_ca_bundle(start_fds, rgw, bucket, tmp_path, tls):
    """One daemon, two profiles on the same HTTPS endpoint: the one with
    ca_bundle works both ways (boto3 agrees); the default profile, with the
    system's trust store, fails with curl's words for it."""
    url, ca = tls
    fds = start_fds("none", env=dict(NO_KEYS, AWS_CONFIG_FILE=config_file(tmp_path, rgw, url, ca),
                                     AWS_SHARED_CREDENTIALS_FILE=os.devnull))
    theirs = boto3_tls(rgw, url, ca)
    data = pattern(300_000, 7)
    src = write(str(tmp_path / "up.bin"), data)
    r = fds.copy([(src, f"s3://{bucket}/tls/up.bin")], s3={"profile": "tls"})
    assert r["results"][0]["ok"], r
    assert theirs.get_object(Bucket=bucket, Key="tls/up.bin")["Body"].read() == data
    theirs.put_object(Bucket=bucket, Key="tls/theirs.bin", Body=data[::-1])
    out = str(tmp_path / "down.bin")
    r = fds.copy([(f"s3://{bucket}/tls/theirs.bin", out)], s3={"profile": "tls"})
    assert r["results"][0]["ok"] and r["results"][0]["verified"] is True, r
    assert read(out) == data[::-1]

    # The default profile does not trust the test CA: no bytes move, and the
    # error says why.
    r = fds.copy([(src, f"s3://{bucket}/tls/untrusted.bin")], validate=False)
    res = r["results"][0]
    assert not res["ok"] and "TLS certificate is not trusted" in res["error"]["message"], res
    assert "SSL certificate problem" in res["error"]["message"], res
    with fds.connect() as c:
        name, p = c.call_error(f"{IFACE}.Size", {"files": {"x": f"s3://{bucket}/tls/up.bin"},
                                                 "options": {"s3": {"profile": "gone"}}})
    assert name == f"{IFACE}.InvalidRequest", p
    assert f"'{ca}.gone': no such file" in p["problems"][0]["reason"], p


def test_aws_ca_bundle_beats_the_profile(start_fds, rgw, bucket, tmp_path, tls):
    """AWS_CA_BUNDLE in the daemon's environment, as botocore: it wins over
    a profile's ca_bundle, and makes the default profile work too."""
    url, ca = tls
    fds = start_fds("none", env=dict(NO_KEYS, AWS_CONFIG_FILE=config_file(tmp_path, rgw, url, ca),
                                     AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_CA_BUNDLE=ca))
    src = write(str(tmp_path / "a"), b"over tls")
    r = fds.copy([(src, f"s3://{bucket}/tls/a")])
    assert r["results"][0]["ok"], r
    # The profile's bundle does not exist, but the environment's is taken first.
    r = fds.size({"x": f"s3://{bucket}/tls/a"}, s3={"profile": "gone"})
    assert r["sizes"] == {"x": 8}, r
    assert boto3_tls(rgw, url, ca).get_object(Bucket=bucket, Key="tls/a")["Body"].read() == b"over tls"
