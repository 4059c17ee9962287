# SPDX-License-Identifier: MIT
"""fds.calls / cancel / set_bandwidth / get_bandwidth against a real fdsd:
a do_copy running on a thread is seen, slowed or sped up, and canceled,
and failures are the builtin exceptions."""

import os
import threading
import time

import pytest

import fds

MIB = 1 << 20


def running_copy(tmp_path, opts, n=16, size=256 << 10):
    src = tmp_path / "src"
    src.mkdir()
    pairs = []
    for i in range(n):
        (src / f"f{i}").write_bytes(os.urandom(size))
        pairs.append((str(src / f"f{i}"), str(tmp_path / "out" / f"f{i}")))
    out = {}

    def run():
        try:
            out["results"] = fds.do_copy(pairs, opts)
        except Exception as e:  # noqa: BLE001 - the test looks at it
            out["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    end = time.monotonic() + 20
    while time.monotonic() < end:
        running = [c for c in fds.calls(opts) if c.state == "running"]
        if running:
            return t, out, running[0]
        time.sleep(0.05)
    raise AssertionError("the copy did not show in fds.calls()")


@pytest.fixture
def capped(rgw, fdsd):
    from conftest import s3_options  # pylint: disable=import-outside-toplevel
    o = s3_options(rgw, fdsd, local_parallelism=1,
                   transfer_config=fds.TransferConfig(max_bandwidth=1 * MIB))
    yield o
    o.close()


def test_calls_and_cancel_a_do_copy(capped, tmp_path):
    assert fds.calls(capped) == []
    t, out, call = running_copy(tmp_path, capped)
    assert isinstance(call, fds.CallInfo)
    assert (call.method, call.uid, call.pid, call.files, call.max_bandwidth) == \
        ("Copy", os.getuid(), os.getpid(), 16, MIB), call
    assert fds.cancel(call.id, capped) is True
    t.join(30)
    err = out.get("error")
    # Canceled files are failures of the batch, with every result kept.
    assert isinstance(err, fds.BatchError), out
    codes = {e.code for e in err.errors.values()}
    assert codes == {"Canceled"}, codes
    assert err.total == 16 and len(err.errors) + len(err.results) == 16, err
    with pytest.raises(ProcessLookupError, match=f"no running call has id {call.id}"):
        fds.cancel(call.id, capped)


def test_set_bandwidth_of_a_call(capped, tmp_path):
    t, out, call = running_copy(tmp_path, capped, n=24)
    uncapped = time.monotonic()
    fds.set_bandwidth(None, call.id, capped)
    t.join(30)
    took = time.monotonic() - uncapped
    assert not t.is_alive() and "error" not in out, out
    # The 6 MiB at the 1 MiB/s it started with would take 6 s.
    assert took < 3, took
    assert fds.calls(capped) == []
    assert len(out["results"]) == 24 and all(r.ok for r in out["results"])


def test_daemon_bandwidth(capped):
    assert fds.get_bandwidth(capped) is None
    fds.set_bandwidth(8 * MIB, s3_options=capped)
    assert fds.get_bandwidth(capped) == 8 * MIB
    fds.set_bandwidth(0, s3_options=capped)
    assert fds.get_bandwidth(capped) is None


@pytest.mark.parametrize("rate,call_id", [(-1, None), (1023, None), ((1 << 50) + 1, None),
                                          (True, None), (2048, -1), (2048, "3"), ("1M", None)])
def test_bad_values_are_value_errors(capped, rate, call_id):
    with pytest.raises(ValueError):
        fds.set_bandwidth(rate, call_id, capped)


def test_no_such_call(capped):
    with pytest.raises(ProcessLookupError):
        fds.set_bandwidth(MIB, 987654, capped)
    with pytest.raises(ValueError):
        fds.cancel(-2, capped)
