"""End to end, every outcome the simulator can produce, read as a user who just got a red (or green) build
(issue 19's "Done when"): the raw log and the job summary rendered with cmark-gfm, one case per outcome.

All the cases run at once (each its own simulator and ``entrypoint.py`` process), once per module; each
case is then checked against the same points.
"""

from __future__ import annotations

import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from certyn_action.render import words
from certyn_simulator import Fault, Scenario, Simulator, builtin_scenario, snapshot
from certyn_simulator.runner import ActionRun, FakeRunner
from tests.e2e_support import (
    API_KEY,
    PROJECT,
    ROOT,
    Deployment,
    Step,
    closed_port_url,
    explain,
    inputs,
    run_step,
)
from tests.rendered import ALLOWED_TAGS, read

IN_PROGRESS = snapshot("in_progress", total=4, passed=1, pending=3)


def quick(name: str, **changes: Any) -> Scenario:
    """A built-in scenario at its final snapshot (no polls in between), the project known beforehand."""
    scenario = builtin_scenario(name)
    return replace(scenario, **{"snapshots": scenario.snapshots[-1:], "projects": [PROJECT], **changes})


def over_the_cap() -> Scenario:
    outcomes = ["failed"] * 62 + ["passed"] * 18
    rows = [
        {"testCaseName": f"test {i}", "testOutcome": o, "status": o, "summaryMarkdown": f"finding {i}"}
        for i, o in enumerate(outcomes, 1)
    ]
    return Scenario(snapshots=[snapshot("completed", total=80, passed=18, failed=62)], test_results=rows)


@dataclass(frozen=True)
class Case:
    scenario: Scenario
    result: str  # the `result` output
    extra: dict[str, str] = field(default_factory=dict)
    how: str = "run"  # "run", "attach" (to a run made beforehand), "cancel" (the runner cancels the job)
    deployment: bool = False  # base-url on a stand-in deployment that answers
    causes: int | None = None  # when the tests have no cause of their own: the error annotations at most


CASES = {
    "passed": Case(quick("pass"), "passed"),
    "failed": Case(quick("fail"), "failed", {"instruction": "Why did the checkout fail?"}),
    "no AI answer in time": Case(
        quick("pass", conversation_polls=None),
        "passed",
        {"instruction": "Summarise the run.", "conversation_timeout_seconds": "1"},
    ),
    "blocked": Case(quick("blocked"), "failed"),
    "blocked let through": Case(quick("blocked"), "passed", {"fail_on_blocked": "false"}),
    "aborted": Case(quick("aborted"), "failed"),
    "cancelled in Certyn": Case(quick("cancelled"), "failed", causes=1),  # its aborted tests: the cancel
    "empty": Case(quick("empty"), "failed"),
    "incomplete": Case(Scenario(snapshots=[snapshot("completed", total=3, passed=1)]), "failed"),
    "timed out": Case(Scenario(snapshots=[IN_PROGRESS]), "timed-out", {"timeout_seconds": "3"}),
    "outage recovered": Case(
        quick("pass").with_faults(status=[Fault.http(503, retry_after=0, times=2)]), "passed"
    ),
    "outage not recovered": Case(
        Scenario(snapshots=[IN_PROGRESS]).with_faults(status=[Fault.http(503, retry_after=0, times=100)]),
        "timed-out",
        {"timeout_seconds": "4"},
    ),
    "key rejected": Case(
        quick("pass").with_faults(create=[Fault.http(401, {"error": "Invalid key."})]), "error"
    ),
    "project not found": Case(quick("pass", projects=["another-app"]), "error"),
    "run not found on attach": Case(quick("pass"), "error", {"run_id": "no-such-run", "process_slug": ""}),
    "API error": Case(quick("pass").with_faults(create=[Fault.http(422, {"error": "Bad tags."})]), "error"),
    "deployment down": Case(quick("pass"), "error", {"base_url": "closed", "base_url_wait_seconds": "1"}),
    "preview passed": Case(quick("pass"), "passed", deployment=True),
    "preview failed": Case(quick("fail"), "failed", deployment=True),
    "job cancelled": Case(
        Scenario(snapshots=[IN_PROGRESS]), "cancelled", {"timeout_seconds": "30"}, "cancel"
    ),
    "wait false": Case(quick("pass"), "created", {"wait": "false"}),
    "attach": Case(quick("fail"), "failed", {"run_id": "run-7", "process_slug": ""}, "attach"),
    "over the row cap": Case(over_the_cap(), "failed"),
    "bad input": Case(quick("pass"), "error", {"timeout_seconds": "soon"}),
}


def _run(case: Case) -> ActionRun:
    with Simulator(case.scenario, api_key=API_KEY) as sim, Deployment() as deployment:
        extra = dict(case.extra)
        if extra.get("base_url") == "closed":
            extra["base_url"] = closed_port_url()
        elif case.deployment:
            extra["base_url"] = deployment.url
        if case.how == "attach":
            sim.create_run(PROJECT, run_id=extra["run_id"], scenario=case.scenario)
        if case.how != "cancel":
            return run_step(Step(inputs(sim.base_url, **extra)))
        with FakeRunner(ROOT).start(inputs(sim.base_url, **extra)) as action:
            sim.wait_for(lambda r: r.endpoint == "status", timeout=15)
            return action.cancel_like_runner()


