# SPDX-License-Identifier: MIT
"""Helpers for the integration tests: a real fdsd in a temporary directory,
a minimal varlink client, and small file-tree utilities.

Nothing here is mocked: every test talks to the fdsd binary named by $FDSD
over a Unix socket, and runs the fdsctl binary named by $FDSCTL.
"""

import atexit
import base64
import errno
import hashlib
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))

# Meson passes the built binaries; the defaults serve a plain `pytest` run
# from a tree built in ./build.
FDSD = os.environ.get("FDSD") or os.path.join(SOURCE_ROOT, "build", "daemon", "fdsd")
FDSCTL = os.environ.get("FDSCTL") or os.path.join(SOURCE_ROOT, "build", "client", "fdsctl")
INTERFACE_FILE = os.environ.get("FDS_INTERFACE_FILE") or os.path.join(
    SOURCE_ROOT, "proto", "io.fds.Transfer.varlink")

IFACE = "io.fds.Transfer"
SERVICE = "org.varlink.service"

# How long fdsd may take to exit after SIGTERM. Its own limit for work to
# drain is 10 s; an idle daemon or one whose jobs honour the cancel flag
# should need a fraction of a second, ASan included.
STOP_TIMEOUT = 5.0
START_TIMEOUT = 10.0
# A single reply on a healthy daemon; generous for ASan on 2 cores.
REPLY_TIMEOUT = 60.0

# Reports of AddressSanitizer, LeakSanitizer and UBSan (which by default
# prints and carries on, so the exit status alone would not show it).
SANITIZER_RE = re.compile(
    r"ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|"
    r"SUMMARY: \w+Sanitizer|WARNING: \w+Sanitizer")

# Temporary files of an unfinished copy: ".<name>.fds-<16 hex>".
TEMP_RE = re.compile(r"^\..*\.fds-[0-9a-f]{16}$")

# FileError codes the interface file promises (its comment on FileError).
def documented_file_error_codes():
    text = open(INTERFACE_FILE, encoding="utf-8").read()
    m = re.search(r"# Why one file failed\. code is one of ([^.]*)\.", text)
    assert m, "cannot find the list of FileError codes in the interface file"
    return {c.strip() for c in m.group(1).replace("#", " ").split(",")}


def need_fdsctl():
    if not os.access(FDSCTL, os.X_OK):
        pytest.skip(f"fdsctl is not built ({FDSCTL} missing)")


def sanitizer_reports(text):
    return [line for line in text.splitlines() if SANITIZER_RE.search(line)]


def assert_no_sanitizer_reports(stderr, what="fdsctl"):
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    assert not sanitizer_reports(text), f"sanitizer reports from {what}:\n{text}"


class VarlinkError(Exception):
    def __init__(self, reply):
        super().__init__(f"{reply.get('error')}: {reply.get('parameters')}")
        self.name = reply.get("error")
        self.parameters = reply.get("parameters", {})


