# SPDX-License-Identifier: MIT
"""fds.dataset over dask DataFrames, one partition per task.

Each task runs fds.dataset's function on its partition inside the worker, so
every worker talks to the fdsd of its own node: with ``s3_options.socket``
left None the socket comes from the worker's environment (``$FDS_SOCKET``,
else the default), and the S3Options travels to the workers without its
connections (each worker process opens its own). A path repeated within a
partition is fetched once; across partitions, write_files names the same
destination for the same path, so repeats cost a copy but never conflict.

into_temp_dir has no Dask form: a temporary directory lives on one node.
Use write_files with a node-local directory instead.
"""

from __future__ import annotations

from typing import Any, Optional

from . import dataset
from .options import S3Options


def _meta(ddf: Any, columns: dataset.Columns, dtype: Any, only: bool) -> Any:
    import pandas as pd  # pylint: disable=import-outside-toplevel
    cols = dataset._columns(columns)  # pylint: disable=protected-access
    base = ddf._meta  # pylint: disable=protected-access
    out = pd.DataFrame(index=base.index) if only else base.copy()
    for c in cols:
        out[c] = pd.Series([], index=base.index, dtype=dtype)
    return out


def write_files(ddf: Any, columns: dataset.Columns, dest: str,
                s3_options: Optional[S3Options] = None, **kwargs: Any) -> Any:
    """fds.dataset.write_files on every partition of a dask DataFrame.

    Returns:
        A lazy dask DataFrame with those columns holding the new paths.
    """
    return ddf.map_partitions(dataset.write_files, columns, dest, s3_options,
                              meta=_meta(ddf, columns, object, False), **kwargs)


def into_size_table(ddf: Any, columns: dataset.Columns,
                    s3_options: Optional[S3Options] = None) -> Any:
    """fds.dataset.into_size_table on every partition of a dask DataFrame.

    Returns:
        A lazy dask DataFrame of ``Int64`` sizes, same index.
    """
    return ddf.map_partitions(dataset.into_size_table, columns, s3_options,
                              meta=_meta(ddf, columns, "Int64", True))


def into_blob_table(ddf: Any, columns: dataset.Columns,
                    s3_options: Optional[S3Options] = None, **kwargs: Any) -> Any:
    """fds.dataset.into_blob_table on every partition of a dask DataFrame.

    Returns:
        A lazy dask DataFrame of bytes, same index.
    """
    return ddf.map_partitions(dataset.into_blob_table, columns, s3_options,
                              meta=_meta(ddf, columns, object, True), **kwargs)


__all__ = ["into_blob_table", "into_size_table", "write_files"]
