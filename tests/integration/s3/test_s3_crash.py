# SPDX-License-Identifier: MIT
"""fdsd killed with SIGKILL in the middle of batches of big files (issue
13): after each restart no destination is half-written, no temporary file
stays, and no multipart upload is left open on the server
(ListMultipartUploads, through boto3, is empty); every file and object
that exists is identical to its source. The crash journal in the state
directory is what the restart cleans up from."""

import os
import random
import time

import conftest_rgw
import fdstest
from s3fds import IFACE, Daemon, pattern, temp_files, write

MIB = 1 << 20
SIZE = 20 * MIB        # three 8 MiB parts: multipart up, ranged down
ROUNDS = 20            # batches, each killed at a random moment
RATE = 24 * MIB        # the daemon's cap, so a batch runs about 4 s


def uploads(s3, bucket):
    return s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def test_kill_9_mid_batch_leaves_nothing_behind(rgw, s3, bucket, tmp_path):
    rng = random.Random(13)
    state = str(tmp_path / "state")
    home = str(tmp_path / "home")
    os.makedirs(home)
    env = fdstest.base_env(home)
    env.update(conftest_rgw.subprocess_env(rgw, base={}))
    env["STATE_DIRECTORY"] = state
    src = {k: pattern(SIZE, i) for i, k in enumerate(("up0", "up1", "loc", "down0", "down1"))}
    paths = {k: write(str(tmp_path / "src" / k), v) for k, v in src.items()}
    for k in ("down0", "down1"):
        s3.put_object(Bucket=bucket, Key=f"src/{k}", Body=src[k])
    out = tmp_path / "out"
    daemons, kills = [], 0

    def start():
        d = Daemon(str(tmp_path), env, ["--max-bandwidth", str(RATE)], name=f"fdsd{len(daemons)}")
        daemons.append(d)
        d.start()
        return d

    try:
        for rnd in range(ROUNDS):
            d = start()
            pairs = [(paths["up0"], f"s3://{bucket}/r{rnd}/up0"), (paths["up1"], f"s3://{bucket}/r{rnd}/up1"),
                     (paths["loc"], str(out / f"r{rnd}" / "loc")),
                     (f"s3://{bucket}/src/down0", str(out / f"r{rnd}" / "down0")),
                     (f"s3://{bucket}/src/down1", str(out / f"r{rnd}" / "down1"))]
            c = d.connect()
            c.send(f"{IFACE}.Copy", {"copies": [{"src": s, "dst": t} for s, t in pairs],
                                     "options": {"parallelism": 5}}, more=True)
            time.sleep(rng.uniform(0.3, 2.5))
            d.kill()
            c.close()
            kills += 1
        # The last restart cleans up what the last kill left.
        d = start()
        deadline = time.monotonic() + 30
        while uploads(s3, bucket) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = uploads(s3, bucket)
        half = temp_files(str(out))
        complete, wrong = 0, []
        for rnd in range(ROUNDS):
            for k in ("loc", "down0", "down1"):
                p = out / f"r{rnd}" / k
                if p.exists():
                    complete += 1
                    if p.read_bytes() != src[k]:
                        wrong.append(str(p))
            for k in ("up0", "up1"):
                try:
                    body = s3.get_object(Bucket=bucket, Key=f"r{rnd}/{k}")["Body"].read()
                except s3.exceptions.NoSuchKey:
                    continue
                complete += 1
                if body != src[k]:
                    wrong.append(f"s3://{bucket}/r{rnd}/{k}")
        logs = "".join(x.log() for x in daemons)
        print(f"{ROUNDS} batches, {kills} kills: {complete} of {5 * ROUNDS} files complete, "
              f"{len(half)} temporaries left, {len(left)} uploads open, "
              f"{logs.count('aborted the multipart upload an earlier run left open')} aborted at start")
        assert left == [], left
        assert half == [], half
        assert wrong == [], wrong
        # The kills did land mid-transfer: something was cleaned up.
        assert "an earlier run did not end" in logs
    finally:
        fdstest.stop_daemons(daemons, exited_ok=True)
