"""diagnosis.py: each reason in the CLI's order (first match wins), the evidence kept (URLs without query,
fragment or credentials; at most 3 samples; tool errors cut at 240 characters), links only for http(s), which
tests are diagnosed, and the `failures` output."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import pytest

from certyn_action import diagnosis
from certyn_action.api.models import Artifact, Flakiness, RunItem
from certyn_action.diagnosis import (
    MAX_ERROR_TEXT,
    MAX_TESTS,
    REASONS,
    Diagnosis,
    Evidence,
    FlakyMark,
    NetworkFailure,
    chosen,
    classify,
    clean_url,
    link,
    scan,
)
from certyn_action.render import words
from certyn_action.render.words import describe

diagnose_test = partial(diagnosis.diagnose_test, describe=describe)

Event = tuple[str, dict[str, Any]]


def item(outcome: str = "failed", name: str = "Checkout", **fields: Any) -> RunItem:
    return RunItem.model_validate({"testOutcome": outcome, "testCaseName": name, **fields})


def response(
    status: Any, url: str = "https://shop.test/api/checkout", method: str = "POST", **more: Any
) -> Event:
    return ("browser_network_response", {"status": status, "url": url, "method": method, **more})


def tool(status: str, error: str = "element #pay-now not found", name: str = "browser") -> Event:
    return (
        "tool_result",
        {"status": status, "error": error, "metadata": {"toolName": name, "toolCallId": "c-1"}},
    )


def completed(status: str, kind: str = "conversation_completed") -> Event:
    return (kind, {"status": status})


def reason(events: list[Event], outcome: str = "failed", status: str = "completed") -> str:
    return classify(outcome, status, scan(events))


# -- the reasons, first match wins ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "status", "events", "expected"),
    [
        ("blocked", "completed", [completed("failed"), tool("failed"), response(500)], "blocked"),
        ("failed", "blocked", [completed("failed")], "blocked"),  # the status says it too
        ("aborted", "completed", [completed("failed"), tool("failed")], "aborted"),
        ("failed", "aborted", [], "aborted"),
        ("failed", "completed", [completed("failed"), tool("failed"), response(500)], "agent-failed"),
        ("failed", "completed", [completed("failed", "job_completed")], "agent-failed"),
        ("failed", "completed", [tool("denied"), response(500)], "tool-error"),
        ("failed", "completed", [response(500), response(404)], "app-server-error"),  # 5xx >= 4xx
        ("failed", "completed", [response(503), response(404), response(401)], "app-client-error"),
        ("failed", "completed", [response(404)], "app-client-error"),
        ("failed", "completed", [tool("completed"), response(302), response(200)], "failed"),
        ("no result", "running", [], "unknown"),
    ],
)
def test_each_reason_in_the_clis_order(outcome: str, status: str, events: list[Event], expected: str) -> None:
    assert reason(events, outcome, status) == expected


@pytest.mark.parametrize("word", ["succeeded", "Success", "completed", "OK", "passed", ""])
def test_a_successful_completion_is_no_agent_failure(word: str) -> None:
    assert reason([completed(word)]) == "failed"


def test_the_last_conversation_status_wins_and_the_jobs_counts_only_without_one() -> None:
    assert reason([completed("failed"), completed("completed")]) == "failed"
    assert reason([completed("failed", "job_completed"), completed("completed")]) == "failed"
    assert reason([completed("completed"), completed("timed_out", "job_completed")]) == "failed"
    assert scan([completed("cancelled", "job_completed")]).completion == "cancelled"


@pytest.mark.parametrize(
    "status",
    [
        "failed",
        "error",
        "errored",
        "denied",
        "blocked",
        "aborted",
        "cancelled",
        "canceled",
        "timeout",
        "TIMED_OUT",
    ],
)
def test_every_failing_tool_status_is_a_tool_error(status: str) -> None:
    assert reason([tool(status)]) == "tool-error"


@pytest.mark.parametrize("status", ["completed", "ok", "", "running", None])
def test_other_tool_results_are_ignored(status: Any) -> None:
    assert scan([("tool_result", {"status": status, "error": "x"})]).tool_errors == 0


# -- the evidence ------------------------------------------------------------------------------------


def test_a_response_takes_its_method_and_url_from_its_request_and_loses_query_and_fragment() -> None:
    evidence = scan(
        [
            (
                "browser_network_request",
                {"requestId": "r-4", "method": "put", "url": "https://a.test/api/cart?sig=xyz#f"},
            ),
            ("browser_network_response", {"requestId": "r-4", "status": "503"}),
        ]
    )
    assert evidence.network == (NetworkFailure("PUT", "https://a.test/api/cart", 503),)
    assert (
        describe(classify("failed", "", evidence), "failed", evidence)
        == "the app answered 503 to PUT /api/cart"
    )


def test_urls_lose_credentials_query_and_fragment() -> None:
    assert clean_url("https://user:tok@a.test/p?token=1#x") == "https://a.test/p"
    assert clean_url("/relative?q=1") == "/relative"
    # A password that holds an "@": the credentials end at the LAST "@" (none of the password is shown).
    assert clean_url("https://user:p@ss@a.test/p") == "https://a.test/p"


def test_at_most_three_network_samples_server_errors_first_but_every_one_counted() -> None:
    evidence = scan(
        [response(404, f"https://a.test/{n}") for n in range(4)] + [response(500, "https://a.test/s")]
    )
    assert (evidence.client_errors, evidence.server_errors) == (4, 1)
    assert [failure.status for failure in evidence.network] == [500, 404, 404]


def test_only_4xx_and_5xx_count_as_network_failures() -> None:
    evidence = scan(
        [response(200), response(302), response(600), response("x"), response(None), response(True)]
    )
    assert evidence.network == ()
    assert evidence.client_errors == evidence.server_errors == 0


def test_tool_failures_name_the_tool_and_cut_the_error_at_240_characters() -> None:
    long = "word " * 100
    evidence = scan(
        [
            ("tool_use_requested", {"toolName": "browser_click", "toolCallId": "c-9"}),
            ("tool_result", {"status": "failed", "error": long, "toolCallId": "c-9"}),
            ("tool_result", {"status": "timeout", "output": "slow\n\n  page"}),
            ("tool_result", {"status": "error"}),
            tool("failed"),
        ]
    )
    assert evidence.tool_errors == 4
    first, second, third = evidence.tools
    assert first.tool == "browser_click"
    assert first.error == long.strip()[:MAX_ERROR_TEXT] + "…"
    assert (second.tool, second.error) == ("", "slow page")
    assert third.error == "error"
    assert describe("tool-error", "failed", evidence).startswith("tool browser_click failed: word word")


def test_policy_denials_are_counted_and_said() -> None:
    evidence = scan(
        [
            ("policy_decision", {"allowed": False}),
            ("policy_decision", {"allowed": "false"}),
            ("policy_decision", {"allowed": True}),
        ]
    )
    assert evidence.denials == 2
    assert describe("failed", "failed", evidence).endswith("; 2 steps denied by policy")


def test_events_of_any_shape_never_fail() -> None:
    junk: list[Event] = [
        ("tool_result", {"status": ["failed"], "metadata": "x"}),
        ("browser_network_response", {"status": 1e300}),
        ("policy_decision", {}),
        ("conversation_completed", {"status": 3}),
        ("unheard_of", {"x": None}),
    ]
    evidence = scan(junk)
    assert evidence.scanned == 5
    assert evidence.completion == "3"
    assert classify("failed", "", evidence) == "agent-failed"


@pytest.mark.parametrize("reason_", REASONS)
def test_every_reason_has_a_sentence_and_a_title(reason_: str) -> None:
    assert describe(reason_, "failed", Evidence())
    assert words.REASONS[reason_]


# -- links, flaky marks, the output ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://cdn.test/shot.png?X-Amz-Signature=abc", "https://cdn.test/shot.png"),
        ("http://cdn.test/v.mp4", "http://cdn.test/v.mp4"),
        ("javascript:alert(1)", ""),
        ("file:///etc/passwd", ""),
        ("s3://bucket/trace.zip", ""),
        ("//cdn.test/x", ""),
        ("https://", ""),
    ],
)
def test_only_http_and_https_urls_are_links(url: str, expected: str) -> None:
    assert link(url) == expected


def test_a_test_diagnosis_with_artifacts_and_flaky_mark() -> None:
    artifacts = [
        Artifact.model_validate(
            {"type": "screenshot", "uri": "https://cdn.test/a.png?sig=1", "description": "Pay"}
        ),
        Artifact.model_validate({"type": "trace", "uri": "s3://bucket/t.zip"}),
        Artifact.model_validate({"type": "video", "uri": None}),
    ]
    flaky = Flakiness.model_validate(
        {"testCaseId": "tc", "totalRuns": 20, "failedRuns": 7, "isQuarantined": True}
    )
    found = diagnose_test(item(testCaseId="tc"), [response(500)], artifacts, flaky)
    assert (found.reason, found.mark) == ("app-server-error", FlakyMark(quarantined=True, rate=0.35))
    assert [(a.type, a.url, a.is_link) for a in found.artifacts] == [
        ("screenshot", "https://cdn.test/a.png", True),
        ("trace", "s3://bucket/t.zip", False),
    ]
    (output,) = json.loads(Diagnosis((found,)).failures_output())
    assert output == {
        "name": "Checkout",
        "outcome": "failed",
        "reason": "app-server-error",
        "summary": "the app answered 500 to POST /api/checkout",
        "flaky": True,
        "quarantined": True,
        "artifacts": [{"type": "screenshot", "url": "https://cdn.test/a.png"}],
        "network": [{"method": "POST", "url": "https://shop.test/api/checkout", "status": 500}],
    }


def test_without_run_counts_the_flakiness_score_is_the_rate() -> None:
    flaky = Flakiness.model_validate({"flakinessScore": 0.4})
    assert diagnose_test(item(), [], (), flaky).mark == FlakyMark(quarantined=False, rate=0.4)
    assert diagnose_test(item(), []).mark is None


def test_failed_then_blocked_then_aborted_at_most_ten() -> None:
    items = [item("aborted", "a"), item("passed", "p"), item("blocked", "b"), item("skipped", "s")]
    items += [item("failed", f"f{n}") for n in range(12)]
    picked = chosen(items)
    assert len(picked) == MAX_TESTS
    assert [i.display_name for i in picked] == [f"f{n}" for n in range(10)]
    assert [i.display_name for i in chosen([*items[:4], item("cancelled", "c")])] == ["b", "a", "c"]


def test_a_diagnosis_is_found_by_its_row() -> None:
    one, other = item(name="one", id="i-1"), item(name="two", id="i-2")
    found = Diagnosis((diagnose_test(one, []),))
    assert found.of(one) is found.tests[0]
    assert found.of(other) is None
    assert Diagnosis().failures_output() == "[]"


def test_a_denial_after_an_error_that_ends_in_a_full_stop_reads_without_a_stray_stop() -> None:
    evidence = scan(
        [
            ("tool_use_requested", {"toolName": "browser_evaluate", "toolCallId": "c-1"}),
            ("tool_result", {"status": "failed", "error": "Not allowed by policy.", "toolCallId": "c-1"}),
            ("policy_decision", {"allowed": False}),
        ]
    )
    assert describe("tool-error", "failed", evidence) == (
        "tool browser_evaluate failed: Not allowed by policy; 1 step denied by policy"
    )
