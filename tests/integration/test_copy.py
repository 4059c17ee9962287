# SPDX-License-Identifier: MIT
"""io.fds.Transfer.Copy over the raw protocol: results, streaming, file
semantics (like shutil.copy2) and whole-batch validation."""

import base64
import json
import os
import shutil
import stat
import subprocess

import pytest

from fdstest import (FDSCTL, IFACE, Varlink, assert_no_sanitizer_reports, calls_as, run_fdsctl_as,
                     documented_file_error_codes, make_tree, read, rmtree, shared_tmpdir,
                     temp_files, write)

INVALID_REQUEST = f"{IFACE}.InvalidRequest"


def copies(pairs):
    return [{"src": s, "dst": d} for s, d in pairs]


def copy(conn, pairs, **options):
    params = {"copies": copies(pairs)}
    if options:
        params["options"] = options
    return conn.call(f"{IFACE}.Copy", params)


def copy_error(conn, pairs):
    e = conn.call_error(f"{IFACE}.Copy", {"copies": copies(pairs)})
    assert e["error"] == INVALID_REQUEST, e
    return e["parameters"]["problems"]


def tree_listing(root):
    out = []
    for d, dirs, files in os.walk(root):
        out += [os.path.relpath(os.path.join(d, x), root) for x in dirs + files]
    return sorted(out)


def test_many_files_nested_streaming(client, tmp_path):
    n = 2000
    src_root, dst_root = str(tmp_path / "src"), str(tmp_path / "dst")
    rels = make_tree(src_root, n)
    pairs = [(os.path.join(src_root, r), os.path.join(dst_root, r)) for r in rels]
    replies = client.call_more(f"{IFACE}.Copy", {"copies": copies(pairs)})

    assert len(replies) == n + 1, replies[-1]
    results = [r["parameters"]["result"] for r in replies[:-1]]
    assert all(r.get("continues") is True for r in replies[:-1])
    assert "continues" not in replies[-1]
    assert set(replies[-1]["parameters"]) == {"summary"}
    assert sorted(r["index"] for r in results) == list(range(n))
    total = 0
    for r in results:
        s, d = pairs[r["index"]]
        assert (r["src"], r["dst"], r["ok"]) == (s, d, True), r
        assert "error" not in r
        assert r["bytes"] == os.path.getsize(s)
        total += r["bytes"]
    summary = replies[-1]["parameters"]["summary"]
    assert (summary["files_ok"], summary["files_failed"], summary["bytes"]) == (n, 0, total)
    assert isinstance(summary["seconds"], float) and summary["seconds"] >= 0
    for s, d in pairs:
        assert read(d) == read(s), d
    assert tree_listing(dst_root) == tree_listing(src_root)
    assert sum(1 for s, _ in pairs if os.path.getsize(s) == 0) > 100


def test_non_streaming_reply(client, tmp_path):
    pairs = [(write(str(tmp_path / f"s{i}"), b"%d" % i * i), str(tmp_path / "d" / f"{i}"))
             for i in range(5)]
    reply = client.call(f"{IFACE}.Copy", {"copies": copies(pairs)})
    assert set(reply) == {"results", "summary"}
    assert [r["index"] for r in reply["results"]] == list(range(5))
    for r, (s, d) in zip(reply["results"], pairs):
        assert r == {"index": r["index"], "src": s, "dst": d, "ok": True,
                     "bytes": os.path.getsize(s)}
    assert reply["summary"]["files_ok"] == 5
    assert reply["summary"]["bytes"] == sum(os.path.getsize(s) for s, _ in pairs)


def test_empty_batch(client):
    reply = client.call(f"{IFACE}.Copy", {"copies": []})
    assert reply["results"] == []
    assert reply["summary"]["files_ok"] == reply["summary"]["files_failed"] == 0
    replies = client.call_more(f"{IFACE}.Copy", {"copies": []})
    assert len(replies) == 1 and replies[0]["parameters"]["summary"]["files_ok"] == 0