class Varlink:
    """One connection: NUL-terminated JSON messages, nothing else."""

    def __init__(self, path, timeout=REPLY_TIMEOUT):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, method, parameters=None, more=False, oneway=False):
        msg = {"method": method}
        if parameters is not None:
            msg["parameters"] = parameters
        if more:
            msg["more"] = True
        if oneway:
            msg["oneway"] = True
        self.send_raw(json.dumps(msg).encode() + b"\0")

    def recv(self):
        """The next message as a dict; EOFError when the daemon closed."""
        while b"\0" not in self.buf:
            data = self.sock.recv(1 << 16)
            if not data:
                raise EOFError("connection closed by fdsd")
            self.buf += data
        msg, _, self.buf = self.buf.partition(b"\0")
        return json.loads(msg)

    def at_eof(self, timeout=REPLY_TIMEOUT):
        """True when the daemon closes the connection with nothing more to
        say; any further message is an error."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if self.buf:
                    raise AssertionError(f"unexpected data: {self.buf[:200]!r}")
                data = self.sock.recv(1 << 16)
                if not data:
                    return True
                self.buf += data
        except ConnectionResetError:
            return True

    def call(self, method, parameters=None):
        """One reply; a varlink error raises VarlinkError."""
        self.send(method, parameters)
        reply = self.recv()
        if "error" in reply:
            raise VarlinkError(reply)
        assert "continues" not in reply, reply
        return reply["parameters"]

    def call_error(self, method, parameters=None):
        """A call that must fail: the error reply."""
        self.send(method, parameters)
        reply = self.recv()
        assert "error" in reply, f"expected an error, got {reply}"
        return reply

    def replies(self, method, parameters=None):
        """Generator over the replies of a "more" call, the last included."""
        self.send(method, parameters, more=True)
        while True:
            reply = self.recv()
            yield reply
            if "error" in reply or not reply.get("continues"):
                return

    def call_more(self, method, parameters=None):
        """All replies of a "more" call, the last one without continues."""
        return list(self.replies(method, parameters))


class Daemon:
    """One fdsd process with its socket and log in a directory of its own,
    run with env (None: this process's environment).

    The class attributes are the defaults of the methods' timeouts; the S3
    suites' subclasses raise them."""

    reply_timeout = REPLY_TIMEOUT
    stop_timeout = STOP_TIMEOUT
    log_timeout = 10.0

    def __init__(self, workdir, args=(), socket_path=None, name="fdsd", env=None):
        self.workdir = workdir
        self.socket = socket_path or os.path.join(workdir, f"{name}.sock")
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.args = list(args)
        # A state directory of its own (multipart uploads an abort could not
        # reach are kept there), never the machine's /var/lib/fds.
        self.env = dict(os.environ if env is None else env)
        self.env.setdefault("STATE_DIRECTORY", os.path.join(workdir, f"{name}-state"))
        self.proc = None
        self.returncode = None

    def command(self):
        return [FDSD, "--socket", self.socket] + self.args

    def start(self, wait=True):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, env=self.env)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError(f"fdsd exited with {rc} while starting:\n{self.log()}")
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.connect(self.socket)
                return
            except OSError as e:
                if e.errno not in (errno.ENOENT, errno.ECONNREFUSED):
                    raise
            if time.monotonic() > deadline:
                raise AssertionError(f"fdsd did not accept on {self.socket}:\n{self.log()}")
            time.sleep(0.02)

    def connect(self, timeout=None):
        return Varlink(self.socket, self.reply_timeout if timeout is None else timeout)

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=None):
        deadline = time.monotonic() + (self.log_timeout if timeout is None else timeout)
        while not re.search(pattern, self.log()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not in the log:\n{self.log()}")
            time.sleep(0.02)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, timeout=None):
        """SIGTERM and wait: the exit status, None if still running."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.returncode = self.proc.wait(self.stop_timeout if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    stop = terminate

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def check_stopped_cleanly(self, timeout=None):
        """Stop (if running) and raise unless fdsd exited 0 within timeout
        with no sanitizer report in its log."""
        timeout = self.stop_timeout if timeout is None else timeout
        rc = self.terminate(timeout)
        if rc is None:
            self.kill()
            raise AssertionError(
                f"fdsd did not exit within {timeout} s of SIGTERM:\n{self.log()}")
        reports = sanitizer_reports(self.log())
        assert not reports, "sanitizer reports in the fdsd log:\n" + self.log()
        assert rc == 0, f"fdsd exited with {rc} after SIGTERM:\n{self.log()}"

    def stop_and_check(self, timeout=None, exited_ok=False):
        """SIGTERM; a list of problems (empty: exit 0 in time, no sanitizer
        report). A daemon never started has none; with exited_ok, one that
        had already exited (the test expected it to) is only checked for
        sanitizer reports."""
        if self.proc is None:
            return []
        timeout = self.stop_timeout if timeout is None else timeout
        problems = []
        was_running = self.proc.poll() is None
        if exited_ok and not was_running:
            reports = sanitizer_reports(self.log())
            return ["sanitizer reports in the fdsd log:\n" + "\n".join(reports[:20])] if reports else []
        rc = self.terminate(timeout)
        if rc is None:
            self.kill()
            problems.append(f"fdsd did not exit within {timeout} s of SIGTERM")
        elif rc != 0:
            problems.append(f"fdsd exited with {rc}" + (" after SIGTERM" if was_running else ""))
        reports = sanitizer_reports(self.log())
        if reports:
            problems.append("sanitizer reports in the fdsd log:\n" + "\n".join(reports[:20]))
        return problems


def collect_only_when_asked(collection_path, config, here, env_var):
    """pytest_ignore_collect for a suite with its own server: collect the
    folder here only when a path given to pytest lies inside it, or env_var
    is 1, so running the parent folder leaves it out."""
    if os.environ.get(env_var) == "1":
        return None
    here = os.path.realpath(here)

    def inside(path):
        path = os.path.realpath(path)
        return path == here or path.startswith(here + os.sep)

    if not inside(str(collection_path)):
        return None
    base = str(config.invocation_params.dir)
    for arg in config.args:
        p = arg.split("::", 1)[0]
        if inside(p if os.path.isabs(p) else os.path.join(base, p)):
            return None
    return True


def stop_daemons(daemons, exited_ok=False):
    """Fixture teardown: stop_and_check() each daemon, print its log (shown
    by pytest only when the test failed), fail the test on any problem."""
    problems = []
    for d in daemons:
        p = d.stop_and_check(exited_ok=exited_ok)
        if p:
            problems.append(f"{d.log_path}: " + "\n".join(p))
        print(f"---- {d.log_path} ----\n{d.log()[-20000:]}")
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


def is_asan_binary(path):
    """True if path links AddressSanitizer (its memory use is not comparable)."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def base_env(home):
    """fdsd's environment with no S3 settings of the caller's: no AWS_*
    variables, a HOME without ~/.aws, no instance metadata service."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = home
    env["AWS_CONFIG_FILE"] = os.path.join(home, "no-aws-config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(home, "no-aws-credentials")
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


def update_env(env, changes):
    """Apply changes to env: None values remove, others set."""
    for k, v in (changes or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


# ---- calls that run on ------------------------------------------------

class Streamed:
    """A streamed Copy on a connection of its own, read on a thread: each
    result with the time it arrived (time.monotonic)."""

    def __init__(self, fdsd, pairs, **options):
        self.conn = fdsd.connect(timeout=120)
        self.results, self.last, self.error = [], None, None
        params = {"copies": [{"src": s, "dst": d} for s, d in pairs]}
        if options:
            params["options"] = options
        self.conn.send(f"{IFACE}.Copy", params, more=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            while True:
                r = self.conn.recv()
                if "error" in r or not r.get("continues"):
                    self.last = r
                    return
                self.results.append((time.monotonic(), r["parameters"]["result"]))
        except Exception as e:  # noqa: BLE001 - reported by join()
            self.error = e

    def join(self, timeout=60):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the call did not end"
        self.conn.close()
        assert self.error is None, self.error
        return self.last


def wait_for(pred, timeout=20, what="condition", every=0.02):
    """pred()'s first true value within timeout, else AssertionError."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


