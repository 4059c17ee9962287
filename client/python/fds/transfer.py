# SPDX-License-Identifier: MIT
"""The seed's calls: do_copy, copy_iter, read_file_sizes, read_file_contents."""

from __future__ import annotations

import binascii
import os
import dataclasses
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from typing import (Any, Callable, Dict, Hashable, Iterator, List, Mapping, Optional,
                    Sequence, Tuple, Union)

from ._varlink import IFACE, DaemonError, DaemonUnavailable
from .errors import FileError, Problem, ValidationError, batch_error
from .options import S3Options, options_for

PathLike = Union[str, "os.PathLike[str]"]
Progress = Union[None, bool, Callable[["CopyResult"], Any], Any]

INVALID_REQUEST = IFACE + ".InvalidRequest"
READ_LIMIT = IFACE + ".ReadLimitExceeded"


@dataclass(frozen=True)
class CopyResult:
    """One finished copy.

    Attributes:
        index: Position in the copies sequence.
        src: The source, as given (relative local paths made absolute).
        dst: The destination, likewise.
        ok: True if the file was copied.
        bytes: Bytes copied.
        attempts: S3 transfers: tries the request took, retries included.
        verified: S3 downloads: True when every byte was checked against
            the object's ETag.
        error: Why it failed (None if ok).
    """

    index: int
    src: str
    dst: str
    ok: bool
    bytes: int
    attempts: Optional[int] = None
    verified: Optional[bool] = None
    error: Optional[FileError] = None


def _path(p: PathLike) -> str:
    s = os.fspath(p)
    if isinstance(s, bytes):
        s = os.fsdecode(s)
    if not isinstance(s, str):
        raise TypeError(f"a path must be str or os.PathLike, not {type(p).__name__}")
    if s.startswith("s3://") or os.path.isabs(s) or not s:
        return s
    # As fdsctl does: relative to the caller's working directory.
    return os.path.join(os.getcwd(), s)


def _is_s3(p: str) -> bool:
    return p.startswith("s3://")


def _problems(reply: Mapping[str, Any]) -> List[Problem]:
    return [Problem(path=p.get("path", ""), reason=p.get("reason", ""), index=p.get("index"),
                    key=p.get("key")) for p in reply.get("problems", [])]


def _raise_daemon_error(e: DaemonError) -> None:
    if e.name == INVALID_REQUEST:
        raise ValidationError(_problems(e.parameters)) from None
    raise e


def _local_copy_problems(pairs: Sequence[Tuple[str, str]], s3_allowed: bool) -> List[Problem]:
    """What can be told without the daemon: S3 paths without S3 options,
    duplicate destinations, missing local sources."""
    out: List[Problem] = []
    seen: Dict[str, int] = {}
    for i, (src, dst) in enumerate(pairs):
        for p in (src, dst):
            if _is_s3(p) and not s3_allowed:
                out.append(Problem(path=p, reason="an S3 path needs s3_options", index=i))
        if not _is_s3(src) and src and not os.path.exists(src):
            out.append(Problem(path=src, reason="source does not exist", index=i))
        if dst in seen:
            out.append(Problem(path=dst, reason=f"duplicate destination (also #{seen[dst]})",
                               index=i))
        else:
            seen[dst] = i
    return out


def _progress_hook(progress: Progress, total: int) -> Tuple[Optional[Callable[[CopyResult], Any]],
                                                          Optional[Callable[[], Any]]]:
    """(per-file callback, closer) for progress: a callable taking each
    CopyResult, an object with update(n) such as a tqdm bar, or True for a
    tqdm bar of our own (when tqdm is installed)."""
    if progress is None or progress is False:
        return None, None
    if progress is True:
        try:
            from tqdm import tqdm  # type: ignore  # pylint: disable=import-outside-toplevel
        except ImportError:
            return None, None
        bar = tqdm(total=total, unit="file")
        return (lambda r: bar.update(1)), bar.close
    if hasattr(progress, "update"):
        return (lambda r: progress.update(1)), None
    if not callable(progress):
        raise TypeError("progress must be a callable, an object with update(n), True or None")
    return progress, None


