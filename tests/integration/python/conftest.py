# SPDX-License-Identifier: MIT
"""Tests of the Python client (client/python/fds): a real fdsd over a real
Unix socket, a real S3 server (Ceph RGW, tests/harness/rgw/rgw.sh, one per session),
boto3 as the oracle, and where faults or concurrency must be seen, the
fault-injecting proxy of tests/integration/large.

These are meson's `integration-python` test; the parent folder's
`integration` test leaves them out unless FDS_PYTHON_TESTS=1. Directly:

    FDSD=build/daemon/fdsd /usr/bin/python3 -m pytest -q tests/integration/python
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.dirname(HERE)
ROOT = os.path.dirname(os.path.dirname(INTEGRATION))
for p in (os.path.join(ROOT, "client", "python"), os.path.join(ROOT, "tests", "harness", "rgw"),
          os.path.join(INTEGRATION, "large"), os.path.join(INTEGRATION, "s3"), INTEGRATION):
    if p not in sys.path:
        sys.path.insert(0, p)

import conftest_rgw  # noqa: E402  (tests/harness/rgw)
import fdstest  # noqa: E402
import fds  # noqa: E402  (client/python)
from proxy import FaultProxy  # noqa: E402  (tests/integration/large)
from s3fds import FDSD, Daemon  # noqa: E402

GC_AFTER_BYTES = 4 << 20


def pytest_ignore_collect(collection_path, config):
    """Collect only when asked for by path (or FDS_PYTHON_TESTS=1)."""
    return fdstest.collect_only_when_asked(collection_path, config, HERE, "FDS_PYTHON_TESTS")


def pytest_report_header(config):
    return [f"fdsd: {FDSD}", f"fds (Python): {os.path.dirname(fds.__file__)}",
            f"S3 server: RGW via {conftest_rgw.RGW_SH}"]


@pytest.fixture(scope="session")
def rgw(tmp_path_factory):
    """The session's RGW: its env dict (AWS_ENDPOINT_URL, ..., RGW_DIR, RGW_PORT)."""
    yield from fdstest.rgw_session(
        conftest_rgw, str(tmp_path_factory.mktemp("rgw-python") / "rgw"))


@pytest.fixture(scope="session")
def s3(rgw):
    """boto3 talking to RGW directly: the oracle."""
    return conftest_rgw.boto3_client(rgw)


@pytest.fixture
def make_bucket(rgw, s3):
    yield from fdstest.make_buckets(conftest_rgw, rgw, s3, "py", GC_AFTER_BYTES,
                                    abort_uploads=True, resume=True)


@pytest.fixture
def bucket(make_bucket):
    return make_bucket()


@pytest.fixture
def proxy(rgw):
    """A FaultProxy in front of the session's RGW."""
    p = FaultProxy("127.0.0.1", rgw["RGW_PORT"]).start()
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def start_fdsd(tmp_path):
    """start_fdsd(*args, name=None) -> Daemon: an fdsd with no S3 settings of
    its own (every call carries them in options.s3, as the Python client
    sends them), stopped and checked at teardown."""
    daemons = []
    home = str(tmp_path / "home")
    os.makedirs(home, exist_ok=True)
    conf = tmp_path / "fdsd-empty.conf"
    conf.write_text("")

    def start(*args, name=None, env=None):
        e = fdstest.base_env(home)
        # Uploads fdsd could not abort are kept in its state directory:
        # the test's own, not the host's.
        e["STATE_DIRECTORY"] = str(tmp_path / "state")
        fdstest.update_env(e, env)
        d = Daemon(str(tmp_path), e, ["--config", str(conf), "--log-level", "debug", *args],
                   name=name or f"fdsd{len(daemons)}")
        daemons.append(d)
        d.start()
        return d

    yield start
    fds_close_all()
    fdstest.stop_daemons(daemons)


def fds_close_all():
    # The pools of this process: closed so that each daemon stops with no
    # client connected.
    from fds import _varlink  # pylint: disable=import-outside-toplevel
    _varlink.close_all()


@pytest.fixture
def fdsd(start_fdsd):
    return start_fdsd()


def s3_options(rgw, daemon, endpoint=None, **kw):
    """fds.S3Options for the session's RGW (or endpoint) and daemon's socket."""
    return fds.S3Options(endpoint_url=endpoint or rgw["AWS_ENDPOINT_URL"], region=rgw["AWS_REGION"],
                         addressing_style="path", access_key_id=rgw["AWS_ACCESS_KEY_ID"],
                         secret_access_key=rgw["AWS_SECRET_ACCESS_KEY"], socket=daemon.socket,
                         **kw)


@pytest.fixture
def opts(rgw, fdsd):
    o = s3_options(rgw, fdsd)
    yield o
    o.close()