# ---- files ------------------------------------------------------------

def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def read(path):
    with open(path, "rb") as f:
        return f.read()


def make_tree(root, n, per_dir=10, seed=1, max_size=4096, zero_every=7):
    """n files in nested directories (a/b/fNNN); every zero_every-th is empty.
    Returns the relative paths in order."""
    rng = random.Random(seed)
    rels = []
    for i in range(n):
        d = i // per_dir
        rel = os.path.join(f"d{d // per_dir:03d}", f"s{d % per_dir:02d}", f"f{i:05d}.bin")
        size = 0 if i % zero_every == 0 else rng.randint(1, max_size)
        write(os.path.join(root, rel), rng.randbytes(size))
        rels.append(rel)
    return rels


def make_sparse(path, size, head=b""):
    """A file of size bytes that costs almost no disk: head, then a hole."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)
    return path


def temp_files(root):
    """Leftover temporary files of fdsd anywhere under root."""
    found = []
    for d, _, files in os.walk(root):
        found += [os.path.join(d, f) for f in files if TEMP_RE.match(f)]
    return found


def b64(data):
    return base64.b64encode(data).decode()


def md5_hex(data):
    return hashlib.md5(data).hexdigest()


def pattern(size, seed, salt=b"fds"):
    """size bytes, cheap to make, different for every (salt, seed) and every
    64 KiB block (not random, so a misplaced, repeated or missing block
    shows)."""
    block = hashlib.sha256(salt + b"-%d" % seed).digest() * 2048  # 64 KiB
    out = bytearray()
    i = 0
    while len(out) < size:
        out += (b"%016x%012x" % (seed, i)) + block[: 65536 - 28]
        i += 1
    del out[size:]
    return bytes(out)


# ---- the S3 suites' session server (tests/harness/rgw/conftest_rgw.py) ----------

def _stop_rgw_quietly(rgw_mod, directory):
    try:
        rgw_mod.stop(directory)
    except Exception:  # pylint: disable=broad-except
        pass


def rgw_session(rgw_mod, directory):
    """Body of a session fixture: start RGW in directory (installing it
    unless FDS_RGW_INSTALL=0, else skip), yield its env dict, stop it."""
    if not rgw_mod.available():
        if os.environ.get("FDS_RGW_INSTALL") == "0":
            pytest.skip("radosgw is not installed (tests/harness/rgw/rgw.sh install) and FDS_RGW_INSTALL=0")
        try:
            rgw_mod.install()
        except Exception as e:  # pylint: disable=broad-except
            pytest.skip(f"radosgw is not installed and `tests/harness/rgw/rgw.sh install` failed: {e}")
        if not rgw_mod.available():
            pytest.skip("radosgw is still not installed after `tests/harness/rgw/rgw.sh install`")
    # Belt and braces: stop it even if pytest dies before fixture teardown.
    atexit.register(_stop_rgw_quietly, rgw_mod, directory)
    try:
        env = rgw_mod.start(directory)
    except Exception as e:  # pylint: disable=broad-except
        _stop_rgw_quietly(rgw_mod, directory)
        pytest.skip(f"the RGW S3 server could not be started: {e}")
    try:
        yield env
    finally:
        rgw_mod.stop(directory)


def uploads_in_progress(s3, bucket):
    """ListMultipartUploads (boto3): [(key, upload id)]."""
    out = s3.list_multipart_uploads(Bucket=bucket)
    return [(u["Key"], u["UploadId"]) for u in out.get("Uploads", [])]


def empty_bucket(s3, name, abort_uploads=False, upload_bytes=0):
    """Delete every object of a bucket (boto3) and, with abort_uploads, its
    multipart uploads in progress (counted as upload_bytes each): the bytes
    they held."""
    total = 0
    if abort_uploads:
        for key, upload_id in uploads_in_progress(s3, name):
            s3.abort_multipart_upload(Bucket=name, Key=key, UploadId=upload_id)
            total += upload_bytes
    while True:
        listing = s3.list_objects_v2(Bucket=name)
        objs = listing.get("Contents", [])
        if not objs:
            return total
        total += sum(o["Size"] for o in objs)
        s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": o["Key"]} for o in objs],
                                               "Quiet": True})


_bucket_seq = itertools.count()


def make_buckets(rgw_mod, rgw, s3, prefix, gc_after_bytes, abort_uploads=False, resume=False):
    """Body of a make_bucket fixture: yield make() -> a new empty bucket's
    name; afterwards (resume: after resuming a paused RGW) empty and delete
    them all (abort_uploads: see empty_bucket) and, if they held more than
    gc_after_bytes, run RGW's gc (memstore keeps deleted data in RAM until
    then)."""
    names = []

    def make():
        name = f"{prefix}-{os.getpid()}-{next(_bucket_seq)}-{int(time.time() * 1000) % 100000}"
        s3.create_bucket(Bucket=name)
        names.append(name)
        return name

    yield make
    if resume:
        rgw_mod.resume(rgw)
    total = 0
    for name in names:
        total += empty_bucket(s3, name, abort_uploads, gc_after_bytes + 1)
        s3.delete_bucket(Bucket=name)
    if total > gc_after_bytes:
        rgw_mod.gc(rgw)


def shared_tmpdir(prefix):
    """A directory an unprivileged user may work in (pytest's tmp_path sits
    under a 0700 directory of root's)."""
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(d, 0o777)
    return d


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)


