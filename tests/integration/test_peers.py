# SPDX-License-Identifier: MIT
"""Many users, one daemon: who may connect, whose permissions touch the
files, per-user limits, and hostile input that must not hurt anyone else.

The user tests need root (they create two throw-away users, A and B, and
run clients as them with setpriv); elsewhere they skip, saying why."""

import json
import os
import pwd
import shutil
import socket
import subprocess
import time

import pytest

from fdstest import IFACE, Varlink, calls_as, rmtree, shared_tmpdir, temp_files, write

ROOT = os.geteuid() == 0


def need_root():
    if not ROOT or not shutil.which("setpriv") or not shutil.which("useradd"):
        pytest.skip("needs root, setpriv and useradd to act as other users")


@pytest.fixture(scope="module")
def users():
    """Two throw-away users, removed afterwards: {"a": uid, "b": uid}."""
    need_root()
    made, uids = [], {}
    for tag in ("a", "b"):
        name = f"fdst{tag}{os.getpid() % 100000}"
        subprocess.run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", name], check=True,
                       capture_output=True)
        made.append(name)
        uids[tag] = pwd.getpwnam(name).pw_uid
    yield uids
    for name in made:
        subprocess.run(["userdel", name], capture_output=True)


def copy(src, dst):
    return {"copies": [{"src": src, "dst": dst}]}


def test_users_get_their_own_permissions(start_fdsd, users):
    """B cannot read A's 0600 file nor write into A's 0700 directory through
    a root fdsd, and what fdsd creates for B belongs to B."""
    a, b = users["a"], users["b"]
    work = shared_tmpdir("fds-peers-")
    try:
        home_a = os.path.join(work, "a")
        os.makedirs(home_a)
        secret = write(os.path.join(home_a, "secret"), b"only A")
        os.chown(home_a, a, a)
        os.chmod(home_a, 0o700)
        os.chown(secret, a, a)
        os.chmod(secret, 0o600)
        mine = write(os.path.join(work, "public"), b"anyone")
        os.chmod(mine, 0o644)
        out_b = os.path.join(work, "b")
        os.makedirs(out_b)
        os.chown(out_b, b, b)
        d = start_fdsd("--allow-user", f"root,{a},{b}", workdir=work)
        os.chmod(d.socket, 0o777)

        steal, plant, own, unchecked = calls_as(b, d.socket, [
            [f"{IFACE}.Copy", copy(secret, f"{out_b}/stolen")],
            [f"{IFACE}.Copy", copy(mine, f"{home_a}/planted")],
            [f"{IFACE}.Copy", copy(mine, f"{out_b}/sub/mine")],
            [f"{IFACE}.Copy", {**copy(secret, f"{out_b}/stolen2"), "options": {"validate": False}}],
        ])
        assert steal["error"] == f"{IFACE}.InvalidRequest", steal
        assert "permission denied" in steal["parameters"]["problems"][0]["reason"]
        assert plant["error"] == f"{IFACE}.InvalidRequest", plant
        assert own["parameters"]["summary"]["files_ok"] == 1, own
        # Without validation the open itself is refused, as B's own would be.
        r = unchecked["parameters"]["results"][0]
        assert not r["ok"] and r["error"]["code"] == "PermissionDenied", r
        assert not os.path.exists(f"{out_b}/stolen") and not os.path.exists(f"{out_b}/stolen2")
        assert not os.path.exists(f"{home_a}/planted")
        st = os.stat(f"{out_b}/sub/mine")
        assert (st.st_uid, st.st_gid) == (b, b)
        assert os.stat(f"{out_b}/sub").st_uid == b  # the directory fdsd made, too

        # A reads its own file through the same daemon.
        (mine_a,) = calls_as(a, d.socket, [[f"{IFACE}.Read", {"files": {"s": secret}}]])
        assert "s" in mine_a["parameters"]["contents"], mine_a
    finally:
        rmtree(work)


