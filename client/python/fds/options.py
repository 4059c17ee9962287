# SPDX-License-Identifier: MIT
"""S3Options and TransferConfig: what a call tells fdsd beyond its paths."""

from __future__ import annotations

import atexit
import operator
import os
import threading
import urllib.parse
from dataclasses import dataclass
from typing import Any, Dict, Optional, Union

from ._varlink import Pool, default_socket


@dataclass(frozen=True)
class TransferConfig:
    """How large files move, boto3's ``TransferConfig`` by another name.

    None leaves a setting to the daemon, whose defaults are boto3's:
    multipart above 8 MiB in 8 MiB parts, 10 parts in flight, no bandwidth
    cap, 5 attempts.

    Attributes:
        multipart_threshold: Files larger than this (bytes) move in parts.
        multipart_chunksize: Part size in bytes (5 MiB..5 GiB).
        max_concurrency: Parts of one file in flight.
        max_bandwidth: Bytes per second for the call.
        num_attempts: Tries per S3 request, the first included.
        use_multipart: False: one request per file (the opt-out).
        retry_time_budget: Seconds a request waits for an S3 endpoint that
            fails everything (an outage) before its attempts count again;
            0: attempts only. Not in boto3.
        copy_cutoff: S3 to S3, objects up to this many bytes are copied by
            one CopyObject (the server copies without moving the bytes),
            larger ones in parts; 5 MiB..5 GiB, 4768 MiB by default (as
            rclone's ``--s3-copy-cutoff``). Not in boto3, which copies in
            parts above ``multipart_threshold``.
    """

    multipart_threshold: Optional[int] = None
    multipart_chunksize: Optional[int] = None
    max_concurrency: Optional[int] = None
    max_bandwidth: Optional[int] = None
    num_attempts: Optional[int] = None
    use_multipart: Optional[bool] = None
    retry_time_budget: Optional[int] = None
    copy_cutoff: Optional[int] = None

    @classmethod
    def coerce(cls, config: Any) -> "TransferConfig":
        """An fds TransferConfig from itself or from anything shaped like
        boto3's ``boto3.s3.transfer.TransferConfig`` (read by attribute, so
        boto3 need not be importable): ``use_threads=False`` means one part
        at a time, ``num_download_attempts`` the attempts."""
        if isinstance(config, cls):
            return config
        get = lambda name: getattr(config, name, None)  # noqa: E731
        concurrency = get("max_concurrency")
        if get("use_threads") is False:
            concurrency = 1
        attempts = get("num_attempts")
        if attempts is None:
            attempts = get("num_download_attempts")
        return cls(multipart_threshold=get("multipart_threshold"),
                   multipart_chunksize=get("multipart_chunksize"),
                   max_concurrency=concurrency,
                   max_bandwidth=get("max_bandwidth"),
                   num_attempts=attempts,
                   use_multipart=get("use_multipart"),
                   retry_time_budget=get("retry_time_budget"),
                   copy_cutoff=get("copy_cutoff"))

    def to_wire(self) -> Dict[str, Any]:
        """options.transfer of the varlink interface."""
        out: Dict[str, Any] = {}
        for name, key in (("use_multipart", "multipart"),
                          ("multipart_threshold", "multipart_threshold"),
                          ("multipart_chunksize", "multipart_chunksize"),
                          ("max_concurrency", "max_concurrency"),
                          ("max_bandwidth", "max_bandwidth"),
                          ("num_attempts", "max_attempts"),
                          ("retry_time_budget", "retry_time_budget"),
                          ("copy_cutoff", "copy_cutoff")):
            v = getattr(self, name)
            if v is not None:
                out[key] = bool(v) if name == "use_multipart" else int(v)
        return out


def _priority(value: Any) -> int:
    """value as a call's priority: an integer 1..100 (a bool is not one)."""
    if not isinstance(value, bool):
        try:
            p = operator.index(value)
        except TypeError:
            pass
        else:
            if 1 <= p <= 100:
                return p
    raise ValueError(f"priority must be None or an integer from 1 to 100, not {value!r}")


_S3_FIELDS = ("endpoint_url", "region", "addressing_style", "profile", "access_key_id",
              "secret_access_key", "session_token")


