# SPDX-License-Identifier: MIT
"""Fair shares of the daemon's slots (daemon/batch/scheduler.c), seen from
outside: a real fdsd with two slots (--max-inflight 2), two callers on two
connections of one user, each streaming a Copy of 40 small local files.

The order of the starts must be the scheduler's, not the machine's: both
calls are queued behind a blocker (a call whose two files crawl at 64 KiB/s
and hold both slots) until Calls shows them validated and waiting, then the
blocker is canceled and the slots go to them. A daemon-wide cap of 1 MiB/s
spaces the 32 KiB files about 31 ms apart, so the results' arrival times on
the connections give the daemon's order of completions, with room to spare
for a loaded machine. As root, a last test adds another user's call."""

import json
import os
import pwd
import shutil
import subprocess
import threading
import time

import pytest

from fdstest import (FDSCTL, IFACE, assert_no_sanitizer_reports, need_fdsctl, pattern, read, rmtree,
                     shared_tmpdir, Streamed, wait_for, write)

KIB = 1 << 10
MIB = 1 << 20
N = 40
SIZE = 32 * KIB
SLOTS = 2


class FdsctlCopy:
    """The same through `fdsctl --json copy --batch -` with args, run by
    user (a uid, through setpriv; None: this process's): each result line
    with the time it arrived."""

    def __init__(self, fdsd, pairs, args, user=None):
        need_fdsctl()
        priv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] \
            if user is not None else []
        self.proc = subprocess.Popen(priv + [FDSCTL, "--socket", fdsd.socket, "--json", *args,
                                             "copy", "--batch", "-"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.proc.stdin.write("".join(f"{s}\t{d}\n" for s, d in pairs).encode())
        self.proc.stdin.close()
        self.results, self.last, self.error = [], None, None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for line in self.proc.stdout:
                o = json.loads(line)
                if "summary" in o:
                    self.last = {"parameters": o}
                else:
                    self.results.append((time.monotonic(), o))
        except Exception as e:  # noqa: BLE001 - reported by join()
            self.error = e

    def join(self, timeout=30):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "fdsctl did not end"
        rc = self.proc.wait(timeout)
        err = self.proc.stderr.read().decode(errors="replace")
        assert_no_sanitizer_reports(err)
        assert self.error is None, self.error
        assert rc == 0, err
        return self.last


def calls(fdsd):
    with fdsd.connect() as c:
        return c.call(f"{IFACE}.Calls")["calls"]


def make_pairs(root, name, n=N):
    return [(write(f"{root}/{name}/src/f{i:03d}", pattern(SIZE, i, name.encode())),
             f"{root}/{name}/out/f{i:03d}") for i in range(n)]


def race(d, root, callers):
    """The calls of callers ({name: start(fdsd, pairs) -> Streamed or
    FdsctlCopy}), each of N files of its own under root, queued together
    behind the blocker, then let go: their merged completions as a list of
    names, in the order they arrived."""
    big = [(write(f"{root}/blk/src/b{i}", pattern(4 * MIB, i, b"blk")), f"{root}/blk/out/b{i}")
           for i in range(SLOTS)]
    blocker_conn = d.connect(timeout=60)
    blocker_conn.send(f"{IFACE}.Copy", {
        "copies": [{"src": s, "dst": t} for s, t in big],
        "options": {"parallelism": SLOTS, "transfer": {"max_bandwidth": 64 * KIB}}})
    blocker = wait_for(lambda: next((c for c in calls(d) if c["files_in_flight"] == SLOTS), None),
                       what="the blocker holding every slot")
    running = {}
    for name, start in callers.items():
        pairs = make_pairs(root, name)
        running[name] = (start(d, pairs), pairs)

    def queued():
        now = {c["id"]: c for c in calls(d)}
        waiting = [c for c in now.values() if c["id"] != blocker["id"] and c["state"] == "running"
                   and c["files_queued"] == N and c["files_in_flight"] == 0]
        return now if len(waiting) == len(callers) else None
    now = wait_for(queued, what="every call validated and waiting for a slot")
    # Nothing of theirs may have started yet, or the race was not even.
    assert now[blocker["id"]]["files_in_flight"] == SLOTS, now
    with d.connect() as c:
        assert c.call(f"{IFACE}.Cancel", {"id": blocker["id"]}) == {"canceled": True}
    blocker_reply = blocker_conn.recv()
    blocker_conn.close()
    assert {r["error"]["code"] for r in blocker_reply["parameters"]["results"]} == {"Canceled"}, \
        blocker_reply
    merged = []
    for name, (call, pairs) in running.items():
        last = call.join()
        assert "error" not in last, last
        assert last["parameters"]["summary"]["files_ok"] == N, last
        assert sorted(r["index"] for _, r in call.results) == list(range(N))
        for s, t in pairs:
            assert read(t) == read(s), t
        merged += [(t, name) for t, _ in call.results]
    order = [name for _, name in sorted(merged)]
    print("completions:", "".join(order))
    return order


def varlink_copy(**options):
    return lambda d, pairs: Streamed(d, pairs, **options)


def fdsctl_copy(*args, user=None):
    return lambda d, pairs: FdsctlCopy(d, pairs, args, user)


def daemon(start_fdsd, *args, **kw):
    # One user may take both slots (by default one would stay another's).
    return start_fdsd("--max-inflight", str(SLOTS), "--max-inflight-per-user", str(SLOTS),
                      "--max-bandwidth", str(MIB), *args, **kw)


def test_two_callers_of_one_user_interleave(start_fdsd, tmp_path):
    """Equal priorities: round-robin. The second caller does not wait for
    the first one's 40 files; its first result comes within the first few,
    and while both have work each gets about half of the slots."""
    order = race(daemon(start_fdsd), str(tmp_path), {"a": varlink_copy(), "b": varlink_copy()})
    a_at = [i for i, who in enumerate(order) if who == "a"]
    # b's first file is done before a's fourth ...
    assert order.index("b") < a_at[3], order
    # ... and by the time a is half done, so is b, near enough.
    assert order[:a_at[N // 2 - 1]].count("b") >= N // 2 - 5, order
    # The first 40 completions: about 20 each (round-robin, give or take
    # arrival jitter and the two files in flight at once).
    assert 15 <= order[:N].count("b") <= 25, order


@pytest.mark.parametrize("via", ["varlink", "fdsctl"])
def test_priority_40_gets_four_times_the_starts_of_10(start_fdsd, tmp_path, via):
    """priority 40 against 10, submitted together: while both still have
    files queued (up to the last completion of the 40-call, which then has
    had every start it wanted), it completes about 4 files for each of the
    other's; the 10-call is not starved. Then b finishes alone. The
    40-call is made by a varlink call or by `fdsctl --priority 40`."""
    a = fdsctl_copy("--priority", "40") if via == "fdsctl" else varlink_copy(priority=40)
    order = race(daemon(start_fdsd), str(tmp_path), {"a": a, "b": varlink_copy(priority=10)})
    last_a = len(order) - 1 - order[::-1].index("a")
    window = order[:last_a + 1]
    n_a, n_b = window.count("a"), window.count("b")
    assert n_a == N, window
    assert n_b >= 5, window
    ratio = n_a / n_b
    print(f"in the window: a {n_a}, b {n_b}, ratio {ratio:.2f}")
    # 4 by the scheduler; the band leaves room for arrival jitter.
    assert 2.5 <= ratio <= 7, (ratio, order)
    # The same over the first 25 completions, well inside the window.
    head = order[:25]
    assert head.count("a") >= 2 * head.count("b"), head


@pytest.fixture
def other_user():
    """A throw-away user (needs root, useradd and setpriv): its uid."""
    if os.geteuid() != 0 or not shutil.which("setpriv") or not shutil.which("useradd"):
        pytest.skip("needs root, setpriv and useradd to act as another user")
    name = f"fdsfair{os.getpid() % 100000}"
    subprocess.run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", name], check=True,
                   capture_output=True)
    try:
        yield pwd.getpwnam(name).pw_uid
    finally:
        subprocess.run(["userdel", name], capture_output=True)


def test_users_share_first_then_their_calls(start_fdsd, other_user):
    """Slots go first to users, then to a user's calls: root's two calls
    (r, s) and another user's one (u), all of priority 10, queued together.
    While all three have work, u gets about half of the completions, not a
    third, and r and s about a quarter each."""
    work = shared_tmpdir("fds-fair-")
    try:
        os.makedirs(f"{work}/u")
        os.chown(f"{work}/u", other_user, other_user)
        d = daemon(start_fdsd, "--allow-user", f"root,{other_user}", workdir=work)
        os.chmod(d.socket, 0o777)

        def as_user(dd, pairs):
            for src, _ in pairs:
                os.chown(src, other_user, other_user)
                os.chown(os.path.dirname(src), other_user, other_user)
            return fdsctl_copy(user=other_user)(dd, pairs)
        order = race(d, work, {"r": varlink_copy(), "s": varlink_copy(), "u": as_user})
    finally:
        rmtree(work)
    # Up to u's 20th completion every call had files queued: u about as
    # many as r and s together.
    head = order[:[i for i, who in enumerate(order) if who == "u"][N // 2 - 1] + 1]
    n_u, n_r, n_s = head.count("u"), head.count("r"), head.count("s")
    print(f"up to u's {N // 2}th: u {n_u}, r {n_r}, s {n_s}")
    assert 14 <= n_r + n_s <= 28, head
    assert 5 <= n_r <= 15 and 5 <= n_s <= 15, head


# Bandwidth: the daemon-wide cap is shared between moving calls by
# priority (daemon/batch/bwshare.c), max-min fair.

CAP = 4 * MIB
FILE = 256 << 10


def bytes_in(stream, t0, t1):
    return sum(r["bytes"] for t, r in stream.results if t0 <= t < t1 and r["ok"])


def slow_pairs(root, name, n):
    os.makedirs(os.path.join(root, name), exist_ok=True)
    src = os.path.join(root, f"{name}.src")
    with open(src, "wb") as f:
        f.write(os.urandom(FILE))
    return [(src, os.path.join(root, name, f"f{i:03d}")) for i in range(n)]


def bw_daemon(start_fdsd):
    return start_fdsd("--max-bandwidth", str(CAP))


def test_the_cap_is_shared_by_priority(start_fdsd, tmp_path):
    """30 against 10 under a 4 MiB/s cap: about 3 MiB/s against 1, where
    each file in flight used to get the same (1:1)."""
    d = bw_daemon(start_fdsd)
    hi = Streamed(d, slow_pairs(str(tmp_path), "hi", 48), priority=30, parallelism=2)
    lo = Streamed(d, slow_pairs(str(tmp_path), "lo", 48), priority=10, parallelism=2)
    t0 = time.monotonic()
    # The window: after the shares have settled, while both still move.
    time.sleep(3.5)
    a, b = bytes_in(hi, t0 + 1.0, t0 + 3.5), bytes_in(lo, t0 + 1.0, t0 + 3.5)
    hi.join(60)
    lo.join(60)
    rate = (a + b) / 2.5
    print(f"priority 30: {a / 2.5 / MIB:.2f} MiB/s, 10: {b / 2.5 / MIB:.2f} MiB/s")
    assert b > 0, "the low-priority call was starved"
    assert 2.0 <= a / b <= 4.5, (a, b)
    assert 0.7 * CAP <= rate <= 1.2 * CAP, rate


def test_a_call_below_its_share_leaves_the_rest(start_fdsd, tmp_path):
    """A priority-30 call capped at 512 KiB/s by its own option takes that;
    the priority-10 call gets the rest of the daemon's cap, not a quarter."""
    d = bw_daemon(start_fdsd)
    hi = Streamed(d, slow_pairs(str(tmp_path), "hi", 8), priority=30, parallelism=2,
                  transfer={"max_bandwidth": 512 << 10})
    lo = Streamed(d, slow_pairs(str(tmp_path), "lo", 64), priority=10, parallelism=2)
    t0 = time.monotonic()
    time.sleep(3.5)
    a, b = bytes_in(hi, t0 + 1.0, t0 + 3.5), bytes_in(lo, t0 + 1.0, t0 + 3.5)
    hi.join(60)
    lo.join(60)
    print(f"capped priority 30: {a / 2.5 / MIB:.2f} MiB/s, priority 10: {b / 2.5 / MIB:.2f} MiB/s")
    assert a / 2.5 <= 1.3 * (512 << 10), a
    assert b / 2.5 >= 0.6 * (CAP - (512 << 10)), b
