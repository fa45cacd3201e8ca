"""core/result_inputs.py: the new inputs are checked with a message naming the input and the fix."""

from __future__ import annotations

import posixpath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certyn_action.core.result_inputs import (
    MAX_INSTRUCTION,
    parse_conversation_timeout,
    parse_instruction,
    parse_junit_report,
    parse_test_results,
)

SETTINGS = settings(max_examples=200, deadline=None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("report.xml", "report.xml"),
        ("reports/certyn.xml", "reports/certyn.xml"),
        ("./reports//certyn.xml", "reports/certyn.xml"),
        ("a/b/../c.xml", "a/c.xml"),
        ("a/../report.xml", "report.xml"),
        ("  spaced name.xml", "  spaced name.xml"),
        ("ünïcode/レポート.xml", "ünïcode/レポート.xml"),
    ],
)
def test_a_relative_path_is_normalised(value: str, expected: str) -> None:
    assert parse_junit_report(value) == expected


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("/tmp/report.xml", "relative to the workspace"),
        ("//server/share.xml", "relative to the workspace"),
        ("../report.xml", "inside the workspace"),
        ("a/../../report.xml", "inside the workspace"),
        ("./..", "inside the workspace"),
        ("report\x00.xml", "NUL"),
        ("reports/", "must name a file"),
        ("reports/.", "must name a file"),
        ("reports/..", "must name a file"),
        (".", "must name a file"),
        ("./", "must name a file"),
        ("a" * 5000, "longer than"),
    ],
)
def test_a_path_outside_the_workspace_or_without_a_file_is_refused(value: str, words: str) -> None:
    with pytest.raises(ValueError, match="junit-report") as caught:
        parse_junit_report(value)
    message = str(caught.value)
    assert words in message
    assert "reports/certyn.xml" in message  # the fix, by example
    assert "\x00" not in message


@SETTINGS
@given(
    st.lists(st.sampled_from(["a", "b.xml", "..", ".", "", "c d", "é"]), min_size=1, max_size=6).map("/".join)
)
def test_a_path_is_accepted_exactly_when_it_names_a_file_inside_the_workspace(value: str) -> None:
    # The oracle: the standard library's lexical normalisation.
    norm = posixpath.normpath(value)
    last = value.rsplit("/", 1)[-1]
    inside = not value.startswith("/") and norm != ".." and not norm.startswith("../")
    if inside and norm != "." and last not in ("", ".", ".."):
        assert parse_junit_report(value) == norm
        assert posixpath.normpath(posixpath.join("/workspace", norm)).startswith("/workspace/")
    else:
        with pytest.raises(ValueError, match="junit-report"):
            parse_junit_report(value)


def test_an_instruction_up_to_the_limit_is_kept_whole() -> None:
    text = "Explain the failures <b>`x`</b>\n" * 10
    assert parse_instruction(text) == text
    assert parse_instruction("x" * MAX_INSTRUCTION) == "x" * MAX_INSTRUCTION


def test_a_longer_instruction_is_refused_naming_the_input() -> None:
    with pytest.raises(ValueError, match=r"`instruction` is 10,001 characters long.*at most 10,000.*shorten"):
        parse_instruction("x" * (MAX_INSTRUCTION + 1))


@pytest.mark.parametrize(("value", "expected"), [("0", 0.0), ("120", 120.0), ("3600", 3600.0), ("2.5", 2.5)])
def test_the_conversation_timeout_is_0_to_3600_seconds(value: str, expected: float) -> None:
    assert parse_conversation_timeout(value) == expected


@pytest.mark.parametrize("value", ["-1", "3601", "nan", "inf", "1e9"])
def test_a_conversation_timeout_out_of_range_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"`conversation-timeout-seconds` must be between 0 and 3600"):
        parse_conversation_timeout(value)


@pytest.mark.parametrize("value", ["two minutes", "12s", ""])
def test_a_conversation_timeout_that_is_not_a_number_is_refused(value: str) -> None:
    with pytest.raises(
        ValueError, match=r"`conversation-timeout-seconds` must be a number of seconds.*e\.g\. 120"
    ):
        parse_conversation_timeout(value)


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("FALSE", False), (" True ", True)])
def test_test_results_is_a_boolean(value: str, expected: bool) -> None:
    assert parse_test_results(value) is expected


@pytest.mark.parametrize("value", ["yes", "1", "off"])
def test_test_results_refuses_anything_else(value: str) -> None:
    with pytest.raises(ValueError, match=r"`test-results` must be `true` or `false`"):
        parse_test_results(value)
