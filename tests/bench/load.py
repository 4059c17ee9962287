#!/usr/bin/python3
"""fds load benchmark: many clients, big batches, memory per queued file.

Run it through tests/bench/load.sh; see the paragraph on it in docs/BENCHMARKS.md.
It prints figures and asserts nothing about timing: the exit status is 1 only when
files that should have been copied failed, or a section could not run.

Sections (--only takes their names or numbers, comma-separated):
  1 clients   64 concurrent clients x 1,000 local 1 KiB files each (local -> local):
              failures, wall, files/s, fdsd's open fds and VmRSS at baseline, peak
              (sampled every 50 ms) and after the clients left ("back to baseline":
              fds equal, RSS within +10% or +8 MiB, whichever is larger)
  2 latency   a 1-file Copy, median and p90 of 20 calls, idle and while another
              connection's 10,000-file Copy runs (re-run until 20 calls fell inside
              one of its runs); the ratio (target <= 2x)
  3 scale     files/s and fdsd peak RSS for one batch of 1k / 10k / 100k x 1 KiB,
              local -> local and local -> S3 (a local RGW), one fresh fdsd per batch
  4 queued    memory per queued file: one Copy of 100,000 local files, parallelism 1,
              a 1 MiB/s cap, the first file 64 MiB so the rest stay queued; (RSS queued
              - RSS before - bytes of the src and dst strings) / 100,000 (target <= 300)
  5 size      one Size call of 100,000 local files: wall and peak RSS

--quick: 64 x 100 files, 10 latency calls around 2,000-file batches, 1k/10k local and
1k/3k S3, 10,000 queued, 10,000 sized. The files go under /dev/shm when it is a tmpfs
(so the figures are fdsd's, not a disk's; --workdir /tmp puts them on a disk). On 2
cores with tmpfs: --quick about 20 s, the full run about 3 minutes, 2 of them the
100,000 S3 uploads; with the files on a slow disk much longer. --s3-max N (or
FDS_LOAD_S3_MAX) caps the S3 batch sizes of section 3.

Only the standard library and tests/harness/rgw/conftest_rgw.py (which is too) are used.
"""

import argparse
import datetime
import hashlib
import hmac
import http.client
import json
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.join(ROOT, "tests", "harness", "rgw"))
import conftest_rgw  # noqa: E402  (the RGW harness; standard library only)

IFACE = "io.fds.Transfer"
KiB, MiB = 1 << 10, 1 << 20
BUCKET = "load"
FILE_SIZE = 1 * KiB
REPLY_TIMEOUT = 300.0   # no message from fdsd for this long: the section fails

SECTIONS = ["clients", "latency", "scale", "queued", "size"]

FULL = {
    "clients": (64, 1000),
    "latency_calls": 20, "latency_batch": 10000,
    "scale_local": [1000, 10000, 100000], "scale_s3": [1000, 10000, 100000],
    "queued": 100000,
    "size": 100000,
}
QUICK = {
    "clients": (64, 100),
    "latency_calls": 10, "latency_batch": 2000,
    "scale_local": [1000, 10000], "scale_s3": [1000, 3000],
    "queued": 10000,
    "size": 10000,
}


def log(msg):
    sys.stderr.write("[load %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


class BenchError(Exception):
    """A section could not run (not a slow figure: those are only printed)."""


# ------------------------------------------------------------------ varlink


class VarlinkError(Exception):
    def __init__(self, reply):
        super().__init__("%s: %s" % (reply.get("error"), json.dumps(reply.get("parameters"))[:500]))
        self.name = reply.get("error")


class Conn:
    """One varlink connection; replies are read from a growing buffer without
    rescanning it (a 100,000-result reply is tens of MB)."""

    def __init__(self, path, timeout=REPLY_TIMEOUT):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = bytearray()
        self.pos = 0      # start of the next message
        self.scan = 0     # bytes from pos already known to hold no NUL

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, method, parameters=None, more=False):
        msg = {"method": method}
        if parameters is not None:
            msg["parameters"] = parameters
        if more:
            msg["more"] = True
        self.sock.sendall(json.dumps(msg, separators=(",", ":")).encode() + b"\0")

    def recv(self):
        while True:
            i = self.buf.find(b"\0", self.pos + self.scan)
            if i >= 0:
                msg = json.loads(self.buf[self.pos:i])
                self.pos, self.scan = i + 1, 0
                if self.pos > (1 << 20):
                    del self.buf[:self.pos]
                    self.pos = 0
                return msg
            self.scan = len(self.buf) - self.pos
            data = self.sock.recv(1 << 18)
            if not data:
                raise EOFError("fdsd closed the connection")
            self.buf += data

    def call(self, method, parameters=None):
        self.send(method, parameters)
        reply = self.recv()
        if "error" in reply:
            raise VarlinkError(reply)
        return reply.get("parameters", {})


