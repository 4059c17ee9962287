# SPDX-License-Identifier: MIT
"""Live control against a real S3 server: a canceled multipart upload is
aborted (boto3's ListMultipartUploads finds nothing), a canceled download
leaves no file, and a cap changed mid-file changes that file's rate."""

import os
import threading
import time

import fdstest
from s3fds import IFACE, pattern, temp_files, write

MIB = 1 << 20


def start_copy(fds, pairs, **options):
    """A streamed Copy read on a thread; returns (thread, out) where out
    gets "replies" when it ends."""
    conn = fds.connect(timeout=120)
    params = fds.params("copies", [{"src": s, "dst": d} for s, d in pairs], options)
    conn.send(f"{IFACE}.Copy", params, more=True)
    out = {}

    def read():
        replies = []
        while True:
            r = conn.recv()
            replies.append(r)
            if "error" in r or not r.get("continues"):
                break
        out["replies"] = replies
        out["ended"] = time.monotonic()
        conn.close()

    t = threading.Thread(target=read, daemon=True)
    t.start()
    return t, out


def running_call(fds):
    end = time.monotonic() + 20
    while time.monotonic() < end:
        with fds.connect() as c:
            calls = c.call(f"{IFACE}.Calls")["calls"]
        if calls and calls[0]["state"] == "running" and calls[0]["files_in_flight"] == 1:
            return calls[0]
        time.sleep(0.05)
    raise AssertionError("no running call")


def wait_bytes(fds, at_least):
    end = time.monotonic() + 30
    while time.monotonic() < end:
        with fds.connect() as c:
            calls = c.call(f"{IFACE}.Calls")["calls"]
        if calls and calls[0]["bytes"] >= at_least:
            return calls[0]
        time.sleep(0.05)
    raise AssertionError(f"the call did not move {at_least} bytes")


def cancel(fds, call_id):
    with fds.connect() as c:
        assert c.call(f"{IFACE}.Cancel", {"id": call_id}) == {"canceled": True}


def the_result(out):
    replies = out["replies"]
    assert len(replies) == 2, replies
    return replies[0]["parameters"]["result"], replies[1]["parameters"]["summary"]


def test_cancel_aborts_a_multipart_upload(fds_env, s3, bucket, tmp_path):
    src = write(str(tmp_path / "big"), pattern(40 * MIB, 1))
    t, out = start_copy(fds_env, [(src, f"s3://{bucket}/big")],
                        transfer={"max_bandwidth": 8 * MIB, "multipart_chunksize": 5 * MIB})
    info = running_call(fds_env)
    # Parts are on the server: there is an upload to abort.
    progress = wait_bytes(fds_env, 12 * MIB)
    assert progress["bytes"] < 40 * MIB, progress
    assert fdstest.uploads_in_progress(s3, bucket) != []
    cancel(fds_env, info["id"])
    t.join(60)
    result, summary = the_result(out)
    assert not result["ok"] and result["error"]["code"] == "Canceled", result
    assert summary["files_failed"] == 1, summary
    assert fdstest.uploads_in_progress(s3, bucket) == []
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_cancel_a_download_leaves_nothing(fds_env, s3, bucket, tmp_path):
    s3.put_object(Bucket=bucket, Key="obj", Body=pattern(24 * MIB, 2))
    out_dir = tmp_path / "out"
    t, out = start_copy(fds_env, [(f"s3://{bucket}/obj", str(out_dir / "obj"))],
                        transfer={"max_bandwidth": 4 * MIB})
    info = running_call(fds_env)
    wait_bytes(fds_env, 4 * MIB)
    cancel(fds_env, info["id"])
    t.join(60)
    result, _ = the_result(out)
    assert result["error"]["code"] == "Canceled", result
    assert not (out_dir / "obj").exists()
    assert temp_files(str(out_dir)) == []


def test_raising_the_cap_speeds_up_a_running_upload(fds_env, s3, bucket, tmp_path):
    """One 16 MiB PUT at 1 MiB/s would take 16 s; uncapped after 3 s of
    it, it ends within a few seconds, identical per boto3."""
    data = pattern(16 * MIB, 3)
    src = write(str(tmp_path / "f"), data)
    t, out = start_copy(fds_env, [(src, f"s3://{bucket}/f")],
                        transfer={"max_bandwidth": 1 * MIB, "multipart": False})
    info = running_call(fds_env)
    started = time.monotonic()
    time.sleep(3)
    moved = wait_bytes(fds_env, 1)["bytes"]
    # Around the cap so far (the bucket may burst 64 KiB).
    assert 2 * MIB <= moved <= 4.5 * MIB, moved
    with fds_env.connect() as c:
        assert c.call(f"{IFACE}.SetBandwidth", {"id": info["id"], "max_bandwidth": 0}) == {}
    t.join(60)
    result, _ = the_result(out)
    assert result["ok"], result
    took = out["ended"] - started
    assert took < 9, took
    assert s3.get_object(Bucket=bucket, Key="f")["Body"].read() == data


def test_the_daemon_cap_is_shared_by_priority(start_fds, s3, bucket, tmp_path):
    """Two 12 MiB PUTs under a 4 MiB/s daemon cap, priorities 30 and 10:
    about 3 MiB/s against 1 while both run (each request used to get half),
    and both objects read back identical per boto3."""
    fds = start_fds("env", args=["--max-bandwidth", str(4 * MIB)])
    data = {k: pattern(12 * MIB, i) for i, k in enumerate(("hi", "lo"))}
    srcs = {k: write(str(tmp_path / k), v) for k, v in data.items()}
    runs = {k: start_copy(fds, [(srcs[k], f"s3://{bucket}/{k}")], priority=p, transfer={"multipart": False})
            for k, p in (("hi", 30), ("lo", 10))}
    end = time.monotonic() + 20
    while True:
        with fds.connect() as c:
            calls = c.call(f"{IFACE}.Calls")["calls"]
        if len(calls) == 2 and all(x["files_in_flight"] == 1 for x in calls):
            break
        assert time.monotonic() < end, calls
        time.sleep(0.05)
    with fds.connect() as c:
        first = {x["id"]: x["bytes"] for x in c.call(f"{IFACE}.Calls")["calls"]}
        time.sleep(2.0)
        later = c.call(f"{IFACE}.Calls")["calls"]
    assert len(later) == 2, later
    by_prio = {}
    for x in later:
        by_prio[x["id"]] = x["bytes"] - first[x["id"]]
    hi_id, lo_id = sorted(first)  # the priority-30 call was sent first
    hi, lo = by_prio[hi_id], by_prio[lo_id]
    print(f"priority 30: {hi / 2 / MIB:.2f} MiB/s, 10: {lo / 2 / MIB:.2f} MiB/s")
    assert lo > 0 and 2.0 <= hi / lo <= 4.5, (hi, lo)
    for k, (t, out) in runs.items():
        t.join(60)
        result, _ = the_result(out)
        assert result["ok"], result
        assert s3.get_object(Bucket=bucket, Key=k)["Body"].read() == data[k]
