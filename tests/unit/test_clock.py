"""The real clock: its sleep, in slices; a :class:`Deadline` and its arithmetic, on a fake clock."""

from __future__ import annotations

import time

import pytest

from certyn_action.clock import WAKE_SECONDS, Deadline, SystemClock
from tests.fakes import FakeClock


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


def test_after_is_seconds_from_now_or_from_a_given_moment() -> None:
    clock = FakeClock(now=1000.0)
    assert Deadline.after(clock, 30) == Deadline(1030.0, clock)
    assert Deadline.after(clock, 30, since=900.0) == Deadline(930.0, clock)  # since: a stamp, earlier or not
    assert Deadline.after(clock, 0) == Deadline(1000.0, clock)
    clock.advance(5)
    assert Deadline.after(clock, 30).at == 1035.0  # read when asked, not when the clock was made


def test_left_counts_down_with_the_clock_and_goes_negative_once_passed() -> None:
    clock = FakeClock(now=1000.0)
    deadline = Deadline(1010.0, clock)
    assert deadline.left() == 10.0
    clock.advance(9.5)
    assert deadline.left() == 0.5
    clock.advance(2)
    assert deadline.left() == -1.5


def test_passed_at_the_very_instant_and_not_a_moment_before() -> None:
    clock = FakeClock(now=1000.0)
    deadline = Deadline(1010.0, clock)
    assert not deadline.passed()
    clock.now = 1009.75
    assert not deadline.passed()
    clock.now = 1010.0  # the boundary: it has come (nothing more is started)
    assert deadline.passed()
    clock.now = 1010.25
    assert deadline.passed()


def test_earlier_is_the_sooner_of_the_two_either_way_round() -> None:
    clock = FakeClock(now=1000.0)
    soon, late = Deadline(1005.0, clock), Deadline(1050.0, clock)
    assert soon.earlier(late) is soon
    assert late.earlier(soon) is soon
    same = Deadline(1005.0, clock)
    assert soon.earlier(same) is soon  # a tie keeps this one


def test_capped_is_this_deadline_or_seconds_from_now_when_sooner() -> None:
    clock = FakeClock(now=1000.0)
    deadline = Deadline(1020.0, clock)
    assert deadline.capped(5) == Deadline(1005.0, clock)  # one attempt's timeout comes first
    assert deadline.capped(60) is deadline  # the deadline comes first
    assert deadline.capped(20) == Deadline(1020.0, clock)  # both at once: the same instant
    clock.advance(18)
    assert deadline.capped(5) is deadline  # from now: 1023 is later than 1020
    assert deadline.capped(1.5) == Deadline(1019.5, clock)


def test_earlier_by_keeps_seconds_back_before_it() -> None:
    clock = FakeClock(now=1000.0)
    deadline = Deadline(1010.0, clock)
    assert deadline.earlier_by(3) == Deadline(1007.0, clock)
    assert deadline.earlier_by(3).left() == 7.0
    assert deadline.earlier_by(10).passed()  # at the boundary: nothing left
    assert deadline.earlier_by(0) == deadline


def test_a_deadline_is_no_number_and_no_tuple() -> None:
    # mypy --strict keeps durations (float seconds) and ends (Deadline) apart; at run time, too, a Deadline takes
    # part in no arithmetic nor ordering (a NamedTuple would compare and concatenate as a tuple)
    deadline = Deadline(1010.0, FakeClock())
    with pytest.raises(TypeError):
        deadline - 5  # type: ignore[operator]
    with pytest.raises(TypeError):
        deadline + 5.0  # type: ignore[operator]
    with pytest.raises(TypeError):
        min(deadline, Deadline(1020.0, FakeClock()))  # type: ignore[call-overload]