class S3Options:
    """Where S3 is, who the caller is there, and how fdsd should move files.

    Every S3 setting left None falls back to the daemon's own (its settings
    file, its environment, ~/.aws, instance metadata). One S3Options may be
    shared by any number of threads and survives fork: it holds a pool of
    connections to fdsd, reused across calls, one per call in flight, and
    made anew in a forked child. Connections to one socket are shared by
    every S3Options of the process; ``close()`` (or ``with``) closes the idle
    ones, and interpreter exit closes them all.

    Args:
        endpoint_url: S3 endpoint, e.g. ``http://127.0.0.1:7480``.
        region: Signing region.
        profile: Profile of ~/.aws/config to use.
        addressing_style: ``"path"`` or ``"virtual"``.
        access_key_id: Access key (with secret_access_key).
        secret_access_key: Secret key.
        session_token: Session token of temporary credentials.
        local_parallelism: Files of one call in flight: None the daemon's
            default, 1 one at a time, n up to n at once.
        transfer_config: An ``fds.TransferConfig`` or a boto3
            ``TransferConfig``.
        socket: fdsd's socket; default ``$FDS_SOCKET``, else
            ``$XDG_RUNTIME_DIR/fds/fdsd.sock``, else ``/run/fds/fdsd.sock``.
        priority: The call's share of file starts when fdsd's slots are
            all busy, 1..100: None the daemon's default (10); a call of 40
            starts 4 files for every one of a call of 10 of the same user.
    """

    def __init__(self, endpoint_url: Optional[str] = None, region: Optional[str] = None,
                 profile: Optional[str] = None, addressing_style: Optional[str] = None,
                 access_key_id: Optional[str] = None, secret_access_key: Optional[str] = None,
                 session_token: Optional[str] = None, local_parallelism: Optional[int] = None,
                 transfer_config: Any = None, socket: Optional[str] = None,
                 priority: Optional[int] = None) -> None:
        if addressing_style not in (None, "path", "virtual"):
            raise ValueError(f"addressing_style must be 'path' or 'virtual', not {addressing_style!r}")
        if local_parallelism is not None and int(local_parallelism) < 1:
            raise ValueError(f"local_parallelism must be None or at least 1, not {local_parallelism!r}")
        if priority is not None:
            priority = _priority(priority)
        self.endpoint_url = endpoint_url
        self.region = region
        self.profile = profile
        self.addressing_style = addressing_style
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.session_token = session_token
        self.local_parallelism = None if local_parallelism is None else int(local_parallelism)
        self.priority = priority
        self.transfer_config = (None if transfer_config is None
                                else TransferConfig.coerce(transfer_config))
        self.socket = socket
        self._pool: Optional[Pool] = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        shown = {k: getattr(self, k) for k in ("endpoint_url", "region", "profile",
                                              "addressing_style", "local_parallelism",
                                              "priority", "transfer_config", "socket")}
        shown["credentials"] = "set" if self.access_key_id else None
        body = ", ".join(f"{k}={v!r}" for k, v in shown.items() if v is not None)
        return f"S3Options({body})"

    # Pickled (to Dask or Ray workers, multiprocessing) without connections:
    # the receiving process opens its own, to its own socket if it names one.
    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state["_pool"] = None
        del state["_lock"]
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        state.setdefault("priority", None)  # pickled by a client before priority
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @classmethod
    def from_boto3(cls, client: Any, transfer_config: Any = None, **kwargs: Any) -> "S3Options":
        """The endpoint, region, addressing style and resolved credentials of
        an existing boto3 S3 client (boto3 itself is not imported).

        Args:
            client: A ``boto3.client("s3")``.
            transfer_config: As for the constructor.
            **kwargs: Other constructor arguments (local_parallelism,
                priority, socket).
        """
        meta = client.meta
        endpoint = getattr(meta, "endpoint_url", None)
        host = urllib.parse.urlsplit(endpoint).hostname or "" if endpoint else ""
        if host.endswith(".amazonaws.com") or host.endswith(".amazonaws.com.cn"):
            endpoint = None  # AWS itself: fdsd picks the endpoint, virtual-hosted
        style = None
        s3cfg = getattr(getattr(meta, "config", None), "s3", None) or {}
        if s3cfg.get("addressing_style") in ("path", "virtual"):
            style = s3cfg["addressing_style"]
        creds = None
        signer = getattr(client, "_request_signer", None)
        if signer is not None:
            creds = getattr(signer, "_credentials", None)
        key = secret = token = None
        if creds is not None:
            frozen = creds.get_frozen_credentials() if hasattr(creds, "get_frozen_credentials") else creds
            key, secret, token = frozen.access_key, frozen.secret_key, frozen.token
        return cls(endpoint_url=endpoint, region=getattr(meta, "region_name", None),
                   addressing_style=style, access_key_id=key, secret_access_key=secret,
                   session_token=token, transfer_config=transfer_config, **kwargs)

    def s3_wire(self) -> Dict[str, Any]:
        """options.s3 of the varlink interface."""
        return {k: getattr(self, k) for k in _S3_FIELDS if getattr(self, k) is not None}

    def wire(self, s3: bool = True) -> Dict[str, Any]:
        """The call's options: parallelism, priority, transfer, and (with s3)
        options.s3."""
        out: Dict[str, Any] = {}
        if self.local_parallelism is not None:
            out["parallelism"] = self.local_parallelism
        if self.priority is not None:
            out["priority"] = self.priority
        if self.transfer_config is not None:
            t = self.transfer_config.to_wire()
            if t:
                out["transfer"] = t
        if s3:
            o = self.s3_wire()
            if o:
                out["s3"] = o
        return out

    def pool(self) -> Pool:
        """This object's connections to fdsd (made on first use)."""
        p = self._pool
        if p is None:
            with self._lock:
                if self._pool is None:
                    self._pool = _shared_pool(self.socket or default_socket())
                p = self._pool
        return p

    def close(self) -> None:
        """Close the idle connections to fdsd; later calls open new ones."""
        p, self._pool = self._pool, None
        if p is not None:
            p.close()

    def __enter__(self) -> "S3Options":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()



# One pool per socket path and process, closed at exit: S3Options made per
# call (as the seed's users do) still reuse connections.
_shared: Dict[str, Pool] = {}
_shared_lock = threading.Lock()


@atexit.register
def _close_shared() -> None:
    for p in list(_shared.values()):
        p.close()


def _shared_pool(path: str) -> Pool:
    with _shared_lock:
        p = _shared.get(path)
        if p is None:
            p = Pool(path)
            _shared[path] = p
        return p


def options_for(s3_options: Optional[S3Options], socket: Optional[str] = None) -> S3Options:
    """The S3Options a call uses: the caller's, or a bare one (no S3) for
    s3_options=None."""
    if s3_options is not None:
        return s3_options
    return S3Options(socket=socket)


OptionsArg = Optional[S3Options]
PathArg = Union[str, "os.PathLike[str]"]
