# SPDX-License-Identifier: MIT
"""One fault's run: transfers through the proxy, every byte checked against
boto3 (direct to RGW), what is left behind checked, and the fault's row of
the report recorded before anything is asserted (so a failing fault still
has its row).

A file reported ok must hold the object's bytes (or the object the file's);
a failed file must carry a FileError with a code and a message and leave no
destination; no temporary file may be left; ListMultipartUploads must be
empty unless the test expects an upload to be kept.
"""

import os
import time

import fdstest
from fdstest import IFACE, read, temp_files, uploads_in_progress, write

MiB = 1024 * 1024
KiB = 1024

ROWS = []  # one dict per fault run, in run order


def pattern(size, seed):
    return fdstest.pattern(size, seed, b"fds-faults")


class Fds:
    """An fdsd and a Copy call returning its results in request order."""

    def __init__(self, daemon):
        self.daemon = daemon

    def copy(self, pairs, **options):
        params = {"copies": [{"src": s, "dst": d} for s, d in pairs]}
        if options:
            params["options"] = options
        with self.daemon.connect() as c:
            out = c.call(f"{IFACE}.Copy", params)
        return sorted(out["results"], key=lambda r: r["index"])


class Outcome:
    """What a run of a fault came to."""

    def __init__(self, fault, results, seconds):
        self.fault = fault
        self.results = results
        self.seconds = seconds
        self.wrong = []          # ok files whose bytes differ from boto3's
        self.problems = []       # anything else that breaks the promise
        self.open_uploads = []
        self.kept_uploads = []   # open uploads the test expects kept

    @property
    def ok(self):
        return [r for r in self.results if r["ok"]]

    @property
    def failed(self):
        return [r for r in self.results if not r["ok"]]

    def row(self):
        attempts = [r.get("attempts") or 0 for r in self.results]
        return {
            "fault": self.fault,
            "files": len(self.results),
            "ok": len(self.ok),
            "failed": len(self.failed),
            "wrong": len(self.wrong),
            "open_mpus": len(self.open_uploads),
            "max_attempts": max(attempts) if attempts else 0,
            "seconds": self.seconds,
            "problems": len(self.problems),
        }

    def describe(self):
        lines = [f"fault {self.fault}: {len(self.ok)} ok, {len(self.failed)} failed, "
                 f"{len(self.wrong)} with wrong bytes, {len(self.open_uploads)} uploads open, "
                 f"{self.seconds:.1f} s"]
        lines += [f"  wrong bytes: {r}" for r in self.wrong]
        lines += [f"  problem: {p}" for p in self.problems]
        lines += [f"  failed: {r}" for r in self.failed[:20]]
        return "\n".join(lines)


class Case:
    def __init__(self, name, fds, proxy, s3, bucket, tmp_path):
        self.name = name
        self.fds = fds
        self.proxy = proxy
        self.s3 = s3
        self.bucket = bucket
        self.tmp = str(tmp_path)

    # ---- running

    def upload(self, files, fault=None, **options):
        """Local -> S3 for files ({name: bytes}) under up/ in the bucket:
        the Outcome, its row recorded."""
        src = os.path.join(self.tmp, "src")
        pairs, expect = [], {}
        for name, data in files.items():
            pairs.append((write(os.path.join(src, name), data), f"s3://{self.bucket}/up/{name}"))
            expect[f"up/{name}"] = data
        t0 = time.monotonic()
        results = self.fds.copy(pairs, **options)
        out = Outcome(fault or self.name, results, time.monotonic() - t0)
        for r, (_, dst) in zip(results, pairs):
            key = dst[len(f"s3://{self.bucket}/"):]
            self._check_upload(out, r, key, expect[key])
        self._check_uploads_open(out)
        ROWS.append(out.row())
        return out

    def download(self, objects, fault=None, **options):
        """S3 -> local for objects (keys already in the bucket) into dst/:
        the Outcome, its row recorded."""
        dst_dir = os.path.join(self.tmp, "dst")
        os.makedirs(dst_dir, exist_ok=True)
        pairs = [(f"s3://{self.bucket}/{k}", os.path.join(dst_dir, k.replace("/", "_")))
                 for k in objects]
        t0 = time.monotonic()
        results = self.fds.copy(pairs, **options)
        out = Outcome(fault or self.name, results, time.monotonic() - t0)
        for r, (src, dst) in zip(results, pairs):
            self._check_download(out, r, src[len(f"s3://{self.bucket}/"):], dst)
        left = temp_files(dst_dir)
        if left:
            out.problems.append(f"temporary files left: {left}")
        expected = {os.path.basename(d) for r, (_, d) in zip(results, pairs) if r["ok"]}
        stray = sorted(set(os.listdir(dst_dir)) - expected)
        if stray:
            out.problems.append(f"files in the destination no file was reported ok for: {stray}")
        self._check_uploads_open(out)
        ROWS.append(out.row())
        return out

    # ---- checking

    def _check_error(self, out, r):
        e = r.get("error")
        if not e or not e.get("code") or not e.get("message"):
            out.problems.append(f"a failed file without a clear FileError: {r}")

    def _check_upload(self, out, r, key, data):
        if r["ok"]:
            try:
                got = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            except self.s3.exceptions.NoSuchKey:
                got = None
            if got != data:
                out.wrong.append(r)
            return
        self._check_error(out, r)
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
            out.problems.append(f"failed upload left an object behind: {key}")
        except self.s3.exceptions.ClientError as e:
            if e.response["ResponseMetadata"]["HTTPStatusCode"] != 404:
                raise

    def _check_download(self, out, r, key, dst):
        if r["ok"]:
            want = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            if not os.path.exists(dst) or read(dst) != want:
                out.wrong.append(r)
            return
        self._check_error(out, r)
        if os.path.exists(dst):
            out.problems.append(f"failed download left its destination: {dst}")

    def _check_uploads_open(self, out):
        out.open_uploads = uploads_in_progress(self.s3, self.bucket)

    # ---- asserting

    def assert_clean(self, out, kept=()):
        """Never ok with wrong bytes, nothing left behind, no upload open
        (but those in kept, [(key, upload id)])."""
        assert not out.wrong, "ok with wrong bytes:\n" + out.describe()
        assert not out.problems, out.describe()
        assert sorted(out.open_uploads) == sorted(kept), (
            f"multipart uploads left open: {out.open_uploads} (expected {list(kept)})\n"
            + out.describe())

    def assert_all_ok(self, out, retried=None, verified=False):
        """assert_clean, and every file ok; retried: indexes of files whose
        result must count more than one attempt; verified: every (download)
        result says every byte was checked."""
        self.assert_clean(out)
        assert not out.failed, "files failed (the fault is transient: retried, they must land)\n" \
            + out.describe()
        for i in retried or ():
            r = out.results[i]
            assert (r.get("attempts") or 0) >= 2, (
                f"file {i} met the fault but its result says attempts={r.get('attempts')}: {r}")
        if verified:
            unverified = [r for r in out.results if r.get("verified") is not True]
            assert not unverified, f"downloads not verified: {unverified}"


def report_table(rows=None):
    rows = ROWS if rows is None else rows
    head = ("| fault | files | ok | failed | wrong bytes | open MPUs after | max attempts "
            "| wall s |\n|---|---|---|---|---|---|---|---|\n")
    body = "".join(
        f"| {r['fault']} | {r['files']} | {r['ok']} | {r['failed']} | {r['wrong']} "
        f"| {r['open_mpus']} | {r['max_attempts']} | {r['seconds']:.1f} |\n" for r in rows)
    return head + body
