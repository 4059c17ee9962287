# SPDX-License-Identifier: MIT
"""fds: file transfers between local disks and S3 through fdsd, the
node-local transfer daemon, from Python.

    from fds import S3Options, do_copy, read_file_contents

    opts = S3Options(endpoint_url="http://127.0.0.1:7480", region="us-east-1")
    do_copy([("/data/a.bin", "s3://bucket/a.bin")], opts)
    blobs = read_file_contents({"a": "s3://bucket/a.bin"}, opts)

Pure standard library: it speaks fdsd's varlink protocol over the Unix
socket (``$FDS_SOCKET``, else ``$XDG_RUNTIME_DIR/fds/fdsd.sock``, else
``/run/fds/fdsd.sock``). ``fds.dataset`` works on pandas DataFrames,
``fds.dask`` on dask DataFrames.
"""

from ._varlink import DaemonError, DaemonUnavailable, default_socket
from .control import CallInfo, calls, cancel, get_bandwidth, set_bandwidth
from .errors import (BatchError, BatchFileExistsError, BatchFileNotFoundError,
                     BatchIsADirectoryError, BatchNotADirectoryError, BatchPermissionError,
                     FileError, Problem, ValidationError)
from .listing import ListEntry, iter_files, list_files
from .options import S3Options, TransferConfig
from .transfer import (CopyResult, copy_iter, do_copy, read_file_contents, read_file_sizes,
                       status)

__version__ = "0.1.0"

__all__ = [
    "BatchError", "BatchFileExistsError", "CallInfo", "BatchFileNotFoundError", "BatchIsADirectoryError",
    "BatchNotADirectoryError", "BatchPermissionError", "CopyResult", "DaemonError",
    "DaemonUnavailable", "FileError", "calls", "cancel", "get_bandwidth", "set_bandwidth", "ListEntry", "Problem", "S3Options", "TransferConfig",
    "ValidationError", "copy_iter", "default_socket", "do_copy", "iter_files", "list_files",
    "read_file_contents", "read_file_sizes", "status",
]
