# SPDX-License-Identifier: MIT
"""fds.do_copy, copy_iter, read_file_sizes, read_file_contents against a
real fdsd and RGW, boto3 as the oracle."""

import os
import threading

import pytest

import fds
import fdstest
from conftest import s3_options
from proxy import Reply, Stall


def put(s3, bucket, key, data):
    s3.put_object(Bucket=bucket, Key=key, Body=data)


def get(s3, bucket, key):
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_all_four_directions_in_one_mixed_batch(opts, s3, bucket, tmp_path):
    a, b = os.urandom(3000), os.urandom(70000)
    fdstest.write(str(tmp_path / "src" / "a"), a)
    put(s3, bucket, "in/b", b)
    copies = [
        (tmp_path / "src" / "a", tmp_path / "out" / "a"),          # local -> local (PathLike)
        (str(tmp_path / "src" / "a"), f"s3://{bucket}/up/a"),      # local -> S3
        (f"s3://{bucket}/in/b", str(tmp_path / "out" / "b")),      # S3 -> local
        (f"s3://{bucket}/in/b", f"s3://{bucket}/copied/b"),        # S3 -> S3
    ]
    results = fds.do_copy(copies, opts)
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert all(r.ok and r.error is None for r in results)
    assert [r.bytes for r in results] == [len(a), len(a), len(b), len(b)]
    assert fdstest.read(str(tmp_path / "out" / "a")) == a
    assert get(s3, bucket, "up/a") == a
    assert fdstest.read(str(tmp_path / "out" / "b")) == b
    assert get(s3, bucket, "copied/b") == b


def test_relative_paths_are_the_callers(opts, tmp_path, monkeypatch):
    fdstest.write(str(tmp_path / "rel" / "x"), b"relative")
    monkeypatch.chdir(tmp_path)
    fds.do_copy([("rel/x", "rel/y")], opts)
    assert fdstest.read(str(tmp_path / "rel" / "y")) == b"relative"


def test_sizes_and_contents_of_local_files_and_objects(opts, s3, bucket, tmp_path):
    data = {f"k{i}": os.urandom(i * 1000) for i in range(5)}
    files = {}
    for k, v in data.items():
        if int(k[1:]) % 2:
            put(s3, bucket, k, v)
            files[k] = f"s3://{bucket}/{k}"
        else:
            files[k] = fdstest.write(str(tmp_path / k), v)
    files["again"] = files["k3"]
    assert fds.read_file_sizes(files, opts) == {**{k: len(v) for k, v in data.items()},
                                                 "again": 3000}
    for method in ("auto", "read", "copy"):
        got = fds.read_file_contents(files, opts, method=method)
        assert got == {**data, "again": data["k3"]}, method
    # The copy way leaves nothing behind in its temporary directory's parent.
    assert not [n for n in os.listdir("/dev/shm") if n.startswith("fds-read-")]


def test_validation_lists_every_problem(opts, s3, bucket, tmp_path):
    src = fdstest.write(str(tmp_path / "a"), b"a")
    bad = [
        (str(tmp_path / "missing"), str(tmp_path / "o1")),
        (src, str(tmp_path / "dup")),
        (src, str(tmp_path / "dup")),
        (f"s3://{bucket}/no-such-key", str(tmp_path / "o2")),
    ]
    with pytest.raises(fds.ValidationError) as e:
        fds.do_copy(bad, opts)
    assert isinstance(e.value, ValueError)
    by_index = {p.index for p in e.value.problems}
    assert by_index == {0, 2, 3}, e.value.problems
    assert not os.path.exists(tmp_path / "dup"), "a refused batch moved nothing"


def test_s3_without_options_is_a_problem_of_every_such_path(fdsd, tmp_path, monkeypatch):
    monkeypatch.setenv("FDS_SOCKET", fdsd.socket)
    src = fdstest.write(str(tmp_path / "a"), b"a")
    with pytest.raises(fds.ValidationError) as e:
        fds.do_copy([(src, "s3://b/k1"), ("s3://b/k2", str(tmp_path / "x")),
                     (str(tmp_path / "nope"), str(tmp_path / "y"))], None)
    reasons = [(p.index, p.path) for p in e.value.problems]
    assert (0, "s3://b/k1") in reasons and (1, "s3://b/k2") in reasons
    assert (2, str(tmp_path / "nope")) in reasons
    with pytest.raises(fds.ValidationError) as e:
        fds.read_file_sizes({"a": src, "s": "s3://b/k"})
    assert [p.key for p in e.value.problems] == ["s"]
    # Local only, no options: fine, and through $FDS_SOCKET.
    fds.do_copy([(src, str(tmp_path / "z"))])
    assert fdstest.read(str(tmp_path / "z")) == b"a"