def copy_iter(copies: Sequence[Tuple[PathLike, PathLike]], s3_options: Optional[S3Options] = None,
              *, progress: Progress = None, validate: bool = True) -> Iterator[CopyResult]:
    """Copy files, yielding each file's result as it finishes.

    Args:
        copies: ``(src, dst)`` pairs; each an absolute or relative local
            path or ``s3://bucket/key``, in any mix.
        s3_options: S3 settings and connection; None allows no S3 path.
        progress: A callable taking each CopyResult, a tqdm bar (or anything
            with ``update(n)``), or True for a tqdm bar when tqdm is installed.
        validate: False skips the existence checks before the first file
            starts: a missing source is then only that file's error.

    Yields:
        CopyResult, in the order files finish (``index`` says which).

    Raises:
        ValidationError: The batch was refused; nothing moved.
        DaemonError: fdsd could not be reached or refused the call.
    """
    pairs = [(_path(s), _path(d)) for s, d in copies]
    if s3_options is None and any(_is_s3(s) or _is_s3(d) for s, d in pairs):
        # The daemon cannot check S3 without options: list what we can tell
        # ourselves (it finds the same local problems otherwise).
        raise ValidationError(_local_copy_problems(pairs, False))
    if not pairs:
        return
    opts = options_for(s3_options)
    params: Dict[str, Any] = {"copies": [{"src": s, "dst": d} for s, d in pairs]}
    o = opts.wire(s3=s3_options is not None)
    if not validate:
        o["validate"] = False
    if o:
        params["options"] = o
    hook, close = _progress_hook(progress, len(pairs))
    try:
        try:
            for reply in opts.pool().stream(f"{IFACE}.Copy", params, more=True):
                r = reply.get("result")
                if r is None:
                    continue
                err = r.get("error")
                res = CopyResult(index=r["index"], src=r.get("src", ""), dst=r.get("dst", ""),
                                 ok=bool(r.get("ok")), bytes=int(r.get("bytes", 0)),
                                 attempts=r.get("attempts"), verified=r.get("verified"),
                                 error=FileError.from_wire(err, r.get("src")) if err else None)
                if hook is not None:
                    hook(res)
                yield res
        except DaemonError as e:
            _raise_daemon_error(e)
    finally:
        if close is not None:
            close()


#: How often do_copy(resume=...) resubmits after fdsd went away.
RESUME_MAX_RESTARTS = 3


