"""Per-test results, projects and the conversation: tolerant models of per-test results and the AI conversation, and what follows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certyn_action.api.models import (
    MAX_ANSWER,
    MAX_FINDING,
    MAX_ITEMS,
    MAX_NAME,
    Conversation,
    ConversationState,
    Outcome,
    ProcessRun,
    ProjectsOverview,
    RunItem,
    conversation_state,
    duration_seconds,
    failed_test_names,
    failed_tests_output,
    finding_excerpt,
    ordered,
    outcome_counts,
    parse_timestamp,
    resolve_project_id,
)
from certyn_action.findings import contradictions

SETTINGS = settings(max_examples=150, deadline=None)
COMPARED = ("failed", "blocked", "aborted", "passed", "skipped")
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)


def item(outcome: str | None = None, status: str | None = None, **fields: Any) -> RunItem:
    return RunItem.model_validate({"testOutcome": outcome, "status": status, **fields})


def items_with(*outcomes: str) -> list[RunItem]:
    return [item(outcome, testCaseName=f"t{n}", testCaseNumber=n) for n, outcome in enumerate(outcomes, 1)]


# -- projects overview ------------------------------------------------------------------------------


def test_a_slug_resolves_to_its_project_id_whatever_its_case() -> None:
    overview = ProjectsOverview.model_validate(
        {
            "defaultProjectId": "p-0",
            "projects": [{"id": "p-1", "slug": "Shop", "name": "Shop"}, {"id": "p-2", "slug": "blog"}],
        }
    )
    assert resolve_project_id(overview, "shop") == "p-1"
    assert resolve_project_id(overview, "SHOP") == "p-1"
    assert resolve_project_id(overview, "blog") == "p-2"


def test_an_unknown_slug_is_none_never_the_default_project() -> None:
    overview = ProjectsOverview.model_validate(
        {"defaultProjectId": "p-0", "projects": [{"id": "p-1", "slug": "a"}]}
    )
    assert resolve_project_id(overview, "b") is None
    assert resolve_project_id(overview, "") is None


def test_an_exact_slug_wins_and_a_case_only_clash_is_ambiguous() -> None:
    overview = ProjectsOverview.model_validate(
        {"projects": [{"id": "p-1", "slug": "Shop"}, {"id": "p-2", "slug": "shop"}]}
    )
    assert resolve_project_id(overview, "Shop") == "p-1"
    assert resolve_project_id(overview, "shop") == "p-2"
    assert resolve_project_id(overview, "SHOP") is None


@pytest.mark.parametrize("bad_id", [None, "", "  ", ".", "..", {"x": 1}, True, "x" * 201])
def test_a_project_without_a_usable_id_is_never_resolved(bad_id: object) -> None:
    overview = ProjectsOverview.model_validate({"projects": [{"id": bad_id, "slug": "shop"}]})
    assert resolve_project_id(overview, "shop") is None


def test_a_numeric_project_id_becomes_text() -> None:
    overview = ProjectsOverview.model_validate({"projects": [{"id": 42, "slug": "shop"}]})
    assert resolve_project_id(overview, "shop") == "42"


@pytest.mark.parametrize("projects", [None, "x", 3, {"id": "p"}, [None, 1, "x"]])
def test_unusable_projects_lists_are_empty(projects: object) -> None:
    overview = ProjectsOverview.model_validate({"projects": projects})
    assert overview.projects == ()


@SETTINGS
@given(JSON)
def test_any_json_object_parses_as_an_overview(data: object) -> None:
    overview = ProjectsOverview.model_validate(data if isinstance(data, dict) else {"projects": data})
    assert resolve_project_id(overview, "shop") in (None, *(p.id for p in overview.projects))


# -- outcome ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("test_outcome", "status", "expected"),
    [
        ("failed", "completed", Outcome.FAILED),
        ("Blocked", "completed", Outcome.BLOCKED),
        ("aborted", None, Outcome.ABORTED),
        ("skipped", "completed", Outcome.SKIPPED),
        ("passed", "completed", Outcome.PASSED),
        ("PASSED", "failed", Outcome.PASSED),  # testOutcome first
        (None, "failed", Outcome.FAILED),
        (None, "blocked", Outcome.BLOCKED),
        (None, "aborted", Outcome.ABORTED),
        (None, "cancelled", Outcome.ABORTED),
        ("", "canceled", Outcome.ABORTED),
        ("weird", "failed", Outcome.FAILED),  # an unknown outcome falls back on the status
        (None, "completed", Outcome.NO_RESULT),  # completed alone proves nothing
        (None, "running", Outcome.NO_RESULT),
        (None, "pending", Outcome.NO_RESULT),
        (None, None, Outcome.NO_RESULT),
        (3, ["failed"], Outcome.NO_RESULT),
    ],
)
def test_the_outcome_comes_from_test_outcome_then_status(
    test_outcome: object, status: object, expected: Outcome
) -> None:
    assert item(test_outcome, status).outcome is expected  # type: ignore[arg-type]


def test_the_outcome_takes_raw_words() -> None:
    assert item(" Failed ", "").outcome is Outcome.FAILED
    assert item("", "Blocked").outcome is Outcome.BLOCKED


def test_only_failed_blocked_and_aborted_are_failing() -> None:
    assert {outcome for outcome in Outcome if outcome.failing} == {
        Outcome.FAILED,
        Outcome.BLOCKED,
        Outcome.ABORTED,
    }


# -- the run ----------------------------------------------------------------------------------------


FULL_RUN = {
    "id": "run-1",
    "number": 7,
    "processSlug": "smoke",
    "processName": "Smoke tests",
    "status": "completed",
    "startedAt": "2026-12-01T10:00:00Z",
    "completedAt": "2026-12-01T10:05:00Z",
    "items": [
        {
            "id": "i1",
            "testCaseId": "tc1",
            "testCaseName": "Checkout works",
            "testCaseNumber": 12,
            "status": "completed",
            "testOutcome": "failed",
            "summaryMarkdown": "## Finding\nThe pay button does nothing.",
            "startedAt": "2026-12-01T10:00:00Z",
            "completedAt": "2026-12-01T10:01:30.5Z",
        },
        {"testCaseName": "Login", "testCaseNumber": "3", "testOutcome": "passed"},
        "not an object",
        None,
    ],
}


def test_a_full_process_run_is_read() -> None:
    run = ProcessRun.model_validate(FULL_RUN)
    assert (run.id, run.number, run.process_slug, run.process_name) == ("run-1", 7, "smoke", "Smoke tests")
    assert run.duration_seconds == 300
    assert len(run.items) == 2  # entries that are not objects are left out
    first, second = run.items
    assert (first.name, first.number, first.outcome) == ("Checkout works", 12, Outcome.FAILED)
    assert first.finding.startswith("## Finding")
    assert first.duration_seconds == 90.5
    assert (second.number, second.outcome, second.duration_seconds) == (3, Outcome.PASSED, None)


@SETTINGS
@given(st.dictionaries(st.sampled_from(list(FULL_RUN["items"][0])), JSON, max_size=9))  # type: ignore[index]
def test_any_values_in_an_item_parse_and_give_an_outcome(data: dict[str, object]) -> None:
    parsed = RunItem.model_validate(data)
    assert parsed.outcome in Outcome
    assert parsed.display_name
    assert parsed.duration_seconds is None or parsed.duration_seconds >= 0


@pytest.mark.parametrize("items", [None, "x", 1, {"a": 1}])
def test_unusable_items_are_no_items(items: object) -> None:
    assert ProcessRun.model_validate({"items": items}).items == ()


def test_long_text_is_cut_and_lone_surrogates_replaced() -> None:
    parsed = item("failed", testCaseName="n" * 10_000 + "\ud800", summaryMarkdown="f" * (MAX_FINDING + 5))
    assert len(parsed.name) == MAX_NAME
    assert parsed.name.endswith("…")
    assert len(parsed.finding) == MAX_FINDING
    assert "\ud800" not in item(testCaseName="a\ud800b").name


@pytest.mark.parametrize(
    ("number", "expected"),
    [(5, 5), ("12", 12), (3.0, 3), (-1, None), (2.5, None), ("x", None), (True, None), (None, None)],
)
def test_test_numbers_are_whole_non_negative_numbers(number: object, expected: int | None) -> None:
    assert item(testCaseNumber=number).number == expected


def test_a_test_without_a_name_is_shown_by_number_or_id() -> None:
    assert item(testCaseName="  ", testCaseNumber=4).display_name == "test #4"
    assert item(testCaseId="tc-9").display_name == "test tc-9"
    assert item().display_name == "unnamed test"


# -- timestamps and durations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T10:00:00Z", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("2026-12-01T10:00:00z", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("2026-12-01T12:00:00+02:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("2026-12-01T10:00:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),  # no offset: UTC
        ("2026-12-01T10:00:00.1234567Z", datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2026-12-01T10:00:00.5+00:00", datetime(2026, 12, 1, 10, 0, 0, 500000, tzinfo=UTC)),
        ("2026-12-01 10:00:00Z", datetime(2026, 12, 1, 10, tzinfo=UTC)),
    ],
)
def test_iso_timestamps_are_read_in_their_common_forms(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "text",
    [None, "", "yesterday", "2026-13-01T00:00:00Z", 1733000000, "0001-01-01T00:00:00+01:00", "9" * 100],
)
def test_unusable_timestamps_are_none(text: object) -> None:
    assert parse_timestamp(text) is None


def test_a_duration_needs_both_ends_in_order() -> None:
    start = parse_timestamp("2026-12-01T10:00:00Z")
    end = parse_timestamp("2026-12-01T10:00:02.250Z")
    assert duration_seconds(start, end) == 2.25
    assert duration_seconds(end, start) is None
    assert duration_seconds(None, end) is None
    assert duration_seconds(start, None) is None


@SETTINGS
@given(st.text(max_size=40))
def test_any_text_is_a_timestamp_or_none(text: str) -> None:
    moment = parse_timestamp(text)
    assert moment is None or moment.tzinfo is not None


@pytest.mark.parametrize(
    ("finding", "expected"),
    [
        ("# Title\n\n> quoted\n* item\n1. numbered\nlast", "quoted item numbered"),
        ("## Finding\n### Details\n", "Finding Details"),  # headings only when nothing else
        ("  ## Finding  \nThe button does nothing", "The button does nothing"),
        ("#hashtag is text", "#hashtag is text"),
        ("", ""),
        ("\n\n   \nonly", "only"),
    ],
)
def test_finding_excerpt_keeps_the_first_lines_as_plain_text(finding: str, expected: str) -> None:
    assert finding_excerpt(finding) == expected


# -- ordering and the failed-tests output -----------------------------------------------------------


def test_failing_tests_come_first_in_server_order() -> None:
    tests = items_with("passed", "failed", "skipped", "blocked", "passed", "aborted", "pending", "failed")
    assert [t.name for t in ordered(tests)] == ["t2", "t4", "t6", "t8", "t7", "t3", "t1", "t5"]


def test_failed_tests_lists_failed_blocked_and_aborted_names() -> None:
    tests = items_with("passed", "failed", "blocked", "skipped", "aborted", "pending")
    assert failed_test_names(tests) == ["t2", "t3", "t5"]
    assert json.loads(failed_tests_output(tests)) == ["t2", "t3", "t5"]


def test_no_failed_test_is_an_empty_json_array() -> None:
    assert failed_tests_output(items_with("passed", "skipped")) == "[]"
    assert failed_tests_output([]) == "[]"


@SETTINGS
@given(st.lists(st.text(), max_size=5))
def test_the_failed_tests_output_is_one_line_of_json_holding_the_names(names: list[str]) -> None:
    tests = [item("failed", testCaseName=name) for name in names]
    output = failed_tests_output(tests)
    assert "\n" not in output
    assert "\r" not in output
    assert json.loads(output) == [t.display_name for t in tests]


def test_outcome_counts_include_every_outcome() -> None:
    counts = outcome_counts(items_with("passed", "passed", "failed"))
    assert counts[Outcome.PASSED] == 2
    assert counts[Outcome.FAILED] == 1
    assert counts[Outcome.SKIPPED] == 0
    assert set(counts) == set(Outcome)


# -- contradictions ---------------------------------------------------------------------------------


def counts(**values: int) -> dict[str, int]:
    return {
        name: values.get(name, 0)
        for name in ("total", "passed", "failed", "blocked", "pending", "aborted", "skipped")
    }


def test_counts_that_agree_contradict_nothing() -> None:
    tests = items_with("passed", "failed", "blocked")
    assert contradictions(counts(total=3, passed=1, failed=1, blocked=1), tests) == ()


def test_a_failed_test_the_counts_call_passed_is_said_in_words() -> None:
    tests = items_with("failed", "passed")
    found = contradictions(counts(total=2, passed=2), tests)
    assert found == (
        "Certyn's counts say 0 failed, but 1 test is marked failed in the per-test results",
        "Certyn's counts say 2 passed, but 1 test is marked passed in the per-test results",
    )


def test_a_total_that_differs_from_the_list_is_said() -> None:
    found = contradictions(counts(total=5, passed=2), items_with("passed", "passed"))
    assert found == ("Certyn's counts say 5 tests in total, but the per-test results list 2 tests",)


def test_plural_wording() -> None:
    found = contradictions(counts(total=3, failed=1, blocked=2), items_with("blocked", "blocked", "blocked"))
    assert found == (
        "Certyn's counts say 1 failed, but 0 tests are marked failed in the per-test results",
        "Certyn's counts say 2 blocked, but 3 tests are marked blocked in the per-test results",
    )


OUTCOME_WORDS = ["failed", "blocked", "aborted", "skipped", "passed", "pending"]


@SETTINGS
@given(
    st.lists(st.sampled_from(OUTCOME_WORDS), min_size=1, max_size=12),
    st.dictionaries(
        st.sampled_from(["failed", "blocked", "aborted", "passed", "skipped"]), st.integers(0, 12)
    ),
)
def test_contradictions_are_found_exactly_where_a_count_differs(
    outcomes: list[str], said: dict[str, int]
) -> None:
    tests = [item(outcome) for outcome in outcomes]
    given_counts = counts(**said)
    found = contradictions(given_counts, tests)
    differing = [name for name in COMPARED if given_counts[name] != outcomes.count(name)]
    assert [sentence.split(" ")[4].rstrip(",") for sentence in found] == differing


def test_no_per_test_results_contradict_nothing() -> None:
    assert contradictions(counts(total=4, failed=4), []) == ()


# -- conversation -----------------------------------------------------------------------------------


def test_the_answer_is_the_last_assistant_message() -> None:
    conversation = Conversation.model_validate(
        {
            "status": "idle",
            "messages": [
                {"role": "user", "content": "why?"},
                {"role": "assistant", "content": "first"},
                {"role": "Assistant", "content": "second"},
                {"role": "user", "content": "thanks"},
            ],
        }
    )
    assert conversation.answer == "second"
    assert conversation.state is ConversationState.IDLE
    assert conversation.finished
    assert conversation_state(conversation) is ConversationState.IDLE


def test_no_assistant_message_is_no_answer() -> None:
    conversation = Conversation.model_validate(
        {"status": "idle", "messages": [{"role": "user", "content": "x"}]}
    )
    assert conversation.answer is None


@pytest.mark.parametrize(
    ("status", "state", "finished"),
    [
        ("idle", ConversationState.IDLE, True),
        ("IDLE", ConversationState.IDLE, True),
        ("failed", ConversationState.FAILED, True),
        ("processing", ConversationState.PROCESSING, False),
        ("thinking", ConversationState.PROCESSING, False),
        (None, ConversationState.PROCESSING, False),
    ],
)
def test_the_conversation_state(status: object, state: ConversationState, finished: bool) -> None:
    conversation = Conversation.model_validate({"status": status})
    assert conversation_state(conversation) is state
    assert conversation.finished is finished


def test_a_conversation_that_could_not_be_read_is_unavailable() -> None:
    assert conversation_state(None) is ConversationState.UNAVAILABLE
    assert str(ConversationState.UNAVAILABLE) == "unavailable"


def test_a_runaway_answer_is_cut_and_unusable_messages_are_ignored() -> None:
    conversation = Conversation.model_validate(
        {"messages": [{"role": "assistant", "content": "a" * (MAX_ANSWER + 10)}, "junk", 3]}
    )
    assert conversation.answer is not None
    assert len(conversation.answer) == MAX_ANSWER


@pytest.mark.parametrize(
    ("hint", "expected"), [(5, 5.0), ("2.5", 2.5), (-1, None), ("x", None), (float("inf"), None)]
)
def test_the_retry_hint_is_kept_only_when_usable(hint: object, expected: float | None) -> None:
    assert Conversation.model_validate({"retryAfterSeconds": hint}).retry_after_seconds == expected


@SETTINGS
@given(JSON)
def test_any_json_parses_as_a_conversation(data: object) -> None:
    conversation = Conversation.model_validate(data if isinstance(data, dict) else {"messages": data})
    assert conversation.state in ConversationState


def test_a_run_listing_millions_of_tests_keeps_the_first_max_items_and_counts_them_all() -> None:
    rows = [{"testCaseName": f"t{i}"} for i in range(MAX_ITEMS)] + [{}] * 2_000_000
    run = ProcessRun.model_validate({"items": rows})
    assert [item.name for item in run.items] == [f"t{i}" for i in range(MAX_ITEMS)]
    assert run.listed == MAX_ITEMS + 2_000_000
    assert ProcessRun.model_validate({"items": rows[:3]}).listed == 3


def test_a_conversation_of_millions_of_messages_keeps_its_last_ones_and_the_answer() -> None:
    messages: list[dict[str, str]] = [{}] * 2_000_000 + [{"role": "assistant", "content": "the answer"}]
    conversation = Conversation.model_validate({"status": "idle", "messages": messages})
    assert conversation.answer == "the answer"
    assert len(conversation.messages) <= MAX_ITEMS