@pytest.fixture(scope="module")
def runs() -> dict[str, ActionRun]:
    with ThreadPoolExecutor(max_workers=6) as pool:
        return dict(zip(CASES, pool.map(_run, CASES.values()), strict=True))


# Titles of the step's own annotations; any other title names a test.
OURS = {
    *(title for _, title in words.VERDICTS.values()),
    *words.CAUSE_TITLES.values(),
    words.GATE_PASSED,
    words.RECOVERED,
    words.DEPLOYMENT_NOT_REACHED,
    words.RESULTS_TITLE,
    words.JUNIT_TITLE,
    words.ANSWER_TITLE,
    words.DIAGNOSIS_INCOMPLETE,
    words.OTHER_COMMIT,
    words.ENVIRONMENT_NOT_DELETED,
}
ZERO_ONLY = {"Pending", "Aborted", "Skipped"}  # columns shown only when not 0
AGREEING = {"passed": {"success"}, "failed": {"failure"}}  # Certyn's conclusions that repeat the verdict
MARKDOWN = re.compile(r"\*\*[^*\s]|`[^`]+`")  # bold or code spans, as Markdown source
WRONG_PLURALS = re.compile(
    r"(?<![\d.,/])1 (?:more )?(?:failing |failed )?(?:tests|attempts|polls|variables|test cases|runs)\b|\(s\)"
)


def _ours(title: str) -> bool:
    return title in OURS or title.startswith("Certyn")


def _cause(command: Any) -> str:
    """What an error annotation is about: the step's own (its title), or a test's message without its name."""
    title = command.properties.get("title") or ""
    return title if _ours(title) else title.split(" — ")[0]


def _check_summary(case: Case, run: ActionRun) -> None:
    view = read(run.summary)
    # GitHub's parser makes of it only what we write; the run is linked right under the headline
    assert set(view.tags) <= ALLOWED_TAGS, set(view.tags) - ALLOWED_TAGS
    app_url = run.outputs.get("app-url", "")
    if app_url:
        assert view.html.split("</h2>", 1)[1].lstrip().startswith("<p><strong><a href=")
        assert view.links[0][0] == app_url
        for phrase in words.TO_THE_RUN:  # a next step that sends the reader to the run is a link to it
            if phrase in view.text:
                assert (app_url, phrase) in view.links, phrase
    # no noise: passing rows folded on a pass, no column of 0s, Certyn's conclusion only where it differs
    # from the verdict, no bullet repeating the counts below it or the next step's advice
    if case.result == "passed":
        assert "✅ passed" not in re.sub(r"<details>.*?</details>", "", view.html, flags=re.DOTALL)
    counts = [table for table in view.tables if table and table[0][:1] == ["Total"]]
    for head, values in (table[:2] for table in counts):
        assert [n for n, v in zip(head, values, strict=True) if n in ZERO_ONLY and v == "0"] == []
    if counts:
        assert not [item for item in view.items if " done: " in item]
    if "Certyn's conclusion" in view.text:
        conclusion = run.outputs["conclusion"]
        assert conclusion != run.outputs["state"]
        assert conclusion not in AGREEING.get(case.result, ())
    verdict = view.html.split("<h3>", 1)[0]  # the heading, reasons, next steps and counts: our words
    assert verdict.lower().count("check ") <= 1  # what to check: said once
    if "cancelled in Certyn" in view.text:  # the cause is known: no "see why tests were aborted"
        assert "why tests were aborted" not in view.text
    for text in view.items:
        assert not WRONG_PLURALS.search(text), text


def _check_log(case: Case, run: ActionRun) -> None:
    # no error on a green step, one error per cause, each test's annotation names it first
    errors = run.commands_named("error")
    if run.exit_code == 0:
        assert not errors
    repeated = {cause: n for cause, n in Counter(map(_cause, errors)).items() if n > 1}
    assert not repeated, repeated
    if case.causes is not None:
        assert len(errors) <= case.causes, [c.data for c in errors]
    for command in [*errors, *run.commands_named("warning"), *run.commands_named("notice")]:
        title = command.properties.get("title") or ""
        if not _ours(title):  # a test's annotation
            assert command.data.startswith(title.split(" — ")[0] + " — "), command
    # no Markdown source (ours or Certyn's) and no wrong plural in what a person reads
    shown = [line for line in run.stdout.splitlines() if not line.startswith("::add-mask::")]
    assert not [line for line in shown if MARKDOWN.search(line)]
    assert not [line for line in shown if WRONG_PLURALS.search(line)]


@pytest.mark.parametrize("name", CASES)
def test_every_outcome_reads_right_in_the_log_and_the_rendered_summary(
    runs: dict[str, ActionRun], name: str
) -> None:
    case, run = CASES[name], runs[name]
    print(explain(run))  # shown with a failure
    assert run.outputs["result"] == case.result
    _check_summary(case, run)
    _check_log(case, run)