def test_list_with_the_callers_permissions(start_fdsd, users):
    """Through a root fdsd, B cannot list A's 0700 directory; A can."""
    a, b = users["a"], users["b"]
    work = shared_tmpdir("fds-list-")
    try:
        home_a = os.path.join(work, "a")
        os.makedirs(home_a)
        write(os.path.join(home_a, "secret"), b"only A")
        os.chown(home_a, a, a)
        os.chmod(home_a, 0o700)
        d = start_fdsd("--allow-user", f"root,{a},{b}", workdir=work)
        os.chmod(d.socket, 0o777)
        (as_b,) = calls_as(b, d.socket, [[f"{IFACE}.List", {"path": home_a}]])
        assert as_b["parameters"]["entries"] == [], as_b
        assert as_b["parameters"]["error"]["code"] == "PermissionDenied", as_b
        (as_a,) = calls_as(a, d.socket, [[f"{IFACE}.List", {"path": home_a, "recursive": True}]])
        assert [e["path"] for e in as_a["parameters"]["entries"]] == [f"{home_a}/secret"], as_a
    finally:
        rmtree(work)


def test_user_not_allowed_is_refused(start_fdsd, users):
    """Without being named, another user gets PermissionDenied and is
    disconnected, while the daemon keeps serving its allowed users."""
    work = shared_tmpdir("fds-deny-")
    try:
        d = start_fdsd(workdir=work)
        os.chmod(d.socket, 0o777)
        p = subprocess.run(["setpriv", f"--reuid={users['b']}", f"--regid={users['b']}", "--clear-groups",
                            "/usr/bin/python3", "-c",
                            "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]);"
                            "b=b''\nwhile True:\n d=s.recv(4096)\n if not d: break\n b+=d\n"
                            "print(b.decode(errors='replace'))", d.socket],
                           capture_output=True, timeout=30)
        reply = json.loads(p.stdout.decode().split("\0")[0])
        assert reply["error"] == f"{IFACE}.PermissionDenied", reply
        assert reply["parameters"]["uid"] == users["b"]
        assert f"uid {users['b']}" in d.log()
        with d.connect() as c:
            assert c.call("org.varlink.service.GetInfo")["product"] == "fdsd"
    finally:
        rmtree(work)


def test_connection_limit_per_user(start_fdsd, users):
    """One user's connections stop at its limit; another user still gets in."""
    work = shared_tmpdir("fds-conn-")
    try:
        d = start_fdsd("--max-connections-per-user", "2", "--allow-user", f"root,{users['a']}",
                       workdir=work)
        os.chmod(d.socket, 0o777)
        # One at a time: the readiness probe's connection must be gone first.
        held = []
        for _ in range(2):
            held.append(Varlink(d.socket))
            assert held[-1].call("org.varlink.service.GetInfo")["product"] == "fdsd"
        with Varlink(d.socket) as third:
            reply = third.recv()
            assert reply["error"] == f"{IFACE}.TooManyConnections", reply
            assert reply["parameters"]["limit"] == 2
        (info,) = calls_as(users["a"], d.socket, [["org.varlink.service.GetInfo", {}]])
        assert info["parameters"]["product"] == "fdsd"
        for c in held:
            c.close()
    finally:
        rmtree(work)


def test_client_that_never_reads_is_dropped(start_fdsd, tmp_path):
    """A client whose replies pile up unread is disconnected after the stall
    timeout, its batch is canceled with nothing left behind, and another
    client's batch completes meanwhile."""
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3000):
        (src / f"f{i:05d}").write_bytes(b"x" * 64)
    out = tmp_path / "out"
    d = start_fdsd("--write-stall-timeout", "1", "--parallelism", "4")
    copies = [{"src": str(src / f"f{i:05d}"), "dst": str(out / f"f{i:05d}")} for i in range(3000)]
    lazy = socket.socket(socket.AF_UNIX)
    lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    lazy.connect(d.socket)
    msg = {"method": f"{IFACE}.Copy", "parameters": {"copies": copies}, "more": True}
    lazy.sendall(json.dumps(msg).encode() + b"\0")
    # Another user of the daemon is served while the lazy one sits there.
    other = tmp_path / "other"
    write(str(other / "a"), b"a")
    with d.connect() as c:
        r = c.call(f"{IFACE}.Copy", copy(str(other / "a"), str(other / "b")))
        assert r["summary"]["files_ok"] == 1
    deadline = time.time() + 30
    while "has read nothing" not in d.log() and time.time() < deadline:
        time.sleep(0.2)
    assert "has read nothing" in d.log(), d.log()[-2000:]
    lazy.close()
    time.sleep(0.5)
    assert temp_files(str(out)) == []


