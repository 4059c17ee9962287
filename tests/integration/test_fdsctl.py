# SPDX-License-Identifier: MIT
"""fdsctl end to end against a real fdsd: commands, batch files, relative
paths, --json, and exit codes 0 (all ok), 1 (some failed), 2 (usage,
connection or request error)."""

import json
import os
import subprocess

import pytest

from fdstest import (FDSCTL, assert_no_sanitizer_reports, make_tree, need_fdsctl, read,
                     write)


def lines(b):
    return b.decode().splitlines()


def json_lines(b):
    return [json.loads(x) for x in lines(b)]


def failure_lines(p):
    return [x for x in lines(p.stderr) if x.startswith("fdsctl: ")]


# ---- copy ----------------------------------------------------------------

def test_copy_one(run_fdsctl, tmp_path):
    src = write(str(tmp_path / "src"), b"hello fds\n")
    os.chmod(src, 0o640)
    dst = str(tmp_path / "a" / "b" / "dst")
    p = run_fdsctl("copy", src, dst)
    assert p.returncode == 0, p.stderr
    assert read(dst) == b"hello fds\n"
    assert os.stat(dst).st_mode & 0o777 == 0o640
    assert "1 file" in p.stdout.decode() and "10 bytes" in p.stdout.decode()


def test_copy_relative_paths_from_cwd(run_fdsctl, tmp_path):
    write(str(tmp_path / "in" / "rel.txt"), b"relative")
    p = run_fdsctl("copy", "in/rel.txt", "out/copied.txt", cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert read(str(tmp_path / "out" / "copied.txt")) == b"relative"
    os.makedirs(str(tmp_path / "in" / "sub"))
    p = run_fdsctl("copy", "../rel.txt", "again.txt", cwd=str(tmp_path / "in" / "sub"))
    assert p.returncode == 0, p.stderr
    assert read(str(tmp_path / "in" / "sub" / "again.txt")) == b"relative"


def make_pairs(tmp_path, n):
    src_root = str(tmp_path / "src")
    rels = make_tree(src_root, n, per_dir=8)
    return [(os.path.join(src_root, r), str(tmp_path / "dst" / r)) for r in rels]


def check_copied(pairs):
    for s, d in pairs:
        assert read(d) == read(s), d


@pytest.mark.parametrize("fmt", ["json", "tab", "mixed"])
@pytest.mark.parametrize("where", ["file", "stdin"])
def test_copy_batch(run_fdsctl, tmp_path, fmt, where):
    pairs = make_pairs(tmp_path, 300)
    text = []
    for i, (s, d) in enumerate(pairs):
        if fmt == "json" or (fmt == "mixed" and i % 2):
            text.append(json.dumps({"src": s, "dst": d}))
        else:
            text.append(f"{s}\t{d}")
        if i % 50 == 0:
            text.append("")  # blank lines are skipped
    data = ("\n".join(text) + "\n").encode()
    if where == "file":
        batch = write(str(tmp_path / "batch.txt"), data)
        p = run_fdsctl("copy", "--batch", batch)
    else:
        p = run_fdsctl("copy", "--batch", "-", input=data)
    assert p.returncode == 0, p.stderr
    check_copied(pairs)
    assert "300 files" in p.stdout.decode()


def test_copy_batch_relative_paths(run_fdsctl, tmp_path):
    write(str(tmp_path / "a.txt"), b"A")
    write(str(tmp_path / "b.txt"), b"B")
    data = b'a.txt\tout/a.txt\n{"src": "b.txt", "dst": "out/deep/b.txt"}\n'
    p = run_fdsctl("copy", "--batch", "-", input=data, cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert read(str(tmp_path / "out" / "a.txt")) == b"A"
    assert read(str(tmp_path / "out" / "deep" / "b.txt")) == b"B"


@pytest.mark.parametrize("bad", [
    b"only-one-field\n",
    b"a\tb\tc\n",
    b'{"src": "/x"}\n',
    b'{"src": "/x", "dst": "/y", "mode": 1}\n',
    b'{"src": "/x", "dst": \n',
])
def test_copy_batch_malformed_line(run_fdsctl, tmp_path, bad):
    src = write(str(tmp_path / "ok"), b"ok")
    data = f"{src}\t{tmp_path}/out/ok\n".encode() + bad
    p = run_fdsctl("copy", "--batch", "-", input=data)
    assert p.returncode == 2
    assert any(":2:" in x for x in failure_lines(p)), p.stderr
    assert not os.path.exists(str(tmp_path / "out"))


def test_copy_json_output(run_fdsctl, tmp_path):
    pairs = make_pairs(tmp_path, 20)
    a = pairs[0][0]
    batch = [{"src": s, "dst": d} for s, d in pairs] + [{"src": a, "dst": a}]
    p = run_fdsctl("--json", "copy", "--batch", "-",
                   input="\n".join(json.dumps(x) for x in batch).encode())
    assert p.returncode == 1, p.stderr
    out = json_lines(p.stdout)
    assert len(out) == len(batch) + 1
    results, summary = out[:-1], out[-1]
    assert sorted(r["index"] for r in results) == list(range(len(batch)))
    for r in results:
        assert r["src"] == batch[r["index"]]["src"] and r["dst"] == batch[r["index"]]["dst"]
        assert r["ok"] == (r["index"] != len(batch) - 1), r
        if not r["ok"]:
            assert r["error"]["code"] and r["error"]["message"]
    assert summary["summary"]["files_ok"] == 20 and summary["summary"]["files_failed"] == 1
    check_copied(pairs)


def test_copy_some_failed_exit_1(run_fdsctl, tmp_path):
    a = write(str(tmp_path / "a"), b"a")
    b = write(str(tmp_path / "b"), b"b")
    os.link(b, str(tmp_path / "b-link"))
    good = str(tmp_path / "out" / "good")
    data = f"{a}\t{a}\n{a}\t{good}\n{b}\t{tmp_path}/b-link\n".encode()
    p = run_fdsctl("copy", "--batch", "-", input=data)
    assert p.returncode == 1, p.stderr
    assert read(good) == b"a"
    failures = failure_lines(p)
    # One line per failed file, naming it and saying why.
    assert len(failures) == 2, p.stderr
    assert f"{a} -> {a}" in failures[0] or f"{a} -> {a}" in failures[1]
    assert any(f"{tmp_path}/b-link" in x for x in failures)
    for x in failures:
        assert "same file" in x, x
    assert "3 files, 2 failed" in p.stdout.decode(), p.stdout


def test_copy_invalid_request_exit_2(run_fdsctl, tmp_path):
    a = write(str(tmp_path / "a"), b"a")
    out = str(tmp_path / "out")
    missing = [str(tmp_path / f"missing{i}") for i in range(3)]
    rows = [f"{a}\t{out}/ok"] + [f"{m}\t{out}/m{i}" for i, m in enumerate(missing)] + \
           [f"{a}\t{out}/ok", "rel-src\ts3://Bad/key"]
    p = run_fdsctl("copy", "--batch", "-", input=("\n".join(rows) + "\n").encode())
    assert p.returncode == 2
    err = p.stderr.decode()
    for m in missing:
        assert sum(m in x and "does not exist" in x for x in failure_lines(p)) == 1, err
    assert any("duplicate" in x and f"{out}/ok" in x for x in failure_lines(p)), err
    assert any("s3://Bad/key" in x for x in failure_lines(p)), err
    # The relative source was made absolute, so it is reported as missing.
    assert any(f"{tmp_path}/rel-src" in x or "rel-src" in x for x in failure_lines(p)), err
    assert not os.path.exists(out)


def test_copy_parallelism(run_fdsctl, tmp_path):
    pairs = make_pairs(tmp_path, 40)
    data = "".join(f"{s}\t{d}\n" for s, d in pairs).encode()
    p = run_fdsctl("--parallelism", "1", "copy", "--batch", "-", input=data)
    assert p.returncode == 0, p.stderr
    check_copied(pairs)
    p = run_fdsctl("--parallelism", "0", "copy", "--batch", "-", input=data)
    assert p.returncode == 2


def test_copy_priority(run_fdsctl, tmp_path):
    """--priority goes with the call (what it does to the daemon's slots is
    test_fairshare.py's); out of 1..100 it is a usage error, nothing sent."""
    pairs = make_pairs(tmp_path, 4)
    data = "".join(f"{s}\t{d}\n" for s, d in pairs).encode()
    for n in ("1", "100"):
        p = run_fdsctl("--priority", n, "copy", "--batch", "-", input=data)
        assert p.returncode == 0, p.stderr
        check_copied(pairs)
    p = run_fdsctl("--priority", "40", "size", pairs[1][0])
    assert p.returncode == 0, p.stderr
    assert lines(p.stdout) == [f"{os.path.getsize(pairs[1][0])}\t{pairs[1][0]}"]
    for bad in ("0", "101", "-5", "4x", ""):
        p = run_fdsctl("--priority", bad, "copy", "--batch", "-", input=data)
        assert p.returncode == 2, (bad, p.stderr)
        assert f"fdsctl: --priority wants 1 to 100, not '{bad}'" in p.stderr.decode(), p.stderr
        assert p.stdout == b""


# ---- size and cat --------------------------------------------------------

def test_size(run_fdsctl, tmp_path):
    write(str(tmp_path / "a"), b"12345")
    write(str(tmp_path / "empty"), b"")
    p = run_fdsctl("size", "a", str(tmp_path / "empty"), "a", cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert lines(p.stdout) == ["5\ta", f"0\t{tmp_path}/empty", "5\ta"]


def test_size_some_failed(run_fdsctl, tmp_path):
    write(str(tmp_path / "a"), b"12345")
    os.makedirs(str(tmp_path / "d"))
    p = run_fdsctl("size", "a", "missing", "d", cwd=str(tmp_path))
    assert p.returncode == 1
    assert lines(p.stdout) == ["5\ta"]
    failures = failure_lines(p)
    assert len(failures) == 2, p.stderr
    assert "missing" in failures[0] and "NotFound" in failures[0]
    assert "d" in failures[1] and "IsADirectory" in failures[1]


def test_size_json(run_fdsctl, tmp_path):
    write(str(tmp_path / "a"), b"12345")
    p = run_fdsctl("--json", "size", "a", "missing", cwd=str(tmp_path))
    assert p.returncode == 1
    out = json_lines(p.stdout)
    assert out[0] == {"path": "a", "size": 5}
    assert out[1]["path"] == "missing" and out[1]["error"]["code"] == "NotFound"


def test_cat(run_fdsctl, tmp_path):
    blob = os.urandom(100000) + b"\0\n\0"
    write(str(tmp_path / "blob"), blob)
    write(str(tmp_path / "text"), b"text\n")
    write(str(tmp_path / "empty"), b"")
    p = run_fdsctl("cat", "text", "blob", "empty", "text", cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"text\n" + blob + b"text\n"


def test_cat_some_failed(run_fdsctl, tmp_path):
    write(str(tmp_path / "text"), b"text\n")
    p = run_fdsctl("cat", "text", "missing", cwd=str(tmp_path))
    assert p.returncode == 1
    assert p.stdout == b"text\n"
    failures = failure_lines(p)
    assert len(failures) == 1 and "missing" in failures[0] and "NotFound" in failures[0]


def test_cat_over_read_limit(start_fdsd, tmp_path):
    need_fdsctl()
    d = start_fdsd("--max-read-bytes", "1K")
    big = write(str(tmp_path / "big"), b"x" * 4096)
    p = subprocess.run([FDSCTL, "--socket", d.socket, "cat", big], capture_output=True,
                       timeout=60)
    assert_no_sanitizer_reports(p.stderr)
    assert p.returncode == 2
    assert p.stdout == b""
    assert "ReadLimitExceeded" in p.stderr.decode() or "limit" in p.stderr.decode()


# ---- usage and connection errors -----------------------------------------

@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["copy"],
    ["copy", "/a"],
    ["copy", "/a", "/b", "/c"],
    ["copy", "--batch", "-", "/a", "/b"],
    ["size"],
    ["cat"],
    ["--json", "cat", "/a"],
    ["--batch", "-", "size", "/a"],
    ["--no-such-option", "size", "/a"],
    ["--parallelism", "x", "size", "/a"],
    ["--priority", "x", "size", "/a"],
    ["--priority", "0", "size", "/a"],
    ["--priority", "101", "size", "/a"],
    ["--priority"],
])
def test_usage_errors(run_fdsctl, args):
    p = run_fdsctl(*args)
    assert p.returncode == 2, (args, p.stderr)
    assert p.stderr, args
    assert p.stdout == b""


def test_batch_file_missing(run_fdsctl, tmp_path):
    p = run_fdsctl("copy", "--batch", str(tmp_path / "nope"))
    assert p.returncode == 2
    assert str(tmp_path / "nope") in p.stderr.decode()


def test_connection_error(run_fdsctl, tmp_path):
    sock = str(tmp_path / "nobody-listens.sock")
    write(str(tmp_path / "a"), b"a")
    for args in (["size", str(tmp_path / "a")], ["cat", str(tmp_path / "a")],
                 ["copy", str(tmp_path / "a"), str(tmp_path / "b")]):
        p = run_fdsctl(*args, socket=sock)
        assert p.returncode == 2, args
        assert sock in p.stderr.decode()
    assert not os.path.exists(str(tmp_path / "b"))


def test_socket_from_environment(fdsd, tmp_path):
    need_fdsctl()
    write(str(tmp_path / "a"), b"abc")
    env = dict(os.environ, FDS_SOCKET=fdsd.socket)
    p = subprocess.run([FDSCTL, "size", str(tmp_path / "a")], env=env, capture_output=True,
                       timeout=60)
    assert_no_sanitizer_reports(p.stderr)
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"3\t{tmp_path}/a\n".encode()


def test_help_and_version(run_fdsctl):
    p = run_fdsctl("--help")
    assert p.returncode == 0 and b"copy" in p.stdout
    p = run_fdsctl("--version")
    assert p.returncode == 0 and p.stdout.startswith(b"fdsctl ")


def test_problems_name_batch_lines(run_fdsctl, tmp_path):
    a = write(str(tmp_path / "a"), b"a")
    # Line 2 is blank, line 4 ends in CRLF.
    data = (f"{a}\t{tmp_path}/o1\n\n{tmp_path}/missing\t{tmp_path}/o2\n"
            f"{a}\t{tmp_path}/o3\r\n{a}\t{tmp_path}/o1\n").encode()
    batch = write(str(tmp_path / "list.tsv"), data)
    p = run_fdsctl("copy", "--batch", batch)
    assert p.returncode == 2
    f = failure_lines(p)
    assert any(f"{batch}:3:" in x and "missing" in x and "does not exist" in x for x in f), f
    assert any(f"{batch}:5:" in x and "duplicate" in x for x in f), f
    assert not os.path.exists(str(tmp_path / "o1"))


def test_copy_crlf_batch(run_fdsctl, tmp_path):
    a = write(str(tmp_path / "a"), b"a")
    data = f'{a}\t{tmp_path}/o1\r\n{{"src": "{a}", "dst": "{tmp_path}/o2"}}\r\n'.encode()
    p = run_fdsctl("copy", "--batch", "-", input=data)
    assert p.returncode == 0, p.stderr
    assert read(str(tmp_path / "o1")) == read(str(tmp_path / "o2")) == b"a"


def test_daemon_stopping_under_fdsctl(start_fdsd, tmp_path):
    """fdsd going away mid-copy is a connection error: exit 2, said once."""
    need_fdsctl()
    d = start_fdsd()
    big = str(tmp_path / "big")
    with open(big, "wb") as f:
        f.truncate(5 << 20)
    data = "".join(f"{big}\t{tmp_path}/out/{i}\n" for i in range(200)).encode()
    proc = subprocess.Popen([FDSCTL, "--socket", d.socket, "--json", "--parallelism", "2",
                             "copy", "--batch", "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdin.write(data)
    proc.stdin.close()
    first = proc.stdout.readline()
    assert json.loads(first)["ok"], first
    d.check_stopped_cleanly()
    proc.stdout.read()
    err = proc.stderr.read()
    assert_no_sanitizer_reports(err)
    assert proc.wait(60) == 2, (proc.returncode, err)
    assert b"connection" in err.lower(), err
