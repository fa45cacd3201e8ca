"""models.py: tolerant of missing, null and unknown fields; strict about counters that are garbage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from certyn_action.api.client import ApiError, classify, read_status
from certyn_action.api.http import Reply
from certyn_action.api.models import COUNTERS, MAX_TEXT, TERMINAL_STATES, CreatedRun, RunStatus


def test_empty_status_is_all_zero() -> None:
    status = RunStatus.model_validate({})
    assert status.counts() == dict.fromkeys(COUNTERS, 0)
    assert (status.state, status.conclusion, status.app_url) == ("", "", "")
    assert status.retry_after_seconds is None
    assert not status.is_terminal


@pytest.mark.parametrize("name", COUNTERS)
def test_null_counter_is_zero(name: str) -> None:
    assert getattr(RunStatus.model_validate({name: None}), name) == 0


@pytest.mark.parametrize("name", COUNTERS)
def test_integral_float_counter_is_int(name: str) -> None:
    value = getattr(RunStatus.model_validate({name: 3.0}), name)
    assert value == 3
    assert type(value) is int


@pytest.mark.parametrize("name", COUNTERS)
@pytest.mark.parametrize(
    "bad", [-1, -0.5, 2.5, "lots", "", "3 tests", True, False, [], {}, float("nan"), float("inf")]
)
def test_garbage_counter_is_invalid(name: str, bad: Any) -> None:
    with pytest.raises(ValidationError):
        RunStatus.model_validate({name: bad})


def test_counts_in_order() -> None:
    data = dict(zip(COUNTERS, range(1, 8), strict=True))
    assert list(RunStatus.model_validate(data).counts().items()) == list(data.items())
    assert COUNTERS == ("total", "passed", "failed", "blocked", "pending", "aborted", "skipped")


def test_unknown_fields_ignored() -> None:
    status = RunStatus.model_validate(
        {"state": "completed", "passed": 1, "newField": {"x": [1]}, "failed_v2": 9}
    )
    assert status.passed == 1
    assert status.failed == 0


def test_full_status_response() -> None:
    status = RunStatus.model_validate(
        {
            "runId": "r1",
            "state": "completed",
            "conclusion": "success",
            "total": 3,
            "passed": 3,
            "appUrl": "https://app.certyn.io/runs/r1",
            "startedAt": "2026-01-01T00:00:00Z",
            "completedAt": None,
            "retryAfterSeconds": 5,
        }
    )
    assert status.is_terminal
    assert status.app_url == "https://app.certyn.io/runs/r1"
    assert status.started_at == "2026-01-01T00:00:00Z"
    assert status.completed_at == ""
    assert status.retry_after_seconds == 5.0


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("completed", "completed"),
        ("Completed", "completed"),
        ("COMPLETED", "completed"),
        ("cancelled", "cancelled"),
        ("Canceled", "cancelled"),
        ("CANCELED", "cancelled"),
        (" cancelled ", "cancelled"),
        ("in-progress", "in_progress"),
        ("In Progress", "in_progress"),
        ("RUNNING", "running"),
        (None, ""),
        ("weird_new_state", "weird_new_state"),
    ],
)
def test_state_normalised(raw: str | None, state: str) -> None:
    status = RunStatus.model_validate({"state": raw})
    assert status.state == state
    assert status.is_terminal is (state in TERMINAL_STATES)


def test_terminal_states() -> None:
    assert frozenset({"completed", "cancelled"}) == TERMINAL_STATES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (5, 5.0),
        ("7", 7.0),
        (0.5, 0.5),
        (0, 0.0),
        ("soon", None),
        (None, None),
        (-1, None),
        (float("nan"), None),
        (float("inf"), None),
        ("1e99", None),
        ([], None),
        ({}, None),
    ],
)
def test_retry_after_hint_garbage_is_no_hint(raw: Any, expected: float | None) -> None:
    assert RunStatus.model_validate({"retryAfterSeconds": raw}).retry_after_seconds == expected


@pytest.mark.parametrize(("raw", "text"), [(3, "3"), (2.5, "2.5"), (None, "")])
def test_text_fields_accept_numbers_and_null(raw: Any, text: str) -> None:
    assert RunStatus.model_validate({"conclusion": raw}).conclusion == text


def test_status_is_frozen() -> None:
    status = RunStatus.model_validate({"passed": 1})
    with pytest.raises(ValidationError):
        status.passed = 0  # type: ignore[misc]


# -- CreatedRun -----------------------------------------------------------------------------------


def test_created_run() -> None:
    run = CreatedRun.model_validate(
        {
            "runId": "run_123",
            "statusUrl": "https://api.certyn.io/api/ci/runs/run_123",
            "statusPath": "/api/ci/runs/run_123",
            "appUrl": "https://app.certyn.io/r/123",
            "testCaseCount": 12,
            "message": "Run created",
            "conversationId": None,
        }
    )
    assert (run.run_id, run.app_url, run.test_case_count) == ("run_123", "https://app.certyn.io/r/123", 12)


def test_created_run_id_int_becomes_str() -> None:
    run = CreatedRun.model_validate({"runId": 12345})
    assert run.run_id == "12345"
    assert run.test_case_count is None
    assert run.app_url == ""


@pytest.mark.parametrize(
    "payload", [{}, {"runId": None}, {"runId": ""}, {"runId": "x" * 201}, {"runId": ["a"]}, {"runid": "a"}]
)
def test_created_run_requires_run_id(payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CreatedRun.model_validate(payload)


@pytest.mark.parametrize("bad", [-1, "many", True, 1.5])
def test_created_run_bad_test_case_count_is_unknown_not_an_error(bad: Any) -> None:
    # A created run must be followed (and cancelled if need be) whatever its informational fields say.
    run = CreatedRun.model_validate({"runId": "r", "testCaseCount": bad})
    assert run.test_case_count is None


@pytest.mark.parametrize("bad", [{"a": 1}, ["x"], True, None])
def test_informational_text_that_is_not_text_is_empty(bad: Any) -> None:
    assert CreatedRun.model_validate({"runId": "r", "appUrl": bad}).app_url == ""
    status = RunStatus.model_validate({"state": "completed", "conclusion": bad, "appUrl": bad, "failed": 1})
    assert (status.conclusion, status.app_url, status.failed) == ("", "", 1)


def test_created_run_null_test_case_count_is_unknown() -> None:
    # Unknown stays unknown (the output is then empty), unlike a status counter where null means 0.
    assert CreatedRun.model_validate({"runId": "r", "testCaseCount": None}).test_case_count is None
    assert CreatedRun.model_validate({"runId": "r", "testCaseCount": 4.0}).test_case_count == 4


def test_lone_surrogates_from_json_are_replaced() -> None:
    body = json.loads(
        '{"state": "completed", "conclusion": "ok\\ud800", "appUrl": "https://x.example/\\udfff"}'
    )
    status = RunStatus.model_validate(body)
    for text in (status.state, status.conclusion, status.app_url):
        text.encode("utf-8")
    run = CreatedRun.model_validate(json.loads('{"runId": "r\\ud800", "message": "\\udc00"}'))
    run.run_id.encode("utf-8")


def test_server_text_is_cut_and_links_must_be_http_urls() -> None:
    status = RunStatus.model_validate(
        {"state": "s" * 5000, "conclusion": "c" * 900_000, "appUrl": "https://app.example/" + "a" * 5000}
    )
    assert len(status.state) <= MAX_TEXT
    assert len(status.conclusion) <= MAX_TEXT
    assert status.app_url == ""  # a cut URL would be a broken link
    for bad in (
        "javascript:alert(1)",
        "ftp://x.example/r",
        "app.certyn.io/r/1",
        "https://x.example/\n::error::x",
    ):
        assert RunStatus.model_validate({"appUrl": bad}).app_url == "", bad
        assert CreatedRun.model_validate({"runId": "r", "appUrl": bad}).app_url == "", bad
    assert RunStatus.model_validate({"appUrl": " https://app.certyn.io/r/1 "}).app_url == (
        "https://app.certyn.io/r/1"
    )


@pytest.mark.parametrize("run_id", [".", "..", "...."])
def test_a_run_id_of_dots_is_invalid_it_would_address_another_endpoint(run_id: str) -> None:
    with pytest.raises(ValidationError):
        CreatedRun.model_validate({"runId": run_id})
    assert CreatedRun.model_validate({"runId": "..a"}).run_id == "..a"


def test_the_models_work_without_pydantic_v1() -> None:
    """The image leaves out ``pydantic/v1`` (never used): building and using every model must not need it."""
    code = """
