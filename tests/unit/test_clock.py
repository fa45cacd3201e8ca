"""The real clock: its sleep, in slices."""

from __future__ import annotations

import time

import pytest

from certyn_action.clock import WAKE_SECONDS, SystemClock


def test_a_sleep_is_slept_in_slices_a_lost_signal_cannot_outlast(monkeypatch: pytest.MonkeyPatch) -> None:
    # A signal that lands just before the thread blocks wakes nothing (Python only notes it): a poll interval
    # or a backoff was slept to its end. Each slice ends it. (No real sleep: time is faked.)
    now, slept = [0.0], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(time, "sleep", sleep)
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    SystemClock().sleep(1.0)
    assert slept == [WAKE_SECONDS] * 4
    SystemClock().sleep(0)
    assert len(slept) == 4
