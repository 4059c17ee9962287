# SPDX-License-Identifier: MIT
"""A 30 s outage in the middle of a batch (issue 18, item 3: "target: 0
failed files for a 30 s all-503 or connection-refused window"), with fdsd's
default retry settings: 30 files of 64 KiB and one 20 MiB file (multipart
up, its parts one at a time as in the issue's report; ranged down), the
window opened by the 8th PUT or GET, with files in flight at parallelism 4
and most of the batch still to go. Every file must land
with the right bytes, no upload may stay open, and the batch must end soon
after the window does (bounded: 45 s)."""

import io

import boto3.s3.transfer
import pytest

from faultcase import KiB, MiB, pattern
from faultproxy import Outage

WINDOW = 30.0
BOUND = 45.0
SMALL = 30
PART = 8 * MiB

pytestmark = pytest.mark.outage


def outage_for(mode):
    if mode == "all-503":
        return Outage(WINDOW, "503", 503, "ServiceUnavailable")
    return Outage(WINDOW, "refuse")


def check_window(out, proxy, rule):
    o = rule.action
    assert rule.hits == 1, "the outage never began:\n" + proxy.log_text()
    assert o.hits >= 1, "no request met the outage:\n" + proxy.log_text()
    assert max(r.get("attempts") or 0 for r in out.results) >= 2, (
        "no file met the outage:\n" + out.describe())
    early = [q for q in proxy.seen() if q.started < o.start and q.ended is not None]
    assert len(out.results) - len(early) >= 10, "most of the batch went before the window"
    assert out.seconds < BOUND, (
        f"the batch took {out.seconds:.1f} s for a {WINDOW:.0f} s outage\n" + out.describe())
    after = proxy.seen(lambda q: q.started >= o.end and q.status is not None and q.status < 300)
    assert after, "nothing went through after the window:\n" + proxy.log_text()


@pytest.mark.parametrize("mode", ["all-503", "refused"])
def test_outage_mid_upload_batch(case, proxy, mode):
    files = {"big": pattern(20 * MiB, 31)}
    files.update({f"s{i:03d}": pattern(64 * KiB, 300 + i) for i in range(SMALL)})
    rule = proxy.add_rule(outage_for(mode), method="PUT", nth=8)
    out = case.upload(files, fault=f"upload batch: {WINDOW:.0f} s {mode}",
                      parallelism=4, transfer={"max_concurrency": 1})
    case.assert_all_ok(out)
    check_window(out, proxy, rule)


@pytest.mark.parametrize("mode", ["all-503", "refused"])
def test_outage_mid_download_batch(case, proxy, s3, bucket, mode):
    cfg = boto3.s3.transfer.TransferConfig(multipart_threshold=PART, multipart_chunksize=PART)
    s3.upload_fileobj(io.BytesIO(pattern(20 * MiB, 32)), bucket, "big", Config=cfg)
    keys = ["big"]
    for i in range(SMALL):
        s3.put_object(Bucket=bucket, Key=f"s{i:03d}", Body=pattern(64 * KiB, 400 + i))
        keys.append(f"s{i:03d}")
    rule = proxy.add_rule(outage_for(mode), method="GET", nth=8)
    out = case.download(keys, fault=f"download batch: {WINDOW:.0f} s {mode}",
                        parallelism=4, transfer={"max_concurrency": 1})
    case.assert_all_ok(out, verified=True)
    check_window(out, proxy, rule)
