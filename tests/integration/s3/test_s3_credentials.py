# SPDX-License-Identifier: MIT
"""Where fdsd finds credentials, against RGW, with boto3 given the same
environment as the oracle of which identity is used."""

import http.server
import json
import os
import pwd
import shutil
import threading
import time
import urllib.parse

import botocore.session
import pytest

import conftest_rgw
import fdstest
from s3fds import IFACE, Daemon, copies, pattern, write


def boto3_identity(env):
    """The access key id and the provider botocore picks in env (a clean
    session: nothing of this process's own AWS_* variables)."""
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("AWS_")}
    try:
        os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
        os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
        creds = botocore.session.Session().get_credentials()
        return (creds.access_key, creds.method) if creds else None
    finally:
        for k in [k for k in os.environ if k.startswith("AWS_")]:
            del os.environ[k]
        os.environ.update(saved)


@pytest.mark.parametrize("path", ["/dev/null", "dir"])
def test_shared_files_that_are_not_regular_files_are_no_files(start_fds, rgw, s3, bucket,
                                                              tmp_path, path):
    """AWS_SHARED_CREDENTIALS_FILE=/dev/null keeps ~/.aws out (botocore and
    awscli accept it); the keys come from the environment."""
    if path == "dir":
        path = str(tmp_path / "a-directory")
        os.mkdir(path)
    files = {"AWS_SHARED_CREDENTIALS_FILE": path, "AWS_CONFIG_FILE": path}
    fds = start_fds("env", env=files)
    env = dict(fds.daemon.env)
    assert boto3_identity(env) == (rgw["AWS_ACCESS_KEY_ID"], "env")

    data = pattern(3000, 7)
    src = write(str(tmp_path / "src"), data)
    r = fds.copy([(src, f"s3://{bucket}/k")])
    assert r["summary"]["files_ok"] == 1, r
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == data


class ContainerEndpoint(http.server.BaseHTTPRequestHandler):
    """Plays the ECS / EKS Pod Identity agent: the RGW keys as temporary
    credentials, to a GET carrying the expected Authorization."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        srv = self.server
        srv.seen.append((self.path, self.headers.get("Authorization")))
        if self.path != "/creds" or self.headers.get("Authorization") != srv.token:
            body, status = b'{"message": "unauthorized"}', 401
        else:
            expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
            body, status = json.dumps({"AccessKeyId": srv.keys[0], "SecretAccessKey": srv.keys[1],
                                       "Token": "", "Expiration": expires}).encode(), 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def container_endpoint(rgw):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ContainerEndpoint)
    srv.keys = (rgw["AWS_ACCESS_KEY_ID"], rgw["AWS_SECRET_ACCESS_KEY"])
    srv.token = "Bearer fds-test-token"
    srv.seen = []
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


NO_KEYS = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None,
           "AWS_EC2_METADATA_DISABLED": "true"}


@pytest.mark.parametrize("how", ["token", "token_file"])
def test_container_credentials(start_fds, rgw, s3, bucket, tmp_path, container_endpoint, how):
    """No keys anywhere but AWS_CONTAINER_CREDENTIALS_FULL_URI: the keys come
    from the endpoint, asked with the token (or the token file's content),
    as botocore's container provider asks."""
    srv = container_endpoint
    env = dict(NO_KEYS, AWS_CONTAINER_CREDENTIALS_FULL_URI=f"http://127.0.0.1:{srv.server_port}/creds")
    if how == "token":
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = srv.token
    else:
        token_file = tmp_path / "token"
        token_file.write_text(srv.token + "\n")
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = str(token_file)
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "not this one"
    fds = start_fds("env", env=env)
    if how == "token":  # botocore rejects the token file's line break; fds drops it
        assert boto3_identity(dict(fds.daemon.env)) == (rgw["AWS_ACCESS_KEY_ID"], "container-role")
    srv.seen.clear()

    data = pattern(5000, 3)
    src = write(str(tmp_path / "src"), data)
    r = fds.copy([(src, f"s3://{bucket}/container/a"), (src, f"s3://{bucket}/container/b")])
    assert r["summary"]["files_ok"] == 2, r
    assert s3.get_object(Bucket=bucket, Key="container/b")["Body"].read() == data
    # Asked once for the call, with the token; kept for the next call.
    assert srv.seen == [("/creds", srv.token)]
    r = fds.copy([(src, f"s3://{bucket}/container/c")])
    assert r["summary"]["files_ok"] == 1, r
    assert len(srv.seen) == 1


def test_container_endpoint_refusing_fails_clearly(start_fds, rgw, s3, bucket, tmp_path,
                                                   container_endpoint):
    srv = container_endpoint
    url = f"http://127.0.0.1:{srv.server_port}/creds"
    fds = start_fds("env", env=dict(NO_KEYS, AWS_CONTAINER_CREDENTIALS_FULL_URI=url,
                                    AWS_CONTAINER_AUTHORIZATION_TOKEN="Bearer wrong"))
    src = write(str(tmp_path / "src"), b"x" * 100)
    name, params = fds.copy_error([(src, f"s3://{bucket}/container/refused")])
    msg = json.dumps(params)
    assert f"the container credentials endpoint at {url} answered HTTP 401" in msg, msg
    assert "Bearer wrong" not in msg
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="container/refused")


