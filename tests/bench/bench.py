#!/usr/bin/python3
"""fds benchmark: fds against boto3, aws s3 cp, rclone and curl -Z on a local RGW.

Run it through tests/bench/run.sh (which builds first); see docs/BENCHMARKS.md.

For every size class (small 1,000 x 4 KiB, medium 100 x 1 MiB, large 1 x 1 GiB) and
direction (up: local -> S3, down: S3 -> local, copy: S3 -> S3) each tool copies the
same data, --repeat times, in an order rotated per repetition. Every run goes to a
fresh destination (S3 prefix or local directory), is verified, then deleted (and
RGW's garbage collector is run for medium and large).

Measured per run:
  wall        the client process from fork to exit (boto3: inside the process, see
              boto3_peer.py); fdsd is already running, one fresh fdsd per run
              (--warm-daemon: one fdsd per tool and size class, serving all its
              runs, as a long-running daemon would; its first run starts it cold)
  client CPU  user+sys of the client process (wait4 rusage; boto3: getrusage delta)
  daemon CPU  fdsd's utime+stime (/proc/PID/stat) after minus before the run
  peak RSS    client: GNU time's %M (its child's ru_maxrss); daemon: VmHWM of the
              fresh fdsd at the end of the run
  RGW CPU     radosgw + ceph-osd + ceph-mon utime+stime over the run
  other CPU   the machine's busy time (/proc/stat) minus client, fdsd and RGW: what
              other processes took from the shared cores during the run
  requests    HTTP requests RGW logged during the run, by method
Reported: medians over the runs that succeeded and verified (wall also min-max).

Verification:
  local destination  every file compared byte for byte with its source, and no
                     other file in the directory
  S3 destination     one listing: exactly the expected keys with the right sizes and
                     ETags (single-part ETag = MD5 of the source; a multipart "-N" ETag
                     is recomputed from the source for the part sizes that give N
                     parts; an ETag that matches neither gets a full download-and-
                     compare), plus a download-and-compare spot check of up to 5
                     random objects (large: 8 random 1 MiB ranges)

`bench.py --report out/results.json` prints the tables of a saved run again.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RGW_SH = os.path.join(ROOT, "tests", "harness", "rgw", "rgw.sh")
BOTO3_PEER = os.path.join(HERE, "boto3_peer.py")
PYTHON = "/usr/bin/python3"
AWS = "/usr/bin/aws"
TIME = "/usr/bin/time"
BUCKET = "bench"
PARALLEL = 16
KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30

SIZES = {
    "small": {"count": 1000, "size": 4 * KiB, "label": "1,000 x 4 KiB", "timeout": 180},
    "medium": {"count": 100, "size": 1 * MiB, "label": "100 x 1 MiB", "timeout": 180},
    "large": {"count": 1, "size": 1 * GiB, "label": "1 x 1 GiB", "timeout": 600},
}
DIRECTIONS = {
    "up": "upload (local -> S3)",
    "down": "download (S3 -> local)",
    "copy": "copy (S3 -> S3)",
}
TOOLS = ["fds", "fds-nv", "boto3", "aws", "rclone", "curl"]
TOOL_LABEL = {
    "fds": "fds",
    "fds-nv": "fds --no-validate",
    "boto3": "boto3 ThreadPoolExecutor(16)",
    "aws": "aws s3 cp --recursive",
    "rclone": "rclone copy --transfers 16",
    "curl": "curl -Z --parallel-max 16",
}
SCALE_COUNTS = [1000, 10000, 100000]


def log(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def die(msg):
    log("error: " + msg)
    sys.exit(2)


# ------------------------------------------------------------------ processes


def run_timed(argv, env, timeout, out_path, cwd=None):
    """Run argv to completion with stdout+stderr to out_path.

    Returns rc, wall seconds, CPU seconds and ru_maxrss (KiB) of the child (and of
    its waited-for descendants). Killed (with its process group) after timeout s.
    """
    killed = []
    # ru_maxrss of a direct child would start at this (big) Python process's RSS
    # (Linux carries the pre-exec high-water mark over exec): GNU time reports its
    # own child's, which it forked from a small process.
    rss_path = out_path + ".rss"
    if os.access(TIME, os.X_OK):
        argv = [TIME, "-q", "-o", rss_path, "-f", "%M"] + list(argv)
    with open(out_path, "wb") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        lock = threading.Lock()
        done = []

        def kill():
            with lock:
                if not done:
                    killed.append(True)
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            while True:
                try:
                    _, status, ru = os.wait4(proc.pid, 0)
                    break
                except InterruptedError:
                    continue
        finally:
            with lock:
                done.append(True)
            timer.cancel()
        wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    rss = None
    try:
        with open(rss_path, encoding="ascii") as f:
            rss = int(f.read().split()[-1])
        os.unlink(rss_path)
    except (OSError, ValueError, IndexError):
        pass
    return {
        "rc": proc.returncode,
        "wall": wall,
        "cpu": ru.ru_utime + ru.ru_stime,  # includes GNU time's own (~1 ms)
        "rss_kib": rss,
        "timed_out": bool(killed),
    }


def tail(path, n=15):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def proc_cpu(pid):
    """utime+stime of pid in seconds (all threads, also exited ones)."""
    with open("/proc/%d/stat" % pid, encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def system_busy():
    """Busy CPU seconds of the whole machine (all cores) from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    return (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)) / os.sysconf("SC_CLK_TCK")


