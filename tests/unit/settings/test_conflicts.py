"""settings.py: inputs that mean nothing together (run-id beside a process, tags or an instruction; base-url
without waiting or beside environment-key; check-run without waiting; a JUnit report without the per-test
results) are input errors that name both inputs and the fix, reported with every other input error at once."""

from __future__ import annotations

from typing import Any

import pytest

from certyn_action.settings import InputErrors, read_settings
from tests.unit.settings.support import (
    KEY,
    input_env,
    input_error,
    input_errors,
    input_name,
    messages,
    refusal,
)

# -- base-url and run-id beside other inputs -----------------------------------------------------------------


def _conflicts(**given: Any) -> list[tuple[str, str]]:
    """The errors of reading these inputs (given by field name, as read) with an API key and a project."""
    values: dict[str, str] = {}
    for field, value in given.items():
        shown = ",".join(value) if isinstance(value, tuple) else str(value).lower()
        values[field] = value if isinstance(value, str) else shown
    try:
        read_settings(input_env(**({"process_slug": ""} | values)))
    except InputErrors as errors:
        return [(error.name, error.message) for error in errors.errors]
    return []


def test_base_url_without_waiting_needs_keep_environment() -> None:
    # The environment is deleted when the step ends: a run nobody waits for would lose it mid-run.
    [(name, message)] = _conflicts(process_slug="smoke", base_url="https://x.test", wait=False)
    assert name == "wait"
    assert "keep-environment: true" in message
    assert "base-url" in message


def test_no_conflict_for_ordinary_uses() -> None:
    assert _conflicts(process_slug="smoke") == []
    assert _conflicts(process_slug="smoke", base_url="https://x.test") == []
    assert (
        _conflicts(process_slug="smoke", base_url="https://x.test", wait=False, keep_environment=True) == []
    )
    assert _conflicts(tags=("a",), environment_key="staging", instruction="why?") == []
    assert _conflicts(run_id="run_1") == []


ALREADY = "cannot be combined with `run-id`: `run-id` attaches to an existing run {why}. Remove `{name}`, or remove `run-id` to create a new run"


@pytest.mark.parametrize(
    ("given", "name", "why"),
    [
        ({"process_slug": "smoke"}, "process-slug", "whose suite is already chosen"),
        ({"tags": ("smoke",)}, "tags", "whose tests are already chosen"),
        ({"base_url": "https://x.test"}, "base-url", "that already runs against its environment"),
        ({"environment_key": "staging"}, "environment-key", "that already runs against its environment"),
        ({"instruction": "explain"}, "instruction", "and sends no create request to carry it"),
        ({"keep_environment": True}, "keep-environment", "and makes no temporary environment to keep"),
        ({"idempotency_key": "deploy-42"}, "idempotency-key", "and sends no create request to carry it"),
    ],
)
def test_run_id_conflicts_name_the_input_why_and_the_fix(given: dict[str, Any], name: str, why: str) -> None:
    assert _conflicts(run_id="run_1", **given) == [(name, ALREADY.format(name=name, why=why))]


def test_run_id_without_waiting_says_it_only_waits_and_gates() -> None:
    assert _conflicts(run_id="run_1", wait=False) == [
        (
            "wait",
            "`wait: false` cannot be combined with `run-id`: `run-id` attaches to an existing run only to wait "
            "for it and gate on it. Remove `wait: false`, or remove the step",
        )
    ]


def test_base_url_conflicts_with_environment_key() -> None:
    conflicts = _conflicts(base_url="https://x.test", environment_key="staging", process_slug="smoke")
    assert len(conflicts) == 1
    name, message = conflicts[0]
    assert name == "environment-key"
    assert "`base-url`" in message
    assert "`environment-key`" in message
    assert "either" in message


def test_every_conflict_is_reported_at_once_one_error_per_input() -> None:
    conflicts = _conflicts(
        run_id="run_1",
        process_slug="smoke",
        base_url="https://x.test",
        environment_key="staging",
        instruction="explain",
        wait=False,
        keep_environment=True,
        idempotency_key="deploy-42",
    )
    assert [name for name, _ in conflicts] == [
        "process-slug",
        "base-url",
        "environment-key",  # with `run-id`; its conflict with `base-url` is not said twice
        "instruction",
        "keep-environment",
        "idempotency-key",
        "wait",
    ]


# -- run-id, the JUnit report and the instruction beside other inputs ----------------------------------------


def test_run_id_needs_no_process_or_tags() -> None:
    env = {input_name("api-key"): KEY, input_name("project-slug"): "shop", input_name("run-id"): "run-7"}
    inputs = read_settings(env)
    assert inputs.run_id == "run-7"
    assert (inputs.process_slug, inputs.tags) == ("", ())


def test_a_bad_run_id_does_not_also_ask_for_a_process() -> None:
    env = {input_name("api-key"): KEY, input_name("project-slug"): "shop", input_name("run-id"): "a/b"}
    with pytest.raises(InputErrors) as caught:
        read_settings(env)
    assert [e.name for e in caught.value.errors] == ["run-id"]


def test_conflicts_are_reported_with_the_other_errors() -> None:
    env = {
        input_name("api-key"): KEY,
        input_name("project-slug"): "shop",
        input_name("run-id"): "run-7",
        input_name("tags"): "smoke",
        input_name("wait"): "false",
        input_name("http-max-attempts"): "0",
    }
    with pytest.raises(InputErrors) as caught:
        read_settings(env)
    assert {e.name for e in caught.value.errors} == {"tags", "wait", "http-max-attempts"}


def test_junit_report_without_test_results_says_why_and_how_to_fix() -> None:
    error = input_error(input_env(junit_report="reports/certyn.xml", test_results="false"), "junit-report")
    assert error.message == "is written from the per-test results: remove `test-results: false`"


def test_an_instruction_beside_run_id_is_refused_on_instruction_naming_run_id() -> None:
    # The conflicts are reported with the checker's own message, on the input to remove.
    errors = input_errors(input_env(process_slug="", run_id="r-1", instruction="Why did checkout fail?"))
    (error,) = [e for e in errors if e.name == "instruction"]
    assert "run-id" in error.message
    assert [e.name for e in errors] == ["instruction"]


def test_a_junit_report_without_the_per_test_results_is_an_input_error() -> None:
    message = refusal("junit-report", **{"junit-report": "r.xml", "test-results": "false"})
    assert "remove `test-results: false`" in message


# -- check-run without waiting -------------------------------------------------------------------------------


def test_check_run_without_waiting_is_an_input_error_naming_the_fix() -> None:
    assert messages(github_token="ghs_x", check_run="true", wait="false")["check-run"] == (
        "`check-run: true` cannot be combined with `wait: false`: the check run is completed with the run's "
        "result, and a step that does not wait would leave it in progress for ever. Remove `wait: false`, or "
        "remove `check-run: true`"
    )