def test_container_url_to_a_foreign_host_is_refused(start_fds, rgw, bucket, tmp_path):
    """Plain http to anything but loopback or the ECS/EKS agents would hand
    the token to whoever answers: refused before anything moves, as botocore."""
    fds = start_fds("env", env=dict(NO_KEYS, AWS_CONTAINER_CREDENTIALS_FULL_URI="http://example.com/creds"))
    src = write(str(tmp_path / "src"), b"x")
    name, params = fds.copy_error([(src, f"s3://{bucket}/k")])
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI 'http://example.com/creds' is plain http" in json.dumps(params), (
        name, params)


# ---- credential_process ------------------------------------------------

HELPER = r'''
import json, os, sys
log, keys = sys.argv[1], sys.argv[2]
with open(log, "a") as f:
    f.write(f"{os.getuid()} {os.environ.get('HOME', '')}\n")
if os.environ.get("FDS_TEST_HELPER_FAIL"):
    sys.stderr.write("session expired: run aws sso login\nmore detail\n")
    sys.exit(1)
key, secret = keys.split(":")
json.dump({"Version": 1, "AccessKeyId": key, "SecretAccessKey": secret,
           "Expiration": "2099-01-01T00:00:00Z"}, sys.stdout)
'''


def helper_profile(work, rgw):
    """A config file whose default profile's credential_process prints the
    RGW keys and logs each run's uid and HOME; (config path, log path)."""
    helper = os.path.join(work, "helper.py")
    log = os.path.join(work, "runs.log")
    with open(helper, "w") as f:
        f.write(HELPER)
    open(log, "w").close()
    os.chmod(helper, 0o644)
    os.chmod(log, 0o666)
    conf = os.path.join(work, "config")
    with open(conf, "w") as f:
        f.write("[default]\ncredential_process = /usr/bin/python3 "
                f"{helper} {log} {rgw['AWS_ACCESS_KEY_ID']}:{rgw['AWS_SECRET_ACCESS_KEY']}\n")
    return conf, log


def runs(log):
    with open(log) as f:
        return [line.split()[0] for line in f]


