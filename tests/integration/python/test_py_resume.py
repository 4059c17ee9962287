# SPDX-License-Identifier: MIT
"""do_copy(resume=...): fdsd killed with SIGKILL mid-batch and started
again on the same socket and state directory; the call waits for it and
sends again only the files that had not finished, and returns every
result as if nothing happened. Without resume those files fail."""

import os
import re
import threading
import time

import pytest

import fds
import fdstest
from s3fds import Daemon

MIB = 1 << 20


def make_pairs(tmp_path, n=8):
    data = {i: os.urandom(MIB) for i in range(n)}
    pairs = [(fdstest.write(str(tmp_path / "src" / f"f{i}"), data[i]), str(tmp_path / "out" / f"f{i}"))
             for i in range(n)]
    return data, pairs


def crashing_daemon(tmp_path):
    env = fdstest.base_env(str(tmp_path / "home"))
    env["STATE_DIRECTORY"] = str(tmp_path / "state")
    # 2 MiB/s, one file at a time: the batch takes about 4 s.
    return Daemon(str(tmp_path), env, ["--max-bandwidth", str(2 * MIB), "--parallelism", "1"], name="again")


def kill_after(d, results, n):
    deadline = time.monotonic() + 30
    while len(results) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    d.kill()


def crash_after(tmp_path, n):
    """A started crashing daemon, its 8 pairs, and a thread that kills it
    once n results have arrived in `seen` (the call's progress list)."""
    os.makedirs(tmp_path / "home", exist_ok=True)
    data, pairs = make_pairs(tmp_path)
    first = crashing_daemon(tmp_path)
    first.start()
    seen = []
    killer = threading.Thread(target=kill_after, args=(first, seen, n))
    killer.start()
    return data, pairs, first, seen, killer


def test_resume_sends_again_what_had_not_finished(start_fdsd, tmp_path):
    data, pairs, first, seen, killer = crash_after(tmp_path, 3)
    opts = fds.S3Options(socket=first.socket)

    second = []

    def restart():
        killer.join()
        time.sleep(0.5)  # the client finds no socket for a while
        second.append(start_fdsd("--parallelism", "4", name="again"))

    t = threading.Thread(target=restart)
    t.start()
    try:
        out = fds.do_copy(pairs, opts, progress=seen.append, resume=30)
    finally:
        t.join()
        opts.close()
    assert [r.index for r in out] == list(range(8))
    assert all(r.ok for r in out)
    assert sorted(r.index for r in seen) == list(range(8)), "each file reported once"
    for i, (_, dst) in enumerate(pairs):
        assert open(dst, "rb").read() == data[i]
    assert fdstest.temp_files(str(tmp_path / "out")) == []
    assert first.proc.returncode == -9
    # Only what had not finished went again: at most the 5 after the kill.
    sent = [int(n) for n in re.findall(r"batch \d+: Copy from uid \d+ pid \d+: (\d+) ok", second[0].log())]
    assert len(sent) == 1 and 1 <= sent[0] <= 5, sent


def test_without_resume_the_rest_fail(tmp_path):
    _, pairs, first, seen, killer = crash_after(tmp_path, 2)
    opts = fds.S3Options(socket=first.socket)
    try:
        with pytest.raises(fds.BatchError) as e:
            fds.do_copy(pairs, opts, progress=seen.append)
    finally:
        killer.join()
        opts.close()
    failed = e.value.errors
    assert 1 <= len(failed) <= 6, failed
    assert all("fdsd closed the connection" in f.message for f in failed.values())
    assert len(e.value.results) + len(failed) == 8


def test_resume_must_be_a_duration():
    with pytest.raises(ValueError):
        fds.do_copy([("/a", "/b")], resume=-1)