def test_missing_files_are_file_not_found_with_partial_results(opts, s3, bucket, tmp_path):
    put(s3, bucket, "there", b"here")
    files = {"ok": f"s3://{bucket}/there", "gone": f"s3://{bucket}/gone",
             "local-gone": str(tmp_path / "gone")}
    with pytest.raises(FileNotFoundError) as e:
        fds.read_file_contents(files, opts)
    err = e.value
    assert isinstance(err, fds.BatchError)
    assert err.results == {"ok": b"here"}
    assert set(err.errors) == {"gone", "local-gone"}
    assert all(x.code == "NotFound" for x in err.errors.values())
    assert all(isinstance(x, FileNotFoundError) for x in err.exceptions().values())
    with pytest.raises(FileNotFoundError) as e:
        fds.read_file_sizes(files, opts)
    assert e.value.results == {"ok": 4}
    # Without validation, a copy's missing source fails only its own file.
    src = fdstest.write(str(tmp_path / "a"), b"a")
    with pytest.raises(fds.BatchFileNotFoundError) as e:
        fds.do_copy([(f"s3://{bucket}/gone", str(tmp_path / "o1")), (src, f"s3://{bucket}/o2")],
                    opts, validate=False)
    assert list(e.value.errors) == [(f"s3://{bucket}/gone", str(tmp_path / "o1"))]
    assert [r.dst for r in e.value.results.values()] == [f"s3://{bucket}/o2"]
    assert get(s3, bucket, "o2") == b"a"


def test_refused_credentials_are_permission_errors_with_partial_results(rgw, fdsd, s3, bucket,
                                                                        tmp_path):
    src = fdstest.write(str(tmp_path / "a"), b"abc")
    wrong = s3_options(rgw, fdsd)
    wrong.secret_access_key = "not-the-secret-0123456789abcdefghijklmnopq"
    with pytest.raises(PermissionError) as e:
        fds.do_copy([(src, str(tmp_path / "local-copy")), (src, f"s3://{bucket}/x")], wrong,
                    validate=False)
    err = e.value
    (key, fe), = err.errors.items()
    assert key == (src, f"s3://{bucket}/x")
    assert fe.http_status == 403 and fe.s3_code in ("SignatureDoesNotMatch", "AccessDenied"), fe
    assert list(err.results) == [(src, str(tmp_path / "local-copy"))]
    assert fdstest.read(str(tmp_path / "local-copy")) == b"abc"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_server_stopped_mid_batch_fails_the_rest_and_keeps_what_finished(rgw, fdsd, s3, bucket,
                                                                         tmp_path):
    import conftest_rgw
    srcs = [fdstest.write(str(tmp_path / f"f{i}"), os.urandom(2000)) for i in range(30)]
    o = s3_options(rgw, fdsd, local_parallelism=1,
                   transfer_config=fds.TransferConfig(num_attempts=2, retry_time_budget=0))
    seen = []

    def on_result(r):
        seen.append(r)
        if len(seen) == 3:
            conftest_rgw.pause(rgw)  # radosgw stops; the port refuses connections

    with pytest.raises(fds.BatchError) as e:
        fds.do_copy([(s, f"s3://{bucket}/k{i}") for i, s in enumerate(srcs)], o,
                    progress=on_result)
    conftest_rgw.resume(rgw)
    err = e.value
    assert len(seen) == 30, "every file reported, through the progress callback"
    assert 3 <= len(err.results) < 30 and len(err.errors) == 30 - len(err.results)
    for fe in err.errors.values():
        assert fe.code in ("IOError", "S3Error"), fe
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    ok_keys = {dst.split("/", 3)[3] for _, dst in err.results}
    # The one upload in flight when radosgw stopped may have been stored
    # with its answer lost: failed for fdsd, present for boto3.
    assert ok_keys <= keys and len(keys - ok_keys) <= 1, (keys, ok_keys)
    o.close()


