# SPDX-License-Identifier: MIT
"""What is in a local directory or under an S3 prefix: iter_files, list_files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional

from ._varlink import IFACE, DaemonError
from .errors import FileError, ValidationError, Problem
from .options import S3Options, options_for
from .transfer import PathLike, _is_s3, _path, _raise_daemon_error


@dataclass(frozen=True)
class ListEntry:
    """One entry of a listing.

    Attributes:
        path: The full path (``/data/a.csv``, ``s3://bucket/data/a.csv``),
            usable as a copy source; a directory's ends with ``/``.
        size: Bytes; None for a directory.
        is_dir: A local directory, or an S3 common prefix.
        mtime: Last modified, seconds since the epoch (as ``os.stat``'s
            ``st_mtime``); None when not known (S3 prefixes).
        etag: S3 objects: the ETag without its quotes.
    """

    path: str
    size: Optional[int] = None
    is_dir: bool = False
    mtime: Optional[float] = None
    etag: Optional[str] = None


def iter_files(path: PathLike, s3_options: Optional[S3Options] = None, *,
               recursive: bool = False) -> Iterator[ListEntry]:
    """Yield what is in a directory or under an S3 prefix, as the daemon lists it.

    A local directory gives its files and directories (symlinks followed), a
    local file itself. An S3 URL goes as ``aws s3 ls``: the key as given is
    the prefix (``s3://b/data/`` is what is under ``data/``, ``s3://b/data``
    what starts with ``data``), and what lies below the next ``/`` is one
    directory entry. Entries stream page by page, so a prefix of millions of
    keys costs one page of memory.

    Args:
        path: A local path (relative ones from the working directory) or
            ``s3://bucket[/prefix]``.
        s3_options: S3 settings and connection; None allows no S3 path.
        recursive: Every file below instead (no directories); for a
            directory, or a prefix ending in ``/``, the files a recursive
            copy of it takes.

    Yields:
        ListEntry, sorted by path (local) or in key order (S3).

    Raises:
        ValidationError: The path is malformed, or S3 without s3_options.
        FileNotFoundError: No such directory, or no such bucket.
        PermissionError: Not readable, or the S3 server refused.
        NotADirectoryError: A path component is not a directory.
        OSError: Any other failure (its message says which).
    """
    p = _path(path)
    if s3_options is None and _is_s3(p):
        raise ValidationError([Problem(path=p, reason="an S3 path needs s3_options", index=0)])
    opts = options_for(s3_options)
    params: Dict[str, Any] = {"path": p, "recursive": bool(recursive)}
    o = opts.wire(s3=s3_options is not None)
    if o:
        params["options"] = o
    try:
        for reply in opts.pool().stream(f"{IFACE}.List", params, more=True):
            for e in reply.get("entries") or []:
                yield ListEntry(path=e["path"], size=e.get("size"), is_dir=bool(e.get("dir")),
                                mtime=e.get("mtime"), etag=e.get("etag"))
            err = reply.get("error")
            if err:
                raise FileError.from_wire(err, p).exception()
    except DaemonError as e:
        _raise_daemon_error(e)


def list_files(path: PathLike, s3_options: Optional[S3Options] = None, *,
               recursive: bool = False) -> List[ListEntry]:
    """The entries of :func:`iter_files`, as a list."""
    return list(iter_files(path, s3_options, recursive=recursive))


__all__ = ["ListEntry", "iter_files", "list_files"]
