# SPDX-License-Identifier: MIT
"""Memory comes back (issue 18, item 5): after a 200,000-entry call fdsd's
RSS returns to within 20% of its level before the call, and ten such calls
in a row do not creep. Size calls move nothing, and 200,000 keys may name a
handful of files, so the test needs no 200,000 files on disk."""

import os
import time

import pytest

from fdstest import FDSD, IFACE, write

N_ENTRIES = 200_000
N_FILES = 8


def is_asan_binary(path):
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS line")


def test_rss_comes_back_after_big_calls(start_fdsd, tmp_path):
    if is_asan_binary(FDSD):
        pytest.skip("ASan build: its quarantine keeps freed memory, so RSS says nothing")
    d = start_fdsd("--max-files", str(N_ENTRIES))
    paths = []
    for i in range(N_FILES):
        p = tmp_path / f"f{i}"
        write(str(p), b"x" * (i + 1))
        paths.append(str(p))
    files = {f"k{i:06d}": paths[i % N_FILES] for i in range(N_ENTRIES)}
    t0 = time.monotonic()
    with d.connect(timeout=120) as c:
        c.call(f"{IFACE}.Size", {"files": {"k": paths[0]}})  # warm up
        before = vm_rss_kib(d.proc.pid)
        rss = []
        for _ in range(10):
            out = c.call(f"{IFACE}.Size", {"files": files})
            assert len(out["sizes"]) == N_ENTRIES, list(out)
            del out
            rss.append(vm_rss_kib(d.proc.pid))
    took = time.monotonic() - t0
    print(f"\nfdsd VmRSS: before {before} KiB, after 1 call {rss[0]} KiB, "
          f"after 10 calls {rss[-1]} KiB (all: {rss}; {took:.1f} s)")
    assert rss[0] <= before * 1.2 + 1024, (before, rss)
    assert rss[-1] <= before * 1.2 + 1024, (before, rss)
    assert max(rss) <= before * 1.2 + 1024, (before, rss)
