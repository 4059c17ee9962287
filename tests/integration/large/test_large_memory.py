# SPDX-License-Identifier: MIT
"""The daemon-wide buffer budget bounds fdsd's memory, whatever the number
and size of the files in flight: a batch of six 30 MiB files up (multipart)
and down (ranged) would want 6 files x 4..6 parts x 5..8 MiB = 180..192 MiB
of part buffers at once without it."""

import os

import pytest

from fdslarge import FDSD, MiB, fdsd_help, is_asan_binary, pattern, read, write

FILES = 6
SIZE = 30 * MiB
# Beyond the budget: code, libraries, curl, the loop, and (ASan builds) the
# sanitizer's own bookkeeping.
SLACK = 60 * MiB


def run_batches(fds, s3, bucket, tmp_path, transfer):
    srcs = [write(str(tmp_path / "up" / f"f{i}.bin"), pattern(SIZE, 50 + i)) for i in range(FILES)]
    up = fds.copy([(p, f"s3://{bucket}/f{i}.bin") for i, p in enumerate(srcs)], transfer=transfer)
    assert all(r["ok"] for r in up), up
    hwm_up = fds.daemon.vm("VmHWM")
    down = fds.copy([(f"s3://{bucket}/f{i}.bin", str(tmp_path / "down" / f"f{i}.bin"))
                     for i in range(FILES)], transfer=transfer)
    assert all(r["ok"] for r in down), down
    for i in range(FILES):
        assert read(str(tmp_path / "down" / f"f{i}.bin")) == pattern(SIZE, 50 + i)
        os.unlink(str(tmp_path / "down" / f"f{i}.bin"))
        os.unlink(srcs[i])
    return hwm_up, fds.daemon.vm("VmHWM")


@pytest.mark.parametrize("budget,chunk", [(None, 8 * MiB), (16 * MiB, 5 * MiB)],
                         ids=["default-64MiB", "flag-16MiB"])
def test_buffer_budget_bounds_memory(start_fds, s3, bucket, tmp_path, budget, chunk):
    args = []
    if budget is None:
        budget = 64 * MiB  # the interface's documented default
    else:
        if "--buffer-memory" not in fdsd_help():
            pytest.skip("fdsd has no --buffer-memory flag (see fdsd --help)")
        args = ["--buffer-memory", str(budget)]
    env = None
    if is_asan_binary(FDSD):
        # ASan keeps freed memory in a quarantine (256 MiB by default), which
        # would count against the bound: keep it small (recent frees are
        # still checked).
        opts = os.environ.get("ASAN_OPTIONS", "")
        env = {"ASAN_OPTIONS": (opts + ":" if opts else "") + "quarantine_size_mb=16"}
    fds = start_fds("rgw", args=args, env=env)
    hwm_up, hwm = run_batches(fds, s3, bucket, tmp_path, {"multipart_chunksize": chunk})
    print(f"VmHWM after the uploads {hwm_up / MiB:.1f} MiB, after the downloads {hwm / MiB:.1f} MiB")
    assert hwm < budget + SLACK, (
        f"fdsd's peak RSS {hwm / MiB:.1f} MiB exceeds its {budget / MiB:.0f} MiB buffer budget "
        f"+ {SLACK / MiB:.0f} MiB (after the uploads: {hwm_up / MiB:.1f} MiB)")


def test_no_memory_growth_per_s3_error_reply(start_fds, s3, bucket, tmp_path):
    """Every S3 reply with an XML body (errors, CreateMultipartUpload,
    CompleteMultipartUpload, UploadPartCopy, CopyObject, listings) is parsed;
    the parser must be freed afterwards. 3000 downloads of missing keys
    without validation (3000 GETs answered 404 with an XML error document)
    must not grow fdsd's memory, once warmed up."""
    if is_asan_binary(FDSD):
        pytest.skip("ASan build: its quarantine keeps freed memory, so RSS growth says nothing "
                    "(LeakSanitizer checks for leaks when each fdsd exits)")
    fds = start_fds("rgw")

    def fetch_missing(n, tag):
        pairs = [(f"s3://{bucket}/missing-{tag}-{i}", str(tmp_path / "out" / f"{tag}-{i}"))
                 for i in range(n)]
        results = fds.copy(pairs, validate=False)
        assert {(r["ok"], r["error"]["code"], r["error"]["http_status"]) for r in results} == {
            (False, "NotFound", 404)}, results[:3]

    fetch_missing(500, "warm")
    before = fds.daemon.vm("VmRSS")
    fetch_missing(3000, "a")
    grown = fds.daemon.vm("VmRSS") - before
    # A leaked parser is ~9 KiB (LeakSanitizer's count): 3000 would be ~27 MiB.
    assert grown < 8 * MiB, (
        f"fdsd's RSS grew by {grown / MiB:.1f} MiB over 3000 S3 error replies "
        f"({grown / 3000:.0f} bytes each): are the XML parsers freed?")
