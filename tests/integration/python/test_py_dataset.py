# SPDX-License-Identifier: MIT
"""fds.dataset on a pandas DataFrame of 1,000 rows: to S3, sizes, blobs,
into a temporary directory and back; nulls stay null, duplicates are
fetched once, the index is kept."""

import os
import random

import pytest

import fds
import fdstest

pd = pytest.importorskip("pandas")
from fds import dataset  # noqa: E402

ROWS = 1000


def batch_files(daemon, method):
    """Files per batch of one method in fdsd's log, in order."""
    import re
    return [int(a) + int(b) for a, b in re.findall(
        rf"batch \d+: {method} from uid \d+ pid \d+: (\d+) ok, (\d+) failed", daemon.log())]


def test_dataframe_round_trip(opts, fdsd, s3, bucket, tmp_path):
    rng = random.Random(11)
    distinct = 900
    data = {i: rng.randbytes(rng.randint(0, 3000)) for i in range(distinct)}
    paths = [fdstest.write(str(tmp_path / "src" / f"{i:04d}.bin"), data[i]) for i in range(distinct)]
    # 1,000 rows: 900 distinct files, 60 repeats, 40 nulls; a second column
    # sharing some paths; an index that is not 0..n-1.
    col = paths + [paths[i] for i in range(60)] + [None] * 40
    rng.shuffle(col)
    other = [p if i % 3 == 0 else None for i, p in enumerate(col)]
    index = pd.Index([f"row{i}" for i in range(ROWS)][::-1], name="id")
    df = pd.DataFrame({"path": col, "other": other, "label": range(ROWS)}, index=index)

    up = dataset.write_files(df, ["path", "other"], f"s3://{bucket}/ds", opts)
    assert list(up.index) == list(df.index) and list(up["label"]) == list(df["label"])
    assert up["path"].isna().sum() == 40 and (up["path"].isna() == df["path"].isna()).all()
    assert batch_files(fdsd, "Copy")[-1] == distinct, "each distinct path copied once"
    listed = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="ds/"):
        listed.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
    assert len(listed) == distinct
    for src, dst in zip(df["path"], up["path"]):
        if src is None:
            continue
        assert dst == dataset.destination(src, f"s3://{bucket}/ds")
        assert listed[dst[len(f"s3://{bucket}/"):]] == len(data[int(os.path.basename(src)[:4])])
    same = df["path"] == df["other"]
    assert (up["path"][same] == up["other"][same]).all()

    sizes = dataset.into_size_table(up, ["path", "other"], opts)
    assert list(sizes.columns) == ["path", "other"] and list(sizes.index) == list(df.index)
    assert str(sizes["path"].dtype) == "Int64"
    assert batch_files(fdsd, "Size")[-1] == distinct
    for dst, size in zip(up["path"], sizes["path"]):
        if dst is None:
            assert size is pd.NA
        else:
            assert size == listed[dst[len(f"s3://{bucket}/"):]]

    blobs = dataset.into_blob_table(up, "path", opts)
    assert list(blobs.index) == list(df.index)
    for src, blob in zip(df["path"], blobs["path"]):
        assert (blob is None) if src is None else blob == data[int(os.path.basename(src)[:4])]
    sample = up["path"].dropna().iloc[:20]
    for dst, blob in zip(sample, blobs["path"].loc[sample.index]):
        key = dst[len(f"s3://{bucket}/"):]
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == blob

    tmp, local = dataset.into_temp_dir(up, "path", opts)
    with tmp:
        assert list(local.index) == list(df.index)
        for src, p in zip(df["path"], local["path"]):
            if src is None:
                assert p is None
            else:
                assert p.startswith(tmp.name + "/") and fdstest.read(p) == fdstest.read(src)
    assert not os.path.exists(tmp.name)


def test_dataset_errors_keep_partial_results(opts, bucket, tmp_path):
    ok = fdstest.write(str(tmp_path / "a"), b"abc")
    df = pd.DataFrame({"p": [ok, str(tmp_path / "missing"), None]})
    with pytest.raises(FileNotFoundError) as e:
        dataset.into_size_table(df, "p", opts)
    assert e.value.results == {ok: 3}
    with pytest.raises(fds.ValidationError):
        dataset.write_files(df, "p", f"s3://{bucket}/x", opts)
    # Nothing to fetch: no call at all, nulls stay null.
    empty = dataset.into_blob_table(pd.DataFrame({"p": [None, None]}), "p", opts)
    assert empty["p"].isna().all()
