# SPDX-License-Identifier: MIT
"""fds.dask on a real distributed.LocalCluster of 2 worker processes, each
with its own fdsd on its own socket (named by the worker's environment, as
on a cluster with one fdsd per node), against RGW."""

import copy
import logging
import os
import random
import re

import pytest

import fdstest
from conftest import ROOT, s3_options

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
import fds.dask  # noqa: E402


def served(daemon):
    """(client pid, files) of every batch in fdsd's log."""
    return [(int(pid), int(ok) + int(bad)) for pid, ok, bad in re.findall(
        r"batch \d+: \w+ from uid \d+ pid (\d+): (\d+) ok, (\d+) failed", daemon.log())]


def test_each_worker_uses_its_own_nodes_fdsd(rgw, start_fdsd, s3, bucket, tmp_path):
    daemons = [start_fdsd(name="node0"), start_fdsd(name="node1")]
    cluster = distributed.LocalCluster(n_workers=0, processes=True, threads_per_worker=2,
                                       dashboard_address=None, silence_logs=logging.ERROR)
    try:
        pythonpath = os.pathsep.join(filter(None, [os.path.join(ROOT, "client", "python"),
                                                   os.environ.get("PYTHONPATH")]))
        for i, d in enumerate(daemons):
            spec = copy.deepcopy(cluster.new_spec)
            spec["options"]["env"] = {"FDS_SOCKET": d.socket, "PYTHONPATH": pythonpath}
            cluster.worker_spec[f"node{i}"] = spec
        cluster.sync(cluster._correct_state)  # pylint: disable=protected-access
        with distributed.Client(cluster) as client:
            client.wait_for_workers(2, timeout=120)
            pids = client.run(os.getpid)
            socks = client.run(lambda: os.environ["FDS_SOCKET"])
            pid_of_socket = {socks[w]: pids[w] for w in pids}
            assert sorted(pid_of_socket) == sorted(d.socket for d in daemons)

            rng = random.Random(5)
            n = 400
            data = [rng.randbytes(rng.randint(1, 2000)) for _ in range(n)]
            paths = [fdstest.write(str(tmp_path / "src" / f"{i:03d}"), b) for i, b in enumerate(data)]
            df = pd.DataFrame({"path": paths + [None] * 8}, index=range(1000, 1000 + n + 8))
            ddf = dd.from_pandas(df, npartitions=8)
            # No socket in the options: each worker finds its own in its environment.
            o = s3_options(rgw, daemons[0])
            o.socket = None

            up = fds.dask.write_files(ddf, "path", f"s3://{bucket}/dask", o).compute()
            assert list(up.index) == list(df.index) and up["path"].isna().sum() == 8
            sizes = fds.dask.into_size_table(dd.from_pandas(up, npartitions=8), "path", o).compute()
            blobs = fds.dask.into_blob_table(dd.from_pandas(up, npartitions=8), "path", o).compute()
            for i in range(n):
                key = up["path"].iloc[i][len(f"s3://{bucket}/"):]
                assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(data[i])
                assert sizes["path"].iloc[i] == len(data[i])
                assert blobs["path"].iloc[i] == data[i]
            assert sizes["path"].iloc[n:].isna().all() and blobs["path"].iloc[n:].isna().all()
    finally:
        cluster.close()

    # Each daemon served its own worker's files and no one else's, and
    # between them every file of the three passes.
    total = 0
    for d in daemons:
        batches = served(d)
        assert batches, f"{d.socket} served nothing"
        assert {pid for pid, _ in batches} == {pid_of_socket[d.socket]}, batches
        total += sum(files for _, files in batches)
    assert total == 3 * n
