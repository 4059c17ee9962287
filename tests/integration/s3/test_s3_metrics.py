# SPDX-License-Identifier: MIT
"""fds_s3_requests_total against a real RGW: each request fdsd sends is
counted once under its S3 operation and the HTTP status it got."""

import socket
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from s3fds import write


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def s3_requests(port):
    """{(operation, status): count} of one scrape."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        text = r.read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        if fam.name == "fds_s3_requests":
            for s in fam.samples:
                out[(s.labels["operation"], s.labels["status"])] = s.value
    return out


def delta(before, after):
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def test_requests_by_operation_and_status(start_fds, s3, bucket, tmp_path):
    port = free_port()
    fds = start_fds("env", args=("--metrics-listen", f"127.0.0.1:{port}"))
    fds.daemon.wait_log("serving metrics")
    s3.put_object(Bucket=bucket, Key="there", Body=b"x" * 1000)
    local = write(str(tmp_path / "up"), b"y" * 100)

    before = s3_requests(port)
    r = fds.size({"m": f"s3://{bucket}/missing"})
    assert r["errors"]["m"]["code"] == "NotFound", r
    after_size = s3_requests(port)
    assert delta(before, after_size) == {("HeadObject", "404"): 1}

    r = fds.copy([(local, f"s3://{bucket}/up")])
    assert r["summary"]["files_ok"] == 1, r
    after_put = s3_requests(port)
    d = delta(after_size, after_put)
    assert d.get(("PutObject", "200")) == 1, d
    assert all(status in ("200", "404") for _, status in d), d

    r = fds.copy([(f"s3://{bucket}/there", str(tmp_path / "down"))])
    assert r["summary"]["files_ok"] == 1, r
    d = delta(after_put, s3_requests(port))
    assert d.get(("GetObject", "200")) == 1, d
    assert not [k for k in d if k[1] == "error"], d
