# SPDX-License-Identifier: MIT
"""Transfers stopped mid-way: by the client going away (its connection
closed, or the fdsctl process killed) or by SIGTERM to fdsd. A part is held
at the proxy so that "mid-way" is certain; afterwards no temporary file and
no multipart upload may be left."""

import os
import signal
import subprocess
import sys

import pytest

from fdslarge import (DEFAULT_CHUNK, FDSCTL, IFACE, MiB, pattern, temp_files,
                      uploads_in_progress, wait_for, write)
from proxy import Stall, is_part_put, is_range_get

HERE = os.path.dirname(os.path.abspath(__file__))

# A client in a process of its own, for when fdsctl is not built: sends one
# Copy and waits for the reply.
PY_CLIENT = r"""
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
msg = {"method": "%s.Copy", "parameters": {"copies": [{"src": sys.argv[2], "dst": sys.argv[3]}]}}
s.sendall(json.dumps(msg).encode() + b"\0")
s.recv(1 << 20)
""" % IFACE


def client_env():
    """The client's environment: no S3 settings of its own (fdsctl would send
    them), so the daemon's are used."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


def spawn_client(how, fds, src, dst):
    if how == "fdsctl":
        if not os.access(FDSCTL, os.X_OK):
            pytest.skip(f"fdsctl is not built ({FDSCTL} missing)")
        cmd = [FDSCTL, "--socket", fds.daemon.socket, "--json", "copy", src, dst]
    else:
        cmd = [sys.executable, "-c", PY_CLIENT, fds.daemon.socket, src, dst]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=client_env())


def aborts(proxy):
    return proxy.seen(lambda q: q.method == "DELETE" and "uploadId" in q.query)


@pytest.mark.parametrize("how", ["fdsctl", "python"])
def test_killed_client_mid_upload_leaves_no_multipart_upload(fds, proxy, s3, bucket, tmp_path, how):
    data = pattern(30 * MiB, 31)
    src = write(str(tmp_path / "f.bin"), data)
    stall = Stall(timeout=60)
    rule = proxy.add_rule(is_part_put(2), stall)
    client = spawn_client(how, fds, src, f"s3://{bucket}/f.bin")
    try:
        assert rule.fired.wait(60), "part 2 never reached the proxy"
        # Mid-way for sure: the upload exists and part 2 is held.
        assert [k for k, _ in uploads_in_progress(s3, bucket)] == ["f.bin"]
        client.send_signal(signal.SIGKILL)
        client.wait(10)
        wait_for(lambda: aborts(proxy) and aborts(proxy)[0].status is not None, 20,
                 "fdsd to abort the multipart upload")
    finally:
        stall.release()
        if client.poll() is None:
            client.kill()
            client.wait()
    assert aborts(proxy)[0].status == 204
    assert uploads_in_progress(s3, bucket) == []
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    # The daemon carries on serving.
    r = fds.copy1(src, f"s3://{bucket}/again.bin")
    assert r["ok"], r


def test_closed_connection_mid_upload_leaves_no_multipart_upload(fds, proxy, s3, bucket, tmp_path):
    data = pattern(20 * MiB, 32)
    src = write(str(tmp_path / "f.bin"), data)
    stall = Stall(timeout=60)
    rule = proxy.add_rule(is_part_put(2), stall)
    conn = fds.send_copy([(src, f"s3://{bucket}/f.bin")])
    try:
        assert rule.fired.wait(60)
        conn.close()
        wait_for(lambda: aborts(proxy) and aborts(proxy)[0].status is not None, 20,
                 "fdsd to abort the multipart upload")
    finally:
        stall.release()
        conn.close()
    assert uploads_in_progress(s3, bucket) == []


def test_sigterm_mid_upload_aborts_then_exits_0(start_fds, proxy, s3, bucket, tmp_path):
    """SIGTERM while a part is held: fdsd cancels, aborts the upload, and
    exits 0 in time (its own limit is 10 s); the upload is gone when it has."""
    fds = start_fds()
    data = pattern(20 * MiB, 33)
    src = write(str(tmp_path / "f.bin"), data)
    stall = Stall(timeout=60)
    rule = proxy.add_rule(is_part_put(2), stall)
    conn = fds.send_copy([(src, f"s3://{bucket}/f.bin")])
    try:
        assert rule.fired.wait(60)
        rc = fds.daemon.stop(timeout=15)
    finally:
        stall.release()
        conn.close()
    assert rc == 0, f"fdsd exited with {rc}:\n{fds.daemon.log()[-3000:]}"
    assert uploads_in_progress(s3, bucket) == [], "fdsd exited leaving the multipart upload behind"
    assert aborts(proxy) and aborts(proxy)[0].status == 204


@pytest.mark.parametrize("how", ["fdsctl", "python"])
def test_killed_client_mid_ranged_download_leaves_no_temporary(fds, proxy, s3, bucket, tmp_path, how):
    size = 30 * MiB
    s3.put_object(Bucket=bucket, Key="obj", Body=pattern(size, 34))
    out = tmp_path / "out"
    out.mkdir()
    dst = str(out / "obj.bin")
    stall = Stall(timeout=60)
    rule = proxy.add_rule(is_range_get(DEFAULT_CHUNK), stall)
    client = spawn_client(how, fds, f"s3://{bucket}/obj", dst)
    try:
        assert rule.fired.wait(60), "the second range never reached the proxy"
        # Mid-way for sure: the temporary exists, the second range is held.
        wait_for(lambda: temp_files(str(out)), 10, "the temporary file")
        client.send_signal(signal.SIGKILL)
        client.wait(10)
        wait_for(lambda: not temp_files(str(out)), 20, "fdsd to remove its temporary")
    finally:
        stall.release()
        if client.poll() is None:
            client.kill()
            client.wait()
    assert os.listdir(str(out)) == []
    # The daemon carries on serving.
    r = fds.copy1(f"s3://{bucket}/obj", dst)
    assert r["ok"], r
    assert os.path.getsize(dst) == size


def test_sigterm_mid_ranged_download_removes_temporary_then_exits_0(start_fds, proxy, s3, bucket,
                                                                     tmp_path):
    fds = start_fds()
    s3.put_object(Bucket=bucket, Key="obj", Body=pattern(20 * MiB, 35))
    out = tmp_path / "out"
    out.mkdir()
    stall = Stall(timeout=60)
    rule = proxy.add_rule(is_range_get(DEFAULT_CHUNK), stall)
    conn = fds.send_copy([(f"s3://{bucket}/obj", str(out / "obj.bin"))])
    try:
        assert rule.fired.wait(60)
        wait_for(lambda: temp_files(str(out)), 10, "the temporary file")
        rc = fds.daemon.stop(timeout=15)
    finally:
        stall.release()
        conn.close()
    assert rc == 0, f"fdsd exited with {rc}:\n{fds.daemon.log()[-3000:]}"
    assert os.listdir(str(out)) == [], "fdsd exited leaving files behind"
