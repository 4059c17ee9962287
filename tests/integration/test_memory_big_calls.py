# SPDX-License-Identifier: MIT
"""Memory comes back after big calls: fdsd's RSS after a 200,000-entry call
returns to within 20% (plus a little slack for the reply) of its level
before, and ten such calls in a row do not creep. Without the trim after
big calls it stayed at the call's peak (here 10 -> 120 MiB)."""

import os
import time

import pytest

from fdstest import FDSD, IFACE, is_asan_binary, write

N = 200_000


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(is_asan_binary(FDSD), reason="under ASan, RSS is the sanitizer's (quarantine, shadow)")
def test_rss_comes_back_after_200000_entry_calls(start_fdsd, tmp_path):
    d = start_fdsd("--max-files", str(N))
    src = write(str(tmp_path / "f"), b"x" * 100)
    files = {f"k{i}": src for i in range(N)}
    pid = d.proc.pid
    time.sleep(0.2)
    before = rss_mib(pid)
    after = []
    t0 = time.monotonic()
    with d.connect(timeout=120) as c:
        for _ in range(10):
            r = c.call(f"{IFACE}.Size", {"files": files})
            assert len(r["sizes"]) == N and r["errors"] == {}
            after.append(rss_mib(pid))
    print(f"RSS MiB before {before:.1f}, after 1 call {after[0]:.1f}, after 10 {after[-1]:.1f} "
          f"(all: {[round(a, 1) for a in after]}; {time.monotonic() - t0:.1f} s)")
    assert after[0] <= before * 1.2 + 2, (before, after)
    assert after[-1] <= before * 1.2 + 2, (before, after)
    assert max(after) - after[0] <= 4, f"creeps: {after}"
