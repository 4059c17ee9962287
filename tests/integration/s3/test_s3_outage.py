# SPDX-License-Identifier: MIT
"""The S3 server goes away (radosgw stopped: connections refused) or the
client does, in the middle of a batch: retries, clear errors, no
temporaries, and a daemon that keeps serving."""

import os
import threading
import time

import conftest_rgw

from s3fds import IFACE, INVALID_REQUEST, listing, md5_hex, pattern, read, temp_files, write


def stream(fds, pairs, on_result=None, **options):
    """Streaming Copy; on_result(n, result) after each result. Returns
    ([(arrival time, result)], summary)."""
    params = {"copies": [{"src": s, "dst": d} for s, d in pairs],
              "options": fds.options(**options)}
    got = []
    with fds.connect() as c:
        for reply in c.replies(f"{IFACE}.Copy", params):
            assert "error" not in reply, reply
            if not reply.get("continues"):
                return got, reply["parameters"]["summary"]
            got.append((time.monotonic(), reply["parameters"]["result"]))
            if on_result:
                on_result(len(got), got[-1][1])
    raise AssertionError("no summary")


def objects(s3, bucket, prefix=""):
    out = {}
    kw = {"Bucket": bucket, "Prefix": prefix}
    while True:
        page = s3.list_objects_v2(**kw)
        out.update({o["Key"]: o for o in page.get("Contents", [])})
        if not page.get("IsTruncated"):
            return out
        kw["ContinuationToken"] = page["NextContinuationToken"]


def assert_clear_outage_error(r, max_attempts, budget=False):
    """A file the outage made fail: said plainly, after every allowed try
    (a refused or reset connection is transient). With a retry time budget,
    waiting for the endpoint spends no attempts, so a file may have made
    fewer, and says it waited."""
    e = r["error"]
    assert e["code"] == "IOError", r
    assert "http_status" not in e and "s3_code" not in e, r
    msg = e["message"].lower()
    assert "connect" in msg or "reset" in msg or "closed" in msg or "budget" in msg, r
    if budget:
        assert r.get("attempts", 0) <= max_attempts, r
    else:
        assert r.get("attempts") == max_attempts, r


def test_pause_and_resume_mid_upload_batch(fds_env, rgw, s3, bucket, tmp_path):
    """200 uploads at parallelism 4; the server stops after the first result
    and comes back about 1 s later: with enough attempts every file lands."""
    n = 200
    datas = [pattern(1000 + 17 * i, i) for i in range(n)]
    pairs = [(write(str(tmp_path / "src" / f"{i:03d}"), datas[i]), f"s3://{bucket}/up/{i:03d}")
             for i in range(n)]
    resumed = {}

    def outage():
        conftest_rgw.pause(rgw)
        time.sleep(1.0)
        resumed["start"] = time.monotonic()
        conftest_rgw.resume(rgw)
        resumed["done"] = time.monotonic()

    threads = []

    def on_result(count, _):
        if count == 1:
            t = threading.Thread(target=outage)
            t.start()
            threads.append(t)

    try:
        # About 2 s of transfer at this cap: the outage finds files to go.
        got, summary = stream(fds_env, pairs, on_result, parallelism=4,
                              transfer={"max_attempts": 10, "max_bandwidth": 300_000})
    finally:
        for t in threads:
            t.join()
        conftest_rgw.resume(rgw)
    failed = [r for _, r in got if not r["ok"]]
    assert not failed, failed[:5]
    assert (summary["files_ok"], summary["files_failed"]) == (n, 0), summary
    assert sorted(r["index"] for _, r in got) == list(range(n))
    # The outage really hit the batch: files finished after the server was
    # back, having needed more than one try.
    assert any(t > resumed["start"] for t, _ in got), "the batch ended before the resume"
    assert max(r["attempts"] for _, r in got) > 1, "no file was retried"
    objs = objects(s3, bucket, "up/")
    assert len(objs) == n
    for i in range(n):
        o = objs[f"up/{i:03d}"]
        assert o["Size"] == len(datas[i]) and o["ETag"] == f'"{md5_hex(datas[i])}"', o


