# SPDX-License-Identifier: MIT
"""Dataset operations: DataFrames whose columns hold file paths.

Every function takes a pandas DataFrame (or a pyarrow Table, when pyarrow is
importable: it is converted and the answer converted back) and the names of
its path columns. A null cell stays null; a path that appears several times
is fetched once; the answer keeps the input's index. pandas is imported only
when these functions are called.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import tempfile
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from .options import S3Options
from .transfer import do_copy, read_file_contents, read_file_sizes

Columns = Union[str, Sequence[str]]


def _columns(columns: Columns) -> List[str]:
    return [columns] if isinstance(columns, str) else list(columns)


def _is_null(v: Any) -> bool:
    if v is None:
        return True
    try:
        import pandas as pd  # pylint: disable=import-outside-toplevel
        r = pd.isna(v)
        return bool(r) if isinstance(r, (bool,)) or getattr(r, "ndim", 1) == 0 else False
    except (TypeError, ValueError):
        return False


def _key(v: Any) -> Optional[str]:
    """A cell's path as a string, None for a null cell."""
    if _is_null(v):
        return None
    s = os.fspath(v)
    return os.fsdecode(s) if isinstance(s, bytes) else s


def _from_arrow(table: Any) -> Tuple[Any, bool]:
    """(pandas DataFrame, was a pyarrow Table)."""
    mod = type(table).__module__
    if mod.startswith("pyarrow") and hasattr(table, "to_pandas"):
        return table.to_pandas(), True
    return table, False


def _to_arrow(df: Any, was_arrow: bool) -> Any:
    if not was_arrow:
        return df
    import pyarrow  # type: ignore  # pylint: disable=import-outside-toplevel
    return pyarrow.Table.from_pandas(df, preserve_index=False)


def _unique_paths(df: Any, cols: Iterable[str]) -> Dict[str, List[Optional[str]]]:
    """Each column's cells as path strings (None for nulls)."""
    return {c: [_key(v) for v in df[c].tolist()] for c in cols}


def _distinct(cells: Dict[str, List[Optional[str]]]) -> List[str]:
    seen: Dict[str, None] = {}
    for values in cells.values():
        for v in values:
            if v is not None:
                seen.setdefault(v, None)
    return list(seen)


def destination(src: str, dest: str) -> str:
    """Where write_files puts src under dest: ``dest/<16 hex of the path's
    SHA-256>-<basename>``, the same for the same path in every call, row and
    partition (so a path shared by rows is written once) and distinct for
    distinct paths that share a basename."""
    base = posixpath.basename(src.rstrip("/")) or "file"
    digest = hashlib.sha256(src.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    if dest.startswith("s3://"):
        return dest.rstrip("/") + "/" + f"{digest}-{base}"
    return os.path.join(dest, f"{digest}-{base}")


def _replace_columns(df: Any, cells: Dict[str, List[Optional[str]]], mapping: Dict[str, Any],
                     dtype: Any = object, only: bool = False) -> Any:
    import pandas as pd  # pylint: disable=import-outside-toplevel
    out = pd.DataFrame(index=df.index) if only else df.copy()
    for c, values in cells.items():
        out[c] = pd.Series([None if v is None else mapping[v] for v in values],
                           index=df.index, dtype=dtype)
    return out


def write_files(df: Any, columns: Columns, dest: str, s3_options: Optional[S3Options] = None,
                **kwargs: Any) -> Any:
    """Copy the files the columns name into dest.

    Args:
        df: A pandas DataFrame (or pyarrow Table).
        columns: The path column(s).
        dest: A local directory or ``s3://bucket/prefix``; each file goes to
            ``destination(src, dest)``.
        s3_options: As for do_copy.
        **kwargs: Passed to do_copy (progress, validate).

    Returns:
        A copy of df with those columns holding the new paths.

    Raises:
        ValidationError, BatchError: As do_copy.
    """
    df, arrow = _from_arrow(df)
    cols = _columns(columns)
    cells = _unique_paths(df, cols)
    dest = dest if dest.startswith("s3://") else os.path.abspath(dest)
    mapping = {p: destination(p, dest) for p in _distinct(cells)}
    if mapping:
        do_copy(list(mapping.items()), s3_options, **kwargs)
    return _to_arrow(_replace_columns(df, cells, mapping), arrow)


def into_temp_dir(df: Any, columns: Columns, s3_options: Optional[S3Options] = None,
                  **kwargs: Any) -> Tuple[tempfile.TemporaryDirectory, Any]:
    """Fetch the files the columns name into a new temporary directory.

    Args:
        df: A pandas DataFrame (or pyarrow Table).
        columns: The path column(s).
        s3_options: As for do_copy.
        **kwargs: Passed to do_copy; ``dir`` and ``prefix`` go to
            ``tempfile.TemporaryDirectory``.

    Returns:
        ``(TemporaryDirectory, df with local paths)``; the files live as long
        as the directory object (use it in ``with`` or call ``cleanup()``).
    """
    tmp = tempfile.TemporaryDirectory(prefix=kwargs.pop("prefix", "fds-"),
                                      dir=kwargs.pop("dir", None))
    try:
        out = write_files(df, columns, tmp.name, s3_options, **kwargs)
    except BaseException:
        tmp.cleanup()
        raise
    return tmp, out


def into_size_table(df: Any, columns: Columns, s3_options: Optional[S3Options] = None) -> Any:
    """Sizes of the files the columns name.

    Args:
        df: A pandas DataFrame (or pyarrow Table).
        columns: The path column(s).
        s3_options: As for read_file_sizes.

    Returns:
        A DataFrame of those columns, same index, sizes in bytes as the
        nullable ``Int64`` dtype (null where the path was null).

    Raises:
        ValidationError, BatchError: As read_file_sizes.
    """
    df, arrow = _from_arrow(df)
    cells = _unique_paths(df, _columns(columns))
    paths = _distinct(cells)
    sizes = read_file_sizes({p: p for p in paths}, s3_options) if paths else {}
    return _to_arrow(_replace_columns(df, cells, sizes, dtype="Int64", only=True), arrow)


def into_blob_table(df: Any, columns: Columns, s3_options: Optional[S3Options] = None,
                    **kwargs: Any) -> Any:
    """Contents of the files the columns name.

    Args:
        df: A pandas DataFrame (or pyarrow Table).
        columns: The path column(s).
        s3_options: As for read_file_contents.
        **kwargs: Passed to read_file_contents (method, max_bytes).

    Returns:
        A DataFrame of those columns, same index, each cell the file's bytes
        (None where the path was null).

    Raises:
        ValidationError, BatchError: As read_file_contents.
    """
    df, arrow = _from_arrow(df)
    cells = _unique_paths(df, _columns(columns))
    paths = _distinct(cells)
    blobs = read_file_contents({p: p for p in paths}, s3_options, **kwargs) if paths else {}
    return _to_arrow(_replace_columns(df, cells, blobs, only=True), arrow)


__all__ = ["destination", "into_blob_table", "into_size_table", "into_temp_dir", "write_files"]
