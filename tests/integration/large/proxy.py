# SPDX-License-Identifier: MIT
"""The fault-injecting S3 proxy of these tests: tests/faultproxy.py (one
proxy for every suite; see its doc). This module only re-exports it, for
the suites that `from proxy import ...`."""

import os
import sys

_TESTS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from faultproxy import *  # noqa: E402,F401,F403
from faultproxy import (HOP_BY_HOP, Cut, CutResponseAfter, DelayBody, DelayHead,  # noqa: E402,F401
                        FaultProxy, FlipRequestByte, FlipResponseByte, Outage, Reply, Reset,
                        Rule, Seen, Stall, Truncate, is_abort, is_object_get, is_part_put,
                        is_range_get)
