# SPDX-License-Identifier: MIT
"""The bash completion of fdsctl (contrib/bash-completion/fdsctl), run in a
real bash, against what fdsctl --help says and what the varlink interface
accepts, so neither can drift from it."""

import os
import re
import subprocess

from fdstest import FDSCTL, need_fdsctl

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "contrib", "bash-completion", "fdsctl")
INTERFACE = os.environ.get("FDS_INTERFACE_FILE") or os.path.join(
    os.path.dirname(SCRIPT), "..", "..", "proto", "io.fds.Transfer.varlink")


def complete(*words, cwd=None):
    """COMPREPLY for the command line `words` (the last is the word being
    completed), as bash would ask for it after a Tab."""
    prog = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); '
            'COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; _fdsctl; printf "%s\\n" "${COMPREPLY[@]}"')
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog, "bash", SCRIPT, *words],
                       capture_output=True, check=True, cwd=cwd)
    return sorted(x for x in p.stdout.decode().split("\n") if x)


def test_script_is_valid_bash_and_registers_fdsctl():
    p = subprocess.run(["bash", "--norc", "-c", 'source "$1" && complete -p fdsctl', "bash", SCRIPT],
                       capture_output=True, check=True)
    assert p.stdout.decode().strip() == "complete -F _fdsctl fdsctl"


def test_commands():
    assert complete("fdsctl", "") == ["bwlimit", "calls", "cancel", "cat", "copy", "ls", "size", "status"]
    assert complete("fdsctl", "co") == ["copy"]
    assert complete("fdsctl", "ca") == ["calls", "cancel", "cat"]
    # A call ID or a rate is no file name.
    assert complete("fdsctl", "cancel", "") == []
    assert complete("fdsctl", "bwlimit", "") == []
    # Options before the command are skipped, with their values.
    assert complete("fdsctl", "--socket", "/run/x.sock", "-q", "s") == ["size", "status"]


def test_long_options_are_those_of_fdsctl_help():
    need_fdsctl()
    out = subprocess.run([FDSCTL, "--help"], capture_output=True, check=True).stdout.decode()
    documented = sorted(set(re.findall(r"^\s+(?:-\w, )?(--[a-z][a-z-]*)", out, re.M)))
    assert len(documented) > 10, out
    assert complete("fdsctl", "--") == documented


def test_paths_complete_to_files(tmp_path):
    (tmp_path / "data.bin").write_bytes(b"x")
    (tmp_path / "dir").mkdir()
    assert complete("fdsctl", "copy", "da", cwd=tmp_path) == ["data.bin"]
    assert complete("fdsctl", "size", "data.bin", "d", cwd=tmp_path) == ["data.bin", "dir"]
    assert complete("fdsctl", "ls", "-l", "di", cwd=tmp_path) == ["dir"]
    assert complete("fdsctl", "--batch", "da", cwd=tmp_path) == ["data.bin"]
    # An S3 URL is left alone: listing a bucket needs the daemon.
    assert complete("fdsctl", "copy", "s3://bucket/da", cwd=tmp_path) == []
    # A value that is no path gets no file names.
    assert complete("fdsctl", "--region", "", cwd=tmp_path) == []


def fields(type_name):
    text = open(INTERFACE).read()
    body = re.search(r"^type %s \((.*?)^\)" % type_name, text, re.S | re.M).group(1)
    return [m.group(1) for m in re.finditer(r"^\s+(\w+):", body, re.M)]


def test_option_keys_are_the_interfaces_fields():
    secrets = {"access_key_id", "secret_access_key", "session_token"}
    want = {f for f in fields("Options") if f not in ("s3", "transfer")}
    want |= {"s3." + f for f in fields("S3Options") if f not in secrets}
    want |= {"transfer." + f for f in fields("TransferOptions")}
    got = complete("fdsctl", "-o", "")
    assert all(k.endswith("=") for k in got), got
    assert {k[:-1] for k in got} == want
    assert complete("fdsctl", "--option", "transfer.multipart_c") == ["transfer.multipart_chunksize="]
