# SPDX-License-Identifier: MIT
"""Recursive copies of local directories (CopyEntry.recursive) and
options.validate = false, over the raw protocol and through fdsctl."""

import json
import os

import pytest

from fdstest import IFACE, make_tree, need_fdsctl, read, temp_files, write

INVALID_REQUEST = f"{IFACE}.InvalidRequest"


@pytest.fixture
def tree(tmp_path):
    """A directory with nested files, an empty file and an empty directory,
    a symlink to a file (copied as a file), a symlink to a directory (not
    entered), a dangling symlink and a FIFO (both skipped)."""
    root = str(tmp_path / "tree")
    rels = make_tree(root, 40, per_dir=4)
    os.makedirs(os.path.join(root, "empty-dir"))
    write(os.path.join(root, "top.txt"), b"top")
    os.symlink(os.path.join(root, "top.txt"), os.path.join(root, "link-to-file"))
    os.symlink(os.path.join(root, rels[0].split("/")[0]), os.path.join(root, "link-to-dir"))
    os.symlink("/nonexistent/target", os.path.join(root, "dangling"))
    os.mkfifo(os.path.join(root, "fifo"))
    return root, sorted(rels + ["top.txt", "link-to-file"])


def test_recursive_copy(client, tmp_path, tree):
    root, files = tree
    out = str(tmp_path / "out")
    single = write(str(tmp_path / "single"), b"single")
    reply = client.call(f"{IFACE}.Copy", {"copies": [
        {"src": root, "dst": out, "recursive": True},
        {"src": single, "dst": str(tmp_path / "single-copy")},
    ]})
    results = reply["results"]
    assert reply["summary"]["files_ok"] == len(files) + 1, reply["summary"]
    assert reply["summary"]["files_failed"] == 0
    rec = [r for r in results if r["index"] == 0]
    assert sorted(os.path.relpath(r["dst"], out) for r in rec) == files
    for r in rec:
        assert r["ok"] and r["src"] == os.path.join(root, os.path.relpath(r["dst"], out))
        assert read(r["dst"]) == read(r["src"])
    assert [r["index"] for r in results].count(1) == 1
    copied = sorted(os.path.relpath(os.path.join(d, f), out)
                    for d, _, fs in os.walk(out) for f in fs)
    assert copied == files
    assert not os.path.islink(os.path.join(out, "link-to-file"))


def test_recursive_streaming(client, tmp_path, tree):
    root, files = tree
    replies = client.call_more(f"{IFACE}.Copy", {"copies": [
        {"src": root, "dst": str(tmp_path / "out"), "recursive": True}]})
    assert len(replies) == len(files) + 1
    assert all(r["parameters"]["result"]["index"] == 0 for r in replies[:-1])
    assert replies[-1]["parameters"]["summary"]["files_ok"] == len(files)


def test_recursive_empty_directory(client, tmp_path):
    os.makedirs(str(tmp_path / "empty"))
    reply = client.call(f"{IFACE}.Copy", {"copies": [
        {"src": str(tmp_path / "empty"), "dst": str(tmp_path / "out"), "recursive": True}]})
    assert reply["results"] == [] and reply["summary"]["files_ok"] == 0


def test_recursive_problems_all_listed(client, tmp_path, tree):
    root, _ = tree
    a = write(str(tmp_path / "a"), b"a")
    pairs = [
        {"src": str(tmp_path / "missing-dir"), "dst": str(tmp_path / "o0"), "recursive": True},
        {"src": a, "dst": str(tmp_path / "o1"), "recursive": True},
        {"src": "relative/dir", "dst": str(tmp_path / "o2"), "recursive": True},
        {"src": root, "dst": str(tmp_path / "o3"), "recursive": True},
    ]
    e = client.call_error(f"{IFACE}.Copy", {"copies": pairs})
    assert e["error"] == INVALID_REQUEST
    got = sorted((p["index"], p["path"]) for p in e["parameters"]["problems"])
    assert got == [(0, pairs[0]["src"]), (1, a), (2, "relative/dir")], e
    for i in range(4):
        assert not os.path.exists(str(tmp_path / f"o{i}"))


