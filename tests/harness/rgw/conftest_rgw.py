"""Throw-away Ceph RADOS Gateway (S3) for tests, driven by tests/harness/rgw/rgw.sh.

    from conftest_rgw import rgw_server, boto3_client

    with rgw_server(tmp_path) as srv:       # srv: dict from DIR/env (+ a few keys)
        s3 = boto3_client(srv)
        s3.create_bucket(Bucket="b")

A pytest fixture built on it:

    @pytest.fixture
    def s3env(tmp_path):
        if not conftest_rgw.available():
            pytest.skip("radosgw not installed: tests/harness/rgw/rgw.sh install")
        with conftest_rgw.rgw_server(tmp_path) as env:
            yield env

rgw_server() starts a fresh single-node cluster in tmpdir/rgw and always stops
it on exit, also when the body raises. The dict holds the lines of DIR/env
(AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION) plus
RGW_DIR, RGW_PORT and RGW_SH. pause()/resume()/gc() act on a running server.

Only the standard library is needed, except boto3_client(), which imports
boto3 (Debian's python3-boto3 under /usr/bin/python3).
"""

import contextlib
import os
import shutil
import subprocess

RGW_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rgw.sh")

# Variables that would change how boto3 finds credentials, configuration or
# TLS settings; boto3_client() hides them while it builds the client.
_AWS_ENV_HIDDEN = (
    "AWS_CA_BUNDLE",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
)


def _run(*args, timeout=180):
    """Run rgw.sh with args; raise RuntimeError with its output on failure."""
    proc = subprocess.run(
        ["bash", RGW_SH, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=timeout,
        check=False,
    )
    out = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise RuntimeError(
            "rgw.sh %s failed (exit %d):\n%s" % (" ".join(args), proc.returncode, out)
        )
    return out


def available():
    """True if the Ceph daemons are installed (else run: rgw.sh install)."""
    return all(shutil.which(b) for b in ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin"))


def parse_env(path):
    """Parse a file of KEY=VALUE lines (as written by rgw.sh) into a dict."""
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, value = line.split("=", 1)
            env[key] = value
    return env


def install():
    """Install the Ceph packages if missing (root or sudo needed)."""
    _run("install", timeout=900)


def start(directory, port=None):
    """Start a cluster in directory; return its env dict (see module doc)."""
    directory = os.path.abspath(os.fspath(directory))
    args = ["start", directory] + ([str(port)] if port else [])
    _run(*args)
    env = parse_env(os.path.join(directory, "env"))
    env["RGW_DIR"] = directory
    env["RGW_PORT"] = env["AWS_ENDPOINT_URL"].rsplit(":", 1)[1]
    env["RGW_SH"] = RGW_SH
    return env


def _dir(env_or_dir):
    if isinstance(env_or_dir, dict):
        return env_or_dir["RGW_DIR"]
    return os.path.abspath(os.fspath(env_or_dir))


def stop(env_or_dir):
    _run("stop", _dir(env_or_dir))


def pause(env_or_dir):
    """Stop only radosgw: connections to its port are refused until resume()."""
    _run("pause", _dir(env_or_dir))


def resume(env_or_dir):
    """Start radosgw again on the same port; returns once GET / answers 200."""
    _run("resume", _dir(env_or_dir))


def role(env_or_dir, name, resource=None):
    """An IAM role the test user may assume with STS AssumeRole, allowed all
    of S3 on resource (default arn:aws:s3:::*); returns its ARN."""
    args = ["role", _dir(env_or_dir), name] + ([resource] if resource else [])
    return _run(*args).strip().splitlines()[-1]


def gc(env_or_dir):
    """Free the RAM of deleted/overwritten objects now (memstore)."""
    _run("gc", _dir(env_or_dir), timeout=600)


@contextlib.contextmanager
def rgw_server(tmpdir, port=None, subdir="rgw"):
    """Context manager: a running S3 server in tmpdir/subdir, stopped on exit."""
    directory = os.path.join(os.path.abspath(os.fspath(tmpdir)), subdir)
    try:
        yield start(directory, port)
    finally:
        # Also after a failed start: stop is safe on a half-started cluster.
        try:
            stop(directory)
        except Exception:  # pylint: disable=broad-except
            # Do not hide the body's exception behind a stop failure.
            pass


def subprocess_env(env, base=None):
    """os.environ (or base) plus the server's AWS_* variables, for child processes."""
    out = dict(os.environ if base is None else base)
    for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
        out[key] = env[key]
    out.pop("AWS_SESSION_TOKEN", None)
    return out


@contextlib.contextmanager
def _hidden_aws_env():
    saved = {k: os.environ.pop(k) for k in _AWS_ENV_HIDDEN if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def boto3_client(env, access_key=None, secret_key=None, **config):
    """A boto3 S3 client for the server described by env (path-style, SigV4).

    access_key/secret_key override the test user's (e.g. to provoke 403s);
    config entries go to botocore.config.Config (retries default to none so
    that errors surface at once). The client does not depend on AWS_CA_BUNDLE,
    AWS_PROFILE, ~/.aws or other AWS_* variables of the calling environment.
    """
    import boto3  # pylint: disable=import-outside-toplevel
    import botocore.config  # pylint: disable=import-outside-toplevel
    import botocore.session  # pylint: disable=import-outside-toplevel

    cfg = {
        "signature_version": "s3v4",
        "s3": {"addressing_style": "path"},
        "retries": {"max_attempts": 0, "mode": "standard"},
        "connect_timeout": 10,
        "read_timeout": 60,
    }
    cfg.update(config)
    with _hidden_aws_env():
        bs = botocore.session.Session()
        # Ignore ~/.aws/config and ~/.aws/credentials.
        bs.set_config_variable("config_file", os.devnull)
        bs.set_config_variable("credentials_file", os.devnull)
        session = boto3.session.Session(
            botocore_session=bs,
            aws_access_key_id=access_key or env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=secret_key or env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_REGION"],
        )
        return session.client(
            "s3",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            verify=False,
            config=botocore.config.Config(**cfg),
        )
