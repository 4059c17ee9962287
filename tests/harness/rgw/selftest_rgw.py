#!/usr/bin/python3
"""Self-test of the RGW harness: /usr/bin/python3 tests/harness/rgw/selftest_rgw.py [DIR]

Starts a server with rgw.sh (in DIR, default a temporary directory), checks
the S3 behaviour the fds tests rely on with boto3 and curl, stops it, and
prints one line per check and 'N passed, N failed'. Exit 0 only if all pass.
Needs Debian's python3-boto3, curl, and the Ceph packages (rgw.sh install).
"""

import base64
import hashlib
import hmac
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conftest_rgw  # noqa: E402  pylint: disable=wrong-import-position

from botocore.exceptions import ClientError  # noqa: E402

MiB = 1024 * 1024
RESULTS = []


def check(name):
    def deco(fn):
        RESULTS.append((name, fn))
        return fn

    return deco


def err(exc):
    e = exc.response.get("Error", {})
    return exc.response["ResponseMetadata"]["HTTPStatusCode"], e.get("Code"), e.get("Message")


def expect_error(fn, status, code):
    try:
        fn()
    except ClientError as exc:
        got = err(exc)
        assert got[0] == status and got[1] == code, "got %r, want %r %r" % (got, status, code)
        return got
    raise AssertionError("no error, want %r %r" % (status, code))


