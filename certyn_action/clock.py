"""Time, injected everywhere so that tests never really wait."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock. ``sleep`` is interrupted by our signal handler (it raises), see ``signals``."""

    monotonic = staticmethod(time.monotonic)  # the very function: a guard stamping with it is on this clock

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
