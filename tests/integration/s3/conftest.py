# SPDX-License-Identifier: MIT
"""S3 integration tests: a real fdsd over a real socket against a real S3
server (Ceph RADOS Gateway, tests/harness/rgw/rgw.sh), with Debian's boto3 as the
independent oracle.

One RGW serves the whole session (stopped at the end, also on failure); each
test gets a fresh bucket and its own fdsd. fdsd gets its S3 settings either
from its environment (AWS_ENDPOINT_URL, ...) or per call in options.s3; the
`fds` fixture runs a test both ways.

These tests are meson's `integration-s3` test (the parent directory's
conftest leaves this folder out of the local `integration` test).

Environment: FDSD, FDSCTL (the binaries), FDS_RGW_INSTALL=0 (do not try
`rgw.sh install` when the Ceph daemons are missing; skip instead).
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "harness", "rgw"))

import conftest_rgw  # noqa: E402  (tests/harness/rgw)
import s3fds  # noqa: E402  (puts tests/integration on sys.path for fdstest)
import fdstest  # noqa: E402
from s3fds import FDSD, IFACE, Daemon, copies  # noqa: E402

# A bucket that held more than this is followed by an RGW gc (memstore keeps
# deleted data in RAM until then).
GC_AFTER_BYTES = 4 << 20


def pytest_report_header(config):
    return [f"fdsd: {FDSD}", f"S3 server: RGW via {conftest_rgw.RGW_SH}"]


# ---- the S3 server -----------------------------------------------------

@pytest.fixture(scope="session")
def rgw(tmp_path_factory):
    """The session's RGW: its env dict (AWS_ENDPOINT_URL, ..., RGW_DIR)."""
    yield from fdstest.rgw_session(
        conftest_rgw, str(tmp_path_factory.mktemp("rgw-session") / "rgw"))


@pytest.fixture(scope="session")
def s3(rgw):
    """boto3 client for the test user (path style, no retries)."""
    return conftest_rgw.boto3_client(rgw)


@pytest.fixture
def make_bucket(rgw, s3):
    """make_bucket() -> a new empty bucket's name; all are deleted (and RGW
    garbage-collected if they were big) after the test."""
    # The test may have left the server paused: resume it first.
    yield from fdstest.make_buckets(conftest_rgw, rgw, s3, "fds", GC_AFTER_BYTES, resume=True)


@pytest.fixture
def bucket(make_bucket):
    return make_bucket()


# ---- fdsd --------------------------------------------------------------

def s3_options(rgw, **override):
    """options.s3 naming the session's RGW and the test user."""
    o = {
        "endpoint_url": rgw["AWS_ENDPOINT_URL"],
        "region": rgw["AWS_REGION"],
        "addressing_style": "path",
        "access_key_id": rgw["AWS_ACCESS_KEY_ID"],
        "secret_access_key": rgw["AWS_SECRET_ACCESS_KEY"],
    }
    o.update(override)
    return o


class Fds:
    """An fdsd plus the options.s3 each call carries (None: it uses its
    environment)."""

    def __init__(self, daemon, s3opts=None, mode="env"):
        self.daemon = daemon
        self.s3opts = s3opts
        self.mode = mode

    def options(self, **options):
        o = dict(options)
        if self.s3opts is not None:
            o["s3"] = dict(self.s3opts, **o.get("s3", {}))
        return o

    def params(self, key, value, options):
        p = {key: value}
        o = self.options(**options)
        if o:
            p["options"] = o
        return p

    def connect(self, timeout=s3fds.REPLY_TIMEOUT):
        return self.daemon.connect(timeout)

    def copy(self, pairs, **options):
        """Non-streaming Copy: the reply's parameters."""
        with self.connect() as c:
            return c.call(f"{IFACE}.Copy", self.params("copies", copies(pairs), options))

    def copy_more(self, pairs, **options):
        """Streaming Copy: (results in arrival order, summary)."""
        with self.connect() as c:
            replies = list(c.replies(f"{IFACE}.Copy", self.params("copies", copies(pairs), options)))
        last = replies[-1]
        assert "error" not in last, last
        assert all(r.get("continues") is True for r in replies[:-1]), replies[-1]
        assert set(last["parameters"]) == {"summary"}, last
        return [r["parameters"]["result"] for r in replies[:-1]], last["parameters"]["summary"]

    def copy_error(self, pairs, **options):
        with self.connect() as c:
            return c.call_error(f"{IFACE}.Copy", self.params("copies", copies(pairs), options))

    def size(self, files, **options):
        with self.connect() as c:
            return c.call(f"{IFACE}.Size", self.params("files", files, options))

    def read(self, files, **options):
        with self.connect() as c:
            return c.call(f"{IFACE}.Read", self.params("files", files, options))

    def list_params(self, path, recursive=None, options=None):
        p = self.params("path", path, options or {})
        if recursive is not None:
            p["recursive"] = recursive
        return p

    def list(self, path, recursive=None, **options):
        """Unstreamed List: the reply's parameters."""
        with self.connect() as c:
            return c.call(f"{IFACE}.List", self.list_params(path, recursive, options))

    def list_more(self, path, recursive=None, **options):
        """Streamed List: (the pages' entries, one list per reply, the last
        reply's parameters)."""
        with self.connect() as c:
            replies = list(c.replies(f"{IFACE}.List", self.list_params(path, recursive, options)))
        assert all(r.get("continues") is True for r in replies[:-1]), replies[-1]
        assert "continues" not in replies[-1] and replies[-1]["parameters"]["entries"] == [], replies[-1]
        return [r["parameters"]["entries"] for r in replies[:-1]], replies[-1]["parameters"]

    def files_error(self, method, files, **options):
        with self.connect() as c:
            return c.call_error(f"{IFACE}.{method}", self.params("files", files, options))


@pytest.fixture
def start_fds(request, tmp_path):
    """start_fds(s3="env"|"options"|"none", env=None, args=()) -> Fds.

    "env": the RGW settings in fdsd's environment; "options": a bare
    environment and the settings in every call's options.s3; "none": neither
    (and no RGW needed).
    env adds to (or, with None values, removes from) fdsd's environment. At
    teardown each fdsd gets SIGTERM and must exit 0 with no sanitizer report.
    """
    daemons = []
    home = str(tmp_path / "home")
    os.makedirs(home, exist_ok=True)

    def start(s3="env", env=None, args=()):
        e = fdstest.base_env(home)
        # Only a daemon that talks to the session's RGW needs it started.
        rgw = request.getfixturevalue("rgw") if s3 in ("env", "options") else None
        if s3 == "env":
            e.update(conftest_rgw.subprocess_env(rgw, base={}))
        fdstest.update_env(e, env)
        d = Daemon(str(tmp_path), e, ["--log-level", "debug", *args], name=f"fdsd{len(daemons)}")
        daemons.append(d)
        d.start()
        return Fds(d, s3_options(rgw) if s3 == "options" else None, s3)

    yield start
    fdstest.stop_daemons(daemons)


@pytest.fixture(params=["env", "options"])
def fds(request, start_fds):
    """An fdsd with S3 settings in its environment, or passed per call."""
    return start_fds(request.param)


@pytest.fixture
def fds_env(start_fds):
    """An fdsd with the S3 settings in its environment."""
    return start_fds("env")
