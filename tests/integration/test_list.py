# SPDX-License-Identifier: MIT
"""List of local directories over the raw protocol: what is there (checked
against os.walk and os.stat), what a recursive copy would take, pages, the
limit, failures as the reply's error (another user's permissions: test_peers.py)."""

import os

import pytest

from fdstest import IFACE, make_tree, write

LIST = f"{IFACE}.List"


@pytest.fixture
def tree(tmp_path):
    """Files in nested directories, an empty directory, a symlink to a file,
    a symlink to a directory, a dangling symlink and a FIFO."""
    root = str(tmp_path / "tree")
    rels = make_tree(root, 30, per_dir=4)
    os.makedirs(os.path.join(root, "empty-dir"))
    write(os.path.join(root, "top.txt"), b"top")
    os.symlink(os.path.join(root, "top.txt"), os.path.join(root, "link-to-file"))
    os.symlink(os.path.join(root, "d000"), os.path.join(root, "link-to-dir"))
    os.symlink("/nonexistent/target", os.path.join(root, "dangling"))
    os.mkfifo(os.path.join(root, "fifo"))
    return root, sorted(rels + ["top.txt", "link-to-file"])


def paths(reply):
    assert "error" not in reply, reply
    return [e["path"] for e in reply["entries"]]


def test_list_directory_one_level(client, tree):
    root, files = tree
    r = client.call(LIST, {"path": root})
    tops = {f"{root}/{f.split('/')[0]}/" for f in files if "/" in f}
    want = sorted(tops | {f"{root}/empty-dir/", f"{root}/link-to-dir/", f"{root}/top.txt",
                          f"{root}/link-to-file"})
    assert len(tops) == 2
    assert paths(r) == want
    for e in r["entries"]:
        st = os.stat(e["path"])
        assert e["mtime"] == pytest.approx(st.st_mtime, abs=0.002), e
        if e["path"].endswith("/"):
            assert e["dir"] is True and "size" not in e, e
        else:
            assert e["size"] == st.st_size and "dir" not in e and "etag" not in e, e


def test_list_recursive_is_what_a_recursive_copy_takes(client, tmp_path, tree):
    root, files = tree
    r = client.call(LIST, {"path": root, "recursive": True})
    assert paths(r) == [f"{root}/{f}" for f in files]
    assert all(e["size"] == os.stat(e["path"]).st_size for e in r["entries"])
    out = str(tmp_path / "out")
    c = client.call(f"{IFACE}.Copy", {"copies": [{"src": root, "dst": out, "recursive": True}]})
    assert sorted(x["src"] for x in c["results"]) == paths(r)


def test_list_a_file_and_the_root(client, tree):
    root, _ = tree
    r = client.call(LIST, {"path": f"{root}/top.txt", "recursive": True})
    assert r["entries"] == [{"path": f"{root}/top.txt", "size": 3,
                             "mtime": pytest.approx(os.stat(f"{root}/top.txt").st_mtime, abs=0.002)}]
    r = client.call(LIST, {"path": "/"})
    assert f"/{os.path.relpath(root, '/').split('/')[0]}/" in paths(r)
    assert all(p.startswith("/") and not p.startswith("//") for p in paths(r))


def test_list_streams_pages_in_order(client, tmp_path):
    root = str(tmp_path / "many")
    os.makedirs(root)
    for i in range(2500):
        open(os.path.join(root, f"f{i:05d}"), "wb").close()
    replies = client.call_more(LIST, {"path": root})
    assert [len(x["parameters"]["entries"]) for x in replies] == [1000, 1000, 500, 0]
    assert all(x.get("continues") for x in replies[:-1]) and "error" not in replies[-1]["parameters"]
    got = [e["path"] for x in replies for e in x["parameters"]["entries"]]
    assert got == [os.path.join(root, f"f{i:05d}") for i in range(2500)]


def test_list_failures_are_the_reply_error(client, tree):
    root, _ = tree
    r = client.call(LIST, {"path": f"{root}/missing"})
    assert r == {"entries": [], "error": {"code": "NotFound",
                                          "message": "listing: no such file or directory"}}
    r = client.call(LIST, {"path": f"{root}/fifo"})
    assert r["error"]["code"] != "NotFound" and "not a file or directory" in r["error"]["message"], r
    r = client.call(LIST, {"path": f"{root}/top.txt/x"})
    assert r["entries"] == [] and r["error"]["code"] == "NotADirectory", r


def test_list_bad_requests(client):
    e = client.call_error(LIST, {"path": "relative/dir"})
    assert e["error"] == f"{IFACE}.InvalidRequest", e
    assert e["parameters"]["problems"] == [{"index": 0, "path": "relative/dir",
                                            "reason": "relative path (local paths must be absolute)"}]
    for params, bad in [({}, "path"), ({"path": 1}, "path"), ({"path": "/", "recursive": 1}, "recursive"),
                        ({"path": "/", "extra": 1}, "extra"), ({"path": "/", "options": {"nope": 1}},
                                                               "options.nope")]:
        e = client.call_error(LIST, params)
        assert e == {"error": "org.varlink.service.InvalidParameter", "parameters": {"parameter": bad}}, params


def test_list_limit_unless_streamed(start_fdsd, tree):
    root, files = tree
    d = start_fdsd("--max-files", "5")
    with d.connect() as c:
        r = c.call(LIST, {"path": root, "recursive": True})
        assert r["entries"] == [] and r["error"]["code"] == "TooLarge", r
        # The limit holds for a streamed local listing too: the walk is kept whole to sort it.
        replies = c.call_more(LIST, {"path": root, "recursive": True})
        assert replies[-1]["parameters"]["error"]["code"] == "TooLarge", replies
        assert len(c.call(LIST, {"path": f"{root}/d000/s00"})["entries"]) == 4


def test_client_gone_while_listing_is_held_back(fdsd, tmp_path):
    """A client that stops reading (fdsctl ls | head): replies pile up past
    the backlog, the listing waits, and the client then hangs up. The
    daemon drops the listing and serves the next caller."""
    import socket
    import time

    from fdstest import Varlink

    root = tmp_path / "wide"
    root.mkdir()
    name = "n" * 150
    for i in range(40000):
        open(os.path.join(root, f"{name}{i:05d}"), "wb").close()
    s = socket.socket(socket.AF_UNIX)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(fdsd.socket)
    s.sendall(b'{"method":"io.fds.Transfer.List","parameters":{"path":"%s"},"more":true}\0'
              % str(root).encode())
    time.sleep(1.0)  # the walk ends and the replies back up
    s.close()
    fdsd.wait_log(r"client went away; canceling batch")
    with Varlink(fdsd.socket) as c:
        r = c.call(f"{IFACE}.List", {"path": str(root / f"{name}00007")})
        assert [e["path"] for e in r["entries"]] == [str(root / f"{name}00007")]
