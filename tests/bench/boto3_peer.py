#!/usr/bin/python3
"""boto3 peer of the fds benchmark: the approach fds replaces.

    boto3_peer.py up|down|copy PAIRS [THREADS]

PAIRS holds one SRC<TAB>DST line per file (local paths or s3://BUCKET/KEY).
Every file is one upload_file / download_file / copy call of one shared client,
submitted to a ThreadPoolExecutor(THREADS) (default 16); each call uses boto3's
default TransferConfig (multipart from 8 MiB, 8 MiB parts, 10 threads per file).

Timing is taken inside the process: from after `import boto3` and the client's
creation to the last call's end (an application pays the import and the client
once). Prints one JSON line: wall and CPU seconds (getrusage of the whole process,
all threads) over that interval, and the number of failed files. Exit 1 if any failed.
Endpoint and credentials come from the environment (AWS_ENDPOINT_URL, ...).
"""

import json
import os
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import botocore.config


def split_s3(url):
    bucket, key = url[len("s3://"):].split("/", 1)
    return bucket, key


def cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in ("up", "down", "copy"):
        sys.stderr.write(__doc__)
        return 2
    mode, pairs_path = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[3]) if len(sys.argv) == 4 else 16
    with open(pairs_path, encoding="utf-8") as f:
        pairs = [line.rstrip("\n").split("\t") for line in f if line.strip()]

    client = boto3.session.Session().client(
        "s3",
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        # One connection per worker thread (the default pool of 10 would make
        # 16 threads discard and reopen connections).
        config=botocore.config.Config(max_pool_connections=threads),
    )

    def one(pair):
        src, dst = pair
        if mode == "up":
            client.upload_file(src, *split_s3(dst))
        elif mode == "down":
            client.download_file(*split_s3(src), dst)
        else:
            sb, sk = split_s3(src)
            client.copy({"Bucket": sb, "Key": sk}, *split_s3(dst))

    t0, c0 = time.monotonic(), cpu_seconds()
    failed, first_error = 0, None
    with ThreadPoolExecutor(threads) as pool:
        for fut in [pool.submit(one, p) for p in pairs]:
            try:
                fut.result()
            except Exception as e:  # noqa: BLE001 - report any failure
                failed += 1
                if first_error is None:
                    first_error = "%s: %s" % (type(e).__name__, e)
    wall, cpu = time.monotonic() - t0, cpu_seconds() - c0
    print(json.dumps({"wall": wall, "cpu": cpu, "files": len(pairs),
                      "failed": failed, "first_error": first_error}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
