"""Time, injected everywhere so that tests never really wait."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


# The longest a wait blocks at once. A signal that lands just before the thread blocks does not wake it (Python only
# notes it): it is acted on when the slice ends.
WAKE_SECONDS = 0.25


class SystemClock:
    """The real clock. ``sleep`` is interrupted by our signal handler (it raises), see ``signals``."""

    monotonic = staticmethod(time.monotonic)  # the very function: a guard stamping with it is on this clock

    def sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, WAKE_SECONDS))
