# SPDX-License-Identifier: MIT
"""fdsd --metrics-listen: GET /metrics in Prometheus' text format 0.0.4,
counters that move by exactly what the calls did, a histogram that holds
together, and an HTTP listener that answers nothing else, drops clients
that say nothing and keeps the number of scrapers bounded."""

import os
import socket
import subprocess
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from fdstest import FDSD, IFACE, assert_no_sanitizer_reports, write

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# metrics_http.h: METRICS_HTTP_TIMEOUT_MS, METRICS_HTTP_MAX_CONNS
SILENT_TIMEOUT = 5.0
MAX_CONNS = 16

FAMILIES = {
    "fds_files": "counter", "fds_bytes": "counter", "fds_calls": "counter",
    "fds_call_duration_seconds": "histogram", "fds_s3_requests": "counter",
    "fds_s3_retries": "counter", "fds_s3_redirects": "counter", "fds_s3_coalesced": "counter",
    "fds_connections": "counter",
    "fds_connections_open": "gauge", "fds_calls_running": "gauge", "fds_files_in_flight": "gauge",
    "fds_files_queued": "gauge", "fds_buffer_memory_used_bytes": "gauge",
    "fds_buffer_memory_limit_bytes": "gauge", "fds_resident_memory_bytes": "gauge",
    "fds_start_time_seconds": "gauge", "fds_uptime_seconds": "gauge", "fds_build_info": "gauge",
}


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def http(port, data, host="127.0.0.1", family=socket.AF_INET, timeout=20):
    """Send data, read until fdsd closes: (status, headers, body)."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect((host, port))
        s.sendall(data)
        raw = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    version, status, _ = lines[0].split(" ", 2)
    assert version == "HTTP/1.1", lines[0]
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    assert headers["connection"] == "close"
    assert int(headers["content-length"]) == len(body) or data.startswith(b"HEAD"), headers
    return int(status), headers, body


def scrape(port, **kw):
    status, headers, body = http(port, b"GET /metrics HTTP/1.1\r\nHost: fds\r\n\r\n", **kw)
    assert status == 200, body
    assert headers["content-type"] == CONTENT_TYPE
    return body.decode()


def parse(text):
    """{(sample name, frozenset of labels): value}, and the families' types."""
    samples, types = {}, {}
    for fam in text_string_to_metric_families(text):
        types[fam.name] = fam.type
        for s in fam.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in samples, f"{key} twice"
            samples[key] = s.value
    return samples, types


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0)


def delta(before, after, name, **labels):
    return value(after, name, **labels) - value(before, name, **labels)


def buckets(samples, method):
    """[(le, cumulative count)] of fds_call_duration_seconds for method, by le."""
    out = [(float(dict(k[1])["le"]), v) for k, v in samples.items()
           if k[0] == "fds_call_duration_seconds_bucket" and dict(k[1])["method"] == method]
    return sorted(out)


@pytest.fixture
def metrics_fdsd(start_fdsd):
    port = free_port()
    d = start_fdsd("--metrics-listen", f"127.0.0.1:{port}")
    d.port = port
    d.wait_log(r"serving metrics on http://127\.0\.0\.1:%d/metrics" % port)
    return d


def copy_call(conn, pairs):
    return conn.call(f"{IFACE}.Copy", {"copies": [{"src": s, "dst": d} for s, d in pairs]})


def test_every_family_with_help_and_type(metrics_fdsd):
    text = scrape(metrics_fdsd.port)
    samples, types = parse(text)
    for name, type_ in FAMILIES.items():
        assert types.get(name) == type_, (name, types.get(name))
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name = line.split()[2]
            assert f"# HELP {name} " in text, name
    assert value(samples, "fds_buffer_memory_limit_bytes") == 64 << 20
    assert value(samples, "fds_buffer_memory_used_bytes") == 0
    rss = value(samples, "fds_resident_memory_bytes")
    assert 1 << 20 < rss < 4 << 30, rss
    assert abs(value(samples, "fds_start_time_seconds") - time.time()) < 120
    assert 0 < value(samples, "fds_uptime_seconds") < 120
    assert [k for k in samples if k[0] == "fds_build_info"], samples
    for method in ("copy", "size", "read", "list"):
        for result in ("ok", "NotFound", "SameFile", "InternalError"):
            assert ("fds_files_total", frozenset({"method": method, "result": result}.items())) in samples


