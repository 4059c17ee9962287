# SPDX-License-Identifier: MIT
"""The fault-injecting S3 proxy of these tests is tests/faultproxy.py (one
proxy for every suite; see its doc). This module only re-exports it, for
the suites that `from proxy import ...`."""

import os
import sys

_TESTS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from faultproxy import *  # noqa: E402,F401,F403