def test_credential_process(start_fds, rgw, s3, bucket, tmp_path):
    """The default profile's credential_process gives the keys: run once for
    two calls (its Expiration is far off), and boto3 given the same files
    picks the same provider and key."""
    conf, log = helper_profile(str(tmp_path), rgw)
    fds = start_fds("env", env=dict(NO_KEYS, AWS_CONFIG_FILE=conf))
    assert boto3_identity(dict(fds.daemon.env)) == (rgw["AWS_ACCESS_KEY_ID"], "custom-process")
    open(log, "w").close()  # boto3's own run

    data = pattern(4000, 9)
    src = write(str(tmp_path / "src"), data)
    r = fds.copy([(src, f"s3://{bucket}/proc/a")])
    assert r["summary"]["files_ok"] == 1, r
    r = fds.copy([(src, f"s3://{bucket}/proc/b")])
    assert r["summary"]["files_ok"] == 1, r
    assert s3.get_object(Bucket=bucket, Key="proc/b")["Body"].read() == data
    assert runs(log) == [str(os.getuid())]


def test_credential_process_failure_is_told(start_fds, rgw, s3, bucket, tmp_path):
    conf, log = helper_profile(str(tmp_path), rgw)
    fds = start_fds("env", env=dict(NO_KEYS, AWS_CONFIG_FILE=conf, FDS_TEST_HELPER_FAIL="1"))
    src = write(str(tmp_path / "src"), b"x" * 10)
    name, params = fds.copy_error([(src, f"s3://{bucket}/proc/fail")])
    reason = json.dumps(params)
    assert ("credential_process of profile 'default' exited with status 1: "
            "session expired: run aws sso login") in reason, reason
    assert "more detail" not in reason
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="proc/")
    # Not kept: the next call runs it again.
    fds.copy_error([(src, f"s3://{bucket}/proc/fail")])
    assert len(runs(log)) == 2