def test_zero_byte_files(client, tmp_path):
    pairs = [(write(str(tmp_path / f"empty{i}"), b""), str(tmp_path / "out" / f"e{i}"))
             for i in range(3)]
    # One also replaces a non-empty file.
    write(pairs[0][1], b"old content")
    reply = copy(client, pairs)
    assert all(r["ok"] and r["bytes"] == 0 for r in reply["results"]), reply
    for _, d in pairs:
        assert os.path.isfile(d) and os.path.getsize(d) == 0


def test_overwrite_existing_destination(client, tmp_path):
    src = write(str(tmp_path / "src"), b"new")
    dst = write(str(tmp_path / "dst"), b"a much longer old content" * 100)
    os.chmod(dst, 0o600)
    old_ino = os.stat(dst).st_ino
    link = str(tmp_path / "hardlink-to-old")
    os.link(dst, link)
    reply = copy(client, [(src, dst)])
    assert reply["results"][0]["ok"], reply
    assert read(dst) == b"new"
    assert stat.S_IMODE(os.stat(dst).st_mode) == stat.S_IMODE(os.stat(src).st_mode)
    # Replaced by rename, not written through: the old inode is intact.
    assert os.stat(dst).st_ino != old_ino
    assert read(link).startswith(b"a much longer")
    assert temp_files(str(tmp_path)) == []


@pytest.mark.parametrize("mode", [0o644, 0o600, 0o755, 0o440, 0o000])
def test_preserves_like_copy2(client, tmp_path, mode):
    if mode & 0o400 == 0 and os.geteuid() != 0:
        pytest.skip("an unreadable source is refused unless fdsd runs as root")
    src = write(str(tmp_path / "src.bin"), os.urandom(70000) + b"\0end")
    os.chmod(src, mode)
    # An mtime with nanoseconds and an atime in the past.
    os.utime(src, ns=(1_500_000_000_123_456_789, 1_600_000_000_987_654_321))
    before = os.stat(src)
    dst = str(tmp_path / "out" / "fds.bin")
    ref = str(tmp_path / "out" / "copy2.bin")
    reply = copy(client, [(src, dst)])
    assert reply["results"][0]["ok"], reply
    shutil.copy2(src, ref)
    d, r = os.stat(dst), os.stat(ref)
    assert read(dst) == read(src) == read(ref)
    assert d.st_size == before.st_size
    assert stat.S_IMODE(d.st_mode) == stat.S_IMODE(before.st_mode) == stat.S_IMODE(r.st_mode)
    assert stat.S_ISREG(d.st_mode)
    assert d.st_mtime_ns == before.st_mtime_ns == r.st_mtime_ns
    # copy2 takes the atime after reading; fds before. Both keep the past.
    assert d.st_atime_ns <= os.stat(src).st_atime_ns
    assert d.st_atime_ns == before.st_atime_ns


def test_duplicate_destinations_reject_whole_batch(client, tmp_path):
    a = write(str(tmp_path / "a"), b"a")
    b = write(str(tmp_path / "b"), b"b")
    out = str(tmp_path / "out")
    pairs = [
        (a, f"{out}/x"),            # 0
        (b, f"{out}/y"),            # 1
        (b, f"{out}/x"),            # 2: same as 0
        (a, f"{out}//x"),           # 3: same as 0 after normalization
        (a, f"{out}/sub/../y"),     # 4: '..' is refused for destinations
        (b, f"{out}/z"),            # 5
        (a, f"{out}/z"),            # 6: same as 5
    ]
    problems = copy_error(client, pairs)
    by_index = {}
    for p in problems:
        assert set(p) == {"index", "path", "reason"}, p
        by_index.setdefault(p["index"], []).append(p)
    assert sorted(by_index) == [2, 3, 4, 6], problems
    for i in (2, 3, 6):
        assert by_index[i][0]["path"] == pairs[i][1]
        assert "duplicate" in by_index[i][0]["reason"]
    assert "copies[0]" in by_index[2][0]["reason"] and "copies[5]" in by_index[6][0]["reason"]
    # Nothing was written, not even a directory.
    assert not os.path.exists(out)