def proc_hwm_kib(pid):
    with open("/proc/%d/status" % pid, encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class Daemon:
    """One fresh fdsd on a temporary socket."""

    def __init__(self, bench, tag):
        self.bench = bench
        self.sock = os.path.join(bench.work, "fdsd-%s.sock" % tag)
        self.log_path = os.path.join(bench.logs, "fdsd-%s.log" % tag)
        self.proc = None

    def start(self):
        with open(self.log_path, "wb") as logf:
            self.proc = subprocess.Popen(
                [self.bench.fdsd, "--socket", self.sock, "--log-level", "info"],
                env=self.bench.env, stdin=subprocess.DEVNULL, stdout=logf,
                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("fdsd exited at start:\n" + tail(self.log_path))
            if os.path.exists(self.sock):
                return
            time.sleep(0.01)
        raise RuntimeError("fdsd did not create its socket in 10 s")

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        rc = self.proc.returncode
        self.proc = None
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        return rc

    def problems(self):
        """Log lines of level warning or error."""
        bad = []
        for line in tail(self.log_path, 100000).splitlines():
            if "[warning]" in line or "[error]" in line or "[fatal]" in line:
                bad.append(line)
        return bad


# ------------------------------------------------------------------ helpers


def median(values):
    return statistics.median(values) if values else None


def md5_file(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        while True:
            b = f.read(8 * MiB)
            if not b:
                return h.hexdigest()
            h.update(b)


def multipart_etag(path, part_size):
    digests = []
    with open(path, "rb") as f:
        while True:
            b = f.read(part_size)
            if not b:
                break
            digests.append(hashlib.md5(b).digest())
    return "%s-%d" % (hashlib.md5(b"".join(digests)).hexdigest(), len(digests))


def same_file(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(8 * MiB), fb.read(8 * MiB)
            if x != y:
                return False
            if not x:
                return True


def write_random(path, size, rng):
    """Incompressible bytes (no tool here compresses, but be safe)."""
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 16 * MiB)
            f.write(rng.randbytes(n))
            left -= n


def version_of(argv, env=None):
    try:
        out = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                             timeout=30, check=False)
        text = (out.stdout or out.stderr).decode("utf-8", "replace").strip()
        return text.splitlines()[0] if text else "?"
    except (OSError, subprocess.TimeoutExpired):
        return None


def fmt(v, digits=2):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return "{:,.0f}".format(v)
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.*f" % (digits, v)


def other_cpu(r):
    """CPU seconds the rest of the machine used during a run (the whole process
    lifetime for boto3, whose own wall and CPU are measured inside it)."""
    client = r.get("outer_cpu", r["client_cpu"])
    return r["system_cpu"] - r["server_cpu"] - client - r.get("daemon_cpu", 0)


def wall_cell(s):
    if s["wall_min"] == s["wall_max"]:
        return fmt(s["wall"], 3)
    return "%s (%s-%s)" % (fmt(s["wall"], 3), fmt(s["wall_min"], 3), fmt(s["wall_max"], 3))


def fmt_ratio(v):
    return "-" if v is None else "%.2f" % v


# ------------------------------------------------------------------ the benchmark


class Bench:
    def __init__(self, args, saved=None):
        self.args = args
        if saved is not None:
            # Only render the report of a saved run (--report).
            self.results = saved["runs"]
            self.notes = saved.get("notes", [])
            self.skipped = saved.get("skipped", {})
            self.tools = [t for t in args.tools if t not in self.skipped]
            return
        self.work = tempfile.mkdtemp(prefix="fds-bench-", dir=args.workdir)
        self.logs = os.path.join(self.work, "logs")
        os.makedirs(self.logs)
        self.rgw_dir = os.path.join(self.work, "s3")
        self.rgw_env = None
        self.env = None
        self.s3 = None
        self.daemon = None
        self.warm = {}      # (class, tool) -> Daemon, with --warm-daemon
        self.results = []   # one dict per run
        self.notes = []     # odd things seen
        self.skipped = {}   # tool -> reason
        self.md5 = {}       # local source path -> md5 hex
        self.mp_etag = {}   # (path, part size) -> multipart ETag
        self.run_no = 0
        self.snapshot_binaries()

    # -------------------------------------------------------------- setup

    def snapshot_binaries(self):
        """Copy fdsd, fdsctl and libfds into the work dir (fdsctl's RUNPATH is
        $ORIGIN), so that a rebuild during the benchmark changes nothing."""
        build = self.args.build
        src = {
            "fdsd": os.path.join(build, "daemon", "fdsd"),
            "fdsctl": os.path.join(build, "client", "fdsctl"),
            "libfds.so.0": os.path.join(build, "client", "libfds.so.0"),
        }
        for name, path in src.items():
            if not os.path.exists(path):
                die("%s not found (build first: ninja -C %s)" % (path, build))
        bindir = os.path.join(self.work, "bin")
        os.makedirs(bindir)
        for name, path in src.items():
            shutil.copy2(path, os.path.join(bindir, name))
        self.fdsd = os.path.join(bindir, "fdsd")
        self.fdsctl = os.path.join(bindir, "fdsctl")

    def start_rgw(self):
        log("starting RGW in %s" % self.rgw_dir)
        out = subprocess.run(["bash", RGW_SH, "start", self.rgw_dir], stdin=subprocess.DEVNULL,
                             capture_output=True, timeout=180, check=False)
        if out.returncode != 0:
            die("rgw.sh start failed:\n" + (out.stdout + out.stderr).decode("utf-8", "replace"))
        env = {}
        with open(os.path.join(self.rgw_dir, "env"), encoding="utf-8") as f:
            for line in f:
                if "=" in line:
                    k, v = line.strip().split("=", 1)
                    env[k] = v
        self.rgw_env = env
        base = {k: v for k, v in os.environ.items()
                if not k.startswith("AWS_") and k.lower() not in
                ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
                and not k.startswith("RCLONE_")}
        base.update(env)
        base["AWS_EC2_METADATA_DISABLED"] = "true"
        base["NO_PROXY"] = "127.0.0.1"
        # aws: no user configuration, 16 concurrent requests like the other peers.
        awsconf = os.path.join(self.work, "aws-config")
        with open(awsconf, "w", encoding="utf-8") as f:
            f.write("[default]\ns3 =\n  max_concurrent_requests = %d\n" % PARALLEL)
        base["AWS_CONFIG_FILE"] = awsconf
        # Credentials only from the environment: an empty shared credentials file.
        creds = os.path.join(self.work, "aws-credentials")
        open(creds, "w", encoding="utf-8").close()
        base["AWS_SHARED_CREDENTIALS_FILE"] = creds
        # rclone: a remote "b" from the environment, no config file.
        rconf = os.path.join(self.work, "rclone.conf")
        open(rconf, "w", encoding="utf-8").close()
        base.update({
            "RCLONE_CONFIG": rconf,
            "RCLONE_CONFIG_B_TYPE": "s3",
            "RCLONE_CONFIG_B_PROVIDER": "Ceph",
            "RCLONE_CONFIG_B_ACCESS_KEY_ID": env["AWS_ACCESS_KEY_ID"],
            "RCLONE_CONFIG_B_SECRET_ACCESS_KEY": env["AWS_SECRET_ACCESS_KEY"],
            "RCLONE_CONFIG_B_ENDPOINT": env["AWS_ENDPOINT_URL"],
            "RCLONE_CONFIG_B_REGION": env.get("AWS_REGION", "us-east-1"),
        })
        self.env = base
        import boto3
        import botocore.config
        self.s3 = boto3.session.Session().client(
            "s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env.get("AWS_REGION"),
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            config=botocore.config.Config(max_pool_connections=PARALLEL))
        self.s3.create_bucket(Bucket=BUCKET)

    def server_cpu(self):
        """CPU seconds used so far by this RGW's radosgw, ceph-osd and ceph-mon."""
        total = 0.0
        for name in ("rgw", "osd", "mon"):
            try:
                with open(os.path.join(self.rgw_dir, "pids", name + ".pid"), encoding="ascii") as f:
                    total += proc_cpu(int(f.read().strip()))
            except (OSError, ValueError):
                pass
        return total

    def rgw_log_path(self):
        return os.path.join(self.rgw_dir, "log", "client.rgw.log")

    def rgw_log_offset(self):
        try:
            return os.path.getsize(self.rgw_log_path())
        except OSError:
            return None

    def rgw_requests(self, offset):
        """Requests RGW logged since offset, by method (its access lines)."""
        if offset is None:
            return None
        time.sleep(0.05)  # RGW writes the access line after the reply
        counts = {}
        with open(self.rgw_log_path(), "rb") as f:
            f.seek(offset)
            for m in re.finditer(rb'\] "([A-Z]+) /', f.read()):
                k = m.group(1).decode()
                counts[k] = counts.get(k, 0) + 1
        return counts

    def settle(self):
        """Wait (up to --settle seconds) until other processes use < 0.25 core."""
        deadline = time.monotonic() + self.args.settle
        while time.monotonic() < deadline:
            b0, s0 = system_busy(), self.server_cpu()
            time.sleep(0.5)
            if (system_busy() - b0) - (self.server_cpu() - s0) < 0.125:
                return
        return

    def stop_rgw(self):
        subprocess.run(["bash", RGW_SH, "stop", self.rgw_dir], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=120, check=False)

    def gc(self):
        subprocess.run(["bash", RGW_SH, "gc", self.rgw_dir], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=300, check=False)

    def check_peers(self):
        wanted = [t for t in self.args.tools if t not in ("fds", "fds-nv")]
        if "boto3" in wanted and not version_of([PYTHON, "-c", "import boto3; print(boto3.__version__)"]):
            self.skipped["boto3"] = "python3-boto3 not importable by %s" % PYTHON
        if "aws" in wanted:
            v = version_of([AWS, "--version"], self.env) if os.path.exists(AWS) else None
            if not v or not v.startswith("aws-cli/"):
                self.skipped["aws"] = "%s not available (apt-get install awscli)" % AWS
        if "rclone" in wanted and not shutil.which("rclone"):
            self.skipped["rclone"] = "rclone not on PATH (apt-get install rclone)"
        if "curl" in wanted:
            v = version_of(["curl", "--version"])
            ok = False
            if v and v.startswith("curl "):
                parts = v.split()[1].split(".")
                try:
                    ok = (int(parts[0]), int(parts[1])) >= (7, 75)  # --aws-sigv4, -Z
                except ValueError:
                    ok = False
            if not ok:
                self.skipped["curl"] = "curl >= 7.75 (--aws-sigv4, -Z) not available"
        for tool, why in self.skipped.items():
            log("skipping %s: %s" % (tool, why))
        self.tools = [t for t in self.args.tools if t not in self.skipped]

    def versions(self):
        mem = "?"
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = "%.1f GiB" % (int(line.split()[1]) / MiB)
        cpu = "?"
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        git = version_of(["git", "-C", ROOT, "describe", "--always", "--dirty"]) or "?"
        return {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "nproc": os.cpu_count(),
            "cpu": cpu,
            "ram": mem,
            "kernel": platform.release(),
            "fds": "%s (git %s)" % (version_of([self.fdsctl, "--version"]) or "?", git),
            "curl": version_of(["curl", "--version"]),
            "boto3": version_of([PYTHON, "-c", "import boto3, botocore; "
                                 "print('boto3 %s, botocore %s' % (boto3.__version__, botocore.__version__))"]),
            "awscli": version_of([AWS, "--version"], self.env) if os.path.exists(AWS) else None,
            "rclone": version_of(["rclone", "version"]) if shutil.which("rclone") else None,
            "ceph": version_of(["radosgw", "--version"]),
            "python": version_of([PYTHON, "--version"]),
        }

    # -------------------------------------------------------------- data

    def make_files(self, name, count, size):
        d = os.path.join(self.work, "data", name)
        os.makedirs(d)
        paths = []
        rng = random.Random(name)
        for i in range(count):
            p = os.path.join(d, "%06d.bin" % i)
            write_random(p, size, rng)
            paths.append(p)
        return d, paths

    def seed(self, cls, paths):
        """Source objects for down and copy: boto3 upload_file with its defaults
        (1 GiB: multipart, 8 MiB parts), keys src/CLASS/NNNNNN.bin."""
        from concurrent.futures import ThreadPoolExecutor
        keys = ["src/%s/%s" % (cls, os.path.basename(p)) for p in paths]
        with ThreadPoolExecutor(PARALLEL) as pool:
            list(pool.map(lambda pk: self.s3.upload_file(pk[0], BUCKET, pk[1]), zip(paths, keys)))
        return keys

    def s3_list(self, prefix):
        out = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
            for o in page.get("Contents", []):
                out[o["Key"]] = (o["Size"], o["ETag"].strip('"'))
        return out

    def s3_delete_prefix(self, prefix):
        from concurrent.futures import ThreadPoolExecutor
        keys = list(self.s3_list(prefix))

        def delete(i):
            self.s3.delete_objects(Bucket=BUCKET, Delete={
                "Objects": [{"Key": k} for k in keys[i:i + 1000]], "Quiet": True})

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(delete, range(0, len(keys), 1000)))
        # Multipart uploads a failed run may have left behind.
        for page in self.s3.get_paginator("list_multipart_uploads").paginate(Bucket=BUCKET, Prefix=prefix):
            for u in page.get("Uploads", []):
                self.s3.abort_multipart_upload(Bucket=BUCKET, Key=u["Key"], UploadId=u["UploadId"])
        return len(keys)

    # -------------------------------------------------------------- verification

    def verify_local(self, dst_dir, sources):
        names = sorted(os.listdir(dst_dir)) if os.path.isdir(dst_dir) else []
        expected = sorted(os.path.basename(p) for p in sources)
        if names != expected:
            extra = sorted(set(names) - set(expected))[:5]
            missing = sorted(set(expected) - set(names))[:5]
            return "files differ: %d present, %d expected; extra %s, missing %s" % (
                len(names), len(expected), extra, missing)
        for src in sources:
            if not same_file(src, os.path.join(dst_dir, os.path.basename(src))):
                return "content differs: %s" % os.path.basename(src)
        return None

    def etag_ok(self, src, size, etag):
        if "-" not in etag:
            return etag == self.md5[src]
        n = int(etag.rsplit("-", 1)[1])
        cands = [p * MiB for p in range(5, 5121) if -(-size // (p * MiB)) == n]
        if size % n == 0:
            cands.insert(0, size // n)
        for ps in cands[:4]:
            key = (src, ps)
            if key not in self.mp_etag:
                self.mp_etag[key] = multipart_etag(src, ps)
            if self.mp_etag[key] == etag:
                return True
        return False

    def s3_equal(self, key, src, byte_range=None):
        kw = {"Range": "bytes=%d-%d" % byte_range} if byte_range else {}
        body = self.s3.get_object(Bucket=BUCKET, Key=key, **kw)["Body"]
        with open(src, "rb") as f:
            if byte_range:
                f.seek(byte_range[0])
                want = byte_range[1] - byte_range[0] + 1
                return body.read() == f.read(want)
            while True:
                b = body.read(8 * MiB)
                if not b:
                    return f.read(1) == b""
                if b != f.read(len(b)):
                    return False

    def verify_s3(self, prefix, sources, rng):
        listing = self.s3_list(prefix)
        expected = {prefix + os.path.basename(p): p for p in sources}
        if set(listing) != set(expected):
            extra = sorted(set(listing) - set(expected))[:5]
            missing = sorted(set(expected) - set(listing))[:5]
            return "keys differ: %d present, %d expected; extra %s, missing %s" % (
                len(listing), len(expected), extra, missing)
        full_checks = 0
        for key, src in expected.items():
            size, etag = listing[key]
            if size != os.path.getsize(src):
                return "size differs: %s (%d)" % (key, size)
            if not self.etag_ok(src, size, etag):
                full_checks += 1
                if not self.s3_equal(key, src):
                    return "content differs: %s (ETag %s)" % (key, etag)
        # Spot check: whole objects, or ranges of a large one.
        for key in rng.sample(sorted(expected), min(5, len(expected))):
            src = expected[key]
            size = os.path.getsize(src)
            if size <= 64 * MiB:
                if not self.s3_equal(key, src):
                    return "spot check: content differs: %s" % key
            else:
                for _ in range(8):
                    a = rng.randrange(0, size - MiB)
                    if not self.s3_equal(key, src, (a, a + MiB - 1)):
                        return "spot check: range %d differs: %s" % (a, key)
        if full_checks:
            self.notes.append("%s: %d object(s) had an ETag not recomputable from the "
                              "source; verified by full download" % (prefix, full_checks))
        return None

    # -------------------------------------------------------------- tools

    def fds_argv(self, sock, nv, batch):
        argv = [self.fdsctl, "--socket", sock, "--quiet", "--path-style",
                "--endpoint", self.rgw_env["AWS_ENDPOINT_URL"], "--parallelism", str(PARALLEL)]
        if nv:
            argv.append("--no-validate")
        return argv + ["copy", "--batch", batch]

    def curl_config(self, path, direction, pairs):
        """A curl -K file: one transfer per pair, signed SigV4 with an unsigned
        payload (curl 7.88 sends no x-amz-content-sha256 by itself)."""
        ep = self.rgw_env["AWS_ENDPOINT_URL"]
        common = [
            'aws-sigv4 = "aws:amz:%s:s3"' % self.rgw_env.get("AWS_REGION", "us-east-1"),
            'user = "%s:%s"' % (self.rgw_env["AWS_ACCESS_KEY_ID"], self.rgw_env["AWS_SECRET_ACCESS_KEY"]),
            'header = "x-amz-content-sha256: UNSIGNED-PAYLOAD"',
            'fail',
            'write-out = "%{http_code} %{url_effective}\\n"',
        ]

        def url(s3url):
            return "%s/%s" % (ep, s3url[len("s3://"):])

        lines = []
        if direction == "copy":
            # Each transfer has its own x-amz-copy-source: one section per file.
            for i, (src, dst) in enumerate(pairs):
                if i:
                    lines.append("next")
                lines += common
                lines += ['request = "PUT"', 'output = "/dev/null"',
                          'header = "x-amz-copy-source: /%s"' % src[len("s3://"):],
                          'url = "%s"' % url(dst)]
        else:
            lines += common
            for src, dst in pairs:
                if direction == "up":
                    lines += ['upload-file = "%s"' % src, 'url = "%s"' % url(dst)]
                else:
                    lines += ['output = "%s"' % dst, 'url = "%s"' % url(src)]
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

    def run_one(self, tool, cls, direction, rep, src_dir, sources, src_keys):
        """One timed run; returns the result dict (also appended to results)."""
        self.run_no += 1
        tag = "%s-%s-%s-%d" % (cls, direction, tool, rep)
        res = {"class": cls, "direction": direction, "tool": tool, "rep": rep,
               "ok": False, "error": None}
        runs = os.path.join(self.work, "runs", tag)
        os.makedirs(runs)
        out_path = os.path.join(self.logs, tag + ".out")
        s3_src_prefix = "src/%s/" % cls
        names = [os.path.basename(p) for p in sources]
        if direction == "down":
            dst_dir = os.path.join(self.work, "dl", tag)
            os.makedirs(dst_dir)
            dst_prefix = None
            pairs = [("s3://%s/%s" % (BUCKET, k), os.path.join(dst_dir, os.path.basename(k)))
                     for k in src_keys]
        else:
            dst_dir = None
            dst_prefix = "run/%s/" % tag
            if direction == "up":
                pairs = [(p, "s3://%s/%s%s" % (BUCKET, dst_prefix, n)) for p, n in zip(sources, names)]
            else:
                pairs = [("s3://%s/%s" % (BUCKET, k), "s3://%s/%s%s" % (BUCKET, dst_prefix, os.path.basename(k)))
                         for k in src_keys]
        batch = os.path.join(runs, "pairs.tsv")
        with open(batch, "w", encoding="utf-8") as f:
            f.writelines("%s\t%s\n" % p for p in pairs)

        env = self.env
        timeout = SIZES[cls]["timeout"] if cls in SIZES else self.scale_timeout
        daemon = None
        try:
            if tool in ("fds", "fds-nv"):
                daemon = self.warm.get((cls, tool)) if self.args.warm_daemon else None
                if daemon is None:
                    daemon = self.daemon = Daemon(self, tag)
                    daemon.start()
                    if self.args.warm_daemon:
                        self.warm[(cls, tool)] = daemon
                argv = self.fds_argv(daemon.sock, tool == "fds-nv", batch)
            elif tool == "boto3":
                argv = [PYTHON, BOTO3_PEER, direction, batch, str(PARALLEL)]
            elif tool == "aws":
                s3src = "s3://%s/%s" % (BUCKET, s3_src_prefix)
                s3dst = "s3://%s/%s" % (BUCKET, dst_prefix or "")
                src, dst = {"up": (src_dir + "/", s3dst), "down": (s3src, "%s/" % dst_dir),
                            "copy": (s3src, s3dst)}[direction]
                argv = [AWS, "--endpoint-url", self.rgw_env["AWS_ENDPOINT_URL"], "s3", "cp",
                        "--recursive", "--only-show-errors", "--no-progress", src, dst]
            elif tool == "rclone":
                rsrc = "b:%s/%s" % (BUCKET, s3_src_prefix.rstrip("/"))
                rdst = "b:%s/%s" % (BUCKET, (dst_prefix or "").rstrip("/"))
                src, dst = {"up": (src_dir, rdst), "down": (rsrc, str(dst_dir)),
                            "copy": (rsrc, rdst)}[direction]
                argv = ["rclone", "copy", "--transfers", str(PARALLEL), src, dst]
            elif tool == "curl":
                cfg = os.path.join(runs, "curl.cfg")
                self.curl_config(cfg, direction, pairs)
                # -s does not silence 7.88's parallel progress meter; this does.
                argv = ["curl", "--no-progress-meter", "-Z", "--parallel-max", str(PARALLEL), "-K", cfg]
            else:
                raise ValueError(tool)
            os.sync()
            self.settle()
            log_off = self.rgw_log_offset()
            d_cpu0 = proc_cpu(daemon.proc.pid) if daemon else None
            s_cpu0, sys0 = self.server_cpu(), system_busy()
            r = run_timed(argv, env, timeout, out_path)
            res["server_cpu"] = self.server_cpu() - s_cpu0
            res["system_cpu"] = system_busy() - sys0
            res["requests"] = self.rgw_requests(log_off)
            if daemon:
                res["daemon_cpu"] = proc_cpu(daemon.proc.pid) - d_cpu0
                res["daemon_rss_kib"] = proc_hwm_kib(daemon.proc.pid)
            res.update({"wall": r["wall"], "client_cpu": r["cpu"], "client_rss_kib": r["rss_kib"],
                        "rc": r["rc"]})
            if tool == "boto3" and r["rc"] in (0, 1):
                try:
                    with open(out_path, encoding="utf-8") as f:
                        inner = json.loads(f.read().strip().splitlines()[-1])
                    res["outer_wall"], res["outer_cpu"] = r["wall"], r["cpu"]
                    res["wall"], res["client_cpu"] = inner["wall"], inner["cpu"]
                    if inner["failed"]:
                        res["error"] = "%d failed: %s" % (inner["failed"], inner["first_error"])
                except (ValueError, KeyError, IndexError) as e:
                    res["error"] = "boto3 peer output: %s" % e
            if r["timed_out"]:
                res["error"] = "timed out after %d s" % timeout
            elif r["rc"] != 0 and not res["error"]:
                res["error"] = "exit %d: %s" % (r["rc"], tail(out_path, 5))
            if tool == "curl" and not res["error"]:
                with open(out_path, encoding="utf-8", errors="replace") as f:
                    codes = re.findall(r"(\d{3}) http://", f.read())
                if len(codes) != len(pairs) or any(c != "200" for c in codes):
                    res["error"] = "curl: %d replies, not all 200" % len(codes)
        except (OSError, RuntimeError) as e:
            res["error"] = str(e)
        finally:
            if daemon and not self.args.warm_daemon:
                self.stop_daemon(daemon, tag, res)

        if not res["error"]:
            rng = random.Random(self.run_no)
            err = (self.verify_local(dst_dir, sources) if direction == "down"
                   else self.verify_s3(dst_prefix, sources, rng))
            if err:
                res["error"] = "verification: " + err
            else:
                res["ok"] = True
        if res["error"]:
            log("  %-7s %-5s %-6s rep %d FAILED: %s" % (cls, direction, tool, rep, res["error"]))
            if tool in ("fds", "fds-nv"):
                self.notes.append("%s failed: %s" % (tag, res["error"]))
        else:
            total = res["client_cpu"] + res.get("daemon_cpu", 0)
            log("  %-7s %-5s %-6s rep %d %7.3f s  cpu %.2f s" % (cls, direction, tool, rep, res["wall"], total))

        # Clean up the destination.
        if dst_dir:
            shutil.rmtree(dst_dir, ignore_errors=True)
        else:
            self.s3_delete_prefix(dst_prefix)
        shutil.rmtree(runs, ignore_errors=True)
        self.results.append(res)
        return res

    def stop_daemon(self, daemon, tag, res=None):
        rc = daemon.stop()
        if daemon is self.daemon:
            self.daemon = None
        probs = daemon.problems()
        if probs:
            if res is not None:
                res["daemon_log"] = probs[:20]
            self.notes.append("fdsd log, %s: %d warning/error line(s), first: %s"
                              % (tag, len(probs), probs[0]))
        if rc not in (0, None):
            self.notes.append("fdsd exit status %s after %s" % (rc, tag))

    def stop_warm(self):
        for (cls, tool), daemon in sorted(self.warm.items()):
            self.stop_daemon(daemon, "%s-%s (warm)" % (cls, tool))
        self.warm = {}

    # -------------------------------------------------------------- main loops

    def run_classes(self):
        for cls in self.args.sizes:
            spec = SIZES[cls]
            reps = self.args.repeat or 3
            log("%s (%s): generating data" % (cls, spec["label"]))
            src_dir, sources = self.make_files(cls, spec["count"], spec["size"])
            for p in sources:
                self.md5[p] = md5_file(p)
            src_keys = []
            if {"down", "copy"} & set(self.args.directions):
                log("%s: seeding src/%s/ with boto3" % (cls, cls))
                src_keys = self.seed(cls, sources)
            os.sync()
            for rep in range(reps):
                for direction in self.args.directions:
                    tools = [t for t in self.tools
                             if not (t == "fds-nv" and direction == "up" and not self.args.tools_given)]
                    order = tools[rep % len(tools):] + tools[:rep % len(tools)]
                    for tool in order:
                        self.run_one(tool, cls, direction, rep, src_dir, sources, src_keys)
                        if cls != "small":
                            self.gc()
                if cls == "small":
                    self.gc()
            self.stop_warm()
            self.s3_delete_prefix("src/%s/" % cls)
            shutil.rmtree(src_dir, ignore_errors=True)
            self.gc()

    def run_scale(self):
        self.scale_timeout = 900
        n_max = max(self.args.scale_counts)
        log("scale: generating %d x 4 KiB" % n_max)
        src_dir, sources = self.make_files("scale", n_max, 4 * KiB)
        for p in sources:
            self.md5[p] = md5_file(p)
        os.sync()
        for n in self.args.scale_counts:
            reps = self.args.repeat or (1 if n >= 100000 else 3)
            for rep in range(reps):
                for tool in [t for t in self.tools if t in ("fds", "fds-nv")]:
                    self.run_one(tool, "scale-%d" % n, "up", rep, src_dir, sources[:n], [])
                    self.gc()
            self.stop_warm()
        shutil.rmtree(src_dir, ignore_errors=True)

    # -------------------------------------------------------------- report

    def summary(self, cls, direction, tool):
        runs = [r for r in self.results if r["class"] == cls and r["direction"] == direction
                and r["tool"] == tool]
        good = [r for r in runs if r["ok"]]
        if not runs:
            return None
        count, size = self.class_shape(cls)
        s = {"runs": len(runs), "ok": len(good)}
        if good:
            s["wall"] = median([r["wall"] for r in good])
            s["wall_min"] = min(r["wall"] for r in good)
            s["wall_max"] = max(r["wall"] for r in good)
            s["files_s"] = median([count / r["wall"] for r in good])
            s["mb_s"] = median([count * size / 1e6 / r["wall"] for r in good])
            s["client_cpu"] = median([r["client_cpu"] for r in good])
            s["daemon_cpu"] = median([r["daemon_cpu"] for r in good]) if "daemon_cpu" in good[0] else None
            s["cpu"] = median([r["client_cpu"] + r.get("daemon_cpu", 0) for r in good])
            s["server_cpu"] = median([r["server_cpu"] for r in good])
            reqs = [sum(r["requests"].values()) for r in good if r.get("requests") is not None]
            s["requests"] = median(reqs)
            s["other_cpu"] = median([other_cpu(r) for r in good])
            rss = [r["client_rss_kib"] / 1024 for r in good if r.get("client_rss_kib")]
            s["client_rss"] = median(rss)
            s["daemon_rss"] = (median([r["daemon_rss_kib"] / 1024 for r in good])
                               if "daemon_rss_kib" in good[0] else None)
        s["errors"] = [r["error"] for r in runs if not r["ok"]]
        return s

    @staticmethod
    def class_shape(cls):
        if cls in SIZES:
            return SIZES[cls]["count"], SIZES[cls]["size"]
        return int(cls.split("-")[1]), 4 * KiB

    def ratio(self, cls, direction, a, b, key):
        if a == b:
            return None
        sa, sb = self.summary(cls, direction, a), self.summary(cls, direction, b)
        if not sa or not sb or sa.get(key) is None or sb.get(key) is None or not sb[key]:
            return None
        return sa[key] / sb[key]

    def table(self, cls, direction):
        rate_key = "files_s" if cls == "small" else "mb_s"
        lines = [
            "| tool | ok | wall s (min-max) | files/s | MB/s | client CPU s | fdsd CPU s | client RSS MiB "
            "| fdsd RSS MiB | RGW CPU s | other CPU s | HTTP requests | fds ÷ tool (rate) "
            "| fds-nv ÷ tool (rate) | fds ÷ tool (CPU) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for tool in self.args.tools:
            if tool in self.skipped:
                lines.append("| %s | skipped: %s ||||||||||||||" % (TOOL_LABEL[tool], self.skipped[tool]))
                continue
            s = self.summary(cls, direction, tool)
            if not s:
                continue
            if not s["ok"]:
                lines.append("| %s | 0/%d | FAILED: %s ||||||||||||" % (
                    TOOL_LABEL[tool], s["runs"], s["errors"][0][:120].replace("|", "/").replace("\n", " ")))
                continue
            lines.append("| %s | %d/%d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                TOOL_LABEL[tool], s["ok"], s["runs"], wall_cell(s), fmt(s["files_s"]),
                fmt(s["mb_s"]), fmt(s["client_cpu"]), fmt(s["daemon_cpu"]), fmt(s["client_rss"], 1),
                fmt(s["daemon_rss"], 1), fmt(s["server_cpu"]), fmt(s["other_cpu"]),
                "-" if s["requests"] is None else "%d" % s["requests"],
                fmt_ratio(self.ratio(cls, direction, "fds", tool, rate_key)),
                fmt_ratio(self.ratio(cls, direction, "fds-nv", tool, rate_key)),
                fmt_ratio(self.ratio(cls, direction, "fds", tool, "cpu"))))
        return lines

    def targets(self):
        out = []

        def check(desc, cls, direction, a, b, key, want, higher=True):
            r = self.ratio(cls, direction, a, b, key)
            if r is None:
                out.append("| %s | not measured | |" % desc)
                return
            ok = r >= want if higher else r <= want
            out.append("| %s | %s | %s %.0f%% (target %s %.0f%%) |" % (
                desc, "met" if ok else "**missed**", TOOL_LABEL[a], 100 * r,
                ">=" if higher else "<=", 100 * want))

        c = set(self.args.sizes)
        d = set(self.args.directions)
        if "small" in c:
            if "up" in d:
                check("1,000 x 4 KiB up, files/s vs curl -Z", "small", "up", "fds", "curl", "files_s", 0.9)
            for direction in ("down", "copy"):
                if direction in d:
                    check("1,000 x 4 KiB %s, --no-validate vs curl -Z" % direction, "small",
                          direction, "fds-nv", "curl", "files_s", 0.9)
                    check("1,000 x 4 KiB %s, defaults vs curl -Z" % direction, "small",
                          direction, "fds", "curl", "files_s", 0.7)
        if "medium" in c:
            for direction in ("up", "down", "copy"):
                if direction in d:
                    check("100 x 1 MiB %s, MB/s vs curl -Z" % direction, "medium", direction,
                          "fds", "curl", "mb_s", 0.9)
        if "large" in c:
            for direction in ("up", "down"):
                if direction in d:
                    check("1 GiB %s, MB/s vs curl single stream" % direction, "large", direction,
                          "fds", "curl", "mb_s", 0.85)
            if "copy" in d:
                check("1 GiB copy, MB/s vs boto3 multipart copy", "large", "copy", "fds", "boto3",
                      "mb_s", 1.0)
        for cls in self.args.sizes:
            for direction in self.args.directions:
                check("CPU %s %s: fds (fdsd + fdsctl) vs curl" % (cls, direction), cls, direction,
                      "fds", "curl", "cpu", 1.5, higher=False)
        return ["| target | result | measured |", "|---|---|---|"] + out

    def scale_table(self):
        lines = ["| files in batch | tool | ok | wall s (min-max) | files/s | fdsctl CPU s | fdsd CPU s "
                 "| fdsctl RSS MiB | fdsd RSS MiB | files/s ÷ files/s at {:,} |".format(self.args.scale_counts[0]),
                 "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        flat = []
        for tool in [t for t in self.tools if t in ("fds", "fds-nv")]:
            base = self.summary("scale-%d" % self.args.scale_counts[0], "up", tool)
            for n in self.args.scale_counts:
                s = self.summary("scale-%d" % n, "up", tool)
                if not s:
                    continue
                if not s["ok"]:
                    lines.append("| {:,} | {} | 0/{} | FAILED: {} |||||||".format(
                        n, TOOL_LABEL[tool], s["runs"], s["errors"][0][:120]))
                    continue
                rel = s["files_s"] / base["files_s"] if base and base.get("files_s") else None
                if rel is not None and n != self.args.scale_counts[0]:
                    flat.append((tool, n, rel))
                lines.append("| {:,} | {} | {}/{} | {} | {} | {} | {} | {} | {} | {} |".format(
                    n, TOOL_LABEL[tool], s["ok"], s["runs"], wall_cell(s), fmt(s["files_s"]),
                    fmt(s["client_cpu"]), fmt(s["daemon_cpu"]), fmt(s["client_rss"], 1),
                    fmt(s["daemon_rss"], 1), fmt_ratio(rel)))
        lines.append("")
        for tool, n, rel in flat:
            lines.append("- %s, %s files: %.0f%% of the %s-file rate: %s (criterion: >= 90%%)" % (
                TOOL_LABEL[tool], "{:,}".format(n), 100 * rel, "{:,}".format(self.args.scale_counts[0]),
                "flat" if rel >= 0.9 else "**not flat**"))
        return lines

    def report(self, info, elapsed):
        md = ["# fds benchmark results", "",
              "Command: `%s`" % self.args.command_line, "",
              "Total time: %.0f s. Medians over the runs that succeeded and verified; "
              "MB = 10^6 bytes. Rates are files (or bytes) / wall." % elapsed, "",
              "| machine | |", "|---|---|"]
        for k in ("date", "nproc", "cpu", "ram", "kernel", "fds", "curl", "boto3", "awscli",
                  "rclone", "ceph", "python"):
            md.append("| %s | %s |" % (k, info.get(k) or "not available"))
        md.append("")
        if self.args.scale:
            md += ["## Scale: one fds upload batch of N x 4 KiB", ""] + self.scale_table() + [""]
        else:
            for cls in self.args.sizes:
                for direction in self.args.directions:
                    md += ["## %s, %s" % (SIZES[cls]["label"], DIRECTIONS[direction]), ""]
                    md += self.table(cls, direction) + [""]
            md += ["## Targets", ""] + self.targets() + [""]
        if self.skipped:
            md += ["## Peers not run", ""]
            md += ["- %s: %s" % (TOOL_LABEL[t], why) for t, why in self.skipped.items()] + [""]
        fails = [r for r in self.results if not r["ok"]]
        timed = [r for r in self.results if r.get("wall") and "system_cpu" in r]
        notes = list(self.notes)
        if timed:
            other = sum(other_cpu(r) for r in timed)
            wall = sum(r.get("outer_wall", r["wall"]) for r in timed)
            notes.insert(0, "Other processes on the machine (not the client, fdsd or RGW) "
                         "used %.2f cores on average during the timed runs (of %s)."
                         % (max(other, 0) / wall, info.get("nproc", "?")))
        if notes or fails:
            md += ["## Notes from this run", ""]
            seen = set()
            for n in notes:
                if n not in seen:
                    seen.add(n)
                    md.append("- " + n.replace("\n", " ")[:400])
            for r in fails:
                if r["tool"] not in ("fds", "fds-nv"):
                    md.append("- %s %s %s rep %d failed: %s" % (
                        r["class"], r["direction"], r["tool"], r["rep"], (r["error"] or "")[:300].replace("\n", " ")))
            md.append("")
        return "\n".join(md)


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="tests/bench/run.sh", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="one repetition of small and medium (no 1 GiB)")
    ap.add_argument("--repeat", type=int, help="runs per cell (default 3)")
    ap.add_argument("--settle", type=float, default=0, metavar="S",
                    help="before each run wait up to S seconds for the machine to be idle "
                    "(other processes using under a quarter of a core)")
    ap.add_argument("--sizes", help="comma list of small,medium,large (default all)")
    ap.add_argument("--directions", default="up,down,copy", help="comma list of up,down,copy")
    ap.add_argument("--tools", help="comma list of %s (default all; --scale: fds)" % ",".join(TOOLS))
    ap.add_argument("--warm-daemon", action="store_true",
                    help="one fdsd per tool and size class for all its runs (default: a fresh one per run)")
    ap.add_argument("--scale", action="store_true",
                    help="only the scale mode: fds uploads of 1,000 / 10,000 / 100,000 x 4 KiB")
    ap.add_argument("--scale-counts", default=",".join(str(n) for n in SCALE_COUNTS),
                    help=argparse.SUPPRESS)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="meson build dir")
    ap.add_argument("--workdir", default=os.environ.get("TMPDIR", "/tmp"),
                    help="parent of the temporary work directory")
    ap.add_argument("--out", default=os.path.join(HERE, "out"), help="results directory")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--no-build", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--report", metavar="JSON",
                    help="only print the tables of a saved run (out/results.json or out/scale.json)")
    args = ap.parse_args(argv)
    args.command_line = os.environ.get("FDS_BENCH_COMMAND") or " ".join(["tests/bench/run.sh"] + argv)
    if args.quick:
        args.repeat = args.repeat or 1
        args.sizes = args.sizes or "small,medium"
    args.sizes = [s for s in (args.sizes or "small,medium,large").split(",") if s]
    args.directions = [d for d in args.directions.split(",") if d]
    args.tools_given = bool(args.tools)
    args.tools = [t for t in (args.tools or ("fds" if args.scale else ",".join(TOOLS))).split(",") if t]
    args.scale_counts = [int(n) for n in args.scale_counts.split(",") if n]
    for s in args.sizes:
        if s not in SIZES:
            ap.error("unknown size %r" % s)
    for d in args.directions:
        if d not in DIRECTIONS:
            ap.error("unknown direction %r" % d)
    for t in args.tools:
        if t not in TOOLS:
            ap.error("unknown tool %r" % t)
    if args.repeat is not None and not 1 <= args.repeat <= 50:
        ap.error("--repeat must be 1..50")
    if args.scale:
        args.directions = ["up"]
        args.tools = [t for t in args.tools if t in ("fds", "fds-nv")] or ["fds"]
    return args


def report_only(args):
    with open(args.report, encoding="utf-8") as f:
        saved = json.load(f)
    classes = {r["class"] for r in saved["runs"]}
    args.scale = any(c.startswith("scale-") for c in classes)
    args.scale_counts = sorted(int(c.split("-")[1]) for c in classes if c.startswith("scale-"))
    args.sizes = [c for c in SIZES if c in classes]
    args.directions = [d for d in DIRECTIONS if any(r["direction"] == d for r in saved["runs"])]
    args.tools = [t for t in TOOLS if t in saved.get("skipped", {})
                  or any(r["tool"] == t for r in saved["runs"])]
    args.command_line = saved.get("command", "?")
    bench = Bench(args, saved)
    print(bench.report(saved.get("machine", {}), saved.get("elapsed", 0)))
    return 0


def main(argv):
    args = parse_args(argv)
    if args.report:
        return report_only(args)
    import importlib.util
    if importlib.util.find_spec("boto3") is None:
        die("%s cannot import boto3 (apt-get install python3-boto3); it seeds and "
            "verifies the data" % PYTHON)
    if not os.path.exists(RGW_SH):
        die("%s missing" % RGW_SH)
    if not shutil.which("radosgw"):
        die("radosgw not installed: tests/harness/rgw/rgw.sh install")

    def on_term(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    bench = Bench(args)
    t0 = time.monotonic()
    try:
        bench.start_rgw()
        bench.check_peers()
        info = bench.versions()
        if args.scale:
            bench.run_scale()
        else:
            bench.run_classes()
        elapsed = time.monotonic() - t0
        md = bench.report(info, elapsed)
    finally:
        if bench.daemon:
            bench.daemon.stop()
        for daemon in bench.warm.values():
            daemon.stop()
        bench.stop_rgw()
        if args.keep:
            log("work directory kept: %s" % bench.work)
        else:
            shutil.rmtree(bench.work, ignore_errors=True)
    os.makedirs(args.out, exist_ok=True)
    stem = "scale" if args.scale else "results"
    with open(os.path.join(args.out, stem + ".md"), "w", encoding="utf-8") as f:
        f.write(md)
    with open(os.path.join(args.out, stem + ".json"), "w", encoding="utf-8") as f:
        json.dump({"command": args.command_line, "elapsed": elapsed, "machine": info, "runs": bench.results,
                   "notes": bench.notes, "skipped": bench.skipped}, f, indent=1)
    print(md)
    log("wrote %s/%s.md and %s.json" % (args.out, stem, stem))
    failed_fds = [r for r in bench.results if r["tool"] in ("fds", "fds-nv") and not r["ok"]]
    return 1 if failed_fds else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