def test_credential_process_runs_as_each_caller(rgw, s3, bucket):
    """A root fdsd runs a caller's credential_process as that caller, with the
    caller's HOME, and keeps what one caller got from the other."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to call as another user")
    nobody = 65534
    work = fdstest.shared_tmpdir("fds-credproc-")
    d = None
    try:
        conf, log = helper_profile(work, rgw)
        src = fdstest.write(os.path.join(work, "src"), b"for everyone\n")
        os.chmod(src, 0o644)
        env = fdstest.update_env(fdstest.base_env(work), conftest_rgw.subprocess_env(rgw, base={}))
        fdstest.update_env(env, dict(NO_KEYS, AWS_CONFIG_FILE=conf))
        d = Daemon(work, env, ["--allow-user", f"root,{nobody}"], name="fdsd-callers").start()
        os.chmod(d.socket, 0o777)
        copy = [f"{IFACE}.Copy", {"copies": copies([(src, f"s3://{bucket}/callers/x")])}]
        for user in (None, nobody, None, nobody):
            (reply,) = fdstest.calls_as(user, d.socket, [copy])
            assert reply.get("parameters", {}).get("summary", {}).get("files_ok") == 1, reply
        with open(log) as f:
            seen = [tuple(line.split()) for line in f]
        home = pwd.getpwuid(nobody).pw_dir
        assert seen == [("0", work), (str(nobody), home)], seen
    finally:
        if d:
            fdstest.stop_daemons([d])
        fdstest.rmtree(work)


# ---- web identity (EKS IRSA) --------------------------------------------

class FakeSts(http.server.BaseHTTPRequestHandler):
    """Plays STS's AssumeRoleWithWebIdentity: the RGW keys for the right
    token, InvalidIdentityToken otherwise. (Debian's botocore 1.29 cannot be
    pointed at it: AWS_ENDPOINT_URL_STS came in 1.31, so it is no oracle here.)"""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        srv = self.server
        n = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in urllib.parse.parse_qs(self.rfile.read(n).decode()).items()}
        srv.seen.append((self.headers.get("Content-Type"), form))
        ns = 'xmlns="https://sts.amazonaws.com/doc/2011-06-15/"'
        if form.get("Action") != "AssumeRoleWithWebIdentity" or form.get("WebIdentityToken") != srv.token:
            status = 400
            body = (f"<ErrorResponse {ns}><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
                    "<Message>Couldn't retrieve verification key from your identity provider</Message>"
                    "</Error><RequestId>r</RequestId></ErrorResponse>")
        else:
            status = 200
            expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
            body = (f"<AssumeRoleWithWebIdentityResponse {ns}><AssumeRoleWithWebIdentityResult>"
                    f"<SubjectFromWebIdentityToken>system:serviceaccount:ns:sa</SubjectFromWebIdentityToken>"
                    f"<Credentials><AccessKeyId>{srv.keys[0]}</AccessKeyId>"
                    f"<SecretAccessKey>{srv.keys[1]}</SecretAccessKey><SessionToken></SessionToken>"
                    f"<Expiration>{expires}</Expiration></Credentials>"
                    "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>")
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def fake_sts(rgw):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeSts)
    srv.keys = (rgw["AWS_ACCESS_KEY_ID"], rgw["AWS_SECRET_ACCESS_KEY"])
    srv.token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2ln"
    srv.seen = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def web_identity_env(srv, token_file, role="arn:aws:iam::123456789012:role/fds-reader"):
    return dict(NO_KEYS, AWS_WEB_IDENTITY_TOKEN_FILE=str(token_file), AWS_ROLE_ARN=role,
                AWS_ROLE_SESSION_NAME="fds-test", AWS_ENDPOINT_URL_STS=f"http://127.0.0.1:{srv.server_port}")


def test_web_identity(start_fds, rgw, s3, bucket, tmp_path, fake_sts):
    """The service account's token is exchanged for the role's keys, once for
    two calls, with the request botocore sends."""
    token = tmp_path / "token"
    token.write_text(fake_sts.token + "\n")
    fds = start_fds("env", env=web_identity_env(fake_sts, token))
    data = pattern(6000, 5)
    src = write(str(tmp_path / "src"), data)
    for key in ("irsa/a", "irsa/b"):
        r = fds.copy([(src, f"s3://{bucket}/{key}")])
        assert r["summary"]["files_ok"] == 1, r
    assert s3.get_object(Bucket=bucket, Key="irsa/b")["Body"].read() == data
    assert len(fake_sts.seen) == 1, fake_sts.seen
    ctype, form = fake_sts.seen[0]
    assert ctype.startswith("application/x-www-form-urlencoded"), ctype
    assert form == {"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
                    "RoleArn": "arn:aws:iam::123456789012:role/fds-reader",
                    "RoleSessionName": "fds-test", "WebIdentityToken": fake_sts.token}


def test_web_identity_refused_is_told(start_fds, rgw, s3, bucket, tmp_path, fake_sts):
    token = tmp_path / "token"
    token.write_text("a-stale-token")
    fds = start_fds("env", env=web_identity_env(fake_sts, token))
    src = write(str(tmp_path / "src"), b"x")
    name, params = fds.copy_error([(src, f"s3://{bucket}/irsa/refused")])
    reason = json.dumps(params)
    assert ("STS AssumeRoleWithWebIdentity at http://127.0.0.1:%d (role "
            "'arn:aws:iam::123456789012:role/fds-reader') refused: InvalidIdentityToken: "
            "Couldn't retrieve verification key" % fake_sts.server_port) in reason, reason
    assert "a-stale-token" not in reason
    # The kubelet rotates the file: the next call reads it again.
    token.write_text(fake_sts.token)
    r = fds.copy([(src, f"s3://{bucket}/irsa/after-rotation")])
    assert r["summary"]["files_ok"] == 1, r


# ---- assumed roles (RGW's own STS) -------------------------------------

def assume_files(tmp_path, rgw, arn, extra=""):
    """A credentials file with the RGW keys as profile 'base' and a config
    whose profile 'assumer' assumes arn with them."""
    cred = tmp_path / "credentials"
    cred.write_text(f"[base]\naws_access_key_id = {rgw['AWS_ACCESS_KEY_ID']}\n"
                    f"aws_secret_access_key = {rgw['AWS_SECRET_ACCESS_KEY']}\n")
    conf = tmp_path / "config"
    conf.write_text(f"[profile assumer]\nrole_arn = {arn}\nsource_profile = base\n"
                    f"role_session_name = fds-it\n{extra}")
    return dict(NO_KEYS, AWS_CONFIG_FILE=str(conf), AWS_SHARED_CREDENTIALS_FILE=str(cred),
                AWS_PROFILE="assumer")


def test_assume_role(start_fds, rgw, s3, bucket, tmp_path):
    """role_arn + source_profile: fdsd signs AssumeRole with the base keys at
    RGW's STS and moves files with the session it gets. The role may write
    only under allowed/, which the base user could not tell apart: RGW
    refusing denied/ shows the role's session did the work."""
    arn = conftest_rgw.role(rgw, f"fds-{bucket}"[:60], f"arn:aws:s3:::{bucket}/allowed/*")
    fds = start_fds("env", env=assume_files(tmp_path, rgw, arn))
    data = pattern(7000, 4)
    src = write(str(tmp_path / "src"), data)
    r = fds.copy([(src, f"s3://{bucket}/allowed/a"), (src, f"s3://{bucket}/allowed/b")])
    assert r["summary"]["files_ok"] == 2, r
    assert s3.get_object(Bucket=bucket, Key="allowed/b")["Body"].read() == data
    r = fds.copy([(src, f"s3://{bucket}/denied/c")])
    assert r["summary"]["files_failed"] == 1, r
    err = r["results"][0]["error"]
    assert (err.get("http_status"), err.get("s3_code")) == (403, "AccessDenied"), err
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="denied/")


