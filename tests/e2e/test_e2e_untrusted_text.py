"""End to end: text from the server, the AI or the inputs is shown as text: bidirectional controls and invisible
characters become spaces in the log, the summary and the outputs. Each test runs entrypoint.py the way the runner
does (tests/e2e_support.py) against the simulator on 127.0.0.1."""

from __future__ import annotations

import re

from certyn_simulator import Fault, Scenario, snapshot
from tests.e2e_support import (
    PASSED,
    Step,
    explain,
    inputs,
    run_action,
    run_steps,
    simulators,
)

INVISIBLE = "\u202e\u2066\u200b\ufeff\u061c\u2060"


# The summary's own WORD JOINER, after an escaped "#", "@" or "GH-" (it keeps GitHub from linking an issue or
# an address): ours, not the server's
_OURS = re.compile(r"(\\#|GH\\-|@)\u2060", re.IGNORECASE)


def _server_invisible(text: str) -> bool:
    """Whether ``text`` holds an invisible or bidirectional character other than the summary's own."""
    return any(ch in _OURS.sub(r"\1", text) for ch in INVISIBLE)


def test_bidi_and_invisible_characters_from_the_server_are_neutralised_where_shown() -> None:
    evil = f"ok{INVISIBLE}txt.exe"
    failing = Scenario(snapshots=[snapshot("completed", conclusion=evil, total=2, passed=1, failed=1)])
    refused = Scenario(
        snapshots=[PASSED],
    ).with_faults(create=[Fault.http(422, {"error": f"bad {INVISIBLE} project", "title": evil})])
    with simulators(failing, refused) as (sim1, sim2):
        runs = run_steps(Step(inputs(sim1.base_url)), Step(inputs(sim2.base_url)))
    for run in runs:
        assert run.exit_code == 1, explain(run)
        shown = run.stdout + run.stderr + run.summary + run.outputs.get("conclusion", "")
        assert not _server_invisible(shown), explain(run)
    assert "txt.exe" in runs[0].log
    assert runs[0].outputs["conclusion"].startswith("ok")
    assert "project" in runs[1].log


def test_bidi_and_invisible_characters_in_the_answer_and_the_instruction_are_neutralised() -> None:
    scenario = Scenario(
        snapshots=[PASSED],
        test_results=[{"testCaseName": f"t{INVISIBLE}1", "testOutcome": "passed"}],
        conversation_polls=0,
        conversation_answer=f"```\nrun{INVISIBLE}exe.txt\n```",
    )
    with simulators(scenario) as (sim,):
        run = run_action(sim.base_url, instruction=f"why{INVISIBLE}not", timeout_seconds="30")
    assert run.exit_code == 0, explain(run)
    answer = run.outputs["conversation-response"]
    for where, text in {"log": run.stdout + run.stderr, "summary": run.summary, "answer": answer}.items():
        assert not _server_invisible(text), f"{where}\n{explain(run)}"
    assert answer == f"```\nrun{' ' * len(INVISIBLE)}exe.txt\n```"
    assert f"why{' ' * len(INVISIBLE)}not" in run.summary