def test_counters_follow_the_calls(metrics_fdsd, tmp_path):
    d = metrics_fdsd
    sizes = [10, 2000, 0]
    srcs = [write(str(tmp_path / f"s{i}"), os.urandom(n)) for i, n in enumerate(sizes)]
    before, _ = parse(scrape(d.port))
    with d.connect() as c:
        # Three files ok in one call.
        r = copy_call(c, [(s, str(tmp_path / "out" / f"d{i}")) for i, s in enumerate(srcs)])
        assert r["summary"]["files_ok"] == 3
        # One ok, one failing at run time (source and destination the same file).
        r = copy_call(c, [(srcs[1], str(tmp_path / "out" / "again")), (srcs[0], srcs[0])])
        assert r["summary"]["files_ok"] == 1 and r["summary"]["files_failed"] == 1
        assert r["results"][1]["error"]["code"] == "SameFile"
        # A missing source: the whole call is refused before anything moves.
        e = c.call_error(f"{IFACE}.Copy", {"copies": [{"src": str(tmp_path / "nope"),
                                                         "dst": str(tmp_path / "out" / "x")}]})
        assert e["error"] == f"{IFACE}.InvalidRequest"
        # Size: one found, one missing (an error per key, not per call).
        r = c.call(f"{IFACE}.Size", {"files": {"a": srcs[1], "m": str(tmp_path / "missing")}})
        assert r["sizes"] == {"a": 2000} and set(r["errors"]) == {"m"}
        # Read over its own limit.
        e = c.call_error(f"{IFACE}.Read", {"files": {"b": srcs[1]}, "options": {"max_bytes": 100}})
        assert e["error"] == f"{IFACE}.ReadLimitExceeded"
        during, _ = parse(scrape(d.port))
    after, _ = parse(scrape(d.port))

    assert delta(before, after, "fds_files_total", method="copy", result="ok") == 4
    assert delta(before, after, "fds_files_total", method="copy", result="SameFile") == 1
    assert delta(before, after, "fds_bytes_total", method="copy") == sum(sizes) + 2000
    assert delta(before, after, "fds_files_total", method="size", result="ok") == 1
    assert delta(before, after, "fds_files_total", method="size", result="NotFound") == 1
    assert delta(before, after, "fds_bytes_total", method="size") == 0
    assert delta(before, after, "fds_calls_total", method="copy", outcome="ok") == 2
    assert delta(before, after, "fds_calls_total", method="copy", outcome="invalid_request") == 1
    assert delta(before, after, "fds_calls_total", method="size", outcome="ok") == 1
    assert delta(before, after, "fds_calls_total", method="read", outcome="read_limit") == 1
    assert delta(before, after, "fds_calls_total", method="read", outcome="ok") == 0
    # Every other counter of files stayed where it was.
    for (name, labels), v in after.items():
        lab = dict(labels)
        if name == "fds_files_total" and (lab["method"], lab["result"]) not in {
                ("copy", "ok"), ("copy", "SameFile"), ("size", "ok"), ("size", "NotFound")}:
            assert v == value(before, name, **lab), (name, lab)

    assert delta(before, after, "fds_call_duration_seconds_count", method="copy") == 3
    assert delta(before, after, "fds_call_duration_seconds_count", method="size") == 1
    assert delta(before, after, "fds_call_duration_seconds_count", method="read") == 1
    assert delta(before, after, "fds_call_duration_seconds_count", method="list") == 0
    assert delta(before, after, "fds_call_duration_seconds_sum", method="copy") > 0
    for method in ("copy", "size", "read", "list"):
        b = buckets(after, method)
        assert len(b) == 14 and b[-1][0] == float("inf")
        counts = [v for _, v in b]
        assert counts == sorted(counts), (method, b)
        assert b[-1][1] == value(after, "fds_call_duration_seconds_count", method=method)

    # One varlink connection, open during the scrape in between; the
    # start-up probe of the test harness came before "before".
    assert delta(before, after, "fds_connections_total") == 1
    assert value(during, "fds_connections_open") == 1
    assert value(after, "fds_connections_open") == 0
    assert value(after, "fds_calls_running") == 0
    assert value(after, "fds_files_in_flight") == 0
    assert value(after, "fds_files_queued") == 0
    assert value(after, "fds_buffer_memory_used_bytes") == 0