def test_missing_sources_all_listed(client, tmp_path):
    a = write(str(tmp_path / "a"), b"a")
    out = str(tmp_path / "out")
    missing = [str(tmp_path / f"missing{i}") for i in range(5)]
    pairs = [(a, f"{out}/ok0")] + [(m, f"{out}/m{i}") for i, m in enumerate(missing)] + \
            [(a, f"{out}/ok1"), (str(tmp_path / "a" / "under-a-file"), f"{out}/nd"),
             (str(tmp_path), f"{out}/dir")]
    problems = copy_error(client, pairs)
    assert [p["index"] for p in problems] == [1, 2, 3, 4, 5, 7, 8], problems
    for p in problems:
        assert p["path"] == pairs[p["index"]][0]
    assert all("does not exist" in p["reason"] for p in problems[:5]), problems
    assert "not a directory" in problems[5]["reason"]
    assert "directory" in problems[6]["reason"]
    assert not os.path.exists(out)


def test_bad_destinations_all_listed(client, tmp_path):
    a = write(str(tmp_path / "a"), b"a")
    os.makedirs(str(tmp_path / "existing-dir"))
    write(str(tmp_path / "file"), b"f")
    os.mkfifo(str(tmp_path / "fifo"))
    pairs = [
        (a, str(tmp_path / "existing-dir")),
        (a, str(tmp_path / "out") + "/"),
        (a, str(tmp_path / "file" / "below")),
        (a, str(tmp_path / "fifo")),
        (a, str(tmp_path / "out" / ("n" * 300))),
        (str(tmp_path / "fifo"), str(tmp_path / "out" / "from-fifo")),
    ]
    problems = copy_error(client, pairs)
    assert sorted({p["index"] for p in problems}) == list(range(6)), problems
    assert not os.path.exists(str(tmp_path / "out"))
    assert read(str(tmp_path / "file")) == b"f"


def test_invalid_paths_all_listed(client, tmp_path):
    a = write(str(tmp_path / "a"), b"a")
    out = str(tmp_path / "out")
    pairs = [
        ("relative/src", f"{out}/0"),       # 0 relative source
        (a, "relative/dst"),                # 1 relative destination
        ("", f"{out}/2"),                   # 2 empty
        ("s3://", f"{out}/3"),              # 3 no bucket
        ("s3://Bad_Bucket/key", f"{out}/4"),  # 4 invalid bucket name
        ("s3://ab/key", f"{out}/5"),        # 5 bucket too short
        ("s3://good-bucket", f"{out}/6"),   # 6 no key
        (a, "s3://1.2.3.4/key"),            # 7 bucket shaped like an IP address
        ("http://example.com/x", f"{out}/8"),  # 8 unsupported scheme
        (a, f"{out}/ok"),                   # 9 fine
        ("./rel", "also/relative"),         # 10 both sides
        ("s3://good-bucket/", f"{out}/11"),  # 11 empty key
    ]
    problems = copy_error(client, pairs)
    got = sorted((p["index"], p["path"]) for p in problems)
    want = sorted([(i, pairs[i][0]) for i in (0, 2, 3, 4, 5, 6, 8, 10, 11)] +
                  [(i, pairs[i][1]) for i in (1, 7, 10)])
    assert got == want, problems
    for p in problems:
        assert p["reason"], p
    assert not os.path.exists(out)


