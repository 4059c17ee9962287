# SPDX-License-Identifier: MIT
"""Integrity under faults (issue 18): a real fdsd whose S3 endpoint is
tests/faultproxy.py, in front of a real S3 server (Ceph RADOS Gateway,
tests/harness/rgw/rgw.sh, one per session on 127.0.0.1); boto3, talking to RGW
directly, is the independent oracle of every byte.

These are meson's `integration-faults` test. When pytest is pointed at the
parent directory (meson's `integration` test) they are not collected; name
this directory (or a file in it) or set FDS_FAULTS_TESTS=1:

    FDSD=build/daemon/fdsd FDSCTL=build/client/fdsctl \
        /usr/bin/python3 -m pytest -q tests/integration/faults

The outage tests (marked `outage`, about 30 s each) can be left out with
`-m 'not outage'`. At the end pytest prints one row per fault (files ok and
failed, files with wrong bytes, multipart uploads left open, wall time) and
writes the table to faults-report.md in pytest's base temporary directory,
and to $FDS_FAULTS_REPORT if that is set.

Environment: FDSD, FDSCTL (the binaries), FDS_RGW_INSTALL=0 (do not try
`rgw.sh install` when the Ceph daemons are missing; skip instead).
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.dirname(HERE)
TESTS = os.path.dirname(INTEGRATION)
for p in (os.path.join(TESTS, "harness", "rgw"), os.path.join(INTEGRATION, "s3"), INTEGRATION, TESTS, HERE):
    if p not in sys.path:
        sys.path.insert(0, p)

import conftest_rgw  # noqa: E402  (tests/harness/rgw)
import fdstest  # noqa: E402  (tests/integration)
import faultcase  # noqa: E402  (this folder)
from faultproxy import FaultProxy  # noqa: E402  (tests)
from s3fds import FDSCTL, FDSD, Daemon  # noqa: E402  (tests/integration/s3)

# After a test whose buckets held more than this, RGW's gc runs (memstore
# keeps deleted data in RAM until then).
GC_AFTER_BYTES = 4 << 20


def pytest_ignore_collect(collection_path, config):
    """Collect these tests only when asked for by path (or FDS_FAULTS_TESTS=1)."""
    return fdstest.collect_only_when_asked(collection_path, config, HERE, "FDS_FAULTS_TESTS")


def pytest_configure(config):
    config.addinivalue_line("markers", "outage: a 30 s outage window (about 35 s of test)")


def pytest_report_header(config):
    return [f"fdsd: {FDSD}", f"fdsctl: {FDSCTL}",
            f"S3 server: RGW via {conftest_rgw.RGW_SH}, behind tests/faultproxy.py"]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not faultcase.ROWS:
        return
    text = faultcase.report_table()
    terminalreporter.write_sep("=", "faults: one row per fault")
    terminalreporter.write(text)
    paths = []
    try:
        paths.append(os.path.join(str(config._tmp_path_factory.getbasetemp()),  # pylint: disable=protected-access
                                  "faults-report.md"))
    except AttributeError:
        pass
    if os.environ.get("FDS_FAULTS_REPORT"):
        paths.append(os.environ["FDS_FAULTS_REPORT"])
    for path in paths:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        terminalreporter.write_line(f"written to {path}")


# ---- the S3 server -----------------------------------------------------

@pytest.fixture(scope="session")
def rgw(tmp_path_factory):
    """The session's RGW: its env dict (AWS_ENDPOINT_URL, ..., RGW_DIR, RGW_PORT)."""
    yield from fdstest.rgw_session(
        conftest_rgw, str(tmp_path_factory.mktemp("rgw-faults") / "rgw"))


@pytest.fixture(scope="session")
def s3(rgw):
    """boto3 talking to RGW directly (path style, no retries): the oracle."""
    return conftest_rgw.boto3_client(rgw)


@pytest.fixture
def make_bucket(rgw, s3):
    """make_bucket() -> a new empty bucket's name; afterwards emptied (uploads
    left open aborted: the tests check for them first), deleted and, if big,
    garbage-collected."""
    yield from fdstest.make_buckets(conftest_rgw, rgw, s3, "faults", GC_AFTER_BYTES,
                                    abort_uploads=True)


@pytest.fixture
def bucket(make_bucket):
    return make_bucket()


# ---- the proxy ---------------------------------------------------------

@pytest.fixture
def proxy(rgw, tmp_path):
    """A FaultProxy in front of the session's RGW; its log (every request and
    what was done to it) is printed after the test, shown when it failed."""
    p = FaultProxy("127.0.0.1", rgw["RGW_PORT"], log_path=str(tmp_path / "proxy.log")).start()
    try:
        yield p
    finally:
        p.stop()
        print(f"---- proxy log ({len(p.requests)} requests) ----\n{p.log_text()[-30000:]}")


# ---- fdsd --------------------------------------------------------------

@pytest.fixture
def start_fds(tmp_path, rgw, proxy):
    """start_fds(args=(), env=None) -> faultcase.Fds: an fdsd whose S3
    endpoint is the test's proxy, with the RGW user's credentials in its
    environment, settings from an empty file and the test's own state
    directory (tmp_path/state, the same for every fdsd of the test). At teardown each gets
    SIGTERM and must exit 0 in time with no sanitizer report in its log."""
    daemons = []
    home = str(tmp_path / "home")
    os.makedirs(home, exist_ok=True)
    conf = tmp_path / "fdsd-empty.conf"
    conf.write_text("")
    state = str(tmp_path / "state")

    def start(args=(), env=None):
        e = fdstest.base_env(home)
        e.update(conftest_rgw.subprocess_env(rgw, base={}))
        e["AWS_ENDPOINT_URL"] = proxy.url
        # Uploads fdsd could not abort are kept in its state directory (for
        # root /var/lib/fds by default, shared by every run): one per test.
        e["STATE_DIRECTORY"] = state
        fdstest.update_env(e, env)
        d = Daemon(str(tmp_path), e, ["--config", str(conf), "--log-level", "debug", *args],
                   name=f"fdsd{len(daemons)}")
        daemons.append(d)
        d.start()
        return faultcase.Fds(d)

    yield start
    fdstest.stop_daemons(daemons)


@pytest.fixture
def fds(start_fds):
    return start_fds()


@pytest.fixture
def case(request, fds, proxy, s3, bucket, tmp_path):
    """A faultcase.Case: runs one fault's transfers, checks them against
    boto3 and records the fault's row of the report."""
    return faultcase.Case(request.node.name, fds, proxy, s3, bucket, tmp_path)
