# SPDX-License-Identifier: MIT
"""AbortMultipartUpload failing (issue 18, item 4: "no upload left
behind"). A 20 MiB upload whose part 2 is refused for good (500, 2
attempts) fails, and fdsd aborts its multipart upload: an abort failing a
few times is retried until it goes; one failing for good is logged at
warning level with bucket, key and upload id, kept, and done at the next
start of an fdsd with the same state directory."""

import re
import time

from faultcase import MiB, ROWS, pattern
from fdstest import uploads_in_progress
from faultproxy import Reply, is_abort, is_part_put

SIZE = 20 * MiB


def assert_part2_failure(out):
    [r] = out.results
    assert not r["ok"], "part 2 fails on every try, yet the file is ok:\n" + out.describe()
    assert r["error"]["code"] == "S3Error" and r["error"].get("http_status") == 500, r


def test_abort_failing_three_times_is_retried(case, proxy):
    """With the default 5 attempts, an abort answered 503 three times goes
    on the fourth."""
    proxy.add_rule(Reply(500, "InternalError"), match=is_part_put(2), times=None)
    abort = proxy.add_rule(Reply(503, "ServiceUnavailable"), match=is_abort(), times=3)
    out = case.upload({"f.bin": pattern(SIZE, 41)}, fault="upload: part 2 fails; abort 503 x3")
    assert_part2_failure(out)
    assert abort.hits == 3, proxy.log_text()
    aborts = proxy.seen(is_abort())
    assert [q.status for q in aborts][-1] == 204, proxy.log_text()
    case.assert_clean(out)


def test_abort_failing_for_good_is_logged_kept_and_done_at_next_start(
        case, proxy, start_fds, s3, bucket):
    proxy.add_rule(Reply(500, "InternalError"), match=is_part_put(2), times=None)
    abort = proxy.add_rule(Reply(500, "InternalError"), match=is_abort(), times=None)
    out = case.upload({"f.bin": pattern(SIZE, 42)},
                      fault="upload: part 2 fails; abort fails for good (kept, next start)",
                      transfer={"max_attempts": 2, "retry_time_budget": 3})
    assert_part2_failure(out)
    assert abort.hits >= 1, proxy.log_text()
    open_now = uploads_in_progress(s3, bucket)
    assert [k for k, _ in open_now] == ["up/f.bin"], (
        f"the upload the abort failed for should be kept open, once: {open_now}")
    upload_id = open_now[0][1]
    log = case.fds.daemon.log()
    warned = [line for line in log.splitlines()
              if "warning" in line and upload_id in line and bucket in line and "up/f.bin" in line]
    assert warned, f"no warning naming bucket, key and upload id {upload_id}:\n{log}"
    case.assert_clean(out, kept=open_now)

    # The server lets aborts through again; the next start does the abort.
    abort.times = abort.hits
    case.fds.daemon.check_stopped_cleanly()
    again = start_fds()  # the same state directory
    deadline = time.monotonic() + 30
    while uploads_in_progress(s3, bucket) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = uploads_in_progress(s3, bucket)
    ROWS[-1]["open_mpus"] = len(left)
    ROWS[-1]["fault"] += f" -> {len(left)} open after restart"
    assert left == [], (f"the next start did not abort the kept upload:\n{again.daemon.log()}\n"
                        + proxy.log_text())
    # The server forgets the upload before fdsd has read its answer: wait
    # for the line rather than expect it already written.
    again.daemon.wait_log(re.escape(upload_id) + "|aborted", timeout=30)