def test_s3_sources_unreachable_all_listed(client, tmp_path):
    """S3 sources on an endpoint that refuses connections: validation lists
    every one (an S3 destination needs no check), and nothing is written."""
    a = write(str(tmp_path / "a"), b"a")
    out = str(tmp_path / "out")
    pairs = [(a, f"{out}/local"), ("s3://good-bucket/key", f"{out}/0"),
             (a, "s3://good-bucket/other"), ("s3://other.bucket/k/e/y", f"{out}/2")]
    e = client.call_error(f"{IFACE}.Copy", {"copies": copies(pairs), "options": {
        "s3": {"endpoint_url": "http://127.0.0.1:1", "region": "us-east-1",
               "access_key_id": "AK", "secret_access_key": "SK"},
        "transfer": {"max_attempts": 1}}})
    assert e["error"] == INVALID_REQUEST, e
    got = sorted((p["index"], p["path"]) for p in e["parameters"]["problems"])
    assert got == [(1, pairs[1][0]), (3, pairs[3][0])], e
    assert not os.path.exists(out)


def test_parallelism_one(start_fdsd, tmp_path):
    d = start_fdsd("--parallelism", "1", "--max-inflight", "1")
    src_root, dst_root = str(tmp_path / "src"), str(tmp_path / "dst")
    rels = make_tree(src_root, 60, per_dir=5)
    pairs = [(os.path.join(src_root, r), os.path.join(dst_root, r)) for r in rels]
    with d.connect() as c:
        replies = c.call_more(f"{IFACE}.Copy", {"copies": copies(pairs)})
        # One at a time, in order.
        assert [r["parameters"]["result"]["index"] for r in replies[:-1]] == list(range(60))
        reply = copy(c, pairs, parallelism=1)
        assert reply["summary"]["files_ok"] == 60
    for s, dd in pairs:
        assert read(dd) == read(s)


def test_same_file_fails_per_file(client, tmp_path):
    a = write(str(tmp_path / "a"), b"same")
    os.link(a, str(tmp_path / "hard"))
    os.symlink(a, str(tmp_path / "sym"))
    b = write(str(tmp_path / "b"), b"other")
    pairs = [(a, a), (a, str(tmp_path / "hard")), (a, str(tmp_path / "sym")),
             (b, str(tmp_path / "out" / "b"))]
    reply = copy(client, pairs)
    res = reply["results"]
    assert [r["ok"] for r in res] == [False, False, False, True], res
    for r in res[:3]:
        assert r["error"]["message"], r
        assert r["bytes"] == 0
    assert reply["summary"]["files_failed"] == 3 and reply["summary"]["files_ok"] == 1
    assert read(a) == b"same" and os.path.islink(str(tmp_path / "sym"))
    assert temp_files(str(tmp_path)) == []


def test_file_error_codes_are_documented(client, tmp_path):
    """Every FileError code the daemon sends is one the interface file lists
    (its FileError comment is the contract clients code against)."""
    a = write(str(tmp_path / "a"), b"same")
    reply = copy(client, [(a, a)])
    code = reply["results"][0]["error"]["code"]
    assert code in documented_file_error_codes(), (
        f"fdsd answers code {code!r} for src == dst; proto/io.fds.Transfer.varlink "
        f"documents only {sorted(documented_file_error_codes())}")


