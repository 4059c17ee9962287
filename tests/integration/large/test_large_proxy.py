# SPDX-License-Identifier: MIT
"""The harness itself: the proxy forwards requests with the client's Host
header unchanged, which is what RGW needs (SigV4 signs Host)."""

import hashlib
import http.client

import botocore.auth
import botocore.awsrequest
import botocore.credentials

import conftest_rgw
from fdslarge import MiB, pattern
from proxy import FlipResponseByte, Reply, is_object_get


def signed_get(rgw, host, path):
    """Headers of a GET signed (by botocore) for the given Host."""
    req = botocore.awsrequest.AWSRequest(
        method="GET", url=f"http://{host}{path}",
        headers={"x-amz-content-sha256": hashlib.sha256(b"").hexdigest()})
    creds = botocore.credentials.Credentials(rgw["AWS_ACCESS_KEY_ID"], rgw["AWS_SECRET_ACCESS_KEY"])
    botocore.auth.S3SigV4Auth(creds, "s3", rgw["AWS_REGION"]).add_auth(req)
    return dict(req.headers.items())


def raw_get(port, path, headers):
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    try:
        c.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            c.putheader(k, v)
        c.endheaders()
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def test_rgw_checks_the_signed_host_not_its_own(rgw, s3, bucket, proxy):
    """RGW verifies the signature over the Host it receives and does not
    compare it with its own address: a request signed for the proxy's
    address is valid when it reaches RGW with that Host, and one whose Host
    was rewritten to RGW's own after signing is refused."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"hello")
    path = f"/{bucket}/k"
    proxy_host = f"127.0.0.1:{proxy.port}"
    rgw_host = f"127.0.0.1:{rgw['RGW_PORT']}"

    h = signed_get(rgw, proxy_host, path)
    h["Host"] = proxy_host
    assert raw_get(rgw["RGW_PORT"], path, h) == (200, b"hello")

    h["Host"] = rgw_host  # rewritten after signing
    status, body = raw_get(rgw["RGW_PORT"], path, h)
    assert status == 403 and b"SignatureDoesNotMatch" in body


def test_boto3_through_the_proxy(rgw, s3, bucket, proxy):
    """Requests of all kinds pass unchanged (boto3 signs for the proxy's
    address); the rules act on the ones they match."""
    via = conftest_rgw.boto3_client(dict(rgw, AWS_ENDPOINT_URL=proxy.url))
    data = pattern(3 * MiB, 91)
    via.put_object(Bucket=bucket, Key="k", Body=data)
    assert via.get_object(Bucket=bucket, Key="k")["Body"].read() == data
    assert [o["Key"] for o in via.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]
    assert proxy.seen(lambda q: q.header("Host") != f"127.0.0.1:{proxy.port}") == []

    proxy.add_rule(is_object_get("k"), FlipResponseByte(10))
    got = via.get_object(Bucket=bucket, Key="k")["Body"].read()
    assert got != data and len(got) == len(data)
    assert got[10] ^ data[10] == 1

    proxy.add_rule(is_object_get("k"), Reply(503, "SlowDown"))
    try:
        via.get_object(Bucket=bucket, Key="k")
        raise AssertionError("the injected 503 did not arrive")
    except via.exceptions.ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert e.response["Error"]["Code"] == "SlowDown"
    # Back to normal.
    assert via.get_object(Bucket=bucket, Key="k")["Body"].read() == data