def test_left_paused_uploads_fail_then_daemon_serves(fds_env, rgw, s3, bucket, tmp_path):
    n = 150
    datas = [pattern(2000 + i, 1000 + i) for i in range(n)]
    pairs = [(write(str(tmp_path / "src" / f"{i:03d}"), datas[i]), f"s3://{bucket}/up/{i:03d}")
             for i in range(n)]

    def on_result(count, _):
        if count == 1:
            conftest_rgw.pause(rgw)

    try:
        # The bandwidth cap stretches the batch to about 3 s, so the
        # outage surely finds files still to go.
        got, summary = stream(fds_env, pairs, on_result, parallelism=4,
                              transfer={"max_attempts": 2, "max_bandwidth": 100_000,
                                        "retry_time_budget": 0})
    finally:
        conftest_rgw.resume(rgw)
    results = {r["index"]: r for _, r in got}
    assert sorted(results) == list(range(n))
    failed = [r for r in results.values() if not r["ok"]]
    print(f"{len(failed)} of {n} failed")
    assert len(failed) >= 30, f"only {len(failed)} of {n} failed: the pause came too late"
    for r in failed:
        assert_clear_outage_error(r, 2)
    assert (summary["files_ok"], summary["files_failed"]) == (n - len(failed), len(failed))
    # Every object is whole or absent (a PUT the server finished just before
    # it stopped may exist although its reply was lost).
    objs = objects(s3, bucket, "up/")
    for i, r in results.items():
        o = objs.get(f"up/{i:03d}")
        if r["ok"]:
            assert o is not None, r
        if o is not None:
            assert o["Size"] == len(datas[i]) and o["ETag"] == f'"{md5_hex(datas[i])}"', o
    # Back up: the same daemon uploads what failed.
    retry = [pairs[r["index"]] for r in failed]
    reply = fds_env.copy(retry, parallelism=4)
    assert all(r["ok"] for r in reply["results"]), [r for r in reply["results"] if not r["ok"]][:3]
    assert len(objects(s3, bucket, "up/")) == n


def test_left_paused_downloads_leave_nothing(fds_env, rgw, s3, bucket, tmp_path):
    """Downloads whose server went away fail with a clear error and leave
    neither a file nor a temporary; the daemon serves once it is back."""
    fds = fds_env
    n = 60
    datas = [pattern(300_000 + i, 2000 + i) for i in range(n)]
    for i in range(n):
        s3.put_object(Bucket=bucket, Key=f"d/{i:03d}", Body=datas[i])
    out = str(tmp_path / "out")
    pairs = [(f"s3://{bucket}/d/{i:03d}", f"{out}/{i:03d}") for i in range(n)]

    def on_result(count, _):
        if count == 1:
            conftest_rgw.pause(rgw)

    try:
        # About 3 s of transfer at this cap: the outage finds files to go.
        got, summary = stream(fds, pairs, on_result, parallelism=4,
                              transfer={"max_attempts": 2, "max_bandwidth": 6_000_000,
                                        "retry_time_budget": 0})
        results = {r["index"]: r for _, r in got}
        assert sorted(results) == list(range(n))
        failed = sorted(i for i, r in results.items() if not r["ok"])
        print(f"{len(failed)} of {n} failed")
        assert len(failed) >= 20, f"only {len(failed)} of {n} failed: the pause came too late"
        for i in failed:
            assert_clear_outage_error(results[i], 2)
        assert summary["files_failed"] == len(failed)
        # While still paused: no trace of the failed files.
        assert temp_files(out) == [], listing(out)
        assert listing(out) == sorted(f"{i:03d}" for i in range(n) if i not in failed)
        for i in range(n):
            if i not in failed:
                assert read(f"{out}/{i:03d}") == datas[i]
    finally:
        conftest_rgw.resume(rgw)
    reply = fds.copy([pairs[i] for i in failed], parallelism=4)
    assert all(r["ok"] for r in reply["results"]), reply
    for i in range(n):
        assert read(f"{out}/{i:03d}") == datas[i]
    assert temp_files(out) == []


def test_server_down_before_the_call(fds_env, rgw, s3, bucket, tmp_path):
    """Validation cannot reach the server: every S3 source is a problem
    (nothing moves); uploads and Size fail per file; all after the allowed
    attempts and no more."""
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    s3.put_object(Bucket=bucket, Key="b", Body=b"b")
    src = write(str(tmp_path / "src"), b"local")
    out = str(tmp_path / "out")
    conftest_rgw.pause(rgw)
    try:
        t0 = time.monotonic()
        name, params = fds_env.copy_error(
            [(f"s3://{bucket}/a", f"{out}/a"), (src, f"{out}/local"),
             (f"s3://{bucket}/b", f"{out}/b"), (f"s3://{bucket}/b", f"s3://{bucket}/c")],
            transfer={"max_attempts": 3, "retry_time_budget": 0})
        assert name == INVALID_REQUEST, params
        assert [p["index"] for p in params["problems"]] == [0, 2, 3], params
        for p in params["problems"]:
            assert "3 attempts" in p["reason"], p
        assert not os.path.exists(out)

        reply = fds_env.copy([(src, f"s3://{bucket}/up")],
                             transfer={"max_attempts": 1, "retry_time_budget": 0})
        r = reply["results"][0]
        assert not r["ok"], r
        assert_clear_outage_error(r, 1)

        sizes = fds_env.size({"k": f"s3://{bucket}/a"},
                             transfer={"max_attempts": 1, "retry_time_budget": 0})
        assert sizes["sizes"] == {} and sizes["errors"]["k"]["code"] == "IOError", sizes
        # Back-off is bounded: 3 tries are at most 0.1 + 0.2 s of waiting.
        assert time.monotonic() - t0 < 20
    finally:
        conftest_rgw.resume(rgw)
    assert sorted(objects(s3, bucket)) == ["a", "b"]
    assert fds_env.size({"k": f"s3://{bucket}/a"}) == {"sizes": {"k": 1}, "errors": {}}