MIB = 1 << 20


@pytest.mark.parametrize("config, parts", [
    (None, 2),                                                              # 8 MiB in 8 MiB parts
    (fds.TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB), 3),
    ("boto3", 2),                                                           # 6 MiB parts
    (fds.TransferConfig(use_multipart=False), 0),                          # the opt-out
])
def test_multipart_above_threshold_in_the_configured_parts(rgw, fdsd, s3, bucket, tmp_path,
                                                           config, parts):
    if config == "boto3":
        from boto3.s3.transfer import TransferConfig
        config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=6 * MIB)
    data = fdstest.pattern(12 * MIB, 7)
    src = fdstest.write(str(tmp_path / "big"), data)
    small = fdstest.write(str(tmp_path / "small"), data[:4 * MIB])
    o = s3_options(rgw, fdsd, transfer_config=config)
    fds.do_copy([(src, f"s3://{bucket}/big"), (small, f"s3://{bucket}/small")], o)
    etag = s3.head_object(Bucket=bucket, Key="big")["ETag"].strip('"')
    if parts:
        assert etag.endswith(f"-{parts}"), etag
    else:
        assert "-" not in etag, etag
    assert "-" not in s3.head_object(Bucket=bucket, Key="small")["ETag"]
    assert get(s3, bucket, "big") == data
    o.close()


@pytest.mark.parametrize("config, parts", [
    (None, 0),                                                      # one CopyObject
    (fds.TransferConfig(copy_cutoff=10 * MIB, multipart_chunksize=5 * MIB), 3),
])
def test_s3_to_s3_one_copy_object_up_to_the_copy_cutoff(rgw, fdsd, s3, bucket, tmp_path,
                                                        config, parts):
    data = fdstest.pattern(12 * MIB, 8)
    put(s3, bucket, "src", data)
    o = s3_options(rgw, fdsd, transfer_config=config)
    fds.do_copy([(f"s3://{bucket}/src", f"s3://{bucket}/dst")], o)
    etag = s3.head_object(Bucket=bucket, Key="dst")["ETag"].strip('"')
    if parts:
        assert etag.endswith(f"-{parts}"), etag
    else:
        assert etag == s3.head_object(Bucket=bucket, Key="src")["ETag"].strip('"')
    assert get(s3, bucket, "dst") == data
    assert fds.TransferConfig(copy_cutoff=7).to_wire() == {"copy_cutoff": 7}
    o.close()


def test_boto3_transfer_config_without_threads_is_one_part_at_a_time(rgw, fdsd, proxy, s3,
                                                                     bucket, tmp_path):
    from boto3.s3.transfer import TransferConfig
    cfg = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB,
                         use_threads=False)
    assert fds.TransferConfig.coerce(cfg).max_concurrency == 1
    src = fdstest.write(str(tmp_path / "big"), fdstest.pattern(16 * MIB, 3))
    proxy.add_rule(lambda r: r.method == "PUT", Stall(timeout=0.1), times=100)
    o = s3_options(rgw, fdsd, endpoint=proxy.url, transfer_config=cfg)
    fds.do_copy([(src, f"s3://{bucket}/big")], o)
    assert s3.head_object(Bucket=bucket, Key="big")["ETag"].strip('"').endswith("-4")
    assert proxy.max_inflight == 1
    o.close()


def test_transient_failures_are_retried(rgw, fdsd, proxy, s3, bucket, tmp_path):
    src = fdstest.write(str(tmp_path / "a"), b"retry me")
    rule = proxy.add_rule(lambda r: r.method == "PUT", Reply(503, "SlowDown"), times=2)
    o = s3_options(rgw, fdsd, endpoint=proxy.url)
    (r,) = fds.do_copy([(src, f"s3://{bucket}/a")], o)
    assert rule.hits == 2 and r.ok and r.attempts == 3, r
    assert get(s3, bucket, "a") == b"retry me"
    # With one attempt the same failure is the file's error, S3's words kept.
    proxy.add_rule(lambda r: r.method == "PUT", Reply(503, "SlowDown"), times=1)
    one = s3_options(rgw, fdsd, endpoint=proxy.url,
                     transfer_config=fds.TransferConfig(num_attempts=1))
    with pytest.raises(fds.BatchError) as e:
        fds.do_copy([(src, f"s3://{bucket}/b")], one)
    (fe,) = e.value.errors.values()
    assert fe.http_status == 503 and fe.s3_code == "SlowDown", fe
    o.close()
    one.close()


