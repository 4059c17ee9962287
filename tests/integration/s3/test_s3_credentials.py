# SPDX-License-Identifier: MIT
"""Where fdsd finds credentials, against RGW, with boto3 given the same
environment as the oracle of which identity is used."""

import os

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
