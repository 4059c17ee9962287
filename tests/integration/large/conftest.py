# SPDX-License-Identifier: MIT
"""Large-object S3 tests: multipart upload, ranged download, multipart copy,
retries, cancellation, bandwidth caps, checksums, memory bounds.

A real fdsd over a real Unix socket talks to a real S3 server (Ceph RADOS
Gateway, tests/harness/rgw/rgw.sh, one per session on 127.0.0.1), usually through
proxy.py, a small fault-injecting reverse proxy of this folder; Debian's boto3
(talking to RGW directly) is the independent oracle.

These are meson's `integration-large` test. When pytest is pointed at the
parent directory (meson's `integration` test) they are not collected, so they
do not run twice; name this directory (or a file in it) or set
FDS_LARGE_TESTS=1 to run them:

    FDSD=build/daemon/fdsd FDSCTL=build/client/fdsctl \
        /usr/bin/python3 -m pytest -q tests/integration/large

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
import fdslarge  # noqa: E402  (puts tests/integration on sys.path for fdstest)
import fdstest  # noqa: E402
from fdslarge import FDSCTL, FDSD, Daemon, Fds  # noqa: E402
from proxy import FaultProxy  # noqa: E402

# After a test whose buckets held more than this, RGW's gc runs (memstore
# keeps deleted data in RAM until then).
GC_AFTER_BYTES = 4 << 20


def pytest_ignore_collect(collection_path, config):
    """Collect these tests only when asked for by path (or FDS_LARGE_TESTS=1)."""
    return fdstest.collect_only_when_asked(collection_path, config, HERE, "FDS_LARGE_TESTS")


def pytest_report_header(config):
    return [f"fdsd: {FDSD}", f"fdsctl: {FDSCTL}",
            f"S3 server: RGW via {conftest_rgw.RGW_SH}, behind tests/integration/large/proxy.py"]


# ---- the S3 server -----------------------------------------------------

@pytest.fixture(scope="session")
def rgw(tmp_path_factory):
    """The session's RGW: its env dict (AWS_ENDPOINT_URL, ..., RGW_DIR, RGW_PORT)."""
    yield from fdstest.rgw_session(
        conftest_rgw, str(tmp_path_factory.mktemp("rgw-large") / "rgw"))


@pytest.fixture(scope="session")
def s3(rgw):
    """boto3 talking to RGW directly (path style, no retries): the oracle."""
    return conftest_rgw.boto3_client(rgw)


@pytest.fixture
def make_bucket(rgw, s3):
    """make_bucket() -> a new empty bucket's name; all are emptied (uploads in
    progress aborted; their parts hold memory too), deleted and, if they were
    big, garbage-collected."""
    yield from fdstest.make_buckets(conftest_rgw, rgw, s3, "large", GC_AFTER_BYTES,
                                    abort_uploads=True)


@pytest.fixture
def bucket(make_bucket):
    return make_bucket()


# ---- the proxy ---------------------------------------------------------

@pytest.fixture
def proxy(rgw):
    """A FaultProxy in front of the session's RGW, stopped after the test."""
    p = FaultProxy("127.0.0.1", rgw["RGW_PORT"]).start()
    try:
        yield p
    finally:
        p.stop()


# ---- fdsd --------------------------------------------------------------

_help_text = []


def _help():
    if not _help_text:
        _help_text.append(fdslarge.fdsd_help())
    return _help_text[0]


@pytest.fixture
def start_fds(request, tmp_path, rgw):
    """start_fds(endpoint=None, args=(), env=None) -> Fds.

    The fdsd gets the RGW user's settings in its environment, with
    AWS_ENDPOINT_URL = endpoint (default: the test's proxy; "rgw": RGW
    itself). env adds to (None values: removes from) that environment. At
    teardown each fdsd gets SIGTERM and must exit 0 in time with no sanitizer
    report in its log."""
    daemons = []
    home = str(tmp_path / "home")
    os.makedirs(home, exist_ok=True)

    def start(endpoint=None, args=(), env=None):
        if endpoint is None:
            endpoint = request.getfixturevalue("proxy").url
        elif endpoint == "rgw":
            endpoint = rgw["AWS_ENDPOINT_URL"]
        e = fdstest.base_env(home)
        e.update(conftest_rgw.subprocess_env(rgw, base={}))
        e["AWS_ENDPOINT_URL"] = endpoint
        fdstest.update_env(e, env)
        base = ["--log-level", "debug"]
        if "--config" in _help():
            # Settings from an empty file, not from a configuration the host may have.
            conf = tmp_path / "fdsd-empty.conf"
            conf.write_text("")
            base = ["--config", str(conf)] + base
        d = Daemon(str(tmp_path), e, [*base, *args], name=f"fdsd{len(daemons)}")
        daemons.append(d)
        d.start()
        return Fds(d)

    yield start
    fdstest.stop_daemons(daemons)


@pytest.fixture
def fds(start_fds):
    """An fdsd whose S3 endpoint is the test's proxy."""
    return start_fds()


@pytest.fixture
def fds_direct(start_fds):
    """An fdsd talking to RGW directly (timing tests: no proxy in the path)."""
    return start_fds("rgw")
