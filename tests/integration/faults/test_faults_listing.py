# SPDX-License-Identifier: MIT
"""Listings cut off mid-body: a ListObjectsV2 answer that ends half-way is
parsed as it arrives, so the entries of the cut attempt must not come again
with the retry (List, and the expansion of a recursive Copy)."""

import os

from fdstest import IFACE
from faultproxy import CutResponseAfter

KEYS = [f"cut/{i:03d}.bin" for i in range(60)]


def fill(s3, bucket):
    for k in KEYS:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())


def list_rule(proxy, bucket):
    # Each <Contents> is some 300 bytes: half of the 60 are read before the cut.
    return proxy.add_rule(CutResponseAfter(9000), method="GET", path=rf"^/{bucket}/?$",
                          query={"list-type": "2"})


def test_list_cut_off_and_retried_has_no_duplicates(fds, proxy, s3, bucket):
    fill(s3, bucket)
    rule = list_rule(proxy, bucket)
    for more in (False, True):
        rule.times, rule.hits = 1, 0
        with fds.daemon.connect() as c:
            params = {"path": f"s3://{bucket}/cut/", "recursive": True}
            if more:
                replies = c.call_more(f"{IFACE}.List", params)
                entries = [e for r in replies for e in r["parameters"]["entries"]]
                last = replies[-1]["parameters"]
            else:
                last = c.call(f"{IFACE}.List", params)
                entries = last["entries"]
        assert rule.hits == 1, proxy.log_text()
        assert "error" not in last, last
        assert [e["path"] for e in entries] == [f"s3://{bucket}/{k}" for k in KEYS], (more, len(entries))


def test_recursive_copy_listing_cut_off(fds, proxy, s3, bucket, tmp_path):
    fill(s3, bucket)
    rule = list_rule(proxy, bucket)
    out = str(tmp_path / "out")
    with fds.daemon.connect() as c:
        r = c.call(f"{IFACE}.Copy", {"copies": [{"src": f"s3://{bucket}/cut/", "dst": out,
                                                 "recursive": True}]})
    assert rule.hits == 1, proxy.log_text()
    assert r["summary"]["files_ok"] == len(KEYS) and r["summary"]["files_failed"] == 0, r
    assert sorted(os.listdir(out)) == [k.split("/")[1] for k in KEYS]