import sys
sys.modules["pydantic.v1"] = None  # as if deleted: importing it raises ImportError
from certyn_action.api import models  # every model builds
models.CreatedRun.model_validate({"runId": 7, "appUrl": "https://app/r/7", "testCaseCount": 2})
models.RunStatus.model_validate({"state": "Completed", "total": 1, "passed": 1, "retryAfterSeconds": "x"})
try:
    models.RunStatus.model_validate({"failed": "many"})
except models.ValidationError as err:
    print(len(err.errors()))
"""
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stdout.strip()) == (0, "1"), proc.stderr[-2000:]


# -- counters sent as text -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ['"0"', '" 0 "', '"+0"', '"0_0"', '"0.0"', '"-0"', '"3"'])
@pytest.mark.parametrize("counter", ["failed", "blocked", "total", "passed"])
def test_a_counter_sent_as_text_is_an_invalid_status(counter: str, text: str) -> None:
    counts = {"total": "2", "passed": "2", "failed": "0", "blocked": "0", counter: text}
    body = '{"state": "completed", ' + ", ".join(f'"{k}": {v}' for k, v in counts.items()) + "}"
    with pytest.raises(ApiError, match=f"{counter}: .*must be a number") as raised:
        read_status(Reply(200, {}, body.encode()), "r-1")
    assert classify(raised.value)