def _wait_for_daemon(path: str, timeout: float) -> bool:
    """Whether fdsd's socket accepts a connection again within timeout."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)
        finally:
            s.close()


def do_copy(copies: Sequence[Tuple[PathLike, PathLike]], s3_options: Optional[S3Options] = None,
            *, progress: Progress = None, validate: bool = True,
            resume: Union[bool, float] = False) -> List[CopyResult]:
    """Copy files: local to local, local to S3, S3 to local, S3 to S3 (server-side).

    A batch is validated as a whole before anything moves; then files move
    up to ``s3_options.local_parallelism`` at a time.

    Args:
        copies: ``(src, dst)`` pairs; each an absolute or relative local
            path or ``s3://bucket/key``.
        s3_options: S3 settings and connection; None allows no S3 path.
        progress: See copy_iter.
        validate: See copy_iter.
        resume: If fdsd goes away mid-batch (a restart, an upgrade, an OOM
            kill), wait up to this many seconds (True: 60) for its socket to
            come back and send again the files that had not finished, up to
            RESUME_MAX_RESTARTS times. The new fdsd has removed what the old
            one left (temporary files, open multipart uploads), so those
            files start over. False: they fail (BatchError).

    Returns:
        One CopyResult per pair, in the order given.

    Raises:
        ValidationError: The batch was refused; ``.problems`` lists every
            problem, nothing moved.
        BatchError: Some files failed; ``.errors`` by ``(src, dst)``,
            ``.results`` the CopyResults of those that succeeded. When every
            failure is of one kind it is also that builtin error
            (FileNotFoundError, PermissionError, ...).
        DaemonError: fdsd could not be reached or refused the call.
    """
    given = [(os.fspath(s), os.fspath(d)) for s, d in copies]
    results: List[Optional[CopyResult]] = [None] * len(given)
    lost: Optional[BaseException] = None
    wait = 60.0 if resume is True else float(resume or 0)
    if wait < 0:
        raise ValueError(f"resume must be True, False or a number of seconds, not {resume!r}")
    hook, close = _progress_hook(progress, len(given))
    pending = list(range(len(given)))
    try:
        for restart in range(RESUME_MAX_RESTARTS + 1):
            try:
                for r in copy_iter([copies[i] for i in pending], s3_options, validate=validate):
                    if 0 <= r.index < len(pending):
                        r = dataclasses.replace(r, index=pending[r.index])
                        results[r.index] = r
                        if hook is not None:
                            hook(r)
                lost = None
            except ValidationError as e:
                if restart == 0:
                    raise
                # Refused when sent again (a source gone meanwhile): as
                # positions in the caller's sequence.
                raise ValidationError([dataclasses.replace(p, index=pending[p.index])
                                       if p.index is not None and 0 <= p.index < len(pending) else p
                                       for p in e.problems]) from None
            except DaemonUnavailable as e:
                lost = e
                path = options_for(s3_options).pool().path
                if wait and restart < RESUME_MAX_RESTARTS and _wait_for_daemon(path, wait):
                    pending = [i for i in pending if results[i] is None]
                    continue
            except DaemonError as e:
                lost = e
            break
    finally:
        if close is not None:
            close()
    # The daemon went away mid-batch: what finished is kept, the rest failed.
    if lost is not None and not any(results):
        raise lost
    errors: Dict[Hashable, FileError] = {}
    done: Dict[Hashable, CopyResult] = {}
    for i, r in enumerate(results):
        key = given[i]
        if r is None:
            errors[key] = FileError("IOError", f"{key[0]}: fdsd closed the connection before "
                                    "this file finished", path=key[0])
        elif r.ok:
            done[key] = r
        else:
            errors[key] = r.error or FileError("InternalError", "failed", path=key[0])
    if errors:
        raise batch_error(errors, done, len(given)) from lost
    return [r for r in results if r is not None]


def _files_call(method: str, files: Mapping[str, PathLike], s3_options: Optional[S3Options],
                extra: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    paths = {str(k): _path(v) for k, v in files.items()}
    if s3_options is None:
        problems = [Problem(path=p, reason="an S3 path needs s3_options", key=k)
                    for k, p in paths.items() if _is_s3(p)]
        if problems:
            raise ValidationError(problems)
    opts = options_for(s3_options)
    params: Dict[str, Any] = {"files": paths}
    o = opts.wire(s3=s3_options is not None)
    if method == "Size":
        o.pop("transfer", None)
    o.update(extra or {})
    if o:
        params["options"] = o
    try:
        return opts.pool().call(f"{IFACE}.{method}", params)
    except DaemonError as e:
        _raise_daemon_error(e)
        raise


def read_file_sizes(files: Mapping[str, PathLike], s3_options: Optional[S3Options] = None
                    ) -> Dict[str, int]:
    """Sizes in bytes of local files and S3 objects.

    Args:
        files: The caller's keys to paths (local or ``s3://``).
        s3_options: S3 settings and connection; None allows no S3 path.

    Returns:
        Size by key.

    Raises:
        ValidationError: A path is malformed, or S3 without s3_options.
        BatchError: Some files failed; ``.results`` has the sizes found.
    """
    if not files:
        return {}
    reply = _files_call("Size", files, s3_options)
    sizes = {k: int(v) for k, v in reply.get("sizes", {}).items()}
    errors = reply.get("errors") or {}
    if errors:
        raise batch_error({k: FileError.from_wire(e, _path(files[k]) if k in files else None)
                           for k, e in errors.items()}, sizes, len(files))
    return sizes


def _read_by_read(files: Mapping[str, PathLike], s3_options: Optional[S3Options],
                  max_bytes: Optional[int]) -> Tuple[Dict[str, bytes], Dict[str, Any]]:
    reply = _files_call("Read", files, s3_options, {"max_bytes": max_bytes} if max_bytes else None)
    a2b = binascii.a2b_base64
    out = {k: a2b(v) for k, v in reply.get("contents", {}).items()}
    return out, reply.get("errors") or {}


def _temp_root() -> Optional[str]:
    """Where copies read back live: $FDS_TMPDIR, else /dev/shm when it has
    room (memory, no disk writes), else the system's temporary directory."""
    env = os.environ.get("FDS_TMPDIR")
    if env:
        return env
    try:
        st = os.statvfs("/dev/shm")
        if st.f_bavail * st.f_frsize >= (1 << 30) and os.access("/dev/shm", os.W_OK):
            return "/dev/shm"
    except OSError:
        pass
    return None


