# SPDX-License-Identifier: MIT
"""S3Options(priority=N): checked in Python (1..100, else ValueError), sent
as options.priority with every call that takes options, and accepted by a
real fdsd (local files only: no S3 server needed). What the priority does
to the daemon's scheduling is tests/integration/test_fairshare.py's."""

import pickle

import pytest

import fds
import fdstest
from fds import _varlink


@pytest.mark.parametrize("bad", [0, -1, 101, 1000, 1.5, 40.0, "40", True, False, [40]])
def test_priority_outside_1_to_100_is_a_value_error(bad):
    with pytest.raises(ValueError, match=r"priority must be None or an integer from 1 to 100, not "):
        fds.S3Options(priority=bad)


@pytest.mark.parametrize("good", [None, 1, 10, 40, 100])
def test_priority_in_range_is_kept(good):
    o = fds.S3Options(priority=good)
    assert o.priority == good
    assert ("priority" in o.wire()) == (good is not None)
    if good is not None:
        assert o.wire() == {"priority": good}
        assert f"priority={good}" in repr(o)
    else:
        assert "priority" not in repr(o)


def test_priority_with_the_other_options_and_through_pickle():
    o = fds.S3Options(region="r", local_parallelism=2, priority=40,
                      transfer_config=fds.TransferConfig(max_bandwidth=1 << 20))
    assert o.wire() == {"parallelism": 2, "priority": 40, "transfer": {"max_bandwidth": 1 << 20},
                        "s3": {"region": "r"}}
    # As sent to a Dask or multiprocessing worker.
    p = pickle.loads(pickle.dumps(o))
    assert p.priority == 40 and p.wire() == o.wire()
    # One pickled by a client that had no priority yet.
    state = o.__getstate__()
    del state["priority"]
    old = fds.S3Options.__new__(fds.S3Options)
    old.__setstate__(state)
    assert old.priority is None and "priority" not in old.wire()


@pytest.fixture
def sent(monkeypatch):
    """Every (method, parameters) the client sends, the call itself going
    on to the daemon."""
    seen = []
    real = _varlink.Pool.stream

    def spy(self, method, parameters, more=True):
        seen.append((method.rsplit(".", 1)[-1], parameters))
        return real(self, method, parameters, more)
    monkeypatch.setattr(_varlink.Pool, "stream", spy)
    return seen


def test_priority_reaches_every_call(fdsd, tmp_path, sent):
    src = fdstest.write(str(tmp_path / "src" / "a"), b"abc")
    with fds.S3Options(socket=fdsd.socket, priority=40) as o:
        assert [r.ok for r in fds.do_copy([(src, str(tmp_path / "out" / "a"))], o)] == [True]
        assert fds.read_file_sizes({"a": src}, o) == {"a": 3}
        assert fds.read_file_contents({"a": src}, o) == {"a": b"abc"}
        assert [e.path for e in fds.list_files(str(tmp_path / "src"), o)] == [src]
    by_method = {m: p for m, p in sent}
    assert {"Copy", "Size", "List"} <= set(by_method), sent
    # read_file_contents goes by Read or by a Copy into a temporary
    # directory: either way with the priority.
    assert sum(m in ("Read", "Copy") for m, _ in sent) >= 2, sent
    for method, params in sent:
        assert params["options"]["priority"] == 40, (method, params)
    assert fdstest.read(str(tmp_path / "out" / "a")) == b"abc"


def test_no_priority_sends_none(fdsd, tmp_path, sent):
    src = fdstest.write(str(tmp_path / "a"), b"abc")
    with fds.S3Options(socket=fdsd.socket) as o:
        fds.do_copy([(src, str(tmp_path / "b"))], o)
    assert sent and all("priority" not in p.get("options", {}) for _, p in sent), sent


def test_the_daemon_checks_the_priority_too(fdsd, tmp_path):
    """What the client sends is what fdsd sees: a priority forced past the
    constructor's check is refused by the daemon, naming the option."""
    src = fdstest.write(str(tmp_path / "a"), b"abc")
    with fds.S3Options(socket=fdsd.socket, priority=40) as o:
        o.priority = 101
        with pytest.raises(fds.DaemonError) as e:
            fds.do_copy([(src, str(tmp_path / "b"))], o)
    assert e.value.name == "org.varlink.service.InvalidParameter", e.value
    assert e.value.parameters == {"parameter": "options.priority"}, e.value.parameters
