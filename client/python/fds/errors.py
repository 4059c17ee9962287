# SPDX-License-Identifier: MIT
"""What fds raises: a whole request refused (ValidationError), some files
failed (BatchError, also a builtin OSError when all failed the same way), or
the daemon unreachable or refusing the call (DaemonError)."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any, Dict, Hashable, List, Mapping, Optional, Sequence, Type

from ._varlink import DaemonError, DaemonUnavailable


@dataclass(frozen=True)
class Problem:
    """One reason a request was refused before anything moved.

    Attributes:
        path: The path concerned.
        reason: Why, in words.
        index: Position in the copies sequence (do_copy), else None.
        key: The caller's key (read_file_sizes, read_file_contents), else None.
    """

    path: str
    reason: str
    index: Optional[int] = None
    key: Optional[str] = None

    def __str__(self) -> str:
        where = f"#{self.index} " if self.index is not None else (
            f"[{self.key!r}] " if self.key is not None else "")
        return f"{where}{self.path}: {self.reason}"


class ValidationError(ValueError):
    """The request was refused as a whole; nothing moved.

    Attributes:
        problems: Every problem found (missing sources, duplicate destinations,
            malformed paths, S3 paths without S3 options), not only the first.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: List[Problem] = list(problems)
        lines = "; ".join(str(p) for p in self.problems[:10])
        more = f" (and {len(self.problems) - 10} more)" if len(self.problems) > 10 else ""
        super().__init__(f"{len(self.problems)} problem(s): {lines}{more}")

    def __reduce__(self):  # type: ignore[override]
        return (type(self), (self.problems,))


@dataclass(frozen=True)
class FileError:
    """Why one file failed.

    Attributes:
        code: One of NotFound, PermissionDenied, IsADirectory, NotADirectory,
            NoSpace, IOError, Canceled, Exists, InvalidPath, SameFile,
            TooLarge, S3Error, InternalError.
        message: The daemon's words, naming the file.
        http_status: The S3 server's HTTP status, when one answered.
        s3_code: The S3 error code (e.g. ``AccessDenied``), when one answered.
        path: The file concerned (the source of a copy, or a key's path).
    """

    code: str
    message: str
    http_status: Optional[int] = None
    s3_code: Optional[str] = None
    path: Optional[str] = None

    @classmethod
    def from_wire(cls, e: Mapping[str, Any], path: Optional[str] = None) -> "FileError":
        return cls(code=e.get("code", "InternalError"), message=e.get("message", ""),
                   http_status=e.get("http_status"), s3_code=e.get("s3_code"), path=path)

    def builtin(self) -> Type[OSError]:
        """The builtin exception class this failure corresponds to."""
        if self.code == "S3Error" and self.http_status in (401, 403):
            return PermissionError
        if self.code == "S3Error" and self.http_status == 404:
            return FileNotFoundError
        return _BUILTIN.get(self.code, (OSError, errno.EIO))[0]

    def exception(self) -> OSError:
        """This failure as a builtin OSError (FileNotFoundError, ...)."""
        cls, num = _BUILTIN.get(self.code, (OSError, errno.EIO))
        b = self.builtin()
        if b is not cls:
            cls, num = b, _ERRNO[b]
        return cls(num, self.message, self.path)


_BUILTIN: Dict[str, Any] = {
    "NotFound": (FileNotFoundError, errno.ENOENT),
    "PermissionDenied": (PermissionError, errno.EACCES),
    "IsADirectory": (IsADirectoryError, errno.EISDIR),
    "NotADirectory": (NotADirectoryError, errno.ENOTDIR),
    "Exists": (FileExistsError, errno.EEXIST),
    "NoSpace": (OSError, errno.ENOSPC),
    "TooLarge": (OSError, errno.EFBIG),
    "Canceled": (OSError, errno.ECANCELED),
    "IOError": (OSError, errno.EIO),
}
_ERRNO = {FileNotFoundError: errno.ENOENT, PermissionError: errno.EACCES,
          IsADirectoryError: errno.EISDIR, NotADirectoryError: errno.ENOTDIR,
          FileExistsError: errno.EEXIST, OSError: errno.EIO}


class BatchError(Exception):
    """Some files of a call failed; the others succeeded.

    When every failure maps to one builtin exception class, the error raised
    is also an instance of it (``except FileNotFoundError`` catches a batch
    whose only failures are missing files).

    Attributes:
        errors: The failures: for do_copy keyed by ``(src, dst)`` as given,
            for read_file_sizes / read_file_contents by the caller's key.
        results: What succeeded, under the same keys (partial results).
    """

    def __init__(self, errors: Mapping[Hashable, FileError], results: Mapping[Hashable, Any],
                 total: Optional[int] = None) -> None:
        self.errors: Dict[Hashable, FileError] = dict(errors)
        self.results: Dict[Hashable, Any] = dict(results)
        self.total = total if total is not None else len(self.errors) + len(self.results)
        first = next(iter(self.errors.values()), None)
        msg = f"{len(self.errors)} of {self.total} file(s) failed"
        if first is not None:
            msg += f"; first: {first.code}: {first.message}"
        Exception.__init__(self, msg)
        # OSError's fields, for the subclasses that are also OSErrors.
        if first is not None and isinstance(self, OSError):
            self.errno = _ERRNO.get(first.builtin(), errno.EIO)
            self.strerror = msg
            self.filename = first.path

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self):  # type: ignore[override]
        return (_rebuild_batch_error, (self.errors, self.results, self.total))

    def exceptions(self) -> Dict[Hashable, OSError]:
        """Each failure as a builtin OSError (FileNotFoundError, PermissionError, ...)."""
        return {k: e.exception() for k, e in self.errors.items()}


class BatchFileNotFoundError(BatchError, FileNotFoundError):
    """A BatchError whose failures are all missing files."""


class BatchPermissionError(BatchError, PermissionError):
    """A BatchError whose failures are all refused permissions."""


class BatchIsADirectoryError(BatchError, IsADirectoryError):
    """A BatchError whose failures are all directories where files were expected."""


class BatchNotADirectoryError(BatchError, NotADirectoryError):
    """A BatchError whose failures are all files where directories were expected."""


class BatchFileExistsError(BatchError, FileExistsError):
    """A BatchError whose failures are all existing files."""


_BATCH_CLASSES: Dict[Type[OSError], Type[BatchError]] = {
    FileNotFoundError: BatchFileNotFoundError,
    PermissionError: BatchPermissionError,
    IsADirectoryError: BatchIsADirectoryError,
    NotADirectoryError: BatchNotADirectoryError,
    FileExistsError: BatchFileExistsError,
}


def batch_error(errors: Mapping[Hashable, FileError], results: Mapping[Hashable, Any],
                total: Optional[int] = None) -> BatchError:
    """The BatchError to raise: its OSError subclass when every failure maps
    to the same builtin."""
    kinds = {e.builtin() for e in errors.values()}
    cls = _BATCH_CLASSES.get(kinds.pop(), BatchError) if len(kinds) == 1 else BatchError
    return cls(errors, results, total)


def _rebuild_batch_error(errors, results, total):  # pickling across processes (Dask)
    return batch_error(errors, results, total)


__all__ = ["BatchError", "DaemonError", "DaemonUnavailable", "FileError", "Problem",
           "ValidationError", "batch_error"]
