"""findings.py against mocked HTTP (responses) and a FakeClock: the per-test results and the AI answer."""

from __future__ import annotations

import pytest
import responses

from certyn_action.api.client import RESULTS_MAX_BODY, ApiError, NotFound
from certyn_action.api.models import Conversation, ConversationState
from certyn_action.findings import answers
from tests.fakes import FakeClock, far
from tests.unit.api.test_client import BASE, KEY, make_client

OVERVIEW = f"{BASE}/api/projects/overview"
RESULTS = f"{BASE}/api/projects/p%2F1/process-runs/r%201"
CONVERSATION = f"{BASE}/api/assistant/conversations/c-1"
PROJECTS = {"projects": [{"id": "other", "slug": "my-app-2"}, {"id": "p/1", "slug": "My-App"}]}


def _processing(hint: float | None = None) -> dict[str, object]:
    return {"status": "processing", "messages": [], "retryAfterSeconds": hint}


def _answered(text: str = "the answer") -> dict[str, object]:
    return {
        "status": "idle",
        "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": text}],
    }


@responses.activate
def test_the_results_are_read_for_the_project_whose_slug_matches_ignoring_case_with_escaped_ids() -> None:
    responses.get(OVERVIEW, json=PROJECTS)
    responses.get(RESULTS, json={"items": [{"testCaseName": "a", "testOutcome": "failed"}]})
    run = make_client(FakeClock()).process_run("r 1", deadline=far())
    assert [item.name for item in run.items] == ["a"]
    assert all(call.request.headers["X-API-Key"] == KEY for call in responses.calls)


@responses.activate
def test_a_results_body_over_one_mib_is_read_up_to_the_larger_cap() -> None:
    responses.get(OVERVIEW, json=PROJECTS)
    finding = "x" * 15_000
    items = [
        {"testCaseName": f"t{i}", "testOutcome": "failed", "summaryMarkdown": finding} for i in range(150)
    ]
    responses.get(RESULTS, json={"items": items})
    run = make_client(FakeClock()).process_run("r 1", deadline=far())
    assert len(run.items) == 150
    assert 1024 * 1024 < len(finding) * 150 < RESULTS_MAX_BODY


@responses.activate
def test_a_project_not_in_the_overview_is_not_found_and_no_results_are_asked() -> None:
    responses.get(OVERVIEW, json={"projects": [{"id": "x", "slug": "another"}]})
    with pytest.raises(NotFound, match="project `my-app` is not among the projects"):
        make_client(FakeClock()).process_run("r 1", deadline=far())
    assert len(responses.calls) == 1


@pytest.mark.parametrize("status", [401, 403, 404])
@responses.activate
def test_a_refusal_is_an_api_error_at_once(status: int) -> None:
    responses.get(OVERVIEW, json=PROJECTS)
    responses.get(RESULTS, status=status, json={"error": "no"})
    with pytest.raises(ApiError) as caught:
        make_client(FakeClock()).process_run("r 1", deadline=far())
    assert caught.value.status == status
    assert len(responses.calls) == 2


@responses.activate
def test_an_outage_is_retried_within_the_deadline_then_given_up() -> None:
    responses.get(OVERVIEW, json=PROJECTS)
    responses.get(RESULTS, status=503, json={"error": "down"})
    clock = FakeClock()
    with pytest.raises(ApiError):
        make_client(clock, attempts=20).process_run("r 1", deadline=clock.after(30))
    assert clock.now <= 1000 + 30


@responses.activate
def test_the_answer_is_polled_every_five_seconds_until_idle() -> None:
    responses.get(CONVERSATION, json=_processing())
    responses.get(CONVERSATION, json=_processing())
    responses.get(CONVERSATION, json=_answered("done `x`"))
    clock = FakeClock()
    seen = list(answers(make_client(clock), "c-1", clock.after(120), clock.after(600), clock))
    assert clock.sleeps == [5.0, 5.0]
    assert [c.state for c in seen][-1] is ConversationState.IDLE
    assert seen[-1].answer == "done `x`"


@responses.activate
def test_the_servers_hint_sets_the_pace_kept_between_1_and_30_seconds() -> None:
    for hint in (0.1, 2, 500):
        responses.get(CONVERSATION, json=_processing(hint))
    responses.get(CONVERSATION, json={"status": "failed"})
    clock = FakeClock()
    seen = list(answers(make_client(clock), "c-1", clock.after(120), clock.after(600), clock))
    assert clock.sleeps == [1.0, 2.0, 30.0]
    assert seen[-1].state is ConversationState.FAILED


@responses.activate
def test_a_conversation_that_never_finishes_ends_at_its_budget_with_one_last_read() -> None:
    responses.get(CONVERSATION, json=_processing())
    clock = FakeClock()
    seen = list(answers(make_client(clock), "c-1", clock.after(12), clock.after(600), clock))
    assert clock.sleeps == [5.0, 5.0, 2.0]
    assert clock.now == 1012
    assert len(seen) == 4
    assert seen[-1].state is ConversationState.PROCESSING


@responses.activate
def test_a_budget_of_zero_reads_once_and_does_not_wait() -> None:
    responses.get(CONVERSATION, json=_processing())
    clock = FakeClock()
    seen = list(answers(make_client(clock), "c-1", clock.after(0), clock.after(600), clock))
    assert clock.sleeps == []
    assert len(seen) == 1


@responses.activate
def test_no_read_is_made_past_the_steps_own_deadline() -> None:
    responses.get(CONVERSATION, json=_processing())
    clock = FakeClock()
    with pytest.raises(ApiError):
        next(answers(make_client(clock), "c-1", clock.after(120), clock.after(0), clock))
    assert not responses.calls


def test_conversation_model_reads_the_last_assistant_message() -> None:
    assert Conversation.model_validate(_answered("a")).answer == "a"
