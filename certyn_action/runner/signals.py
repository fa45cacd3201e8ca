"""SIGINT/SIGTERM → a cancellation request, safe for a Python process that is PID 1 in a container.

The runner cancels a job by signalling the ``docker run`` client (SIGINT, then SIGTERM 7.5 s later), which
forwards to our PID 1. The kernel drops signals to PID 1 that have no handler, and Python installs none
for SIGTERM, so both are handled here.

A signal raises :class:`CancelRequested` only inside an ``interruptible()`` block (waiting on HTTP or
sleeping); anywhere else it is recorded and raised at the next checkpoint, so it never tears a half-written
file. Once a CancelRequested has left its block nothing raises any more: a second signal cannot abort the
cleanup in flight. Until then a checkpoint raises it again: a handler's exception can be lost (Python reports and
drops one raised while a dropped generator is being closed).
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator
from types import FrameType


class CancelRequested(BaseException):
    """Raised in the main thread when the job is being cancelled."""

    @property
    def signal_name(self) -> str:
        return str(self.args[0])


class SignalGuard:
    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self.signal_name: str | None = None
        self.received_at: float | None = None  # ``now()`` of the first signal: the step's clock
        self._now, self._armed, self._raised = now, False, False
        self._blocks = 0  # interruptible blocks entered and not left
        self._previous: dict[int, object] = {}

    def use_clock(self, now: Callable[[], float]) -> None:
        """Stamp signals with the step's (injected) clock from now on, so that every budget is counted on one
        clock. A signal already stamped on another clock counts from now on this one."""
        if now != self._now and self.received_at is not None:
            self.received_at = now()
        self._now = now

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def checkpoint(self) -> None:
        """Raise :class:`CancelRequested` if a signal arrived and no CancelRequested has left its block yet."""
        if self.signal_name is not None and not self._raised:
            raise CancelRequested(self.signal_name)

    def acted_on(self) -> None:
        """The cancel reached the code that acts on it: nothing raises any more, even when its exception left a
        block where the block could not see it go (a signal landing as the block was entered or left)."""
        self._raised = True

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        self._armed = True  # armed first: a signal between the two lines is then raised by one of them
        self._blocks += 1
        try:
            self.checkpoint()
            yield
        except CancelRequested:
            self._raised = True  # acted on: it left the block
            raise
        finally:
            self._armed, self._blocks = False, self._blocks - 1

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Inside an interruptible block: hold a signal back until the block's end (e.g. a file write)."""
        armed, self._armed = self._armed, False
        try:
            yield
        finally:
            self._armed = armed
            if self._blocks:  # also a signal whose exception was lost (its handler disarmed the block)
                self.checkpoint()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signal_name is None:
            self.signal_name, self.received_at = signal.Signals(signum).name, self._now()
        if self._armed:
            self._armed = False
            self.checkpoint()
