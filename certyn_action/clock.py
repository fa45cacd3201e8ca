"""Time, injected everywhere so that tests never really wait."""

from __future__ import annotations

import time
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Deadline:
    """When something must be over: a monotonic time on ``clock``. A duration travels as seconds (a float named
    ``..._seconds``); an end travels as a Deadline, so the two never mix."""

    at: float
    clock: Clock

    @classmethod
    def after(cls, clock: Clock, seconds: float, since: float | None = None) -> Deadline:
        """``seconds`` after ``since`` (a ``clock.monotonic()`` value), or from now."""
        return cls((clock.monotonic() if since is None else since) + seconds, clock)

    def left(self) -> float:
        """The seconds until it: negative once it has passed."""
        return self.at - self.clock.monotonic()

    def passed(self) -> bool:
        """It has come (at the very instant, too): nothing more is started."""
        return self.clock.monotonic() >= self.at

    def earlier(self, other: Deadline) -> Deadline:
        """The sooner of the two."""
        return other if other.at < self.at else self

    def capped(self, seconds: float) -> Deadline:
        """This deadline, or ``seconds`` from now when that is sooner (one attempt's own timeout)."""
        return self.earlier(Deadline.after(self.clock, seconds))

    def earlier_by(self, seconds: float) -> Deadline:
        """``seconds`` before this deadline (time kept back for what must follow)."""
        return Deadline(self.at - seconds, self.clock)
