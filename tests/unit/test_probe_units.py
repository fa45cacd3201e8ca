"""Unit tests for the holes the second hostile probe found; tests/e2e/test_e2e_probe.py proves each end to end."""

from __future__ import annotations

import pytest

from certyn_action.certyn.readers import read_created
from certyn_action.certyn.reply import Reply


@pytest.mark.parametrize("count", [b"1e999", b"-1e999", b"NaN", b"Infinity"])
def test_a_non_finite_test_case_count_is_unknown_not_a_crash_or_an_invalid_create(count: bytes) -> None:
    created = read_created(Reply(201, {}, b'{"runId": "r-1", "testCaseCount": ' + count + b"}"))
    assert created.run.run_id == "r-1"
    assert created.run.test_case_count is None