@pytest.mark.parametrize("order", ["explicit-first", "recursive-first"])
def test_recursive_clash_with_explicit_entry(client, tmp_path, tree, order):
    """A file of a recursive entry and a plain entry with the same
    destination: the whole batch is refused, whichever comes first."""
    root, files = tree
    out = str(tmp_path / "out")
    other = write(str(tmp_path / "other"), b"other")
    rec = {"src": root, "dst": out, "recursive": True}
    plain = {"src": other, "dst": os.path.join(out, "top.txt")}
    batch = [plain, rec] if order == "explicit-first" else [rec, plain]
    client.send(f"{IFACE}.Copy", {"copies": batch})
    reply = client.recv()
    written = os.path.exists(out)
    assert reply.get("error") == INVALID_REQUEST, (
        f"{order}: both entries were copied to {out}/top.txt (its content now "
        f"{read(os.path.join(out, 'top.txt'))!r}) instead of InvalidRequest")
    problems = reply["parameters"]["problems"]
    assert any(p["path"] == os.path.join(out, "top.txt") and "duplicate" in p["reason"]
               for p in problems), problems
    assert not written


def test_recursive_clash_between_recursive_entries(client, tmp_path, tree):
    root, files = tree
    out = str(tmp_path / "out")
    e = client.call_error(f"{IFACE}.Copy", {"copies": [
        {"src": root, "dst": out, "recursive": True},
        {"src": root, "dst": out, "recursive": True}]})
    assert e["error"] == INVALID_REQUEST
    dup = sorted(os.path.relpath(p["path"], out) for p in e["parameters"]["problems"])
    assert dup == files
    assert not os.path.exists(out)


def test_recursive_expansion_counts_against_max_files(start_fdsd, tmp_path, tree):
    root, files = tree
    d = start_fdsd("--max-files", str(len(files) + 1))
    with d.connect() as c:
        e = c.call_error(f"{IFACE}.Copy", {"copies": [
            {"src": root, "dst": str(tmp_path / "o1"), "recursive": True},
            {"src": os.path.join(root, "top.txt"), "dst": str(tmp_path / "o2"),
             "recursive": False},
            {"src": os.path.join(root, "top.txt"), "dst": str(tmp_path / "o3")}]})
        assert e["error"] == INVALID_REQUEST
        assert any("limit" in p["reason"] for p in e["parameters"]["problems"]), e
        assert not os.path.exists(str(tmp_path / "o1"))
        r = c.call(f"{IFACE}.Copy", {"copies": [
            {"src": root, "dst": str(tmp_path / "o1"), "recursive": True}]})
        assert r["summary"]["files_ok"] == len(files)


def test_validate_false_missing_source_is_per_file(client, tmp_path):
    a = write(str(tmp_path / "a"), b"a")
    pairs = [{"src": str(tmp_path / "missing"), "dst": str(tmp_path / "o0")},
             {"src": a, "dst": str(tmp_path / "o1")},
             {"src": "relative", "dst": str(tmp_path / "o2")}]
    # Paths are still checked.
    e = client.call_error(f"{IFACE}.Copy", {"copies": pairs, "options": {"validate": False}})
    assert e["error"] == INVALID_REQUEST
    assert [p["index"] for p in e["parameters"]["problems"]] == [2]
    r = client.call(f"{IFACE}.Copy", {"copies": pairs[:2], "options": {"validate": False}})
    res = r["results"]
    assert [x["ok"] for x in res] == [False, True], res
    assert res[0]["error"]["code"] == "NotFound"
    assert read(str(tmp_path / "o1")) == b"a" and not os.path.exists(str(tmp_path / "o0"))
    assert temp_files(str(tmp_path)) == []