def test_unreadable_source(start_fdsd, tmp_path):
    """A source the client may not read (chmod 000) rejects the batch. Root
    bypasses permission checks, so as root the client runs as nobody."""
    user, work = None, str(tmp_path)
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root and setpriv is missing: cannot drop privileges")
        user, work = 65534, shared_tmpdir("fds-unpriv-")
    try:
        ok = write(os.path.join(work, "ok"), b"ok")
        secret = write(os.path.join(work, "secret"), b"secret")
        os.chmod(ok, 0o644)
        out = os.path.join(work, "out")
        os.makedirs(out)
        os.chmod(out, 0o777)
        locked = os.path.join(work, "locked")
        os.makedirs(locked)
        if user is not None:
            os.chown(secret, user, user)  # the client's own file, mode 000
        os.chmod(secret, 0o000)
        os.chmod(locked, 0o555)
        # Another user is welcome only by name (the default policy admits
        # the daemon's own user and root).
        d = start_fdsd(*(["--allow-user", f"root,{user}"] if user is not None else []), workdir=work)
        os.chmod(d.socket, 0o777)
        bad_copy, size, read_, partial = calls_as(user, d.socket, [
            [f"{IFACE}.Copy", {"copies": copies([(ok, f"{out}/ok"), (secret, f"{out}/secret")])}],
            [f"{IFACE}.Size", {"files": {"s": secret}}],
            [f"{IFACE}.Read", {"files": {"s": secret, "o": ok}}],
            # A directory it may not write to fails that file only, at copy
            # time (validation does not check writability).
            [f"{IFACE}.Copy", {"copies": copies([(ok, f"{locked}/x"), (ok, f"{out}/fine")])}],
        ])
        assert bad_copy.get("error") == INVALID_REQUEST, bad_copy
        problems = bad_copy["parameters"]["problems"]
        assert [(p["index"], p["path"]) for p in problems] == [(1, secret)], problems
        assert "permission" in problems[0]["reason"], problems
        # Size needs no read permission; Read does.
        assert size == {"parameters": {"sizes": {"s": 6}, "errors": {}}}
        assert read_["parameters"]["errors"]["s"]["code"] == "PermissionDenied", read_
        assert read_["parameters"]["contents"] == {"o": "b2s="}
        res = partial["parameters"]["results"]
        assert [x["ok"] for x in res] == [False, True], res
        assert res[0]["error"]["code"] == "PermissionDenied", res
        assert os.listdir(locked) == []
        assert os.listdir(out) == ["fine"]
        if os.access(FDSCTL, os.X_OK):
            # fdsctl: exit 2 and one line naming the file.
            p = run_fdsctl_as(user, "--socket", d.socket, "copy", secret, f"{out}/secret")
            err = p.stderr.decode()
            assert p.returncode == 2, err
            assert any(secret in x and "permission" in x for x in err.splitlines()), err
            assert os.listdir(out) == ["fine"]
    finally:
        if user is not None:
            rmtree(work)


