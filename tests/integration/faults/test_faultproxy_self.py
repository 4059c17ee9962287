# SPDX-License-Identifier: MIT
"""The fault proxy itself (tests/faultproxy.py), through boto3 and
http.client to the session's RGW: bytes forwarded untouched, rules that
fire where and as often as told (seeded where random), and each action
doing what it says. A few seconds in all."""

import http.client
import socket
import time

import botocore.exceptions
import pytest

import conftest_rgw
from faultcase import MiB, pattern
from faultproxy import (CutResponseAfter, DelayBody, DelayHead, FaultProxy, FlipRequestByte,
                        FlipResponseByte, Outage, Reply, Reset, ResetRequest)


@pytest.fixture
def via(rgw, proxy):
    """boto3 through the proxy (it signs for the proxy's address)."""
    return conftest_rgw.boto3_client(dict(rgw, AWS_ENDPOINT_URL=proxy.url))


def raw(proxy, method, path, body=None):
    """One unsigned request (RGW answers 403, which is fine for the
    connection-level actions): (status, headers dict, body) or the exception."""
    c = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    try:
        c.request(method, path, body=body)
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


def test_forwards_untouched(via, s3, bucket, proxy):
    data = pattern(3 * MiB + 5, 1)
    via.put_object(Bucket=bucket, Key="k", Body=data)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == data
    assert via.get_object(Bucket=bucket, Key="k")["Body"].read() == data
    assert via.get_object(Bucket=bucket, Key="k", Range="bytes=10-19")["Body"].read() == data[10:20]
    assert via.head_object(Bucket=bucket, Key="k")["ContentLength"] == len(data)
    assert [o["Key"] for o in via.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]
    via.delete_object(Bucket=bucket, Key="k")
    assert [q.status for q in proxy.seen()] == [200, 200, 206, 200, 200, 204]
    assert all(q.header("Host") == f"127.0.0.1:{proxy.port}" for q in proxy.seen())
    assert len(proxy.log) == 6, proxy.log_text()


def test_rules_match_method_path_query_and_nth(via, bucket, proxy):
    via.put_object(Bucket=bucket, Key="a/k", Body=b"x" * 100)
    third = proxy.add_rule(Reply(503, "SlowDown"), method="GET", path=r"/a/k$", nth=3)
    by_query = proxy.add_rule(Reply(500, "InternalError"), method="GET",
                              query={"list-type": "2"}, times=None)
    statuses = []
    for _ in range(5):
        try:
            via.get_object(Bucket=bucket, Key="a/k")
            statuses.append(200)
        except botocore.exceptions.ClientError as e:
            statuses.append((e.response["ResponseMetadata"]["HTTPStatusCode"],
                             e.response["Error"]["Code"]))
    assert statuses == [200, 200, (503, "SlowDown"), 200, 200]
    assert third.hits == 1 and third.matched == 3  # not counted once spent
    for _ in range(2):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            via.list_objects_v2(Bucket=bucket)
        assert e.value.response["Error"]["Code"] == "InternalError"
    assert by_query.hits == 2
    via.head_object(Bucket=bucket, Key="a/k")  # neither rule: HEAD, no list-type


def test_probability_is_seeded(rgw, bucket, s3):
    """The same seed fires on the same requests; another seed elsewhere."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"y")

    def pattern_of(seed):
        with FaultProxy("127.0.0.1", rgw["RGW_PORT"]) as p:
            c = conftest_rgw.boto3_client(dict(rgw, AWS_ENDPOINT_URL=p.url))
            p.add_rule(Reply(503, "SlowDown"), method="GET", probability=0.3, seed=seed, times=None)
            out = []
            for _ in range(30):
                try:
                    c.get_object(Bucket=bucket, Key="k")
                    out.append(0)
                except botocore.exceptions.ClientError:
                    out.append(1)
            return out

    a, b, c = pattern_of(7), pattern_of(7), pattern_of(8)
    assert a == b
    assert a != c
    assert 3 <= sum(a) <= 20


def test_flip_response_and_request_bytes(via, s3, bucket, proxy):
    data = pattern(MiB, 2)
    s3.put_object(Bucket=bucket, Key="k", Body=data)
    proxy.add_rule(FlipResponseByte(70000), method="GET")
    got = via.get_object(Bucket=bucket, Key="k")["Body"].read()
    assert len(got) == len(data) and got != data
    assert [i for i in range(len(data)) if got[i] != data[i]] == [70000]

    rule = proxy.add_rule(FlipRequestByte(1234), method="PUT")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        via.put_object(Bucket=bucket, Key="k2", Body=data)
    assert rule.hits == 1
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert e.value.response["Error"]["Code"] in ("BadDigest", "XAmzContentSHA256Mismatch")


def test_reset_truncate_and_delays(s3, bucket, proxy):
    """At the connection level (unsigned requests: RGW's 403 answers have
    bodies enough to cut)."""
    path = f"/{bucket}/nothing-here"
    status, headers, body = raw(proxy, "GET", path)
    assert status == 403 and len(body) == int(headers["Content-Length"]) > 40

    proxy.add_rule(Reset(), method="GET")
    with pytest.raises(ConnectionResetError):
        raw(proxy, "GET", path)

    proxy.add_rule(Reset(after=20), method="GET")
    with pytest.raises((ConnectionResetError, http.client.IncompleteRead)):
        raw(proxy, "GET", path)

    proxy.add_rule(ResetRequest(10), method="PUT")
    with pytest.raises((ConnectionResetError, BrokenPipeError)):
        raw(proxy, "PUT", path, body=b"p" * 100000)
    assert proxy.seen(lambda q: q.method == "PUT")[0].body == b"p" * 10

    proxy.add_rule(CutResponseAfter(20), method="GET")
    with pytest.raises(http.client.IncompleteRead) as e:
        raw(proxy, "GET", path)
    assert len(e.value.partial) == 20

    proxy.add_rule(DelayHead(0.6), method="GET")
    t0 = time.monotonic()
    assert raw(proxy, "GET", path)[0] == 403
    assert time.monotonic() - t0 >= 0.6

    proxy.add_rule(DelayBody(0.6, after=10), method="GET")
    t0 = time.monotonic()
    got = raw(proxy, "GET", path)[2]
    assert len(got) == len(body) and got.startswith(b"<?xml")  # RequestIds differ
    assert time.monotonic() - t0 >= 0.6
    lines = proxy.log_text()
    for words in ("Reset(None)", "reset after 10 request body bytes", "reset after",
                  "closed after 20", "DelayHead", "DelayBody"):
        assert words in lines, lines


def test_outage_503_then_back(via, bucket, proxy):
    via.put_object(Bucket=bucket, Key="k", Body=b"z")
    o = proxy.outage(1.0, "503")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        via.get_object(Bucket=bucket, Key="k")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert o.over.wait(5)
    assert via.get_object(Bucket=bucket, Key="k")["Body"].read() == b"z"
    assert o.hits == 1


def test_outage_refuse_then_back(via, bucket, proxy):
    """Connections refused for the window (nothing listens), then the same
    port again; an outage may also start from a rule (the 2nd HEAD)."""
    via.put_object(Bucket=bucket, Key="k", Body=b"z")
    rule = proxy.add_rule(Outage(1.0, "refuse"), method="HEAD", nth=2)
    via.head_object(Bucket=bucket, Key="k")
    with pytest.raises(botocore.exceptions.BotoCoreError):
        via.head_object(Bucket=bucket, Key="k")
    assert rule.hits == 1
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=2).close()
    assert rule.action.over.wait(5)
    assert via.get_object(Bucket=bucket, Key="k")["Body"].read() == b"z"