def status(fds):
    with fds.connect() as c:
        return c.call(f"{IFACE}.Status", {})


def test_outage_within_the_budget_fails_no_file(fds_env, rgw, s3, bucket, tmp_path):
    """150 uploads at parallelism 4 with only 2 attempts each; the server
    stops after the first result and comes back 4 s later. The endpoint is
    found down after a few failures, files wait for it instead of spending
    their attempts (a probe now and then), and every file lands."""
    n = 150
    datas = [pattern(2000 + i, 3000 + i) for i in range(n)]
    pairs = [(write(str(tmp_path / "src" / f"{i:03d}"), datas[i]), f"s3://{bucket}/up/{i:03d}")
             for i in range(n)]
    threads, resumed = [], {}

    def outage():
        conftest_rgw.pause(rgw)
        time.sleep(4.0)
        resumed["at"] = time.monotonic()
        conftest_rgw.resume(rgw)

    def on_result(count, _):
        if count == 1:
            t = threading.Thread(target=outage)
            t.start()
            threads.append(t)

    before = status(fds_env)
    try:
        got, summary = stream(fds_env, pairs, on_result, parallelism=4,
                              transfer={"max_attempts": 2, "max_bandwidth": 100_000})
    finally:
        for t in threads:
            t.join()
        conftest_rgw.resume(rgw)
    failed = [r for _, r in got if not r["ok"]]
    assert not failed, failed[:3]
    assert summary["files_ok"] == n, summary
    assert any(t > resumed["at"] for t, _ in got), "the batch ended before the server came back"
    # A few probes and retries, not 4 s of every file hammering the server.
    after = status(fds_env)
    assert after["retries"] - before["retries"] < 60, (before, after)
    objs = objects(s3, bucket, "up/")
    assert len(objs) == n
    for i in range(n):
        assert objs[f"up/{i:03d}"]["ETag"] == f'"{md5_hex(datas[i])}"'


def test_outage_longer_than_the_budget_fails_clearly_and_fast(fds_env, rgw, s3, bucket, tmp_path):
    """The server stays away: files fail once the outage is older than the
    budget (2 s here), the ones not yet started at once, each saying so."""
    n = 40
    pairs = [(write(str(tmp_path / "src" / f"{i:03d}"), pattern(1000 + i, i)), f"s3://{bucket}/x/{i:03d}")
             for i in range(n)]
    # The endpoint has answered before (one that never did is taken as
    # misconfigured, not down, and is not waited for).
    assert fds_env.copy([pairs[0]])["results"][0]["ok"]
    s3.delete_object(Bucket=bucket, Key="x/000")
    conftest_rgw.pause(rgw)
    try:
        t0 = time.monotonic()
        got, summary = stream(fds_env, pairs, parallelism=4, validate=False,
                              transfer={"max_attempts": 5, "retry_time_budget": 2})
        elapsed = time.monotonic() - t0
    finally:
        conftest_rgw.resume(rgw)
    assert summary["files_failed"] == n, summary
    for _, r in got:
        assert_clear_outage_error(r, 5, budget=True)
    assert any("budget" in r["error"]["message"] for _, r in got), got[:2]
    assert elapsed < 15, f"{elapsed:.1f} s for an outage budget of 2 s"
    assert objects(s3, bucket, "x/") == {}


def wait_for(pred, timeout=20.0, step=0.02):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


def test_client_disconnects_mid_download(fds_env, s3, bucket, tmp_path):
    """50 x 2 MiB downloads; the client leaves after the first result: the
    batch is canceled, no temporary stays, finished files are whole, and
    the daemon serves the next client."""
    n, size = 50, 2 << 20
    datas = [pattern(size, 3000 + i) for i in range(n)]
    for i in range(n):
        s3.put_object(Bucket=bucket, Key=f"big/{i:02d}", Body=datas[i])
    out = str(tmp_path / "out")
    pairs = [(f"s3://{bucket}/big/{i:02d}", f"{out}/{i:02d}") for i in range(n)]
    c = fds_env.connect()
    c.send(f"{IFACE}.Copy", {"copies": [{"src": s, "dst": d} for s, d in pairs],
                             "options": {"parallelism": 4}}, more=True)
    first = c.recv()
    assert first.get("continues") and first["parameters"]["result"]["ok"], first
    c.close()
    fds_env.daemon.wait_log(r"client went away; canceling batch")
    assert wait_for(lambda: temp_files(out) == []), temp_files(out)
    # Settled: nothing more appears.
    before = listing(out)
    time.sleep(0.5)
    assert listing(out) == before
    assert temp_files(out) == []
    assert 1 <= len(before) < n, before
    for name in before:
        assert read(f"{out}/{name}") == datas[int(name)], name

    # Another client is served, S3 included.
    out2 = str(tmp_path / "out2")
    reply = fds_env.copy([(f"s3://{bucket}/big/00", f"{out2}/x")])
    assert reply["results"][0]["ok"], reply
    assert read(f"{out2}/x") == datas[0]