def test_client_credentials_are_honoured(start_fdsd, tmp_path):
    """A root fdsd opens and creates files with the connecting client's
    credentials: an unprivileged client can neither read what it may not
    read nor write where it may not write, and what it creates is its own."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run a client as another user")
    nobody = 65534
    work = shared_tmpdir("fds-creds-")
    try:
        secret = write(os.path.join(work, "secret"), b"root only")
        os.chmod(secret, 0o600)
        public = write(os.path.join(work, "public"), b"for everyone")
        os.chmod(public, 0o644)
        out = os.path.join(work, "out")
        os.makedirs(out)
        os.chmod(out, 0o777)
        locked = os.path.join(work, "locked")
        os.makedirs(locked)
        os.chmod(locked, 0o755)
        d = start_fdsd("--allow-user", f"root,{nobody}", workdir=work)
        os.chmod(d.socket, 0o777)
        calls = [
            [f"{IFACE}.Read", {"files": {"s": secret, "p": public}}],
            [f"{IFACE}.Copy", {"copies": [{"src": secret, "dst": f"{out}/secret"}]}],
            [f"{IFACE}.Copy", {"copies": [{"src": public, "dst": f"{out}/public"},
                                          {"src": public, "dst": f"{locked}/public"}]}],
        ]
        read_, copy_secret, copy_public = calls_as(nobody, d.socket, calls)

        assert "root only" not in json.dumps(read_)
        assert read_["parameters"]["errors"]["s"]["code"] == "PermissionDenied", read_
        assert base64.b64decode(read_["parameters"]["contents"]["p"]) == b"for everyone"

        assert copy_secret.get("error") == INVALID_REQUEST, copy_secret
        problems = copy_secret["parameters"]["problems"]
        assert [(x["index"], x["path"]) for x in problems] == [(0, secret)], problems
        assert "permission" in problems[0]["reason"]

        res = copy_public["parameters"]["results"]
        assert [x["ok"] for x in res] == [True, False], res
        assert res[1]["error"]["code"] == "PermissionDenied", res
        assert os.listdir(locked) == []
        st = os.stat(f"{out}/public")
        assert (st.st_uid, st.st_gid) == (nobody, nobody), "the copy belongs to the client"
        assert sorted(os.listdir(out)) == ["public"]

        if os.access(FDSCTL, os.X_OK):
            p = run_fdsctl_as(nobody, "--socket", d.socket, "cat", secret)
            assert p.returncode == 1 and p.stdout == b"", p
            err = p.stderr.decode().splitlines()
            assert len(err) == 1 and secret in err[0] and "PermissionDenied" in err[0], err
    finally:
        rmtree(work)


def test_unusual_names(client, tmp_path):
    names = ["space name", "tab\tname", "new\nline", "quote\"back\\slash", "ünïcødé ✓ 日本",
             "-leading-dash", ".hidden", "x" * 255]
    pairs = [(write(str(tmp_path / "src" / n), n.encode()), str(tmp_path / "dst" / n))
             for n in names]
    reply = copy(client, pairs)
    assert all(r["ok"] for r in reply["results"]), reply["results"]
    for (s, d), r in zip(pairs, reply["results"]):
        assert (r["src"], r["dst"]) == (s, d)
        assert read(d) == read(s)
    assert sorted(os.listdir(str(tmp_path / "dst"))) == sorted(names)


def test_symlinks(client, tmp_path):
    target = write(str(tmp_path / "target"), b"target")
    other = write(str(tmp_path / "other"), b"other content")
    os.symlink(target, str(tmp_path / "src-link"))
    os.symlink(other, str(tmp_path / "dst-link"))
    os.makedirs(str(tmp_path / "realdir"))
    os.symlink(str(tmp_path / "realdir"), str(tmp_path / "dirlink"))
    reply = copy(client, [
        (str(tmp_path / "src-link"), str(tmp_path / "out" / "from-link")),
        (target, str(tmp_path / "dst-link")),
        (target, str(tmp_path / "dirlink" / "inside")),
    ])
    assert all(r["ok"] for r in reply["results"]), reply
    # A source symlink is followed, like cp.
    assert not os.path.islink(str(tmp_path / "out" / "from-link"))
    assert read(str(tmp_path / "out" / "from-link")) == b"target"
    # A destination symlink is replaced, its target left alone.
    assert not os.path.islink(str(tmp_path / "dst-link"))
    assert read(str(tmp_path / "dst-link")) == b"target"
    assert read(other) == b"other content"
    # A symlinked parent directory is followed.
    assert read(str(tmp_path / "realdir" / "inside")) == b"target"


def test_large_file_across_chunks(client, tmp_path):
    data = os.urandom(1 << 20) * 19 + os.urandom(12345)  # past two 8 MiB chunks
    src = write(str(tmp_path / "large"), data)
    reply = copy(client, [(src, str(tmp_path / "out" / "large"))])
    assert reply["results"][0] == {"index": 0, "src": src, "dst": str(tmp_path / "out" / "large"),
                                   "ok": True, "bytes": len(data)}
    assert read(str(tmp_path / "out" / "large")) == data


def test_proc_file_copied_by_content(client, tmp_path):
    """Files whose stat size is 0 but which have content (/proc) are copied
    by reading them, not by trusting the size."""
    want = read("/proc/version")
    assert os.stat("/proc/version").st_size == 0 and want
    dst = str(tmp_path / "version")
    reply = copy(client, [("/proc/version", dst)])
    assert reply["results"][0]["ok"], reply
    assert read(dst) == want and reply["results"][0]["bytes"] == len(want)
    r = client.call(f"{IFACE}.Read", {"files": {"v": "/proc/version"}})
    assert base64.b64decode(r["contents"]["v"]) == want
