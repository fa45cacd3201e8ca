"""settings.py, the results inputs: the new inputs are checked with a message naming the input and the fix."""

from __future__ import annotations

import posixpath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certyn_action.settings import (
    MAX_INSTRUCTION,
    InputErrors,
    Settings,
    parse_instruction,
    parse_junit_report,
    read_settings,
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
    with pytest.raises(ValueError, match=r"reports/certyn\.xml") as caught:
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
        with pytest.raises(ValueError, match=r"junit-report: reports/certyn\.xml"):
            parse_junit_report(value)


def test_an_instruction_up_to_the_limit_is_kept_whole() -> None:
    text = "Explain the failures <b>`x`</b>\n" * 10
    assert parse_instruction(text) == text
    assert parse_instruction("x" * MAX_INSTRUCTION) == "x" * MAX_INSTRUCTION


def test_a_longer_instruction_is_refused_naming_the_input() -> None:
    with pytest.raises(ValueError, match=r"is 10,001 characters long.*at most 10,000.*shorten"):
        parse_instruction("x" * (MAX_INSTRUCTION + 1))


def _read(**values: str) -> Settings:
    env = {"INPUT_API-KEY": "k", "INPUT_PROJECT-SLUG": "p", "INPUT_PROCESS-SLUG": "s"}
    env.update({f"INPUT_{name.upper()}": value for name, value in values.items()})
    return read_settings(env)


def _refusal(name: str, value: str) -> str:
    with pytest.raises(InputErrors) as caught:
        _read(**{name: value})
    [error] = caught.value.errors
    assert error.name == name
    return str(error)


def test_the_defaults() -> None:
    inputs = _read()
    assert inputs.test_results is True
    assert inputs.junit_report == ""
    assert inputs.instruction == ""
    assert inputs.conversation_timeout_seconds == 120.0


def test_the_inputs_are_read_by_their_names() -> None:
    inputs = _read(
        **{
            "test-results": "TRUE",
            "junit-report": "./out//certyn.xml",
            "instruction": "Why did it fail?",
            "conversation-timeout-seconds": "0",
        }
    )
    assert inputs.test_results is True
    assert inputs.junit_report == "out/certyn.xml"
    assert _read(**{"test-results": "FALSE"}).test_results is False
    assert inputs.instruction == "Why did it fail?"
    assert inputs.conversation_timeout_seconds == 0.0


@pytest.mark.parametrize(("value", "expected"), [("0", 0.0), ("120", 120.0), ("3600", 3600.0), ("2.5", 2.5)])
def test_the_conversation_timeout_is_0_to_3600_seconds(value: str, expected: float) -> None:
    assert _read(**{"conversation-timeout-seconds": value}).conversation_timeout_seconds == expected


@pytest.mark.parametrize("value", ["-1", "3601", "nan", "inf", "1e9"])
def test_a_conversation_timeout_out_of_range_is_refused(value: str) -> None:
    message = _refusal("conversation-timeout-seconds", value)
    assert "must be between 0 and 3600 seconds" in message


def test_a_conversation_timeout_that_is_not_a_number_is_refused() -> None:
    assert "must be a number of seconds" in _refusal("conversation-timeout-seconds", "two minutes")


@pytest.mark.parametrize("value", ["yes", "1", "off"])
def test_test_results_refuses_anything_but_true_or_false(value: str) -> None:
    assert "must be `true` or `false`" in _refusal("test-results", value)


def test_an_instruction_over_the_limit_and_a_bad_path_are_input_errors() -> None:
    assert "10,001 characters" in _refusal("instruction", "x" * (MAX_INSTRUCTION + 1))
    assert "inside the workspace" in _refusal("junit-report", "../report.xml")
    assert "relative to the workspace" in _refusal("junit-report", "/etc/report.xml")


def test_a_junit_report_without_the_per_test_results_is_an_input_error() -> None:
    message = _refusal_of({"junit-report": "r.xml", "test-results": "false"}, "junit-report")
    assert "remove `test-results: false`" in message


def _refusal_of(values: dict[str, str], name: str) -> str:
    with pytest.raises(InputErrors) as caught:
        _read(**values)
    [error] = caught.value.errors
    assert error.name == name
    return str(error)