@pytest.mark.parametrize("parallelism, expect", [(1, 1), (4, 4), (16, 16), (None, 16)])
def test_parallelism_levels(rgw, fdsd, proxy, s3, bucket, tmp_path, parallelism, expect):
    n = 32
    srcs = [fdstest.write(str(tmp_path / f"f{i}"), b"x" * (100 + i)) for i in range(n)]
    # Each upload is held a little at the proxy, so files in flight overlap
    # there exactly as far as fdsd lets them.
    proxy.add_rule(lambda r: r.method == "PUT", Stall(timeout=0.15), times=n)
    o = s3_options(rgw, fdsd, endpoint=proxy.url, local_parallelism=parallelism)
    results = fds.do_copy([(s, f"s3://{bucket}/k{i}") for i, s in enumerate(srcs)], o)
    assert len(results) == n and all(r.ok for r in results)
    assert proxy.max_inflight == expect, proxy.max_inflight
    puts = sorted(proxy.seen(lambda r: r.method == "PUT"), key=lambda r: r.started)
    if parallelism == 1:
        assert all(a.ended <= b.started for a, b in zip(puts, puts[1:])), \
            "with parallelism 1 each upload ends before the next starts"
    assert len(s3.list_objects_v2(Bucket=bucket)["Contents"]) == n
    o.close()


def test_copy_iter_streams_results_as_files_finish(rgw, fdsd, proxy, bucket, tmp_path):
    srcs = [fdstest.write(str(tmp_path / f"f{i}"), b"y" * 10) for i in range(4)]
    release = threading.Event()
    # The first file's upload waits until the test has seen another result.
    proxy.add_rule(lambda r: r.method == "PUT" and r.key == "k0", Stall(release, timeout=30))
    o = s3_options(rgw, fdsd, endpoint=proxy.url, local_parallelism=4)
    order = []
    for r in fds.copy_iter([(s, f"s3://{bucket}/k{i}") for i, s in enumerate(srcs)], o):
        order.append(r.index)
        if len(order) == 3:
            release.set()
    assert sorted(order) == [0, 1, 2, 3] and order[-1] == 0, order
    o.close()


def test_progress_with_tqdm(opts, tmp_path, capsys):
    tqdm = pytest.importorskip("tqdm")
    srcs = [fdstest.write(str(tmp_path / f"f{i}"), b"z") for i in range(5)]
    with tqdm.tqdm(total=5) as bar:
        fds.do_copy([(s, s + ".copy") for s in srcs], opts, progress=bar)
        assert bar.n == 5
    fds.do_copy([(s, s + ".again") for s in srcs], opts, progress=True)
    assert "5/5" in capsys.readouterr().err


def test_from_boto3_takes_the_clients_settings(rgw, fdsd, s3, bucket, tmp_path):
    o = fds.S3Options.from_boto3(s3, socket=fdsd.socket)
    assert o.endpoint_url == rgw["AWS_ENDPOINT_URL"] and o.addressing_style == "path"
    assert o.access_key_id == rgw["AWS_ACCESS_KEY_ID"] and o.region == rgw["AWS_REGION"]
    src = fdstest.write(str(tmp_path / "a"), b"from boto3")
    fds.do_copy([(src, f"s3://{bucket}/a")], o)
    assert get(s3, bucket, "a") == b"from boto3"
    o.close()


def test_read_over_the_read_limit_is_refused_and_the_default_has_no_limit(rgw, start_fdsd, s3,
                                                                          bucket):
    d = start_fdsd("--max-read-bytes", "1M")
    o = s3_options(rgw, d)
    data = fdstest.pattern(3 * MIB, 5)
    put(s3, bucket, "big", data)
    with pytest.raises(fds.DaemonError) as e:
        fds.read_file_contents({"b": f"s3://{bucket}/big"}, o, method="read")
    assert e.value.name.endswith("ReadLimitExceeded")
    assert fds.read_file_contents({"b": f"s3://{bucket}/big"}, o) == {"b": data}
    o.close()
