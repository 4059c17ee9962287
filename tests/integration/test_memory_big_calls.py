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


def settled_rss_mib(pid, limit, timeout=2.0):
    """RSS once it is at most limit, or its last reading after timeout.
    The reply's last byte can reach us before fdsd has freed the call and
    trimmed (batch_free runs after the reply is written)."""
    deadline = time.monotonic() + timeout
    rss = rss_mib(pid)
    while rss > limit and time.monotonic() < deadline:
        time.sleep(0.02)
        rss = rss_mib(pid)
    return rss


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
            after.append(settled_rss_mib(pid, before * 1.2 + 2))
    print(f"RSS MiB before {before:.1f}, after 1 call {after[0]:.1f}, after 10 {after[-1]:.1f} "
          f"(all: {[round(a, 1) for a in after]}; {time.monotonic() - t0:.1f} s)")
    assert after[0] <= before * 1.2 + 2, (before, after)
    assert after[-1] <= before * 1.2 + 2, (before, after)
    assert max(after) - after[0] <= 4, f"creeps: {after}"


@pytest.mark.skipif(is_asan_binary(FDSD), reason="under ASan, RSS is the sanitizer's (quarantine, shadow)")
def test_rss_comes_back_after_many_small_calls(start_fdsd, tmp_path):
    """Calls too small to trim after, from many clients at once: once the
    daemon has been idle a second, RSS is back near where it started
    (without the idle trim it stayed at the peak: 11 -> 36 MiB after 64
    clients of 1,000 files)."""
    import threading
    d = start_fdsd()
    pid = d.proc.pid
    src = write(str(tmp_path / "f"), b"x" * 1024)
    clients, per = 32, 1000
    time.sleep(0.2)
    before = rss_mib(pid)
    errors = []

    def client(k):
        try:
            with d.connect(timeout=120) as c:
                copies = [{"src": src, "dst": str(tmp_path / f"c{k}" / f"d{i}")} for i in range(per)]
                r = c.call(f"{IFACE}.Copy", {"copies": copies})
                if r["summary"]["files_ok"] != per:
                    errors.append(r["summary"])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    peak = before
    while any(t.is_alive() for t in threads):
        peak = max(peak, rss_mib(pid))
        time.sleep(0.05)
    for t in threads:
        t.join()
    assert errors == []
    deadline = time.monotonic() + 5
    after = rss_mib(pid)
    while after > before * 1.2 + 3 and time.monotonic() < deadline:
        time.sleep(0.1)
        after = rss_mib(pid)
    print(f"RSS MiB before {before:.1f}, peak {peak:.1f}, after {after:.1f}")
    assert peak > before + 6, "the load did not grow the heap: the test shows nothing"
    assert after <= before * 1.2 + 3, (before, peak, after)
