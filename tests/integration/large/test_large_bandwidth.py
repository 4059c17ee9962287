# SPDX-License-Identifier: MIT
"""Bandwidth caps: options.transfer.max_bandwidth (per call) and, when fdsd
has the flag, --max-bandwidth (the whole daemon). fdsd talks to RGW
directly here, so the proxy's own speed plays no part; each capped transfer
lasts about 3 s, so the token bucket's 50 ms burst and the requests around
the data (HEAD, create, complete, rename) stay well within the 10 % allowed.

The cap must never be exceeded by more than 10 %. That it is also reached
(at least 90 %) is asserted when the same transfer uncapped, just before,
ran at four times the cap or more (an idle machine does 10 to 25 times); on
a machine too busy for that (an ASan
build next to other test suites on 2 cores), only the upper bound is
judged and the test says so in its output."""

import os
import threading
import time

import pytest

from fdslarge import MiB, fdsd_help, pattern, read, write

TOLERANCE = 0.10
CAP = 4 * MiB
SIZE = 12 * MiB


def check_rate(nbytes, seconds, cap, baseline_seconds):
    rate = nbytes / seconds
    baseline = nbytes / baseline_seconds
    what = (f"{nbytes} bytes in {seconds:.3f} s = {rate / MiB:.2f} MiB/s, cap {cap / MiB:.2f} MiB/s "
            f"(allowed +-{TOLERANCE:.0%}); uncapped just before: {baseline / MiB:.1f} MiB/s")
    print(what)
    assert rate <= (1 + TOLERANCE) * cap, "the cap was exceeded: " + what
    if baseline >= 4 * cap:
        assert rate >= (1 - TOLERANCE) * cap, "the cap was not reached: " + what
    else:
        print("the machine is too busy to judge whether the cap is reached; upper bound only")


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return r, time.monotonic() - t0


@pytest.mark.parametrize("direction,transfer", [
    ("upload", {"multipart_chunksize": 5 * MiB}),       # multipart, 3 parts in flight
    ("download", {"multipart_chunksize": 5 * MiB}),     # ranged, 3 ranges in flight
    ("upload", {"multipart": False}),                    # one streamed PUT
    ("download", {"multipart": False}),                  # one GET
], ids=["multipart-upload", "ranged-download", "single-put", "single-get"])
def test_call_bandwidth_cap(fds_direct, s3, bucket, tmp_path, direction, transfer):
    data = pattern(SIZE, 41)
    local = str(tmp_path / "f.bin")
    if direction == "upload":
        write(local, data)
        pair = (local, f"s3://{bucket}/f.bin")
    else:
        s3.put_object(Bucket=bucket, Key="f.bin", Body=data)
        pair = (f"s3://{bucket}/f.bin", local)
    r, baseline = timed(lambda: fds_direct.copy1(*pair, transfer=transfer))
    assert r["ok"], r
    r, elapsed = timed(lambda: fds_direct.copy1(*pair, transfer=dict(transfer, max_bandwidth=CAP)))
    assert r["ok"], r
    if direction == "download":
        assert read(local) == data
    else:
        assert s3.get_object(Bucket=bucket, Key="f.bin")["Body"].read() == data
    check_rate(SIZE, elapsed, CAP, baseline)


def test_daemon_bandwidth_cap_shared_by_calls(start_fds, s3, bucket, tmp_path):
    """Two calls at once, neither capped: together they keep to the daemon's cap."""
    if "--max-bandwidth" not in fdsd_help():
        pytest.skip("fdsd has no --max-bandwidth flag (see fdsd --help)")
    capped = start_fds("rgw", args=["--max-bandwidth", str(CAP)])
    free = start_fds("rgw")
    size = SIZE // 2
    srcs = [write(str(tmp_path / f"f{i}.bin"), pattern(size, 42 + i)) for i in range(2)]

    def both(fds):
        results = [None, None]

        def run(i):
            results[i] = fds.copy1(srcs[i], f"s3://{bucket}/f{i}.bin")

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert all(r and r["ok"] for r in results), results

    _, baseline = timed(lambda: both(free))
    _, elapsed = timed(lambda: both(capped))
    check_rate(2 * size, elapsed, CAP, baseline)
    for p in srcs:
        os.unlink(p)
