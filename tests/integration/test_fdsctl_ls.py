# SPDX-License-Identifier: MIT
"""fdsctl ls on local directories: names below what was listed (as ls
shows them), -l, -r, --summarize, --json, and the exit status."""

import json
import os
import re
import time

from fdstest import write


def tree(root):
    write(os.path.join(root, "a.csv"), b"aaa")
    write(os.path.join(root, "sub", "b.txt"), b"bb")
    write(os.path.join(root, "sub", "deep", "c"), b"c" * 1000)
    os.makedirs(os.path.join(root, "empty"))
    return root


def lines(p):
    assert p.returncode == 0, p.stderr
    return p.stdout.decode().splitlines()


def test_ls_names_one_level_and_recursive(run_fdsctl, tmp_path):
    root = tree(str(tmp_path / "data"))
    assert lines(run_fdsctl("ls", root)) == ["a.csv", "empty/", "sub/"]
    # Relative, with a trailing slash or a "." it is the same directory.
    for arg in ("data", "data/", "./data/.", "data//"):
        assert lines(run_fdsctl("ls", arg, cwd=str(tmp_path))) == ["a.csv", "empty/", "sub/"], arg
    assert lines(run_fdsctl("ls", "-r", root)) == ["a.csv", "sub/b.txt", "sub/deep/c"]
    # A file lists itself, under the name it was given.
    assert lines(run_fdsctl("ls", "data/a.csv", cwd=str(tmp_path))) == ["data/a.csv"]


def test_ls_long_and_summarize(run_fdsctl, tmp_path):
    root = tree(str(tmp_path / "data"))
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.stat(os.path.join(root, "a.csv")).st_mtime))
    out = lines(run_fdsctl("ls", "-l", "-r", "--summarize", root))
    assert out[0] == f"{when}          3 a.csv"
    assert [re.split(r"\s+", x.strip(), 3)[2:] for x in out[:3]] == [["3", "a.csv"], ["2", "sub/b.txt"],
                                                                     ["1000", "sub/deep/c"]]
    assert out[3:] == ["", "Total Objects: 3", "   Total Size: 1005"]
    out = lines(run_fdsctl("ls", "--long", root))
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +DIR sub/", out[2]), out


def test_ls_json(run_fdsctl, tmp_path):
    root = tree(str(tmp_path / "data"))
    out = [json.loads(x) for x in lines(run_fdsctl("--json", "ls", root))]
    assert [x["path"] for x in out] == [f"{root}/a.csv", f"{root}/empty/", f"{root}/sub/"]
    assert out[0]["size"] == 3 and out[1]["dir"] is True and "size" not in out[1]
    assert abs(out[0]["mtime"] - os.stat(f"{root}/a.csv").st_mtime) < 0.002


def test_ls_empty_directory_is_no_failure(run_fdsctl, tmp_path):
    os.makedirs(str(tmp_path / "e"))
    p = run_fdsctl("ls", str(tmp_path / "e"))
    assert p.returncode == 0 and p.stdout == b"" and p.stderr == b""


def test_ls_failures(run_fdsctl, tmp_path):
    p = run_fdsctl("ls", str(tmp_path / "missing"))
    assert p.returncode == 1 and p.stdout == b""
    assert p.stderr.decode() == f"fdsctl: {tmp_path}/missing: NotFound: listing: no such file or directory\n"
    for args, why in [(["ls"], "ls wants one PATH"), (["ls", "/a", "/b"], "ls wants one PATH"),
                      (["ls", "-n", "/"], "ls takes no"), (["size", "-l", "/"], "--long and --summarize"),
                      (["cat", "-r", "/"], "--recursive is for copy and ls")]:
        p = run_fdsctl(*args)
        assert p.returncode == 2 and why in p.stderr.decode(), (args, p.stderr)
