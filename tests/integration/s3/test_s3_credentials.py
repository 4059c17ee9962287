# SPDX-License-Identifier: MIT
"""Where fdsd finds credentials, against RGW, with boto3 given the same
environment as the oracle of which identity is used."""

import http.server
import json
import os
import threading
import time

import botocore.session
import pytest

from s3fds import pattern, write


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
