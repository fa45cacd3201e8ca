"""The built-in scenarios (``--scenario NAME``) and loading a scenario by name or from a JSON file."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from .scenario import Fault, Scenario, ScenarioError, snapshot


def _progress(total: int, steps: int) -> list[dict[str, Any]]:
    snaps: list[dict[str, Any]] = [snapshot("queued", conclusion="", total=total, pending=total)]
    for i in range(1, steps + 1):
        done = total * i // (steps + 1)
        snaps.append(snapshot("in_progress", conclusion="", total=total, passed=done, pending=total - done))
    return snaps


def _final(state: str, conclusion: str, total: int, **counts: int) -> dict[str, Any]:
    return snapshot(state, conclusion=conclusion, total=total, **counts)


_SHOP = "https://shop.certyn-sim.invalid"
_ARTIFACTS = "https://artifacts.certyn-sim.invalid"


def _event(kind: str, **payload: Any) -> dict[str, Any]:
    return {"type": kind, "payload": payload}


_FAIL_RESULTS: list[dict[str, Any]] = [
    {
        "testCaseName": "Checkout with a saved card",
        "status": "failed",
        "testOutcome": "failed",
        "summaryMarkdown": "The **Pay now** button stayed disabled after the card was selected.\n\n"
        "Expected the order confirmation page; the page kept showing the payment step.",
        "_events": [
            _event("job_running"),
            _event("tool_use_requested", toolName="browser_click", toolCallId="call-1"),
            _event("browser_network_request", requestId="req-1", method="POST", url=f"{_SHOP}/api/checkout"),
            _event(
                "browser_network_response",
                requestId="req-1",
                method="POST",
                url=f"{_SHOP}/api/checkout",
                status=500,
                statusText="Internal Server Error",
            ),
            _event(
                "tool_result",
                status="completed",
                output="Clicked Pay now; the button stayed disabled.",
                metadata={"toolName": "browser_click", "toolCallId": "call-1"},
            ),
            _event("job_completed", status="failed"),
            _event("conversation_completed", status="completed"),
        ],
        "_artifacts": [
            {
                "type": "screenshot",
                "uri": f"{_ARTIFACTS}/checkout/pay-now-disabled.png",
                "description": "The payment step with Pay now disabled",
            },
            {"type": "har", "uri": f"{_ARTIFACTS}/checkout/network.har", "description": "Network log"},
        ],
        "_observations": [
            {
                "title": "POST /api/checkout answers 500 for a saved card",
                "description": "The checkout API failed with 500 Internal Server Error when paying with a saved "
                "card; the page kept the Pay now button disabled.",
            }
        ],
    },
    {
        "testCaseName": "Apply a discount code",
        "status": "failed",
        "testOutcome": "failed",
        "summaryMarkdown": "The code `SPRING10` was accepted but the total did not change (still 42.00).",
        "_events": [
            _event("tool_use_requested", toolName="browser_evaluate", toolCallId="call-7"),
            _event("policy_decision", allowed=False, toolName="browser_evaluate", toolCallId="call-7"),
            _event(
                "tool_result",
                status="denied",
                error="Running scripts on the page is not allowed by the project's policy.",
                metadata={"toolName": "browser_evaluate", "toolCallId": "call-7"},
            ),
            _event("job_completed", status="failed"),
            _event("conversation_completed", status="completed"),
        ],
        "_artifacts": [
            {
                "type": "screenshot",
                "uri": f"{_ARTIFACTS}/discount/total-unchanged.png",
                "description": "The cart total after SPRING10",
            }
        ],
        "_flaky": {
            "flakinessScore": 0.35,
            "totalRuns": 20,
            "passedRuns": 13,
            "failedRuns": 7,
            "flipCount": 6,
            "shouldQuarantine": False,
        },
    },
    {
        "testCaseName": "Sign in with SSO",
        "status": "blocked",
        "testOutcome": "blocked",
        "summaryMarkdown": "Blocked: the SSO provider's login page did not load within 30 s.",
        "_events": [
            _event("tool_use_requested", toolName="navigate", toolCallId="call-3"),
            _event(
                "tool_result",
                status="timeout",
                error="navigate: the SSO login page did not load within 30 s",
                metadata={"toolName": "navigate", "toolCallId": "call-3"},
            ),
            _event("job_completed", status="failed"),
            _event("conversation_completed", status="failed"),
        ],
        "_artifacts": [
            {
                "type": "screenshot",
                "uri": f"{_ARTIFACTS}/sso/blank-login.png",
                "description": "The blank SSO page",
            }
        ],
    },
    {"testCaseName": "Search the catalogue", "summaryMarkdown": "Results matched the query."},
    {
        "testCaseName": "Add to cart",
        "summaryMarkdown": "The cart badge showed the right count.",
        "_flaky": {
            "flakinessScore": 0.12,
            "totalRuns": 25,
            "passedRuns": 23,
            "failedRuns": 2,
            "flipCount": 2,
        },
    },
]
_FAIL_ANSWER = (
    "Two checkout tests failed and one test was blocked.\n\n"
    "- **Checkout with a saved card**: the Pay now button stays disabled; check the card selection handler.\n"
    "- **Apply a discount code**: the discount is accepted but not applied to the total.\n"
    "- **Sign in with SSO** was blocked because the SSO provider did not answer; re-run once it is reachable."
)


def builtin_scenarios() -> dict[str, Scenario]:
    """The named scenarios of ``--scenario NAME``. Each call returns fresh copies."""
    total = 5
    prog = _progress(total, 3)
    return {
        "pass": Scenario(
            name="pass",
            snapshots=[*prog, _final("completed", "success", total, passed=5)],
            test_case_count=total,
        ),
        "fail": Scenario(
            name="fail",
            snapshots=[*prog, _final("completed", "failure", total, passed=2, failed=2, blocked=1)],
            test_case_count=total,
            test_results=copy.deepcopy(_FAIL_RESULTS),
            conversation_answer=_FAIL_ANSWER,
        ),
        "blocked": Scenario(
            name="blocked",
            snapshots=[*prog, _final("completed", "action_required", total, passed=4, blocked=1)],
            test_case_count=total,
        ),
        "aborted": Scenario(
            name="aborted",
            snapshots=[*prog, _final("completed", "failure", total, passed=2, aborted=3)],
            test_case_count=total,
        ),
        "empty": Scenario(name="empty", snapshots=[_final("completed", "success", 0)], test_case_count=0),
        "cancelled": Scenario(
            name="cancelled",
            snapshots=[*prog[:2], _final("cancelled", "cancelled", total, passed=1, aborted=4)],
            test_case_count=total,
        ),
        "slow": Scenario(
            name="slow",
            snapshots=[*_progress(20, 19), _final("completed", "success", 20, passed=20)],
            retry_after_seconds=2,
            test_case_count=20,
        ),
        "never": Scenario(
            name="never",
            snapshots=[snapshot("in_progress", conclusion="", total=total, pending=total)],
            test_case_count=total,
        ),
        "flaky": Scenario(
            name="flaky",
            snapshots=[*prog, _final("completed", "success", total, passed=5)],
            test_case_count=total,
            faults={
                "create": [
                    Fault.http(503, {"error": "Service Unavailable"}, retry_after=1),
                    Fault.drop_after(),
                ],
                "status": [
                    Fault.http(502, "<html><body>Bad Gateway</body></html>"),
                    Fault.html(),
                    Fault.drop(),
                    Fault.truncated(),
                    Fault.http(429, {"error": "Too many requests"}, retry_after=1),
                    Fault.http(404, {"error": "Run not found"}),
                ],
                "cancel": [Fault.http(503)],
            },
        ),
    }


def builtin_scenario(name: str) -> Scenario:
    scenarios = builtin_scenarios()
    if name not in scenarios:
        raise ScenarioError(f"unknown scenario {name!r}; built-in ones are {', '.join(sorted(scenarios))}")
    return scenarios[name]


def load_scenario(value: str) -> Scenario:
    """A built-in scenario name, or the path of a scenario JSON file."""
    if value in builtin_scenarios():
        return builtin_scenario(value)
    path = Path(value)
    if not path.is_file():
        raise ScenarioError(
            f"{value!r} is neither a built-in scenario ({', '.join(sorted(builtin_scenarios()))}) nor a file"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"cannot read scenario file {value!r}: {exc}") from exc
    return Scenario.from_dict(data)