def curl(*args):
    p = subprocess.run(
        ["curl", "-sS", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, timeout=30
    )
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def raw_request(env, method, path, query="", body=b"", headers=None, host=None, sign_host=None,
                payload_hash=None, skew=0, canon_query=None, canon_path=None, sha_header=True, region=None):
    """One SigV4-signed request with http.client (stdlib signer, for probing RGW).

    path/query are sent as given; canon_* override what goes into the canonical
    request. Returns (status, body, headers)."""
    port = int(env["RGW_PORT"])
    ak, sk = env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    region = region or env["AWS_REGION"]
    amzdate = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() + skew))
    day = amzdate[:8]
    host = host or "127.0.0.1:%d" % port
    ph = payload_hash or hashlib.sha256(body).hexdigest()
    h = {"host": sign_host or host, "x-amz-date": amzdate}
    if sha_header:
        h["x-amz-content-sha256"] = ph
    for k, v in (headers or {}).items():
        h[k.lower()] = v
    names = sorted(h)
    creq = "\n".join([
        method,
        path if canon_path is None else canon_path,
        query if canon_query is None else canon_query,
        "".join("%s:%s\n" % (n, h[n].strip()) for n in names),
        ";".join(names),
        ph,
    ])
    scope = "%s/%s/s3/aws4_request" % (day, region)
    sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope, hashlib.sha256(creq.encode()).hexdigest()])
    key = ("AWS4" + sk).encode()
    for m in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, m.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    h["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        ak, scope, ";".join(names), sig)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.putrequest(method, path + ("?" + query if query else ""), skip_host=True, skip_accept_encoding=True)
    for n, v in h.items():
        c.putheader("Host" if n == "host" else n, host if n == "host" else v)
    if method in ("PUT", "POST"):
        c.putheader("Content-Length", str(len(body)))
    c.endheaders(body or None)
    r = c.getresponse()
    data = r.read()
    c.close()
    code = ""
    if b"<Code>" in data:
        code = data.split(b"<Code>", 1)[1].split(b"</Code>", 1)[0].decode()
    return r.status, code, dict(r.getheaders())


def run(env):
    s3 = conftest_rgw.boto3_client(env)
    B = "fds-selftest"
    url = env["AWS_ENDPOINT_URL"]

    @check("create_bucket + head_bucket + list_buckets")
    def _():
        s3.create_bucket(Bucket=B)
        s3.head_bucket(Bucket=B)
        names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
        assert B in names, names

    @check("create_bucket with LocationConstraint=us-east-1 refused, default zonegroup name accepted")
    def _():
        # RGW's zonegroup is "default": us-east-1 as an explicit constraint is refused
        # (AWS refuses it too); no constraint at all is what AWS clients send.
        expect_error(
            lambda: s3.create_bucket(
                Bucket=B + "-lc", CreateBucketConfiguration={"LocationConstraint": "us-east-1"}
            ),
            400,
            "InvalidLocationConstraint",
        )
        s3.create_bucket(Bucket=B + "-lc", CreateBucketConfiguration={"LocationConstraint": "default"})
        s3.delete_bucket(Bucket=B + "-lc")

    @check("other SigV4 regions are accepted too (RGW does not check the scope region)")
    def _():
        for region in ("eu-west-1", "default", "xx-nowhere-1"):
            c = conftest_rgw.boto3_client(dict(env, AWS_REGION=region))
            c.head_bucket(Bucket=B)

    @check("put/get object, ETag is MD5")
    def _():
        data = b"hello fds\n" * 1000
        r = s3.put_object(Bucket=B, Key="a/b.txt", Body=data)
        assert r["ETag"] == '"%s"' % hashlib.md5(data).hexdigest(), r["ETag"]
        g = s3.get_object(Bucket=B, Key="a/b.txt")
        assert g["Body"].read() == data
        assert g["ContentLength"] == len(data)

    @check("key with spaces, unicode and specials")
    def _():
        for key in ("dir with space/f i l e.txt", "ünïcödé/日本語 ファイル.bin", "odd/+&=,;:@$!'()*[]~#%.txt"):
            s3.put_object(Bucket=B, Key=key, Body=key.encode())
            assert s3.get_object(Bucket=B, Key=key)["Body"].read() == key.encode(), key
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket=B, Prefix=key)["Contents"]]
            assert keys == [key], keys

    @check("0-byte object")
    def _():
        r = s3.put_object(Bucket=B, Key="empty", Body=b"")
        assert r["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"', r["ETag"]
        g = s3.get_object(Bucket=B, Key="empty")
        assert g["ContentLength"] == 0 and g["Body"].read() == b""
        assert s3.head_object(Bucket=B, Key="empty")["ContentLength"] == 0

    @check("multipart upload 2 x 5 MiB + 1 byte, -N ETag")
    def _():
        parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"z"]
        up = s3.create_multipart_upload(Bucket=B, Key="mp/big.bin")
        done = []
        for i, p in enumerate(parts, 1):
            r = s3.upload_part(Bucket=B, Key="mp/big.bin", UploadId=up["UploadId"], PartNumber=i, Body=p)
            assert r["ETag"] == '"%s"' % hashlib.md5(p).hexdigest()
            done.append({"PartNumber": i, "ETag": r["ETag"]})
        r = s3.complete_multipart_upload(
            Bucket=B, Key="mp/big.bin", UploadId=up["UploadId"], MultipartUpload={"Parts": done}
        )
        want = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-3"
        # Ceph 16.2 quirk: the CompleteMultipartUploadResult has an empty <ETag></ETag>;
        # the -N ETag is only seen on HEAD/GET/listings.
        assert r["ETag"] in ("", '"%s"' % want), (r["ETag"], want)
        print("    ETag in CompleteMultipartUpload reply: %r" % r["ETag"])
        h = s3.head_object(Bucket=B, Key="mp/big.bin")
        assert h["ETag"] == '"%s"' % want and h["ContentLength"] == 10 * MiB + 1
        body = s3.get_object(Bucket=B, Key="mp/big.bin")["Body"].read()
        assert body == b"".join(parts)

    @check("multipart: part smaller than 5 MiB (not last) -> 400 EntityTooSmall")
    def _():
        up = s3.create_multipart_upload(Bucket=B, Key="mp/small")
        done = []
        for i in (1, 2):
            r = s3.upload_part(Bucket=B, Key="mp/small", UploadId=up["UploadId"], PartNumber=i, Body=b"x" * 100)
            done.append({"PartNumber": i, "ETag": r["ETag"]})
        expect_error(
            lambda: s3.complete_multipart_upload(
                Bucket=B, Key="mp/small", UploadId=up["UploadId"], MultipartUpload={"Parts": done}
            ),
            400,
            "EntityTooSmall",
        )
        s3.abort_multipart_upload(Bucket=B, Key="mp/small", UploadId=up["UploadId"])

    @check("ranged GET (a-b, a-, -N, 0-0, past end -> 416)")
    def _():
        data = bytes(range(256)) * 4
        s3.put_object(Bucket=B, Key="range", Body=data)
        for rng, want in (("bytes=10-19", data[10:20]), ("bytes=1000-", data[1000:]),
                          ("bytes=-5", data[-5:]), ("bytes=0-0", data[:1]),
                          ("bytes=1020-5000", data[1020:])):
            g = s3.get_object(Bucket=B, Key="range", Range=rng)
            assert g["Body"].read() == want, rng
            assert g["ResponseMetadata"]["HTTPStatusCode"] == 206, rng
            assert g["ContentRange"].startswith("bytes "), g["ContentRange"]
        expect_error(lambda: s3.get_object(Bucket=B, Key="range", Range="bytes=2000-3000"), 416, "InvalidRange")

    @check("copy_object (also with special characters in source key)")
    def _():
        s3.copy_object(Bucket=B, Key="copy/1", CopySource={"Bucket": B, "Key": "a/b.txt"})
        assert s3.get_object(Bucket=B, Key="copy/1")["Body"].read() == b"hello fds\n" * 1000
        src = "odd/+&=,;:@$!'()*[]~#%.txt"
        s3.copy_object(Bucket=B, Key="copy/2", CopySource={"Bucket": B, "Key": src})
        assert s3.get_object(Bucket=B, Key="copy/2")["Body"].read() == src.encode()

    @check("list_objects_v2 pagination (25 keys, MaxKeys=10) and delimiter")
    def _():
        for i in range(25):
            s3.put_object(Bucket=B, Key="page/%03d" % i, Body=b"%d" % i)
        keys, token, pages = [], None, 0
        while True:
            kw = {"Bucket": B, "Prefix": "page/", "MaxKeys": 10}
            if token:
                kw["ContinuationToken"] = token
            r = s3.list_objects_v2(**kw)
            pages += 1
            keys += [o["Key"] for o in r.get("Contents", [])]
            if not r["IsTruncated"]:
                break
            token = r["NextContinuationToken"]
        assert pages == 3 and keys == ["page/%03d" % i for i in range(25)], (pages, keys)
        r = s3.list_objects_v2(Bucket=B, Delimiter="/")
        prefixes = sorted(p["Prefix"] for p in r.get("CommonPrefixes", []))
        assert "page/" in prefixes and "a/" in prefixes, prefixes

    @check("list_multipart_uploads: shows open upload, empty after abort")
    def _():
        up = s3.create_multipart_upload(Bucket=B, Key="mp/aborted")
        s3.upload_part(Bucket=B, Key="mp/aborted", UploadId=up["UploadId"], PartNumber=1, Body=b"x" * 1000)
        r = s3.list_multipart_uploads(Bucket=B)
        assert [u["UploadId"] for u in r.get("Uploads", [])] == [up["UploadId"]], r.get("Uploads")
        s3.abort_multipart_upload(Bucket=B, Key="mp/aborted", UploadId=up["UploadId"])
        r = s3.list_multipart_uploads(Bucket=B)
        assert r.get("Uploads", []) == [], r.get("Uploads")
        # Ceph 16.2 quirk: ListParts of an aborted upload says NoSuchKey (AWS: NoSuchUpload);
        # UploadPart and AbortMultipartUpload on it say NoSuchUpload.
        try:
            s3.list_parts(Bucket=B, Key="mp/aborted", UploadId=up["UploadId"])
            raise AssertionError("ListParts of an aborted upload succeeded")
        except ClientError as exc:
            assert err(exc)[:2] in ((404, "NoSuchUpload"), (404, "NoSuchKey")), err(exc)
            print("    ListParts after abort: %r" % (err(exc)[:2],))
        expect_error(
            lambda: s3.upload_part(Bucket=B, Key="mp/aborted", UploadId=up["UploadId"], PartNumber=1, Body=b"x"),
            404,
            "NoSuchUpload",
        )
        expect_error(
            lambda: s3.abort_multipart_upload(Bucket=B, Key="mp/aborted", UploadId=up["UploadId"]),
            404,
            "NoSuchUpload",
        )

    @check("wrong secret -> 403 SignatureDoesNotMatch")
    def _():
        bad = conftest_rgw.boto3_client(env, secret_key="x" * 40)
        got = expect_error(lambda: bad.get_object(Bucket=B, Key="a/b.txt"), 403, "SignatureDoesNotMatch")
        print("    error message: %r" % (got[2],))

    @check("unknown access key -> 403 InvalidAccessKeyId")
    def _():
        bad = conftest_rgw.boto3_client(env, access_key="AKIANOSUCHKEY0000000")
        got = expect_error(lambda: bad.list_buckets(), 403, "InvalidAccessKeyId")
        print("    error message: %r" % (got[2],))

    @check("missing key -> 404 NoSuchKey; missing bucket -> 404 NoSuchBucket")
    def _():
        expect_error(lambda: s3.get_object(Bucket=B, Key="nope"), 404, "NoSuchKey")
        expect_error(lambda: s3.get_object(Bucket="no-such-bucket-x", Key="k"), 404, "NoSuchBucket")
        # HEAD has no body: boto3 sees the bare status code.
        expect_error(lambda: s3.head_object(Bucket=B, Key="nope"), 404, "404")

    @check("delete_object, delete_objects, gc")
    def _():
        s3.delete_object(Bucket=B, Key="copy/1")
        expect_error(lambda: s3.head_object(Bucket=B, Key="copy/1"), 404, "404")
        s3.delete_object(Bucket=B, Key="never-existed")  # 204 as on AWS
        r = s3.delete_objects(Bucket=B, Delete={"Objects": [{"Key": "page/%03d" % i} for i in range(25)]})
        assert len(r.get("Deleted", [])) == 25, r
        conftest_rgw.gc(env)

    @check("curl: HEAD missing key (signed), GET / and GET object without auth")
    def _():
        rc, out, _ = curl("-I", "--aws-sigv4", "aws:amz:%s:s3" % env["AWS_REGION"],
                          "-u", "%s:%s" % (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]),
                          "-H", "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                          "%s/%s/nope" % (url, B))
        print("    signed HEAD missing key:\n      " + out.strip().replace("\r\n", "\n      "))
        assert " 404" in out.splitlines()[0], out
        rc, out, _ = curl("-I", "%s/%s/nope" % (url, B))
        print("    anonymous HEAD missing key: " + out.splitlines()[0].strip())
        rc, out, _ = curl("-i", url + "/")
        print("    anonymous GET /:\n      " + out.strip().replace("\r\n", "\n      "))
        assert out.startswith("HTTP/1.1 200"), out
        rc, out, _ = curl("-i", "%s/%s/a/b.txt" % (url, B))
        print("    anonymous GET object: " + out.splitlines()[0].strip() + " " + out.splitlines()[-1][:200])
        assert " 403" in out.splitlines()[0], out

    @check("PUT without Content-Length (chunked) -> 411")
    def _():
        rc, out, _ = curl("-i", "-X", "PUT", "-H", "Transfer-Encoding: chunked", "--data-binary", "@/etc/hostname",
                          "--aws-sigv4", "aws:amz:%s:s3" % env["AWS_REGION"],
                          "-u", "%s:%s" % (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]),
                          "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                          "%s/%s/chunked" % (url, B))
        print("    " + out.splitlines()[0].strip() + " " + out.splitlines()[-1][:200])
        assert " 411" in out.splitlines()[0], out

    @check("SigV4 details a signer must get right (raw requests)")
    def _():
        def want(res, status, code=""):
            assert res[:2] == (status, code), "got %r, want %r" % (res[:2], (status, code))

        port = int(env["RGW_PORT"])
        want(raw_request(env, "PUT", "/%s/raw" % B, body=b"abc"), 200)
        # Host is signed exactly as sent: with or without port, any name.
        want(raw_request(env, "GET", "/%s/raw" % B, host="localhost:%d" % port), 200)
        want(raw_request(env, "GET", "/%s/raw" % B, host="127.0.0.1"), 200)
        want(raw_request(env, "GET", "/%s/raw" % B, sign_host="127.0.0.1"), 403, "SignatureDoesNotMatch")
        # x-amz-content-sha256 is required (also on GET).
        want(raw_request(env, "GET", "/%s/raw" % B, sha_header=False), 403, "SignatureDoesNotMatch")
        want(raw_request(env, "PUT", "/%s/u" % B, body=b"abc", payload_hash="UNSIGNED-PAYLOAD"), 200)
        want(raw_request(env, "PUT", "/%s/bad" % B, body=b"abc", payload_hash=hashlib.sha256(b"x").hexdigest()),
             400, "XAmzContentSHA256Mismatch")
        want(raw_request(env, "PUT", "/%s/md5" % B, body=b"abc",
                         headers={"Content-MD5": base64.b64encode(hashlib.md5(b"x").digest()).decode()}),
             400, "BadDigest")
        # x-amz-checksum-* is not checked by Ceph 16.
        want(raw_request(env, "PUT", "/%s/crc" % B, body=b"abc", headers={"x-amz-checksum-crc32": "AAAAAA=="}), 200)
        # Clock skew allowed: 15 minutes.
        want(raw_request(env, "GET", "/%s/raw" % B, skew=600), 200)
        want(raw_request(env, "GET", "/%s/raw" % B, skew=1200), 403, "RequestTimeTooSkewed")
        # Any region in the credential scope is accepted.
        want(raw_request(env, "GET", "/%s/raw" % B, region="eu-west-1"), 200)
        # Canonical query: sorted, and "uploads" canonicalised as "uploads=".
        want(raw_request(env, "GET", "/" + B, query="prefix=r&list-type=2"), 403, "SignatureDoesNotMatch")
        want(raw_request(env, "GET", "/" + B, query="prefix=r&list-type=2", canon_query="list-type=2&prefix=r"), 200)
        want(raw_request(env, "POST", "/%s/mpq" % B, query="uploads"), 403, "SignatureDoesNotMatch")
        res = raw_request(env, "POST", "/%s/mpq" % B, query="uploads", canon_query="uploads=")
        want(res, 200)
        # Canonical path: RGW re-encodes the decoded path with uppercase %XX, once.
        key = "a b+c=d&e/\u00fc~"
        enc = "/%s/%s" % (B, urllib.parse.quote(key, safe="/-_.~"))
        want(raw_request(env, "PUT", enc, body=b"k"), 200)
        want(raw_request(env, "GET", enc.lower()), 403, "SignatureDoesNotMatch")
        want(raw_request(env, "GET", enc, canon_path=urllib.parse.quote(enc, safe="/-_.~")), 403,
             "SignatureDoesNotMatch")
        # HEAD of a missing key: 404, Content-Length of the unsent error body, no body.
        st, code, hdrs = raw_request(env, "HEAD", "/%s/nope" % B)
        assert st == 404 and code == "" and int(hdrs["Content-Length"]) > 0, (st, code, hdrs)
        # Conditional requests.
        want(raw_request(env, "PUT", "/%s/raw" % B, body=b"z", headers={"If-None-Match": "*"}), 412,
             "PreconditionFailed")
        want(raw_request(env, "GET", "/%s/raw" % B, headers={"If-Match": '"abc"'}), 412, "PreconditionFailed")

    @check("pause: port refuses connections; resume: same port, data still there")
    def _():
        data = os.urandom(3 * MiB)
        s3.put_object(Bucket=B, Key="survive", Body=data)
        t0 = time.monotonic()
        conftest_rgw.pause(env)
        t1 = time.monotonic()
        port = int(env["RGW_PORT"])
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            raise AssertionError("port still accepts connections while paused")
        except ConnectionRefusedError:
            pass
        conftest_rgw.resume(env)
        t2 = time.monotonic()
        print("    pause %.0f ms, resume %.0f ms" % ((t1 - t0) * 1000, (t2 - t1) * 1000))
        # A fresh client and the old one (its pooled connection died) both work.
        fresh = conftest_rgw.boto3_client(env)
        assert fresh.get_object(Bucket=B, Key="survive")["Body"].read() == data
        assert s3.get_object(Bucket=B, Key="mp/big.bin")["ContentLength"] == 10 * MiB + 1
        assert s3.get_object(Bucket=B, Key="a/b.txt")["Body"].read() == b"hello fds\n" * 1000

    @check("bucket name rules: invalid name -> 400 InvalidBucketName")
    def _():
        expect_error(lambda: s3.create_bucket(Bucket="Bad_Name"), 400, "InvalidBucketName")

    passed = failed = 0
    for name, fn in RESULTS:
        try:
            fn()
            print("PASS %s" % name)
            passed += 1
        except Exception as exc:  # pylint: disable=broad-except
            print("FAIL %s: %s: %s" % (name, type(exc).__name__, exc))
            failed += 1
    return passed, failed


def main():
    if shutil.which("radosgw") is None:
        print("radosgw missing: run tests/harness/rgw/rgw.sh install")
        return 2
    base = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="fds-rgw-selftest-")
    t0 = time.monotonic()
    with conftest_rgw.rgw_server(base) as env:
        t1 = time.monotonic()
        print("started in %.0f ms: %s" % ((t1 - t0) * 1000, env["AWS_ENDPOINT_URL"]))
        passed, failed = run(env)
        t2 = time.monotonic()
    t3 = time.monotonic()
    print("stopped in %.0f ms" % ((t3 - t2) * 1000))
    if len(sys.argv) <= 1:
        shutil.rmtree(base, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