def _read_by_copy(files: Mapping[str, PathLike], s3_options: Optional[S3Options]
                  ) -> Tuple[Dict[str, bytes], Dict[str, Any]]:
    """fdsd copies each distinct path into a private temporary directory;
    this process reads the files back and removes them."""
    paths = {k: _path(v) for k, v in files.items()}
    unique = sorted(set(paths.values()))
    d = tempfile.mkdtemp(prefix="fds-read-", dir=_temp_root())
    try:
        pairs = [(p, os.path.join(d, f"{i}")) for i, p in enumerate(unique)]
        got: Dict[str, bytes] = {}
        errs: Dict[str, Any] = {}
        for r in copy_iter(pairs, s3_options, validate=False):
            src = unique[r.index]
            if r.ok:
                with open(pairs[r.index][1], "rb", buffering=0) as f:
                    got[src] = f.read()
                os.unlink(pairs[r.index][1])
            else:
                errs[src] = r.error
        contents = {k: got[p] for k, p in paths.items() if p in got}
        errors = {k: errs[p] for k, p in paths.items() if p in errs}
        return contents, errors
    finally:
        shutil.rmtree(d, ignore_errors=True)


def read_file_contents(files: Mapping[str, PathLike], s3_options: Optional[S3Options] = None,
                       *, method: str = "auto", max_bytes: Optional[int] = None
                       ) -> Dict[str, bytes]:
    """Contents of local files and S3 objects.

    Args:
        files: The caller's keys to paths (local or ``s3://``).
        s3_options: S3 settings and connection; None allows no S3 path.
        method: ``"copy"``: fdsd copies each distinct path into a private
            temporary directory (``$FDS_TMPDIR``, else /dev/shm when it has
            1 GiB free, else the system's) and the bytes are read back from
            there: no base64, no size limit. ``"read"``: fdsd's Read call,
            the bytes inline as base64, bounded by the daemon's
            ``--max-read-bytes``. ``"auto"`` (the default): "copy", or
            "read" when max_bytes is given. Measured (tests/bench/python.py):
            the copy way is faster at every size, 20 times at 1 MiB files,
            because fdsd is slow to send a large Read answer.
        max_bytes: With Read, the most bytes the call may return.

    Returns:
        Bytes by key.

    Raises:
        ValidationError: A path is malformed, or S3 without s3_options.
        BatchError: Some files failed; ``.results`` has the contents read.
    """
    if method not in ("auto", "read", "copy"):
        raise ValueError(f"method must be 'auto', 'read' or 'copy', not {method!r}")
    if not files:
        return {}
    if method == "auto" and max_bytes is not None:
        method = "read"
    if method in ("auto", "copy"):
        if s3_options is None:
            _files_call_check(files)
        contents, errors = _read_by_copy(files, s3_options)
    else:
        contents, errors = _read_by_read(files, s3_options, max_bytes)
    if errors:
        raise batch_error({k: (e if isinstance(e, FileError) else
                               FileError.from_wire(e, _path(files[k])))
                           for k, e in errors.items()}, contents, len(files))
    return contents


def _files_call_check(files: Mapping[str, PathLike]) -> None:
    problems = [Problem(path=_path(p), reason="an S3 path needs s3_options", key=str(k))
                for k, p in files.items() if _is_s3(_path(p))]
    if problems:
        raise ValidationError(problems)


def status(s3_options: Optional[S3Options] = None) -> Dict[str, Any]:
    """fdsd's Status: version, uptime, work in flight and counters.

    Args:
        s3_options: Names the socket (None: the default one).
    """
    return options_for(s3_options).pool().call(f"{IFACE}.Status", {})