def test_assume_role_refused_is_told(start_fds, rgw, bucket, tmp_path):
    fds = start_fds("env", env=assume_files(tmp_path, rgw, "arn:aws:iam:::role/fds-no-such-role"))
    src = write(str(tmp_path / "src"), b"x")
    name, params = fds.copy_error([(src, f"s3://{bucket}/k")])
    reason = json.dumps(params)
    assert (f"STS AssumeRole at {rgw['AWS_ENDPOINT_URL']} (role 'arn:aws:iam:::role/fds-no-such-role') "
            "refused: ") in reason, reason
    assert rgw["AWS_SECRET_ACCESS_KEY"] not in reason


def test_assume_role_with_container_credentials(start_fds, rgw, s3, bucket, tmp_path, container_endpoint):
    """credential_source = EcsContainer: the container endpoint's keys sign the
    AssumeRole; RGW refusing denied/ shows the role's session did the work."""
    srv = container_endpoint
    arn = conftest_rgw.role(rgw, f"fds-ecs-{bucket}"[:60], f"arn:aws:s3:::{bucket}/allowed/*")
    conf = tmp_path / "config"
    conf.write_text(f"[profile ecs]\nrole_arn = {arn}\ncredential_source = EcsContainer\n")
    fds = start_fds("env", env=dict(NO_KEYS, AWS_CONFIG_FILE=str(conf), AWS_PROFILE="ecs",
                                    AWS_CONTAINER_CREDENTIALS_FULL_URI=f"http://127.0.0.1:{srv.server_port}/creds",
                                    AWS_CONTAINER_AUTHORIZATION_TOKEN=srv.token))
    src = write(str(tmp_path / "src"), b"through the task role\n")
    for key in ("allowed/a", "allowed/b"):
        r = fds.copy([(src, f"s3://{bucket}/{key}")])
        assert r["summary"]["files_ok"] == 1, r
    r = fds.copy([(src, f"s3://{bucket}/denied/c")])
    assert r["results"][0]["error"].get("s3_code") == "AccessDenied", r
    # The container endpoint was asked once; the session served all three calls.
    assert srv.seen == [("/creds", srv.token)], srv.seen
