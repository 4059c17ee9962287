# SPDX-License-Identifier: MIT
"""The daemon's running calls, seen and steered: calls, cancel,
set_bandwidth, get_bandwidth (fdsctl calls, cancel, bwlimit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from ._varlink import IFACE, DaemonError
from .options import S3Options, options_for

# What options.transfer.max_bandwidth takes (0 is "no cap").
_MIN_RATE, _MAX_RATE = 1024, 1 << 50


@dataclass(frozen=True)
class CallInfo:
    """One call fdsd is running (any user's; no paths are shown).

    Attributes:
        id: What cancel and set_bandwidth take.
        method: ``Copy``, ``Size``, ``Read`` or ``List``.
        uid, pid: Who called.
        state: ``starting`` (settings, expansion, validation), ``running``,
            ``paused`` (its client reads replies slower than they come) or
            ``canceling``.
        files: The call's files, after expansion (0 for List).
        files_ok, files_failed, files_in_flight, files_queued: Of them.
        bytes: Moved so far: S3 bodies as they move, others as they finish.
        bytes_per_second: bytes over the call's life.
        seconds: Since the call started.
        max_bandwidth: The call's cap in bytes per second; None: none.
    """

    id: int
    method: str
    uid: int
    pid: int
    state: str
    files: int
    files_ok: int
    files_failed: int
    files_in_flight: int
    files_queued: int
    bytes: int
    bytes_per_second: int
    seconds: float
    max_bandwidth: Optional[int]

    @classmethod
    def from_wire(cls, c: Dict[str, Any]) -> "CallInfo":
        return cls(**{k: c[k] for k in cls.__dataclass_fields__ if k != "max_bandwidth"},
                   max_bandwidth=c["max_bandwidth"] or None)


def _call(s3_options: Optional[S3Options], method: str, params: Dict[str, Any]) -> Dict[str, Any]:
    try:
        return options_for(s3_options).pool().call(f"{IFACE}.{method}", params)
    except DaemonError as e:
        if e.name == f"{IFACE}.NoSuchCall":
            raise ProcessLookupError(f"no running call has id {e.parameters.get('id')}") from e
        if e.name == f"{IFACE}.NotPermitted":
            raise PermissionError(e.parameters.get("reason", "not permitted")) from e
        raise


def _calls(s3_options: Optional[S3Options]) -> Dict[str, Any]:
    return _call(s3_options, "Calls", {})


def calls(s3_options: Optional[S3Options] = None) -> List[CallInfo]:
    """The calls fdsd is running now, every user's, oldest first.

    Args:
        s3_options: Names the socket (None: the default one).
    """
    return [CallInfo.from_wire(c) for c in _calls(s3_options)["calls"]]


def cancel(call_id: int, s3_options: Optional[S3Options] = None) -> bool:
    """Cancel a running call, as ``fdsctl cancel``.

    Its files not yet finished end with the error ``Canceled`` (temporary
    files removed, multipart uploads aborted); its caller still gets every
    result, so a ``do_copy`` that is canceled raises a BatchError whose
    errors say ``Canceled``.

    Returns:
        True when canceled; False when it was already ending.

    Raises:
        ProcessLookupError: No running call has this id (it may have just
            finished).
        PermissionError: The call is another user's (only root may).
    """
    if isinstance(call_id, bool) or not isinstance(call_id, int) or call_id < 0:
        raise ValueError(f"call_id must be an int >= 0, not {call_id!r}")
    return bool(_call(s3_options, "Cancel", {"id": call_id})["canceled"])


def set_bandwidth(bytes_per_second: Optional[int], call_id: Optional[int] = None,
                  s3_options: Optional[S3Options] = None) -> None:
    """Change a bandwidth cap while transfers run, as ``fdsctl bwlimit``.

    Args:
        bytes_per_second: The cap, 1024 to 2**50; None or 0: no cap.
        call_id: That call's cap (its user or root may); None: the
            daemon's (root or the user fdsd runs as), until fdsd restarts.
        s3_options: Names the socket (None: the default one).

    Raises:
        ValueError: A cap out of range.
        ProcessLookupError: No running call has call_id.
        PermissionError: Not this user's to change.
    """
    rate = bytes_per_second or 0
    if isinstance(rate, bool) or not isinstance(rate, int) or (rate and not _MIN_RATE <= rate <= _MAX_RATE):
        raise ValueError(f"bytes_per_second must be None, 0 or {_MIN_RATE}..2**50, not {bytes_per_second!r}")
    params: Dict[str, Any] = {"max_bandwidth": rate}
    if call_id is not None:
        if isinstance(call_id, bool) or not isinstance(call_id, int) or call_id < 0:
            raise ValueError(f"call_id must be an int >= 0, not {call_id!r}")
        params["id"] = call_id
    _call(s3_options, "SetBandwidth", params)


def get_bandwidth(s3_options: Optional[S3Options] = None) -> Optional[int]:
    """The daemon's bandwidth cap in bytes per second; None: none."""
    return _calls(s3_options)["max_bandwidth"] or None