class CopyOutcome:
    def __init__(self):
        self.ok = 0
        self.failed = 0
        self.failures = []   # first few (src, dst, error)
        self.summary = None
        self.error = None    # a varlink error or exception: the call itself failed
        self.first_result = None
        self.wall = None

    def take(self, r):
        if r.get("ok"):
            self.ok += 1
        else:
            self.failed += 1
            if len(self.failures) < 10:
                self.failures.append((r.get("src"), r.get("dst"), r.get("error")))


def copy_call(conn, pairs, options=None, more=True, on_first=None):
    """One Copy on conn; a CopyOutcome (never raises for the call's failure).
    on_first, if given, is called when the first result arrives."""
    out = CopyOutcome()
    params = {"copies": [{"src": s, "dst": d} for s, d in pairs]}
    if options:
        params["options"] = options
    t0 = time.monotonic()
    try:
        conn.send(IFACE + ".Copy", params, more=more)
        while True:
            reply = conn.recv()
            if "error" in reply:
                raise VarlinkError(reply)
            p = reply.get("parameters", {})
            if p.get("result") is not None:
                if out.first_result is None:
                    out.first_result = time.monotonic()
                    if on_first is not None:
                        on_first()
                out.take(p["result"])
            for r in p.get("results") or ():
                out.take(r)
            if p.get("summary") is not None:
                out.summary = p["summary"]
            if not reply.get("continues"):
                break
    except Exception as e:  # noqa: BLE001 - reported with the figures
        out.error = "%s: %s" % (type(e).__name__, e)
    out.wall = time.monotonic() - t0
    return out


# ------------------------------------------------------------------ fdsd


def proc_status(pid):
    """VmRSS and VmHWM in bytes."""
    out = {}
    with open("/proc/%d/status" % pid, encoding="ascii") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) * KiB
    return out


def proc_cpu(pid):
    """utime+stime of pid in seconds."""
    with open("/proc/%d/stat" % pid, encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def system_busy():
    """Busy CPU seconds of the whole machine (all cores), from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)) / os.sysconf("SC_CLK_TCK")


def own_cpu():
    """CPU seconds of this process and its reaped children (every fdsd)."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class Fdsd:
    """One fdsd of our own, in its own session (so it gets no terminal signals)."""

    all = []

    def __init__(self, bench, tag, args=()):
        self.sock = os.path.join(bench.work, "fdsd-%s.sock" % tag)
        self.log_path = os.path.join(bench.work, "fdsd-%s.log" % tag)
        self.argv = [bench.fdsd, "--socket", self.sock] + list(args)
        self.env = bench.fdsd_env
        self.proc = None

    def start(self):
        Fdsd.all.append(self)
        with open(self.log_path, "wb") as logf:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise BenchError("fdsd exited with %s at start:\n%s" % (self.proc.returncode, self.log_tail()))
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.connect(self.sock)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise BenchError("fdsd did not accept on %s in 10 s" % self.sock) from None
                time.sleep(0.02)
        time.sleep(0.3)  # let it settle before a baseline is read
        return self

    @property
    def pid(self):
        return self.proc.pid

    def rss(self):
        return proc_status(self.pid)["VmRSS"]

    def hwm(self):
        return proc_status(self.pid)["VmHWM"]

    def fds(self):
        return fd_count(self.pid)

    def connect(self, timeout=REPLY_TIMEOUT):
        return Conn(self.sock, timeout)

    def check_alive(self):
        if self.proc.poll() is not None:
            raise BenchError("fdsd exited with %s:\n%s" % (self.proc.returncode, self.log_tail()))

    def log_tail(self, n=20):
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                log("fdsd %d did not exit 15 s after SIGTERM: SIGKILL" % self.proc.pid)
                self.proc.kill()
                self.proc.wait(10)
        rc, self.proc = self.proc.returncode, None
        if self in Fdsd.all:
            Fdsd.all.remove(self)
        return rc

    @classmethod
    def stop_all(cls):
        for d in list(cls.all):
            try:
                d.stop()
            except Exception as e:  # noqa: BLE001 - cleaning up
                log("stopping fdsd: %s" % e)


class Sampler:
    """fdsd's open fds and VmRSS every interval s, on a thread: the peaks."""

    def __init__(self, pid, interval=0.05):
        self.pid, self.interval = pid, interval
        self.peak_rss = self.peak_fds = 0
        self.samples = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stopping.is_set():
            try:
                self.peak_rss = max(self.peak_rss, proc_status(self.pid)["VmRSS"])
                self.peak_fds = max(self.peak_fds, fd_count(self.pid))
                self.samples += 1
            except (OSError, KeyError):
                return
            self.stopping.wait(self.interval)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(5)


# ------------------------------------------------------------------ S3 (RGW)


def s3_put_bucket(env, bucket):
    """PUT /bucket with SigV4 (the standard library's http.client)."""
    url = urllib.parse.urlsplit(env["AWS_ENDPOINT_URL"])
    region = env.get("AWS_REGION", "us-east-1")
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(b"").hexdigest()
    host = url.netloc
    signed = "host;x-amz-content-sha256;x-amz-date"
    canonical = "\n".join(["PUT", "/" + bucket, "", "host:" + host, "x-amz-content-sha256:" + payload,
                           "x-amz-date:" + amz_date, "", signed, payload])
    scope = "%s/%s/s3/aws4_request" % (day, region)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + env["AWS_SECRET_ACCESS_KEY"]).encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers = {
        "Host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload, "Content-Length": "0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                         % (env["AWS_ACCESS_KEY_ID"], scope, signed, sig),
    }
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        c.request("PUT", "/" + bucket, headers=headers)
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            raise BenchError("PUT bucket %s: HTTP %d %s" % (bucket, r.status, body[:300]))
    finally:
        c.close()