def test_fdsctl_recursive_and_no_validate(run_fdsctl, tmp_path, tree):
    need_fdsctl()
    root, files = tree
    p = run_fdsctl("copy", "-r", os.path.relpath(root, str(tmp_path)), "out",
                   cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    for f in files:
        assert read(os.path.join(str(tmp_path), "out", f)) == read(os.path.join(root, f))
    a = write(str(tmp_path / "a"), b"a")
    data = f"{tmp_path}/missing\t{tmp_path}/n0\n{a}\t{tmp_path}/n1\n".encode()
    p = run_fdsctl("--no-validate", "copy", "--batch", "-", input=data)
    assert p.returncode == 1, p.stderr
    lines = [x for x in p.stderr.decode().splitlines() if x.startswith("fdsctl: ")]
    assert len(lines) == 1 and f"{tmp_path}/missing" in lines[0] and "NotFound" in lines[0]
    assert read(str(tmp_path / "n1")) == b"a"


@pytest.mark.parametrize("dst", ["s3://p/m/", "relative/dir", "s3:///x/", ""])
def test_recursive_with_bad_destination_is_a_problem_not_a_crash(fdsd, tmp_path, dst):
    """A recursive entry whose destination does not parse is reported like
    any bad path; the daemon goes on serving."""
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f").write_bytes(b"f")
    with fdsd.connect() as c:
        e = c.call_error(f"{IFACE}.Copy", {"copies": [{"src": str(src), "dst": dst, "recursive": True}]})
        assert e["error"] == f"{IFACE}.InvalidRequest", e
        problems = e["parameters"]["problems"]
        assert [p["path"] for p in problems] == [dst], problems
        assert c.call("org.varlink.service.GetInfo")["product"] == "fdsd"


def test_recursive_filters(client, tmp_path):
    """filters as aws s3 cp --exclude/--include: the last matching one decides,
    '*' crosses '/', and only the files left in are listed, counted and copied."""
    root = str(tmp_path / "data")
    rels = ["a.csv", "b.txt", "deep/c.csv", "deep/d.json", "tmp/e.csv", "tmp/keep.csv"]
    for r in rels:
        write(os.path.join(root, r), r.encode())
    out = str(tmp_path / "out")
    filters = [{"exclude": "*"}, {"include": "*.csv"}, {"exclude": "tmp/*"}, {"include": "tmp/keep*"}]
    reply = client.call(f"{IFACE}.Copy", {"copies": [
        {"src": root, "dst": out, "recursive": True, "filters": filters}]})
    want = ["a.csv", "deep/c.csv", "tmp/keep.csv"]
    assert reply["summary"]["files_ok"] == len(want), reply["summary"]
    assert sorted(os.path.relpath(r["dst"], out) for r in reply["results"]) == want
    copied = sorted(os.path.relpath(os.path.join(d, f), out) for d, _, fs in os.walk(out) for f in fs)
    assert copied == want
    # Malformed filters and filters on a plain copy are refused before anything moves.
    e = client.call_error(f"{IFACE}.Copy", {"copies": [
        {"src": root, "dst": str(tmp_path / "o2"), "recursive": True,
         "filters": [{"include": "*", "exclude": "x"}]}]})
    assert e["error"] == "org.varlink.service.InvalidParameter", e
    assert e["parameters"] == {"parameter": "copies[0].filters"}, e
    e = client.call_error(f"{IFACE}.Copy", {"copies": [
        {"src": os.path.join(root, "a.csv"), "dst": str(tmp_path / "o3"), "filters": [{"exclude": "*"}]}]})
    assert e["error"] == INVALID_REQUEST
    assert e["parameters"]["problems"][0]["reason"] == "filters apply to recursive copies only", e
    assert not os.path.exists(str(tmp_path / "o2")) and not os.path.exists(str(tmp_path / "o3"))


def test_fdsctl_include_exclude(run_fdsctl, tmp_path):
    need_fdsctl()
    root = str(tmp_path / "data")
    for r in ["x/1.log", "x/2.log", "x/keep.txt", "y.log"]:
        write(os.path.join(root, r), r.encode())
    p = run_fdsctl("copy", "-r", "--exclude", "*.log", "--include", "x/2.*", root, str(tmp_path / "out"))
    assert p.returncode == 0, p.stderr
    out = str(tmp_path / "out")
    copied = sorted(os.path.relpath(os.path.join(d, f), out) for d, _, fs in os.walk(out) for f in fs)
    assert copied == ["x/2.log", "x/keep.txt"]
    p = run_fdsctl("copy", "--exclude", "*", root + "/y.log", str(tmp_path / "z"))
    assert p.returncode == 2 and b"--include and --exclude go with copy --recursive" in p.stderr, p.stderr


def test_dry_run_moves_nothing(client, fdsd, tmp_path):
    """dry_run: validated and expanded as a real call, each file reported with
    its size, the summary marked, nothing written, the daemon's counters
    untouched; a problem is the same error a real call would get."""
    root = str(tmp_path / "data")
    for r, n in [("a.csv", 10), ("sub/b.csv", 2000), ("c.txt", 5)]:
        write(os.path.join(root, r), b"x" * n)
    single = write(str(tmp_path / "single"), b"y" * 7)
    out = str(tmp_path / "out")
    before = client.call(f"{IFACE}.Status", {})
    reply = client.call(f"{IFACE}.Copy", {"copies": [
        {"src": root, "dst": out, "recursive": True, "filters": [{"exclude": "*.txt"}]},
        {"src": single, "dst": str(tmp_path / "single-copy")}],
        "options": {"dry_run": True, "validate": False}})
    s = reply["summary"]
    assert (s["files_ok"], s["files_failed"], s["bytes"], s.get("dry_run")) == (3, 0, 2017, True), s
    got = sorted((os.path.relpath(r["dst"], str(tmp_path)), r["bytes"], r["ok"]) for r in reply["results"])
    assert got == [("out/a.csv", 10, True), ("out/sub/b.csv", 2000, True), ("single-copy", 7, True)]
    assert not os.path.exists(out) and not os.path.exists(str(tmp_path / "single-copy"))
    assert temp_files(str(tmp_path)) == []
    after = client.call(f"{IFACE}.Status", {})
    assert after["files_ok"] == before["files_ok"] and after["bytes"] == before["bytes"], (before, after)
    e = client.call_error(f"{IFACE}.Copy", {"copies": [
        {"src": str(tmp_path / "missing"), "dst": out}], "options": {"dry_run": True}})
    assert e["error"] == INVALID_REQUEST and e["parameters"]["problems"][0]["index"] == 0, e


def test_fdsctl_dry_run(run_fdsctl, tmp_path):
    need_fdsctl()
    src = write(str(tmp_path / "a"), b"abc")
    p = run_fdsctl("copy", "--dry-run", src, str(tmp_path / "b"))
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().splitlines() == [
        f"would copy {src} -> {tmp_path}/b (3 bytes)",
        "dry run: 1 file, 3 bytes would be copied; nothing was"]
    assert not os.path.exists(str(tmp_path / "b"))
    p = run_fdsctl("size", "--dry-run", src)
    assert p.returncode == 2 and b"--dry-run is for copy" in p.stderr, p.stderr


def test_no_clobber(client, tmp_path):
    """no_clobber: a destination that exists is left alone and reported
    skipped; the others are copied; nothing of the kept file changes."""
    a = write(str(tmp_path / "a"), b"new a")
    b = write(str(tmp_path / "b"), b"new b")
    out = tmp_path / "out"
    kept = write(str(out / "a"), b"old a, keep me")
    os.symlink("/nonexistent", str(out / "link"))
    before = os.stat(kept)
    r = client.call(f"{IFACE}.Copy", {"copies": [
        {"src": a, "dst": kept}, {"src": b, "dst": str(out / "b")}, {"src": b, "dst": str(out / "link")}],
        "options": {"no_clobber": True}})
    assert r["summary"]["files_ok"] == 3 and r["summary"]["files_skipped"] == 2, r["summary"]
    res = r["results"]
    assert [(x["ok"], x.get("skipped", False), x["bytes"]) for x in res] == [
        (True, True, 0), (True, False, 5), (True, True, 0)], res
    assert read(kept) == b"old a, keep me" and os.stat(kept).st_mtime_ns == before.st_mtime_ns
    assert read(str(out / "b")) == b"new b"
    assert os.readlink(str(out / "link")) == "/nonexistent"
    assert temp_files(str(tmp_path)) == []
    # Without it, the same copy replaces.
    r = client.call(f"{IFACE}.Copy", {"copies": [{"src": a, "dst": kept}]})
    assert "files_skipped" not in r["summary"] and read(kept) == b"new a"


def test_fdsctl_no_clobber(run_fdsctl, tmp_path):
    need_fdsctl()
    root = str(tmp_path / "data")
    for r in ["x", "y", "z"]:
        write(os.path.join(root, r), r.encode() * 3)
    out = str(tmp_path / "out")
    write(os.path.join(out, "y"), b"mine")
    p = run_fdsctl("copy", "-r", "-n", root, out)
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().startswith("3 files (1 left alone: they exist), 6 bytes"), p.stdout
    assert read(os.path.join(out, "y")) == b"mine" and read(os.path.join(out, "z")) == b"zzz"
    p = run_fdsctl("--json", "copy", "--skip-existing", os.path.join(root, "x"), os.path.join(out, "x"))
    lines = [json.loads(x) for x in p.stdout.decode().splitlines()]
    assert lines[0]["skipped"] is True and lines[-1]["summary"]["files_skipped"] == 1, lines