# Run as another user: sends each call of argv[2] (a JSON list of
# [method, parameters]) on one connection, prints each reply as a line.
CALLS_AS_USER = """
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
buf = b""
for method, params in json.loads(sys.argv[2]):
    s.sendall(json.dumps({"method": method, "parameters": params}).encode() + b"\\0")
    while b"\\0" not in buf:
        data = s.recv(65536)
        if not data:
            sys.exit("connection closed")
        buf += data
    msg, _, buf = buf.partition(b"\\0")
    print(msg.decode())
"""


def calls_as(user, socket_path, calls):
    """Replies to calls ([method, parameters] each) made on one connection,
    by user (a uid, through setpriv) or, for None, by this process."""
    if user is None:
        with Varlink(socket_path) as c:
            out = []
            for method, params in calls:
                c.send(method, params)
                out.append(c.recv())
            return out
    p = subprocess.run(["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups",
                        "/usr/bin/python3", "-c", CALLS_AS_USER, socket_path,
                        json.dumps(calls)], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return [json.loads(x) for x in p.stdout.splitlines()]


def run_fdsctl_as(user, *args):
    priv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] \
        if user is not None else []
    p = subprocess.run(priv + [FDSCTL] + list(args), capture_output=True, timeout=60)
    assert_no_sanitizer_reports(p.stderr)
    return p