def test_client_disconnects_mid_multipart_upload(fds_env, s3, bucket, tmp_path):
    """Uploads in parts; the client leaves after the first file: the batch
    is canceled, its multipart uploads are aborted, objects are whole or
    absent, and the daemon serves the next client."""
    n, size = 10, 12 << 20
    datas = [pattern(size, 4000 + i) for i in range(n)]
    pairs = [(write(str(tmp_path / "src" / f"{i:02d}"), datas[i]), f"s3://{bucket}/up/{i:02d}")
             for i in range(n)]
    c = fds_env.connect()
    c.send(f"{IFACE}.Copy", {"copies": [{"src": s, "dst": d} for s, d in pairs],
                             "options": {"parallelism": 3,
                                         "transfer": {"multipart_chunksize": 5 << 20}}},
           more=True)
    first = c.recv()
    assert first.get("continues") and first["parameters"]["result"]["ok"], first
    c.close()
    fds_env.daemon.wait_log(r"client went away; canceling batch")
    reply = fds_env.copy([(pairs[0][0], f"s3://{bucket}/after")])
    assert reply["results"][0]["ok"], reply
    assert wait_for(lambda: not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")), \
        s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    objs = objects(s3, bucket, "up/")
    assert 1 <= len(objs) < n, sorted(objs)
    for key, o in objs.items():
        i = int(key.split("/")[1])
        assert o["Size"] == size, o
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == datas[i], key


def test_pause_and_resume_mid_multipart_upload(fds_env, rgw, s3, bucket, tmp_path):
    """The server stops while files are going up in parts and comes back
    after about 1 s: every part is retried as needed and each object is
    whole, with no multipart upload left over."""
    n, size = 4, (16 << 20) + 11
    datas = [pattern(size, 6000 + i) for i in range(n)]
    pairs = [(write(str(tmp_path / "src" / f"{i}"), datas[i]), f"s3://{bucket}/mp/{i}")
             for i in range(n)]
    threads = []

    def outage():
        conftest_rgw.pause(rgw)
        time.sleep(1.0)
        conftest_rgw.resume(rgw)

    def on_result(count, _):
        if count == 1:
            t = threading.Thread(target=outage)
            t.start()
            threads.append(t)

    try:
        got, summary = stream(fds_env, pairs, on_result, parallelism=1,
                              transfer={"max_attempts": 10, "multipart_chunksize": 5 << 20,
                                        "max_concurrency": 2})
    finally:
        for t in threads:
            t.join()
        conftest_rgw.resume(rgw)
    bad = [r for _, r in got if not r["ok"]]
    assert not bad, bad
    assert summary["files_ok"] == n, summary
    for i in range(n):
        assert s3.get_object(Bucket=bucket, Key=f"mp/{i}")["Body"].read() == datas[i], i
    assert wait_for(lambda: not s3.list_multipart_uploads(Bucket=bucket).get("Uploads"))


def test_sigterm_during_s3_downloads(start_fds, s3, bucket, tmp_path):
    """SIGTERM mid-batch: fdsd exits 0 promptly and leaves no temporary."""
    fds = start_fds("env")
    n, size = 40, 2 << 20
    data = pattern(size, 5000)
    for i in range(n):
        s3.put_object(Bucket=bucket, Key=f"big/{i:02d}", Body=data)
    out = str(tmp_path / "out")
    c = fds.connect()
    c.send(f"{IFACE}.Copy", {"copies": [{"src": f"s3://{bucket}/big/{i:02d}",
                                         "dst": f"{out}/{i:02d}"} for i in range(n)],
                             "options": {"parallelism": 4}}, more=True)
    first = c.recv()
    assert first.get("continues"), first
    t0 = time.monotonic()
    problems = fds.daemon.stop_and_check()
    assert not problems, "\n".join(problems) + "\n" + fds.daemon.log()[-5000:]
    assert time.monotonic() - t0 < 10
    c.close()
    assert temp_files(out) == []
    for name in listing(out):
        assert read(f"{out}/{name}") == data, name