def test_symlink_at_destination_is_replaced_not_followed(client, tmp_path):
    """A symlink planted where a file is to be written is replaced by the
    new file; what it points to is not touched."""
    victim = write(str(tmp_path / "victim"), b"precious")
    dst = tmp_path / "out" / "file"
    dst.parent.mkdir()
    os.symlink(victim, dst)
    src = write(str(tmp_path / "src"), b"new data")
    r = client.call(f"{IFACE}.Copy", copy(src, str(dst)))
    assert r["summary"]["files_ok"] == 1, r
    assert not os.path.islink(dst)
    assert open(dst, "rb").read() == b"new data"
    assert open(victim, "rb").read() == b"precious"


@pytest.mark.parametrize("params, what", [
    ({"copies": [{"src": "/a", "dst": "/b/../c"}]}, "'..'"),
    ({"copies": [{"src": "s3:///key", "dst": "/x"}]}, "no bucket"),
    ({"copies": [{"src": "s3://b/", "dst": "/x"}]}, "bucket name"),
    ({"copies": [{"src": "s3://ok-bucket/", "dst": "/x"}]}, "no key"),
    ({"copies": [{"src": "s3://Bad_Bucket/k", "dst": "/x"}]}, "bucket name"),
    ({"copies": [{"src": "s3://1.2.3.4/k", "dst": "/x"}]}, "bucket name"),
    ({"copies": [{"src": "", "dst": "/x"}]}, "empty path"),
])
def test_hostile_paths_are_problems(client, params, what, tmp_path):
    e = client.call_error(f"{IFACE}.Copy", params)
    assert e["error"] == f"{IFACE}.InvalidRequest", e
    reasons = " ".join(p["reason"] for p in e["parameters"]["problems"])
    assert what in reasons, e


@pytest.mark.parametrize("options", [
    {"parallelism": -1}, {"parallelism": 2 ** 40}, {"max_bytes": 1.5},
    {"transfer": {"max_concurrency": 10 ** 9}}, {"transfer": {"multipart_chunksize": 1}},
    {"s3": {"region": 7}}, {"": 1},
])
def test_numbers_and_keys_out_of_range(client, options):
    e = client.call_error(f"{IFACE}.Copy", {"copies": [], "options": options})
    assert e["error"] == "org.varlink.service.InvalidParameter", e


@pytest.mark.parametrize("number", ["1" + "0" * 30, "-" + "9" * 25, "1e999"])
def test_numbers_beyond_64_bits_are_a_clear_error(client, number):
    """JSON numbers no 64-bit integer or double holds: InvalidMessage saying
    so, and the connection goes on."""
    raw = '{"method":"%s.Copy","parameters":{"copies":[],"options":{"parallelism":%s}}}' % (IFACE, number)
    client.send_raw(raw.encode() + b"\0")
    e = client.recv()
    assert e["error"] == f"{IFACE}.InvalidMessage", e
    assert "out of range" in e["parameters"]["reason"], e
    assert client.call("org.varlink.service.GetInfo")["product"] == "fdsd"


def test_huge_array_is_refused_whole(start_fdsd, tmp_path):
    """More entries than the daemon takes in one call: one clear problem, and
    the daemon still serves."""
    d = start_fdsd("--max-files", "1000")
    copies = [{"src": f"/nope/{i}", "dst": f"/nope/out/{i}"} for i in range(5000)]
    with d.connect() as c:
        e = c.call_error(f"{IFACE}.Copy", {"copies": copies})
        assert e["error"] == f"{IFACE}.InvalidRequest"
        assert "limit is 1000" in e["parameters"]["problems"][0]["reason"], e
        assert c.call("org.varlink.service.GetInfo")["product"] == "fdsd"