def test_list_counts_one_result_per_call(metrics_fdsd, tmp_path):
    d = metrics_fdsd
    write(str(tmp_path / "dir" / "a"), b"a")
    before, _ = parse(scrape(d.port))
    with d.connect() as c:
        c.call(f"{IFACE}.List", {"path": str(tmp_path / "dir")})
    after, _ = parse(scrape(d.port))
    assert delta(before, after, "fds_calls_total", method="list", outcome="ok") == 1
    assert delta(before, after, "fds_files_total", method="list", result="ok") == 1
    assert delta(before, after, "fds_call_duration_seconds_count", method="list") == 1


@pytest.mark.parametrize("request_, status", [
    (b"GET /other HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    (b"GET / HTTP/1.1\r\n\r\n", 404),
    (b"GET /metricsx HTTP/1.1\r\n\r\n", 404),
    (b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405),
    (b"DELETE /other HTTP/1.1\r\n\r\n", 405),
    (b"garbage\r\n\r\n", 400),
    (b"GET /metrics\r\n\r\n", 400),
    (b"GET /metrics HTTP/2.0\r\n\r\n", 400),
    (b"GET metrics HTTP/1.1\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.1\r\nX: a\0b\r\n\r\n", 400),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    (b"GET /metrics?name=x HTTP/1.1\r\n\r\n", 200),
    (b"GET /metrics HTTP/1.0\n\n", 200),
])
def test_answers(metrics_fdsd, request_, status):
    got, headers, body = http(metrics_fdsd.port, request_)
    assert got == status, body
    if status == 405:
        assert headers["allow"] == "GET, HEAD"
    if status == 200:
        assert headers["content-type"] == CONTENT_TYPE
        parse(body.decode())
    else:
        assert body.decode().startswith(str(status))
    assert metrics_fdsd.running()


def test_head_has_no_body(metrics_fdsd):
    status, headers, body = http(metrics_fdsd.port, b"HEAD /metrics HTTP/1.1\r\n\r\n")
    assert status == 200 and body == b""
    assert int(headers["content-length"]) > 1000


def test_oversized_head(metrics_fdsd):
    big = b"GET /metrics HTTP/1.1\r\nX-Pad: " + b"a" * 20000 + b"\r\n\r\n"
    status, _, body = http(metrics_fdsd.port, big)
    assert status == 431, body
    # Just under the cap is fine.
    ok = b"GET /metrics HTTP/1.1\r\nX-Pad: " + b"a" * 8000 + b"\r\n\r\n"
    assert len(ok) < 8192
    assert http(metrics_fdsd.port, ok)[0] == 200


def test_request_in_pieces(metrics_fdsd):
    with socket.create_connection(("127.0.0.1", metrics_fdsd.port), timeout=20) as s:
        for piece in (b"GE", b"T /met", b"rics HTTP/1.1\r\nHo", b"st: x\r\n", b"\r\n"):
            s.sendall(piece)
            time.sleep(0.05)
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n"), raw[:100]


def test_silent_client_dropped(metrics_fdsd):
    d = metrics_fdsd
    silent = socket.create_connection(("127.0.0.1", d.port), timeout=30)
    half = socket.create_connection(("127.0.0.1", d.port), timeout=30)
    half.sendall(b"GET /metrics HTTP/1.1\r\n")
    t0 = time.monotonic()
    # The daemon serves others meanwhile.
    scrape(d.port)
    with d.connect() as c:
        c.call(f"{IFACE}.Status")
    for s in (silent, half):
        try:
            assert s.recv(100) == b""
        except ConnectionResetError:
            pass
        s.close()
    waited = time.monotonic() - t0
    assert SILENT_TIMEOUT - 1 < waited < SILENT_TIMEOUT + 10, waited
    scrape(d.port)


def test_connections_bounded(metrics_fdsd):
    d = metrics_fdsd
    held = [socket.create_connection(("127.0.0.1", d.port), timeout=10) for _ in range(MAX_CONNS)]
    try:
        time.sleep(0.3)  # all accepted
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", d.port), timeout=10) as extra:
                extra.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
                try:
                    assert extra.recv(100) == b""  # closed, no answer
                except ConnectionResetError:
                    pass
    finally:
        for s in held:
            s.close()
    # Their closes reach fdsd; then there is room again.
    deadline = time.monotonic() + 5
    while True:
        try:
            scrape(d.port)
            break
        except (AssertionError, ValueError, ConnectionError):
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_stop_with_clients_open(start_fdsd):
    port = free_port()
    d = start_fdsd("--metrics-listen", f"127.0.0.1:{port}")
    d.wait_log("serving metrics")
    held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(3)]
    held[1].sendall(b"GET /metr")
    time.sleep(0.2)
    d.check_stopped_cleanly()  # exit 0: every handle closed, uv_loop_close() == 0
    for s in held:
        s.close()


