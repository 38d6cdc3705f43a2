"""Whole seconds between tap runs in tests.

Marketo keeps whole seconds, and the tap leaves the second it runs in to the next run (an
export window needs ``end > start``), so a change a test writes in the second a run ended
would wait one more run. A test's run from state therefore starts in a later whole second
than the previous run ended. Shared by the test folders that run the tap in process
(tests/ is on the import path through tests/conftest.py).
"""

from __future__ import annotations

import math
import time

_LAST_RUN = {"ended": 0.0}  # time.time() when the last in-process run returned


def wait_for_next_second() -> None:
    """Sleep (at most a second) until the second after the last run ended."""
    wait = math.floor(_LAST_RUN["ended"]) + 1 - time.time()
    if wait > 0:
        time.sleep(wait)


def run_ended() -> None:
    _LAST_RUN["ended"] = time.time()
