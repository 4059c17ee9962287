#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The Python client against the seed's way, on the same data in the same run.

The seed's way: boto3 (Debian's) with a ThreadPoolExecutor(16) in one process.
fds: fds.do_copy / read_file_sizes / read_file_contents through one fdsd.
Both talk to a throw-away RGW on 127.0.0.1 (tests/harness/rgw/rgw.sh). Printed per
workload: wall seconds and this process's CPU seconds (user+sys, from
os.times(): the Python side; fdsd's and RGW's CPU are not counted) for each,
and the ratios seed/fds. Not a timed test: a measurement to read.

    FDSD=build/daemon/fdsd /usr/bin/python3 tests/bench/python.py [--small N] [--skip-procs]
"""

import argparse
import concurrent.futures
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.join(ROOT, "client", "python"), os.path.join(ROOT, "tests", "harness", "rgw")]

import conftest_rgw  # noqa: E402
import fds  # noqa: E402

FDSD = os.environ.get("FDSD") or os.path.join(ROOT, "build", "daemon", "fdsd")
POOL = 16


def measure(fn):
    t0, c0 = time.monotonic(), os.times()
    fn()
    c1 = os.times()
    return time.monotonic() - t0, (c1.user - c0.user) + (c1.system - c0.system)


def make_files(root, n, size):
    os.makedirs(root, exist_ok=True)
    paths = []
    for i in range(n):
        p = os.path.join(root, f"f{i:05d}")
        with open(p, "wb") as f:
            f.write(os.urandom(size))
        paths.append(p)
    return paths


def seed_map(fn, items):
    with concurrent.futures.ThreadPoolExecutor(POOL) as ex:
        return list(ex.map(fn, items))


def row(name, seed, mine, extra=""):
    (sw, sc), (fw, fc) = seed, mine
    print(f"{name:34s} seed {sw:7.3f} s {sc:6.2f} cpu | fds {fw:7.3f} s {fc:6.2f} cpu | "
          f"speed x{sw / fw:5.2f}  cpu 1/{sc / max(fc, 1e-3):5.1f} {extra}", flush=True)


def workloads(s3, opts, bucket, work, n, size, label):
    src = make_files(os.path.join(work, f"src-{label}"), n, size)
    keys = [f"{label}/f{i:05d}" for i in range(n)]
    down = os.path.join(work, f"down-{label}")

    def fresh(d):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d

    seed = measure(lambda: seed_map(lambda i: s3.upload_file(src[i], bucket, "s" + keys[i]), range(n)))
    mine = measure(lambda: fds.do_copy([(src[i], f"s3://{bucket}/{keys[i]}") for i in range(n)], opts))
    row(f"up   {label}", seed, mine)
    d = fresh(down + "-s")
    seed = measure(lambda: seed_map(lambda i: s3.download_file(bucket, keys[i], f"{d}/{i}"), range(n)))
    d2 = fresh(down + "-f")
    mine_down = measure(lambda: fds.do_copy([(f"s3://{bucket}/{keys[i]}", f"{d2}/{i}")
                                             for i in range(n)], opts))
    row(f"down {label}", seed, mine_down)
    seed = measure(lambda: seed_map(lambda i: s3.copy_object(
        Bucket=bucket, Key="c" + keys[i], CopySource={"Bucket": bucket, "Key": keys[i]}), range(n)))
    mine = measure(lambda: fds.do_copy([(f"s3://{bucket}/{keys[i]}", f"s3://{bucket}/d{keys[i]}")
                                        for i in range(n)], opts))
    row(f"s3->s3 {label}", seed, mine)
    seed = measure(lambda: seed_map(lambda k: s3.head_object(Bucket=bucket, Key=k), keys))
    mine = measure(lambda: fds.read_file_sizes({k: f"s3://{bucket}/{k}" for k in keys}, opts))
    row(f"read_file_sizes {label}", seed, mine)
    seed = measure(lambda: seed_map(lambda k: s3.get_object(Bucket=bucket, Key=k)["Body"].read(), keys))
    files = {k: f"s3://{bucket}/{k}" for k in keys}
    # Read answers at most the daemon's --max-read-bytes (64 MiB) a call.
    step = max(1, (48 << 20) // max(size, 1))
    chunks = [dict(list(files.items())[i:i + step]) for i in range(0, n, step)]
    mine = measure(lambda: [fds.read_file_contents(c, opts, method="read") for c in chunks])
    row(f"read_file_contents {label} (Read)", seed, mine,
        f"Read/do_copy-down wall {mine[0] / mine_down[0]:.2f}")
    mine = measure(lambda: fds.read_file_contents(files, opts, method="copy"))
    row(f"read_file_contents {label} (copy)", seed, mine,
        f"copy/do_copy-down wall {mine[0] / mine_down[0]:.2f}")


def _proc_seed(args):
    env, bucket, paths, prefix = args
    s3 = conftest_rgw.boto3_client(env)
    t0, c0 = time.monotonic(), os.times()
    seed_map(lambda i: s3.upload_file(paths[i], bucket, f"{prefix}/{i}"), range(len(paths)))
    c1 = os.times()
    return time.monotonic() - t0, c1.user - c0.user + c1.system - c0.system


def _proc_fds(args):
    opts, bucket, paths, prefix = args
    t0, c0 = time.monotonic(), os.times()
    fds.do_copy([(p, f"s3://{bucket}/{prefix}/{i}") for i, p in enumerate(paths)], opts)
    c1 = os.times()
    return time.monotonic() - t0, c1.user - c0.user + c1.system - c0.system


def processes(env, opts, bucket, work):
    paths = make_files(os.path.join(work, "procs"), 2000, 4096)
    parts = [paths[i * 250:(i + 1) * 250] for i in range(8)]
    ctx = multiprocessing.get_context("fork")
    out = {}
    for name, fn, arg in (("seed", _proc_seed, env), ("fds", _proc_fds, opts)):
        t0 = time.monotonic()
        with ctx.Pool(8) as pool:
            res = pool.map(fn, [(arg, bucket, parts[i], f"p{name}{i}") for i in range(8)])
        out[name] = (time.monotonic() - t0, sum(c for _, c in res))
    row("8 procs x 250 x 4 KiB up", out["seed"], out["fds"], "(cpu: sum of the 8 processes)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--medium", type=int, default=100)
    ap.add_argument("--skip-procs", action="store_true")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="fds-pybench-")
    rgw_dir = os.path.join(work, "rgw")
    env = conftest_rgw.start(rgw_dir)
    fdsd = None
    try:
        sock = os.path.join(work, "fdsd.sock")
        conf = os.path.join(work, "empty.conf")
        open(conf, "w").close()
        fdsd = subprocess.Popen([FDSD, "--socket", sock, "--config", conf, "--log-level", "warning"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ, "STATE_DIRECTORY": os.path.join(work, "state")})
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        s3 = conftest_rgw.boto3_client(env, max_pool_connections=POOL)
        bucket = "pybench"
        s3.create_bucket(Bucket=bucket)
        opts = fds.S3Options(endpoint_url=env["AWS_ENDPOINT_URL"], region=env["AWS_REGION"],
                             addressing_style="path", access_key_id=env["AWS_ACCESS_KEY_ID"],
                             secret_access_key=env["AWS_SECRET_ACCESS_KEY"], socket=sock)
        fds.status(opts)
        print(f"fdsd {FDSD}; RGW {env['AWS_ENDPOINT_URL']}; seed = boto3 + ThreadPoolExecutor({POOL})")
        workloads(s3, opts, bucket, work, args.small, 4096, f"{args.small}x4KiB")
        workloads(s3, opts, bucket, work, args.medium, 1 << 20, f"{args.medium}x1MiB")
        if not args.skip_procs:
            processes(env, opts, bucket, work)
    finally:
        if fdsd is not None:
            fdsd.terminate()
            fdsd.wait()
        conftest_rgw.stop(rgw_dir)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
