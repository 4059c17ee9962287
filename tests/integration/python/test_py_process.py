# SPDX-License-Identifier: MIT
"""One S3Options shared by threads and forked processes; connections reused,
nothing leaked."""

import multiprocessing
import os
import re
from concurrent.futures import ThreadPoolExecutor

import fds
import fdstest


def fd_count():
    return len(os.listdir("/proc/self/fd"))


def batch_pids(daemon):
    """The client pid of each batch in fdsd's log (SO_PEERCRED)."""
    return [int(p) for p in re.findall(r"batch \d+: \w+ from uid \d+ pid (\d+)", daemon.log())]


def test_sixteen_threads_share_one_s3options(opts, fdsd, s3, bucket, tmp_path):
    def work(t):
        data = {f"t{t}/f{i}": os.urandom(100 + t * 10 + i) for i in range(20)}
        pairs = []
        for k, v in data.items():
            pairs.append((fdstest.write(str(tmp_path / k), v), f"s3://{bucket}/{k}"))
        fds.do_copy(pairs, opts)
        got = fds.read_file_contents({k: f"s3://{bucket}/{k}" for k in data}, opts)
        sizes = fds.read_file_sizes({k: f"s3://{bucket}/{k}" for k in data}, opts)
        return got == data and sizes == {k: len(v) for k, v in data.items()}

    with ThreadPoolExecutor(16) as ex:
        assert all(ex.map(work, range(16)))
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) == 320
    # One connection per call in flight at most, reused afterwards.
    assert 1 <= opts.pool().opened <= 16, opts.pool().opened
    before = opts.pool().opened
    fds.read_file_sizes({"a": f"s3://{bucket}/t0/f0"}, opts)
    assert opts.pool().opened == before


def test_fork_child_opens_its_own_connection(opts, fdsd, s3, bucket, tmp_path):
    src = fdstest.write(str(tmp_path / "a"), b"parent")
    fds.do_copy([(src, f"s3://{bucket}/p")], opts)  # the pool now holds a connection
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(r)
            fds.do_copy([(f"s3://{bucket}/p", str(tmp_path / "child"))], opts)
            got = fds.read_file_contents({"p": f"s3://{bucket}/p"}, opts)
            code = 0 if got == {"p": b"parent"} else 3
        finally:
            os.write(w, b"%d" % code)
            os._exit(code)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    assert os.read(r, 10) == b"0" and status == 0
    os.close(r)
    # The parent's connection still works, and was never the child's.
    assert fds.read_file_contents({"p": f"s3://{bucket}/p"}, opts) == {"p": b"parent"}
    assert fdstest.read(str(tmp_path / "child")) == b"parent"
    pids = batch_pids(fdsd)
    assert pids.count(pid) == 2 and pids.count(os.getpid()) == 2, pids


def _mp_work(args):
    opts, src, dst = args
    fds.do_copy([(src, dst)], opts)
    return os.getpid()


def test_multiprocessing_workers_with_pickled_options(opts, fdsd, s3, bucket, tmp_path):
    fds.status(opts)  # a connection in the parent's pool before the fork
    srcs = [fdstest.write(str(tmp_path / f"f{i}"), b"m%d" % i) for i in range(8)]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        pids = pool.map(_mp_work, [(opts, s, f"s3://{bucket}/m{i}") for i, s in enumerate(srcs)])
    assert len(set(pids)) >= 1 and os.getpid() not in pids
    for i in range(8):
        assert s3.get_object(Bucket=bucket, Key=f"m{i}")["Body"].read() == b"m%d" % i
    assert set(batch_pids(fdsd)) >= set(pids)


def test_repeated_calls_leak_no_descriptors(opts, s3, bucket, tmp_path):
    src = fdstest.write(str(tmp_path / "a"), b"x" * 100)
    s3.put_object(Bucket=bucket, Key="k", Body=b"k" * 10)

    def calls():
        fds.do_copy([(src, f"s3://{bucket}/a"), (f"s3://{bucket}/k", str(tmp_path / "k"))], opts)
        fds.read_file_sizes({"a": src, "k": f"s3://{bucket}/k"}, opts)
        fds.read_file_contents({"k": f"s3://{bucket}/k"}, opts)
        fds.read_file_contents({"k": f"s3://{bucket}/k"}, opts, method="copy")
        try:
            fds.read_file_sizes({"x": f"s3://{bucket}/missing"}, opts)
        except FileNotFoundError:
            pass
        # An abandoned stream: its connection is closed, not reused.
        it = fds.copy_iter([(src, str(tmp_path / "b"))], opts)
        next(it)
        it.close()

    calls()
    before = fd_count()
    for _ in range(50):
        calls()
    assert fd_count() == before
    opened = opts.pool().opened
    assert opened <= 55, "one fresh connection per abandoned stream, the rest reused"
    fds.status(opts)  # leaves one idle connection in the pool
    assert fd_count() == before + 1
    opts.close()
    assert fd_count() == before, "close() closes the idle connection"
