"""Unit tests for the holes the second hostile probe found; tests/e2e/test_e2e_probe.py proves each end to end."""

from __future__ import annotations

import pytest

from certyn_action.certyn.errors import ApiError
from certyn_action.certyn.readers import read_created, read_status
from certyn_action.certyn.reply import DuplicateKey, Reply


@pytest.mark.parametrize("count", [b"1e999", b"-1e999", b"NaN", b"Infinity"])
def test_a_non_finite_test_case_count_is_unknown_not_a_crash_or_an_invalid_create(count: bytes) -> None:
    created = read_created(Reply(201, {}, b'{"runId": "r-1", "testCaseCount": ' + count + b"}"))
    assert created.run.run_id == "r-1"
    assert created.run.test_case_count is None


@pytest.mark.parametrize(
    "body",
    [
        b'{"runId": "r-1", "state": "completed", "total": 2, "passed": 2, "failed": 0, "blocked": 0, "Failed": 2}',
        b'{"runId": "r-1", "State": "in_progress", "state": "completed", "failed": 0, "blocked": 0}',
        b'{"state": "completed", "failed": 0, "blocked": 0, "items": [{"status": "passed", "Status": "failed"}]}',
    ],
)
def test_a_key_named_twice_in_another_case_is_ambiguous(body: bytes) -> None:
    with pytest.raises(DuplicateKey, match="appears twice"):
        Reply(200, {}, body).json()
    with pytest.raises(ApiError, match="ambiguous") as raised:
        read_status(Reply(200, {}, body), "r-1")
    assert raised.value.transient  # retried like a cut body, never gated on


@pytest.mark.parametrize("name", ["RunId", "runid", "RUNID"])
def test_a_status_naming_another_run_in_another_case_is_refused(name: str) -> None:
    body = f'{{"{name}": "other", "state": "completed", "total": 1, "passed": 1, "failed": 0, "blocked": 0}}'
    with pytest.raises(ApiError, match="for run 'other'") as raised:
        read_status(Reply(200, {}, body.encode()), "r-1")
    assert raised.value.transient
    same = body.replace('"other"', '"r-1"')
    assert read_status(Reply(200, {}, same.encode()), "r-1").passed == 1


@pytest.mark.parametrize("text", ['"0"', '" 0 "', '"+0"', '"0_0"', '"0.0"', '"-0"', '"3"'])
@pytest.mark.parametrize("counter", ["failed", "blocked", "total", "passed"])
def test_a_counter_sent_as_text_is_an_invalid_status(counter: str, text: str) -> None:
    counts = {"total": "2", "passed": "2", "failed": "0", "blocked": "0", counter: text}
    body = '{"state": "completed", ' + ", ".join(f'"{k}": {v}' for k, v in counts.items()) + "}"
    with pytest.raises(ApiError, match=f"{counter}: .*must be a number") as raised:
        read_status(Reply(200, {}, body.encode()), "r-1")
    assert raised.value.transient