# ------------------------------------------------------------------ output


def mib(b):
    return "-" if b is None else "%.1f" % (b / MiB)


def num(v, digits=0):
    if v is None:
        return "-"
    return "{:,.{}f}".format(v, digits)


def table(title, head, rows, notes=()):
    cells = [list(head)] + [[str(c) for c in r] + [""] * (len(head) - len(r)) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    lines = ["", "== " + title, ""]
    for n, r in enumerate(cells):
        lines.append("  " + "  ".join(c.rjust(w) if i else c.ljust(w)
                                      for i, (c, w) in enumerate(zip(r, widths))))
        if n == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    lines += ["  " + n for n in notes]
    print("\n".join(lines), flush=True)


def quantile(values, q):
    v = sorted(values)
    if not v:
        return None
    k = (len(v) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


# ------------------------------------------------------------------ the benchmark


class Bench:
    def __init__(self, args):
        self.args = args
        self.c = dict(QUICK if args.quick else FULL)
        if args.s3_max:
            capped = [n for n in self.c["scale_s3"] if n < args.s3_max]
            self.c["scale_s3"] = capped + [min(args.s3_max, max(self.c["scale_s3"]))]
        self.work = tempfile.mkdtemp(prefix="fds-load-", dir=args.workdir)
        os.chmod(self.work, 0o755)
        # A copy of the binary: a rebuild during the run changes nothing.
        os.makedirs(os.path.join(self.work, "bin"))
        self.fdsd = os.path.join(self.work, "bin", "fdsd")
        shutil.copy2(args.fdsd, self.fdsd)
        home = os.path.join(self.work, "home")
        os.makedirs(home)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"HOME": home, "AWS_CONFIG_FILE": os.path.join(home, "none"),
                    "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "none"),
                    "AWS_EC2_METADATA_DISABLED": "true",
                    "STATE_DIRECTORY": os.path.join(self.work, "state")})
        self.fdsd_env = env
        self.pool = []
        self.rgw = None
        self.summary = []   # (section, figure, value)
        self.problems = []  # failures that make the exit status 1

    def note(self, section, name, value):
        self.summary.append((section, name, value))

    # -------------------------------------------------------------- data

    def need_pool(self, n):
        """n distinct 1 KiB source files, in directories of 1,000."""
        have = len(self.pool)
        if have >= n:
            return self.pool[:n]
        t0 = time.monotonic()
        block = random.Random(7).randbytes(FILE_SIZE)
        for i in range(have, n):
            d = os.path.join(self.work, "src", "%03d" % (i // 1000))
            if i % 1000 == 0:
                os.makedirs(d, exist_ok=True)
            p = os.path.join(d, "%06d.bin" % i)
            with open(p, "wb") as f:
                f.write(b"%015d\n" % i + block[16:])
            self.pool.append(p)
        log("made %d source files of %d bytes in %.1f s" % (n - have, FILE_SIZE, time.monotonic() - t0))
        return self.pool[:n]

    def out_dir(self, name):
        d = os.path.join(self.work, "out", name)
        os.makedirs(d, exist_ok=True)
        return d

    def remove(self, path):
        shutil.rmtree(path, ignore_errors=True)

    def s3_env(self):
        if self.rgw is None:
            if not conftest_rgw.available():
                raise BenchError("radosgw is not installed (tests/harness/rgw/rgw.sh install)")
            d = os.path.join(self.work, "rgw")
            log("starting RGW in %s" % d)
            self.rgw_dir = d
            try:
                self.rgw = conftest_rgw.start(d)
            except Exception as e:
                self.stop_rgw(d)
                raise BenchError("RGW did not start: %s" % e) from e
            s3_put_bucket(self.rgw, BUCKET)
        return self.rgw

    def stop_rgw(self, d=None):
        d = d or (self.rgw or {}).get("RGW_DIR")
        if d:
            try:
                conftest_rgw.stop(d)
            except Exception as e:  # noqa: BLE001 - cleaning up
                log("stopping RGW: %s" % e)
        self.rgw = None

    def rgw_cpu(self):
        """CPU seconds so far of this RGW's radosgw, ceph-osd and ceph-mon (not our children)."""
        total = 0.0
        d = (self.rgw or {}).get("RGW_DIR")
        for name in ("rgw", "osd", "mon") if d else ():
            try:
                with open(os.path.join(d, "pids", name + ".pid"), encoding="ascii") as f:
                    total += proc_cpu(int(f.read().strip()))
            except (OSError, ValueError):
                pass
        return total

    def s3_options(self):
        e = self.s3_env()
        return {"endpoint_url": e["AWS_ENDPOINT_URL"], "region": e.get("AWS_REGION", "us-east-1"),
                "addressing_style": "path", "access_key_id": e["AWS_ACCESS_KEY_ID"],
                "secret_access_key": e["AWS_SECRET_ACCESS_KEY"]}

    # -------------------------------------------------------------- 1 clients

    def section_clients(self):
        nclients, per = self.c["clients"]
        total = nclients * per
        srcs = self.need_pool(total)
        out = self.out_dir("clients")
        d = Fdsd(self, "clients").start()
        base_fds, base_rss = d.fds(), d.rss()
        results = [None] * nclients
        go = threading.Event()

        def client(i):
            pairs = [(srcs[i * per + j], os.path.join(out, "c%02d" % i, "%04d.bin" % j)) for j in range(per)]
            try:
                conn = d.connect()
            except OSError as e:
                o = CopyOutcome()
                o.error = "connect: %s" % e
                results[i] = o
                return
            with conn:
                go.wait()
                results[i] = copy_call(conn, pairs)

        log("clients: %d clients x %d files" % (nclients, per))
        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(nclients)]
        with Sampler(d.pid) as smp:
            for t in threads:
                t.start()
            time.sleep(0.2)  # all connected before the calls go
            t0 = time.monotonic()
            go.set()
            deadline = t0 + REPLY_TIMEOUT + 60
            for t in threads:
                t.join(max(0.1, deadline - time.monotonic()))
            wall = time.monotonic() - t0
        hung = sum(1 for t in threads if t.is_alive())
        d.check_alive()
        # After: all clients gone; give fdsd a few seconds to close and trim.
        tol = max(base_rss * 1.10, base_rss + 8 * MiB)
        t_end = time.monotonic() + 5
        while True:
            after_fds, after_rss = d.fds(), d.rss()
            if (after_fds == base_fds and after_rss <= tol) or time.monotonic() > t_end:
                break
            time.sleep(0.1)
        hwm = d.hwm()
        d.stop()
        ok = sum(r.ok for r in results if r)
        failed = sum(r.failed for r in results if r)
        errors = [(i, r.error) for i, r in enumerate(results) if r and r.error]
        missing = total - ok - failed
        # Spot check: 20 random destinations hold their source's bytes.
        rng = random.Random(1)
        bad = 0
        for _ in range(min(20, ok)):
            i, j = rng.randrange(nclients), rng.randrange(per)
            try:
                with open(srcs[i * per + j], "rb") as a, \
                        open(os.path.join(out, "c%02d" % i, "%04d.bin" % j), "rb") as b:
                    bad += a.read() != b.read()
            except OSError:
                bad += 1
        self.remove(out)
        back = after_fds == base_fds and after_rss <= tol
        rows = [
            ["baseline", base_fds, mib(base_rss)],
            ["peak (sampled every 50 ms, %d samples)" % smp.samples, smp.peak_fds, mib(smp.peak_rss)],
            ["after all clients left", after_fds, mib(after_rss)],
        ]
        table("1. %d concurrent clients x %s local files of %d B (local -> local)" % (nclients, num(per), FILE_SIZE),
              ["fdsd", "open fds", "VmRSS MiB"], rows, [
                  "files: %s ok, %s failed, %s without a result (calls that failed: %d, hung: %d); "
                  "content spot check: %d of %d differ"
                  % (num(ok), num(failed), num(missing), len(errors), hung, bad, min(20, ok)),
                  "wall %.2f s (first call sent to last reply), %s files/s; VmHWM %s MiB"
                  % (wall, num(total / wall), mib(hwm)),
                  "back to baseline: %s (fds %d vs %d; RSS %s vs %s MiB, allowed up to %s)"
                  % ("yes" if back else "NO", after_fds, base_fds, mib(after_rss), mib(base_rss), mib(tol)),
              ])
        for r in [r for r in results if r][:64]:
            for f in r.failures[:3]:
                print("  failed: %s -> %s: %s" % f)
        for i, e in errors[:10]:
            print("  client %d: %s" % (i, e))
        s = "1 clients"
        self.note(s, "files ok / failed / no result", "%d / %d / %d of %d" % (ok, failed, missing, total))
        self.note(s, "wall s", "%.2f" % wall)
        self.note(s, "files/s", num(total / wall))
        self.note(s, "fds baseline / peak / after", "%d / %d / %d" % (base_fds, smp.peak_fds, after_fds))
        self.note(s, "RSS MiB baseline / peak / after", "%s / %s / %s" % (mib(base_rss), mib(smp.peak_rss),
                                                                          mib(after_rss)))
        self.note(s, "back to baseline", "yes" if back else "no")
        if ok != total or bad or hung:
            self.problems.append("clients: %d of %d files did not succeed" % (total - ok, total))

    # -------------------------------------------------------------- 2 latency

    def one_file_call(self, conn, dst):
        """Seconds one 1-file Copy took (its reply included)."""
        t0 = time.monotonic()
        o = copy_call(conn, [(self.pool[0], dst)], more=False)
        t1 = time.monotonic()
        if o.error or o.ok != 1:
            raise BenchError("latency: a 1-file call failed: %s %s" % (o.error, o.failures))
        return t1 - t0

    def section_latency(self):
        n, nbig = self.c["latency_calls"], self.c["latency_batch"]
        srcs = self.need_pool(nbig)
        out = self.out_dir("latency")
        d = Fdsd(self, "latency").start()
        probe = d.connect()
        # The big batch runs on its own connection, again and again, until n
        # one-file calls started and ended inside one of its runs (after its
        # first result, before its last reply).
        state = {"run": 0, "running": False, "walls": [], "error": None}
        lock = threading.Lock()
        stop, first = threading.Event(), threading.Event()
        pairs = [(s, os.path.join(out, "big", "%05d.bin" % i)) for i, s in enumerate(srcs)]

        def on_first():
            with lock:
                state["running"] = True
            first.set()

        def big():
            try:
                with d.connect() as conn:
                    while not stop.is_set():
                        o = copy_call(conn, pairs, on_first=on_first)
                        with lock:
                            state["running"] = False
                            state["run"] += 1
                        if o.error or o.failed:
                            state["error"] = "%s %s" % (o.error, o.failures[:3])
                            return
                        state["walls"].append(o.wall)
            except OSError as e:
                state["error"] = str(e)
            finally:
                first.set()

        def snap():
            with lock:
                return state["running"], state["run"]

        bt = threading.Thread(target=big, daemon=True)
        try:
            for i in range(3):
                self.one_file_call(probe, os.path.join(out, "warm-%d.bin" % i))
            idle = []
            for i in range(n):
                idle.append(self.one_file_call(probe, os.path.join(out, "idle-%04d.bin" % i)))
                time.sleep(0.01)
            bt.start()
            if not first.wait(REPLY_TIMEOUT) or state["error"]:
                raise BenchError("latency: the big batch did not start: %s" % state["error"])
            busy, tries = [], 0
            while len(busy) < n:
                tries += 1
                if state["error"]:
                    raise BenchError("latency: the big batch failed: %s" % state["error"])
                if tries > 50 * n:
                    raise BenchError("latency: only %d of %d calls fell inside the big batch" % (len(busy), n))
                r0 = snap()
                t = self.one_file_call(probe, os.path.join(out, "busy-%04d.bin" % tries))
                r1 = snap()
                if r0[0] and r1[0] and r0[1] == r1[1]:
                    busy.append(t)
                time.sleep(0.01)
            stop.set()
            bt.join(REPLY_TIMEOUT)
            runs, walls = state["run"], state["walls"]
        finally:
            stop.set()
            probe.close()
            d.stop()
            self.remove(out)
        im, ip = statistics.median(idle), quantile(idle, 0.9)
        bm, bp = statistics.median(busy), quantile(busy, 0.9)
        ratio = bm / im
        table("2. latency of a 1-file Copy (%d B, local -> local), %d calls each" % (FILE_SIZE, n),
              ["daemon", "median ms", "p90 ms", "min ms", "max ms"], [
                  ["idle", "%.2f" % (im * 1e3), "%.2f" % (ip * 1e3), "%.2f" % (min(idle) * 1e3),
                   "%.2f" % (max(idle) * 1e3)],
                  ["during a %s-file Copy" % num(nbig), "%.2f" % (bm * 1e3), "%.2f" % (bp * 1e3),
                   "%.2f" % (min(busy) * 1e3), "%.2f" % (max(busy) * 1e3)],
              ], [
                  "ratio busy/idle: median %.2fx, p90 %.2fx (target <= 2x: %s)"
                  % (ratio, bp / ip, "met" if ratio <= 2 else "NOT met"),
                  "big batch: %s x %d B on its own connection, default parallelism, no cap; ran %d time(s), "
                  "%s s each (%s files/s)" % (num(nbig), FILE_SIZE, runs, ", ".join("%.1f" % w for w in walls),
                                              ", ".join(num(nbig / w) for w in walls)),
                  "only calls that began after the batch's first result and ended before its last reply count",
              ])
        s = "2 latency"
        self.note(s, "idle median / p90 ms", "%.2f / %.2f" % (im * 1e3, ip * 1e3))
        self.note(s, "busy median / p90 ms", "%.2f / %.2f" % (bm * 1e3, bp * 1e3))
        self.note(s, "ratio median / p90", "%.2fx / %.2fx" % (ratio, bp / ip))

    # -------------------------------------------------------------- 3 scale

    def one_batch(self, tag, pairs, options=None):
        d = Fdsd(self, tag).start()
        try:
            base = d.rss()
            with d.connect() as conn, Sampler(d.pid) as smp:
                o = copy_call(conn, pairs, options)
            d.check_alive()
            hwm = d.hwm()
        finally:
            d.stop()
        return o, base, max(hwm, smp.peak_rss)

    @staticmethod
    def scale_runs(mode, n):
        """Runs per batch size: small batches are short and noisy, so 3 (median)."""
        return 3 if n <= (10000 if mode == "local" else 1000) else 1

    def section_scale(self):
        rows = []
        s = "3 scale"
        for mode in ("local", "s3"):
            counts = self.c["scale_local" if mode == "local" else "scale_s3"]
            label = "local -> local" if mode == "local" else "local -> S3 (RGW)"
            if mode == "s3" and self.args.no_s3:
                rows.append([label, "skipped (--no-s3)"])
                continue
            options = {"s3": self.s3_options()} if mode == "s3" else None
            first_rate = None
            for n in counts:
                srcs = self.need_pool(n)
                rates, walls, peaks, bases, oks = [], [], [], [], []
                for k in range(self.scale_runs(mode, n)):
                    if mode == "local":
                        out = self.out_dir("scale-%d-%d" % (n, k))
                        pairs = [(p, os.path.join(out, "%06d.bin" % i)) for i, p in enumerate(srcs)]
                    else:
                        pairs = [(p, "s3://%s/u%d-%d/%06d.bin" % (BUCKET, n, k, i)) for i, p in enumerate(srcs)]
                    log("scale: %s, %d files, run %d" % (mode, n, k + 1))
                    o, base, peak = self.one_batch("scale-%s-%d-%d" % (mode, n, k), pairs, options)
                    if mode == "local":
                        self.remove(out)
                    rates.append(n / o.wall)
                    walls.append(o.wall)
                    peaks.append(peak)
                    bases.append(base)
                    oks.append(o.ok)
                    if o.error or o.ok != n:
                        self.problems.append("scale %s %d: %d ok, %s" % (mode, n, o.ok, o.error or o.failures[:3]))
                        for f in o.failures[:5]:
                            print("  failed: %s -> %s: %s" % f)
                        if o.error:
                            print("  call error: %s" % o.error)
                rate = statistics.median(rates)
                first_rate = first_rate or rate
                peak, base = max(peaks), min(bases)
                wall = "%.2f" % statistics.median(walls)
                if len(walls) > 1:
                    wall += " (%.2f-%.2f)" % (min(walls), max(walls))
                rows.append([label, num(n), len(rates), "%d/%d" % (min(oks), n), wall, num(rate),
                             "%.2f" % (rate / first_rate), mib(base), mib(peak), mib(peak - base)])
                self.note(s, "%s %s files: files/s, vs %s, peak RSS MiB" % (label, num(n), num(counts[0])),
                          "%s, %.2f, %s" % (num(rate), rate / first_rate, mib(peak)))
        table("3. one Copy batch of N x %d B, a fresh fdsd per batch" % FILE_SIZE,
              ["direction", "files", "runs", "ok (worst)", "wall s (min-max)", "files/s", "vs first",
               "RSS before MiB", "peak RSS MiB", "growth MiB"], rows, [
                  "files/s: N over the wall time from sending the call to its last (streamed) reply, median of the runs;",
                  "peak RSS: VmHWM of the fresh fdsd at the end (and sampled every 50 ms), the largest of the runs;",
                  "default parallelism (16). S3 counts run: %s%s" % (
                      ", ".join(num(n) for n in self.c["scale_s3"]),
                      " (capped by --s3-max/FDS_LOAD_S3_MAX)" if self.args.s3_max else ""),
                  "RGW (radosgw, ceph-osd, ceph-mon) shares the cores with fdsd and this client",
              ])

    # -------------------------------------------------------------- 4 queued

    def section_queued(self):
        n = self.c["queued"]
        srcs = self.need_pool(n)[1:]
        big = os.path.join(self.work, "big-64MiB.bin")
        with open(big, "wb") as f:
            f.write(b"x" * MiB)
            f.truncate(64 * MiB)
        out = self.out_dir("queued")
        pairs = [(big, os.path.join(out, "000000.bin"))] + \
            [(p, os.path.join(out, "%06d.bin" % (i + 1))) for i, p in enumerate(srcs)]
        path_bytes = sum(len(s.encode()) + len(t.encode()) for s, t in pairs)
        cap = 1 * MiB
        d = Fdsd(self, "queued").start()
        try:
            before = d.rss()
            conn = d.connect()
            done = {}
            caller = threading.Thread(target=lambda: done.setdefault(
                "o", copy_call(conn, pairs, {"parallelism": 1, "transfer": {"max_bandwidth": cap}})), daemon=True)
            t0 = time.monotonic()
            caller.start()
            info = None
            with d.connect() as ctl:
                while True:
                    d.check_alive()
                    calls = ctl.call(IFACE + ".Calls")["calls"]
                    mine = [c for c in calls if c["method"] == "Copy" and c["files_queued"] >= n - 1]
                    if mine:
                        info = mine[0]
                        break
                    if "o" in done:
                        raise BenchError("queued: the call ended before its files were queued: %s"
                                         % (done["o"].error or done["o"].summary))
                    if time.monotonic() - t0 > 180:
                        raise BenchError("queued: files_queued did not reach %d in 180 s: %s" % (n - 1, calls))
                    time.sleep(0.05)
                t_queued = time.monotonic() - t0
                time.sleep(1.0)  # settle: the request's JSON is freed by now
                samples = []
                for _ in range(5):
                    samples.append(d.rss())
                    time.sleep(0.1)
                queued = statistics.median(samples)
                hwm = d.hwm()
                info2 = [c for c in ctl.call(IFACE + ".Calls")["calls"] if c["id"] == info["id"]]
                still = info2[0]["files_queued"] if info2 else None
                canceled = ctl.call(IFACE + ".Cancel", {"id": info["id"]})["canceled"]
            caller.join(REPLY_TIMEOUT)
            if caller.is_alive():
                raise BenchError("queued: no reply %d s after Cancel" % REPLY_TIMEOUT)
            o = done["o"]
            conn.close()
            time.sleep(0.5)
            after = d.rss()
        finally:
            d.stop()
            self.remove(out)
            os.unlink(big)
        per = (queued - before - path_bytes) / n
        per_raw = (queued - before) / n
        table("4. memory per queued file: one Copy of %s local files, parallelism 1, %d KiB/s cap, "
              "first file 64 MiB" % (num(n), cap // KiB),
              ["figure", "value"], [
                  ["RSS before the call", "%s MiB" % mib(before)],
                  ["RSS with %s files queued" % num(still if still is not None else info["files_queued"]),
                   "%s MiB" % mib(queued)],
                  ["VmHWM while queued", "%s MiB" % mib(hwm)],
                  ["src + dst path strings", "%s MiB (%.0f B per file)" % (mib(path_bytes), path_bytes / n)],
                  ["per queued file, paths subtracted", "%.0f B (target <= 300: %s)"
                   % (per, "met" if per <= 300 else "NOT met")],
                  ["per queued file, paths included", "%.0f B" % per_raw],
                  ["RSS after Cancel and the reply", "%s MiB" % mib(after)],
              ], [
                  "queued %.1f s after the call was sent; Cancel -> canceled %s; reply: %s ok, %s failed%s"
                  % (t_queued, canceled, o.ok, o.failed, (", error " + o.error) if o.error else ""),
                  "RSS queued: median of 5 readings 1 s after files_queued >= %s" % num(n - 1),
              ])
        s = "4 queued"
        self.note(s, "RSS MiB before / queued", "%s / %s" % (mib(before), mib(queued)))
        self.note(s, "bytes per queued file (paths subtracted / included)", "%.0f / %.0f" % (per, per_raw))

    # -------------------------------------------------------------- 5 size

    def section_size(self):
        n = self.c["size"]
        srcs = self.need_pool(n)
        files = {"k%d" % i: p for i, p in enumerate(srcs)}
        d = Fdsd(self, "size").start()
        try:
            base = d.rss()
            with d.connect() as conn, Sampler(d.pid) as smp:
                t0 = time.monotonic()
                r = conn.call(IFACE + ".Size", {"files": files})
                wall = time.monotonic() - t0
            d.check_alive()
            peak = max(d.hwm(), smp.peak_rss)
            time.sleep(0.5)
            after = d.rss()
        finally:
            d.stop()
        sizes, errors = r.get("sizes", {}), r.get("errors", {})
        right = sum(1 for v in sizes.values() if v == FILE_SIZE)
        table("5. one Size call of %s local files" % num(n), ["figure", "value"], [
            ["sizes / errors", "%s / %s (%s of the expected size)" % (num(len(sizes)), num(len(errors)), num(right))],
            ["wall", "%.2f s (%s entries/s)" % (wall, num(n / wall))],
            ["RSS before / peak / 0.5 s after", "%s / %s / %s MiB" % (mib(base), mib(peak), mib(after))],
        ])
        s = "5 size"
        self.note(s, "wall s", "%.2f" % wall)
        self.note(s, "RSS MiB before / peak / after", "%s / %s / %s" % (mib(base), mib(peak), mib(after)))
        if right != n:
            self.problems.append("size: %d of %d sizes right, %d errors" % (right, n, len(errors)))

    # -------------------------------------------------------------- run

    def run(self, sections):
        for name in sections:
            log("section %d: %s" % (SECTIONS.index(name) + 1, name))
            t0 = time.monotonic()
            cpu0 = (system_busy(), own_cpu(), self.rgw_cpu())
            try:
                getattr(self, "section_" + name)()
            except (BenchError, Exception) as e:  # noqa: BLE001 - the other sections still run
                if not isinstance(e, BenchError):
                    traceback.print_exc()
                print("\n== %d. %s: could not run: %s" % (SECTIONS.index(name) + 1, name, e), flush=True)
                self.problems.append("%s: %s" % (name, e))
                self.note("%d %s" % (SECTIONS.index(name) + 1, name), "error", str(e).splitlines()[0])
                Fdsd.stop_all()
            Fdsd.stop_all()
            wall = time.monotonic() - t0
            busy, own = system_busy() - cpu0[0], own_cpu() - cpu0[1]
            rgw = self.rgw_cpu() - cpu0[2] if self.rgw else 0.0
            other = max(0.0, busy - own - rgw) / wall
            print("  (section took %.0f s; fdsd + this script used %.2f cores on average, RGW %.2f, "
                  "other processes %.2f of the %d)" % (wall, own / wall, rgw / wall, other, os.cpu_count()),
                  flush=True)
            self.note("%d %s" % (SECTIONS.index(name) + 1, name), "other processes' load, cores", "%.2f" % other)


def default_workdir():
    """/dev/shm when it is a roomy tmpfs (the figures are then fdsd's, not a disk's),
    else $TMPDIR or /tmp."""
    d = "/dev/shm"
    try:
        st = os.statvfs(d)
        if os.access(d, os.W_OK) and fs_type(d) == "tmpfs" and st.f_bavail * st.f_frsize > 4 * (1 << 30):
            return d
    except OSError:
        pass
    return tempfile.gettempdir()


def fs_type(path):
    """The type of the file system path is on (/proc/mounts, longest mount point)."""
    path = os.path.realpath(path)
    best, kind = "", "?"
    try:
        with open("/proc/mounts", encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                mnt = parts[1].replace("\\040", " ")
                if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) > len(best):
                    best, kind = mnt, parts[2]
    except OSError:
        pass
    return kind


def parse_sections(text):
    if not text:
        return list(SECTIONS)
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        if part.isdigit() and 1 <= int(part) <= len(SECTIONS):
            part = SECTIONS[int(part) - 1]
        if part not in SECTIONS:
            raise SystemExit("load: unknown section %r (one of %s or 1-%d)" % (part, ", ".join(SECTIONS),
                                                                              len(SECTIONS)))
        if part not in out:
            out.append(part)
    return sorted(out, key=SECTIONS.index)


def main(argv):
    ap = argparse.ArgumentParser(prog="load.sh", description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="sections to run: names or numbers, comma-separated (%s)" % ",".join(SECTIONS))
    ap.add_argument("--quick", action="store_true", help="smaller counts, for a smoke run (about 2 minutes)")
    ap.add_argument("--s3-max", type=int, default=int(os.environ.get("FDS_LOAD_S3_MAX") or 0),
                    help="largest S3 batch of section 3 (default: all; env FDS_LOAD_S3_MAX)")
    ap.add_argument("--no-s3", action="store_true", help="skip the S3 part of section 3 (no RGW)")
    ap.add_argument("--fdsd", default=os.environ.get("FDSD") or os.path.join(ROOT, "build", "daemon", "fdsd"),
                    help="the fdsd binary (default $FDSD, else build/daemon/fdsd)")
    ap.add_argument("--workdir", default=None,
                    help="parent of the temporary directory: where the files are (default /dev/shm if it is "
                         "a tmpfs with 4 GiB free, else $TMPDIR or /tmp; give a disk's directory to include it)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    args = ap.parse_args(argv)
    args.workdir = args.workdir or default_workdir()
    sections = parse_sections(args.only)
    if not os.access(args.fdsd, os.X_OK):
        raise SystemExit("load: %s is not an executable fdsd (build it, or set FDSD / --fdsd)" % args.fdsd)

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    t0 = time.monotonic()
    bench = Bench(args)
    c = bench.c
    print("fds load benchmark: %s; %s, %d cores; fdsd %s" % (
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "quick" if args.quick else "full", os.cpu_count(), args.fdsd))
    print("work directory: %s (%s); fdsd runs as uid %d" % (bench.work, fs_type(bench.work), os.getuid()))
    print("sections: %s; counts: clients %d x %s, latency %d calls around %s-file batches, scale local %s, "
          "S3 %s, queued %s, size %s" % (
              ", ".join(sections), c["clients"][0], num(c["clients"][1]), c["latency_calls"],
              num(c["latency_batch"]), "/".join(num(n) for n in c["scale_local"]),
              "none" if args.no_s3 else "/".join(num(n) for n in c["scale_s3"]), num(c["queued"]), num(c["size"])),
          flush=True)
    try:
        bench.run(sections)
    finally:
        Fdsd.stop_all()
        bench.stop_rgw()
        if args.keep:
            log("work directory kept: %s" % bench.work)
        else:
            shutil.rmtree(bench.work, ignore_errors=True)
    elapsed = time.monotonic() - t0
    width = max([len(f) for _, f, _ in bench.summary] + [10])
    lines = ["", "== summary (%s run, %.0f s)" % ("quick" if args.quick else "full", elapsed), ""]
    last = None
    for sec, name, value in bench.summary:
        lines.append("  %-11s %s  %s" % (sec if sec != last else "", name.ljust(width), value))
        last = sec
    for p in bench.problems:
        lines.append("  PROBLEM: " + p)
    print("\n".join(lines), flush=True)
    return 1 if bench.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