def test_ipv6(start_fdsd):
    try:
        port = free_port(socket.AF_INET6, "::1")
    except OSError:
        pytest.skip("no IPv6 loopback")
    d = start_fdsd("--metrics-listen", f"[::1]:{port}")
    d.wait_log("serving metrics")
    parse(scrape(port, host="::1", family=socket.AF_INET6))


def test_config_file_key(start_fdsd, tmp_path):
    port = free_port()
    conf = write(str(tmp_path / "fdsd.conf"), b"[metrics]\nlisten = 127.0.0.1:%d\n" % port)
    d = start_fdsd("--config", conf)
    d.wait_log("serving metrics")
    parse(scrape(port))
    p = subprocess.run([FDSD, "--config", conf, "--check-config"], capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert_no_sanitizer_reports(p.stderr, "fdsd")
    assert b"[metrics]\nlisten = 127.0.0.1:%d\n" % port in p.stdout


def test_off_by_default(tmp_path):
    p = subprocess.run([FDSD, "--config", "/dev/null", "--check-config"], capture_output=True, timeout=30)
    assert p.returncode == 0 and b"[metrics]" not in p.stdout, p.stdout


@pytest.mark.parametrize("bad", [
    "", "127.0.0.1", "9464", ":9464", "localhost:9464", "127.0.0.1:0", "127.0.0.1:65536",
    "127.0.0.1:-1", "127.0.0.1:+80", "127.0.0.1:80x", "127.0.0.1:", "1.2.3:9464",
    "::1:9464", "[::1]9464", "[::1]:", "[]:9464", "[127.0.0.1]:9464", "http://127.0.0.1:9464",
    "127.0.0.1:9464/metrics", "[fe80::1%lo]:9464",
])
def test_bad_address_refused(tmp_path, bad):
    p = subprocess.run([FDSD, "--config", "/dev/null", "--socket", str(tmp_path / "s.sock"),
                        "--metrics-listen", bad], capture_output=True, timeout=30)
    assert p.returncode == 2, (bad, p.returncode, p.stderr)
    assert_no_sanitizer_reports(p.stderr, "fdsd")
    err = p.stderr.decode()
    assert f"invalid value for --metrics-listen: '{bad}'" in err, err
    assert "127.0.0.1:9464" in err, err  # says what would do
    assert not os.path.exists(tmp_path / "s.sock")


def test_bad_address_in_file_refused(tmp_path):
    conf = write(str(tmp_path / "fdsd.conf"), b"[metrics]\nlisten = 127.0.0.1\n")
    p = subprocess.run([FDSD, "--config", conf, "--socket", str(tmp_path / "s.sock")],
                       capture_output=True, timeout=30)
    assert p.returncode == 2, p.stderr
    assert_no_sanitizer_reports(p.stderr, "fdsd")
    assert f"{conf}:2: invalid value for 'listen' in [metrics]: '127.0.0.1'" in p.stderr.decode()


def test_port_in_use(start_fdsd, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        d = start_fdsd("--metrics-listen", f"127.0.0.1:{port}", wait=False)
        assert d.proc.wait(30) == 1
    assert f"cannot serve metrics on 127.0.0.1:{port}: address already in use" in d.log(), d.log()


def test_canceled_call_and_gauges_while_running(metrics_fdsd, tmp_path):
    """A call canceled by request (the Cancel method) counts as canceled;
    while it runs the gauges show it."""
    d = metrics_fdsd
    srcs = [write(str(tmp_path / "src" / f"f{i}"), os.urandom(256 << 10)) for i in range(12)]
    params = {"copies": [{"src": s, "dst": str(tmp_path / "out" / f"f{i}")} for i, s in enumerate(srcs)],
              "options": {"parallelism": 2, "transfer": {"max_bandwidth": 1 << 20}}}
    before, _ = parse(scrape(d.port))
    with d.connect() as c, d.connect() as k:
        c.send(f"{IFACE}.Copy", params)
        deadline = time.monotonic() + 20
        while not (running := k.call(f"{IFACE}.Calls")["calls"]):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.3)
        during, _ = parse(scrape(d.port))
        assert k.call(f"{IFACE}.Cancel", {"id": running[0]["id"]}) == {"canceled": True}
        reply = c.recv()
    assert "error" not in reply, reply
    results = reply["parameters"]["results"]
    ok = sum(r["ok"] for r in results)
    canceled = sum(not r["ok"] and r["error"]["code"] == "Canceled" for r in results)
    assert ok + canceled == 12 and canceled >= 1, results
    after, _ = parse(scrape(d.port))

    assert value(during, "fds_calls_running") == 1
    assert 1 <= value(during, "fds_files_in_flight") <= 2
    assert value(during, "fds_files_queued") >= 1
    assert value(during, "fds_connections_open") == 2
    assert delta(before, after, "fds_calls_total", method="copy", outcome="canceled") == 1
    assert delta(before, after, "fds_calls_total", method="copy", outcome="ok") == 0
    assert delta(before, after, "fds_files_total", method="copy", result="ok") == ok
    assert delta(before, after, "fds_files_total", method="copy", result="Canceled") == canceled
    assert delta(before, after, "fds_bytes_total", method="copy") == ok * (256 << 10)
    assert delta(before, after, "fds_call_duration_seconds_count", method="copy") == 1
    assert value(after, "fds_calls_running") == 0 and value(after, "fds_files_in_flight") == 0


def test_disconnected_and_refused_calls_are_counted(metrics_fdsd, tmp_path):
    """A call whose client leaves mid-way ends as disconnected, with its
    files that still ended; one refused before it starts (InvalidParameter)
    is counted but not timed. Calls and Status agree on what is queued."""
    d = metrics_fdsd
    srcs = [write(str(tmp_path / "src" / f"f{i}"), os.urandom(256 << 10)) for i in range(8)]
    params = {"copies": [{"src": s, "dst": str(tmp_path / "out" / f"f{i}")} for i, s in enumerate(srcs)],
              "options": {"parallelism": 1, "transfer": {"max_bandwidth": 1 << 20}}}
    before, _ = parse(scrape(d.port))
    with d.connect() as k:
        e = k.call_error(f"{IFACE}.Copy", {"copies": "not a list"})
        assert e["error"] == "org.varlink.service.InvalidParameter", e
        c = d.connect()
        c.send(f"{IFACE}.Copy", params)
        deadline = time.monotonic() + 20
        while not (calls := k.call(f"{IFACE}.Calls")["calls"]) or calls[0]["files_ok"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        status = k.call(f"{IFACE}.Status")
        calls = k.call(f"{IFACE}.Calls")["calls"]
        assert calls[0]["files_queued"] >= 1
        assert status["files_queued"] >= calls[0]["files_queued"] - 1, (status, calls)
        c.close()
        while k.call(f"{IFACE}.Status")["batches"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    after, _ = parse(scrape(d.port))
    assert delta(before, after, "fds_calls_total", method="copy", outcome="invalid_parameter") == 1
    assert delta(before, after, "fds_calls_total", method="copy", outcome="disconnected") == 1
    assert delta(before, after, "fds_calls_total", method="copy", outcome="ok") == 0
    assert delta(before, after, "fds_call_duration_seconds_count", method="copy") == 1
    ok = delta(before, after, "fds_files_total", method="copy", result="ok")
    canceled = delta(before, after, "fds_files_total", method="copy", result="Canceled")
    assert ok >= 1 and canceled >= 1 and ok + canceled <= 8, (ok, canceled)
