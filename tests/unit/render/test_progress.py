"""words.py, while waiting: a log line when something changes, silence otherwise, a heartbeat every minute."""

from __future__ import annotations

from typing import Any

import pytest

from certyn_action.api.models import RunStatus
from certyn_action.render.words import HEARTBEAT_SECONDS, ProgressLog, describe_counts, describe_state


def _status(**fields: Any) -> RunStatus:
    data: dict[str, Any] = {"state": "in_progress", "total": 10, "passed": 2, "pending": 8}
    data.update(fields)
    return RunStatus.model_validate(data)


def test_heartbeat_is_due_a_minute_after_the_last_line() -> None:
    progress = ProgressLog()
    progress.on_status(_status(), 0.0)
    assert progress.until_heartbeat(10.0) == pytest.approx(HEARTBEAT_SECONDS - 10.0)
    assert progress.heartbeat(59.0, "still") is None
    assert progress.heartbeat(60.0, "still") == "[1m 00s] still"
    assert progress.until_heartbeat(61.0) == pytest.approx(59.0)


def test_first_status_prints_a_line() -> None:
    line = ProgressLog().on_status(_status(), 3.0)
    assert line == "[3s] in_progress — 2/10 done: 2 passed, 0 failed, 0 blocked, 8 pending"


def test_unchanged_status_prints_nothing_until_the_heartbeat() -> None:
    progress = ProgressLog()
    assert progress.on_status(_status(), 0.0) is not None
    for now in (10.0, 30.0, 59.9):
        assert progress.on_status(_status(), now) is None
    heartbeat = progress.on_status(_status(), 60.0)
    assert heartbeat == "[1m 00s] still in_progress — 2/10 done: 2 passed, 0 failed, 0 blocked, 8 pending"
    assert progress.on_status(_status(), 61.0) is None
    assert progress.on_status(_status(), 119.9) is None
    assert progress.on_status(_status(), 120.0) is not None


def test_every_change_prints_a_line() -> None:
    progress = ProgressLog()
    assert progress.on_status(_status(), 0.0) is not None
    changes: list[dict[str, Any]] = [
        {"passed": 3, "pending": 7},
        {"passed": 3, "pending": 6, "failed": 1},
        {"passed": 3, "pending": 5, "failed": 1, "blocked": 1},
        {"state": "running", "passed": 3, "pending": 5, "failed": 1, "blocked": 1},
        {"state": "running", "conclusion": "failure", "passed": 3, "pending": 5, "failed": 1, "blocked": 1},
    ]
    for i, change in enumerate(changes, start=1):
        assert progress.on_status(_status(**change), float(i)) is not None, change


def test_a_change_resets_the_heartbeat() -> None:
    progress = ProgressLog()
    progress.on_status(_status(), 0.0)
    progress.on_status(_status(passed=3, pending=7), 50.0)
    assert progress.on_status(_status(passed=3, pending=7), 100.0) is None
    assert progress.on_status(_status(passed=3, pending=7), 110.0) is not None


def test_heartbeat_with_own_text() -> None:
    progress = ProgressLog(heartbeat_seconds=5.0)
    assert progress.heartbeat(4.0, "waiting") is None
    assert progress.heartbeat(5.0, "waiting") == "[5s] waiting"
    assert progress.heartbeat(9.0, "waiting") is None


def test_describe_counts_omits_zero_optional_counters() -> None:
    assert describe_counts(_status(total=4, passed=4, pending=0)) == "4/4 done: 4 passed, 0 failed, 0 blocked"
    text = describe_counts(_status(total=9, passed=1, failed=1, blocked=1, aborted=2, skipped=3, pending=1))
    assert text == "8/9 done: 1 passed, 1 failed, 1 blocked, 2 aborted, 3 skipped, 1 pending"


def test_describe_counts_survives_inconsistent_counters() -> None:
    assert describe_counts(_status(total=2, passed=0, pending=5)).startswith("0/2 done")
    assert (
        describe_counts(_status(total=2, passed=3, failed=1, pending=0))
        == "4 done: 3 passed, 1 failed, 0 blocked"
    )


def test_done_counts_results_not_total_minus_pending() -> None:
    # a server that leaves out ``pending`` must not make a run that has just started look finished
    started = RunStatus.model_validate({"state": "in_progress", "total": 5})
    assert describe_counts(started) == "0/5 done: 0 passed, 0 failed, 0 blocked"
    partial = RunStatus.model_validate({"state": "in_progress", "total": 5, "passed": 1, "failed": 1})
    assert describe_counts(partial).startswith("2/5 done")


def test_describe_state_is_one_line_and_short() -> None:
    state = describe_state(_status(state="x" * 100 + "\n::error::y", conclusion="c\r\nd"))
    assert "\n" not in state
    assert "\r" not in state
    assert len(state) < 100
    assert describe_state(_status(state=None)) == "unknown state"
    assert describe_state(_status(state="completed", conclusion="success")) == "completed (success)"
