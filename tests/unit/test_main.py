"""The whole step in-process (mocked HTTP, fake clock): outputs, summary, exit code, key hygiene."""

from __future__ import annotations

import inspect
import io
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import responses

from certyn_action.main import main
from certyn_action.runner.signals import SignalGuard
from certyn_simulator.runner.filecommands import decode_file_command, parse_outputs
from tests.fakes import FakeClock

BASE = "https://api.certyn.test"
CREATE = f"{BASE}/api/ci/runs"
KEY = "sk-test-0123456789abcdef"


class Step:
    def __init__(self, tmp_path: Path) -> None:
        self.output = tmp_path / "output"
        self.summary = tmp_path / "summary"
        self.event = tmp_path / "event.json"
        self.event.write_text(json.dumps({}))
        self.env: dict[str, str] = {
            "INPUT_API-KEY": KEY,
            "INPUT_PROJECT-SLUG": "my-app",
            "INPUT_PROCESS-SLUG": "smoke",
            "INPUT_API-URL": BASE,
            "INPUT_POLL-INTERVAL-SECONDS": "5",
            "GITHUB_OUTPUT": str(self.output),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_EVENT_PATH": str(self.event),
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_REPOSITORY": "acme/shop",
            "GITHUB_RUN_ID": "42",
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_JOB": "e2e",
            "GITHUB_ACTION": "certyn",
            "GITHUB_SHA": "a" * 40,
            "GITHUB_REF_NAME": "main",
            "GITHUB_SERVER_URL": "https://github.com",
        }
        self.clock = FakeClock()
        self.guard = SignalGuard()
        self.stdout = ""

    def run(self, **inputs: str) -> int:
        for name, value in inputs.items():
            self.env["INPUT_" + name.upper().replace("_", "-")] = value
        out = io.StringIO()
        code = main(self.env, out, self.clock, guard=self.guard)
        self.stdout = out.getvalue()
        return code

    def outputs(self) -> dict[str, str]:
        return parse_outputs(decode_file_command(self.output.read_bytes()))

    def everything(self) -> str:
        texts = [self.stdout]
        texts += [p.read_text(encoding="utf-8") for p in (self.output, self.summary) if p.exists()]
        return "\n".join(texts)


@pytest.fixture
def step(tmp_path: Path) -> Step:
    return Step(tmp_path)


def progress(*snapshots: dict[str, object]) -> None:
    for snapshot in snapshots:
        responses.get(f"{CREATE}/r-1", json=snapshot)


@responses.activate
def test_passing_run(step: Step) -> None:
    responses.post(
        CREATE, status=201, json={"runId": "r-1", "appUrl": "https://app.certyn.test/r-1", "testCaseCount": 2}
    )
    progress(
        {"state": "in_progress", "total": 2, "pending": 2},
        {"state": "completed", "total": 2, "passed": 2, "failed": 0, "blocked": 0},
    )
    assert step.run() == 0
    out = step.outputs()
    assert out["result"] == "passed"
    assert out["run-id"] == "r-1"
    assert out["state"] == "completed"
    assert out["passed"] == "2"
    assert out["idempotency-replayed"] == "false"
    assert out["status-url"] == f"{CREATE}/r-1"
    assert out["app-url"] == "https://app.certyn.test/r-1"
    summary = step.summary.read_text()
    assert "Certyn tests passed" in summary
    assert "(https://app.certyn.test/r-1)" in summary
    assert "::notice title=Certyn tests passed::" in step.stdout
    body = json.loads(responses.calls[0].request.body or b"")
    assert body == {
        "projectSlug": "my-app",
        "processSlug": "smoke",
        "repository": "acme/shop",
        "ref": "main",
        "commitSha": "a" * 40,
        "event": "push",
        "externalUrl": "https://github.com/acme/shop/actions/runs/42/attempts/1",
    }


@responses.activate
def test_failing_gate_lists_every_reason(step: Step) -> None:
    responses.post(CREATE, status=201, json={"runId": "r-1"})
    progress(
        {
            "state": "completed",
            "conclusion": "success",
            "total": 9,
            "passed": 4,
            "failed": 2,
            "blocked": 1,
            "aborted": 2,
        }
    )
    assert step.run() == 1
    assert step.outputs()["result"] == "failed"
    errors = [line for line in step.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 1
    for reason in ("2 tests failed", "1 test blocked", "2 tests aborted"):
        assert reason in errors[0]
        assert reason in step.summary.read_text()


@responses.activate
def test_wait_false_creates_and_succeeds(step: Step) -> None:
    responses.post(CREATE, status=201, json={"runId": "r-1"})
    assert step.run(wait="false") == 0
    out = step.outputs()
    assert out["result"] == "created"
    assert out["run-id"] == "r-1"
    assert out["failed"] == ""
    assert len(responses.calls) == 1


@responses.activate
def test_bad_inputs_fail_before_any_request(step: Step) -> None:
    code = step.run(process_slug="", tags="", timeout_seconds="soon", api_url="http://api.certyn.io")
    assert code == 1
    assert len(responses.calls) == 0
    errors = [line for line in step.stdout.splitlines() if line.startswith("::error")]
    assert any("'process-slug'" in line for line in errors)
    assert any("'timeout-seconds'" in line for line in errors)
    assert any("'api-url'" in line for line in errors)
    assert step.outputs()["result"] == "error"
    assert step.summary.read_text().startswith("## 📝 Certyn: invalid input\n")


@responses.activate
def test_fork_pull_request_without_secret_explains_why(step: Step) -> None:
    step.env["GITHUB_EVENT_NAME"] = "pull_request"
    step.event.write_text(
        json.dumps(
            {
                "pull_request": {
                    "head": {"sha": "b" * 40, "repo": {"full_name": "someone/shop", "fork": True}},
                    "base": {"repo": {"full_name": "acme/shop"}},
                }
            }
        )
    )
    assert step.run(api_key="") == 1
    assert "fork" in step.stdout
    assert "if: github.event.pull_request.head.repo.full_name == github.repository" in step.stdout
    assert len(responses.calls) == 0


@responses.activate
def test_timeout_cancels_the_run(step: Step) -> None:
    responses.post(CREATE, status=201, json={"runId": "r-1"})
    progress({"state": "in_progress", "total": 3, "pending": 3})
    responses.post(f"{CREATE}/r-1/cancel", status=200, json={})
    assert step.run(timeout_seconds="60") == 1
    out = step.outputs()
    assert out["result"] == "timed-out"
    assert out["state"] == "in_progress"
    cancel = [c for c in responses.calls if (c.request.url or "").endswith("/cancel")]
    assert len(cancel) == 1
    reason = json.loads(cancel[0].request.body or b"")["reason"]
    assert "timeout" in reason
    assert "https://github.com/acme/shop/actions/runs/42" in reason
    assert "::error title=Certyn run timed out::" in step.stdout


@responses.activate
def test_timeout_without_cancel_leaves_the_run(step: Step) -> None:
    responses.post(CREATE, status=201, json={"runId": "r-1"})
    progress({"state": "in_progress"})
    assert step.run(timeout_seconds="30", cancel_on_timeout="false") == 1
    assert not any((c.request.url or "").endswith("/cancel") for c in responses.calls)
    assert "left running" in step.summary.read_text()


@responses.activate
def test_replay_is_reported_in_outputs_log_and_summary(step: Step) -> None:
    responses.post(CREATE, status=200, json={"runId": "r-1"}, headers={"Idempotency-Replayed": "true"})
    progress({"state": "completed", "total": 1, "passed": 1, "failed": 0, "blocked": 0})
    assert step.run() == 0
    assert step.outputs()["idempotency-replayed"] == "true"
    assert "idempotent replay" in step.stdout
    assert "replayed" in step.summary.read_text()


@responses.activate
def test_auth_error_is_an_error_result_with_a_clear_title(step: Step) -> None:
    responses.post(CREATE, status=401, json={"error": "bad key"})
    assert step.run() == 1
    assert step.outputs()["result"] == "error"
    assert "::error title=Certyn API key rejected::" in step.stdout
    assert len(responses.calls) == 1


@responses.activate
def test_the_key_never_leaves_the_x_api_key_header(step: Step) -> None:
    step.env["RUNNER_DEBUG"] = "1"
    responses.post(CREATE, status=401, json={"error": f"key {KEY} is revoked"})
    step.run()
    lines = step.everything().splitlines()
    assert [line for line in lines if KEY in line] == [f"::add-mask::{KEY}"]
    assert step.stdout.splitlines()[0] == f"::add-mask::{KEY}"


@responses.activate
def test_server_text_cannot_inject_commands_or_outputs(step: Step) -> None:
    evil = "x\n::error::pwned\nresult=passed\r\n##[set-output name=result;]passed"
    responses.post(CREATE, status=201, json={"runId": "r-1", "appUrl": evil})
    progress({"state": "completed", "conclusion": evil, "total": 1, "failed": 1})
    assert step.run() == 1
    for line in step.stdout.splitlines():
        assert not line.lstrip().startswith("::error::pwned")
        assert "##[set-output" not in line
    out = step.outputs()
    assert out["result"] == "failed"
    assert out["conclusion"] == evil  # kept as data, exactly
    assert out["app-url"] == ""  # not an http(s) link: never offered as one


@responses.activate
def test_internal_errors_still_write_outputs_and_summary(step: Step, monkeypatch: pytest.MonkeyPatch) -> None:
    responses.post(CREATE, status=201, json={"runId": "r-1", "appUrl": "https://app.certyn.test/r-1"})

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"bug while holding {KEY}")

    monkeypatch.setattr("certyn_action.wait.Poller.run", boom)
    assert step.run() == 1
    assert step.outputs()["result"] == "error"
    assert step.outputs()["run-id"] == "r-1"
    assert "internal error" in step.summary.read_text()
    assert KEY not in step.summary.read_text()
    # the one annotation still says where the run is, so it can be checked (or stopped) in Certyn
    (error,) = [line for line in step.stdout.splitlines() if line.startswith("::error")]
    assert "title=Certyn action error" in error
    assert error.endswith("Certyn run: https://app.certyn.test/r-1")
    assert KEY not in error


@responses.activate
def test_a_fatal_error_while_polling_cancels_the_run_it_stops_watching(step: Step) -> None:
    responses.post(CREATE, status=201, json={"runId": "r-1"})
    responses.get(f"{CREATE}/r-1", status=400, json={"error": "run is in a bad state"})
    responses.post(f"{CREATE}/r-1/cancel", status=200, json={})
    assert step.run() == 1
    assert step.outputs()["result"] == "error"
    assert any((c.request.url or "").endswith("/cancel") for c in responses.calls)
    assert "run is in a bad state" in step.summary.read_text()


@responses.activate
def test_a_key_echoed_by_the_server_stays_out_of_outputs_and_summary(step: Step) -> None:
    responses.post(CREATE, status=201, json={"runId": "r-1", "appUrl": f"https://app/{KEY}"})
    progress(
        {"state": "completed", "conclusion": f"ok {KEY}", "total": 1, "passed": 1, "failed": 0, "blocked": 0}
    )
    assert step.run() == 0
    assert KEY not in step.summary.read_text()
    assert KEY not in step.output.read_text()
    assert step.outputs()["conclusion"] == "ok ***"


@responses.activate
def test_an_unwritable_output_file_still_gives_the_verdict(step: Step, tmp_path: Path) -> None:
    step.env["GITHUB_OUTPUT"] = str(tmp_path / "missing-dir" / "output")
    responses.post(CREATE, status=201, json={"runId": "r-1"})
    progress({"state": "completed", "total": 1, "failed": 1})
    assert step.run() == 1
    assert "::error title=Certyn action error::Could not write the step outputs" in step.stdout
    assert "::error title=Certyn gate failed::" in step.stdout
    assert "Certyn gate failed" in step.summary.read_text()


@responses.activate
def test_an_error_after_the_create_names_the_run_and_cancels_it(step: Step) -> None:
    responses.post(CREATE, status=201, json={"runId": "r-1", "appUrl": "https://app.certyn.test/r-1"})
    responses.get(f"{CREATE}/r-1", status=422, json={"error": "cannot read this run"})
    responses.post(f"{CREATE}/r-1/cancel", status=200, json={})
    assert step.run() == 1
    (error,) = [line for line in step.stdout.splitlines() if line.startswith("::error")]
    assert "cannot read this run" in error
    assert "https://app.certyn.test/r-1" in error
    assert any((c.request.url or "").endswith("/cancel") for c in responses.calls)


@responses.activate
def test_a_crash_after_the_create_still_cancels_the_run(step: Step, monkeypatch: pytest.MonkeyPatch) -> None:
    responses.post(CREATE, status=201, json={"runId": "r-1"})
    responses.post(f"{CREATE}/r-1/cancel", status=200, json={})

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr("certyn_action.wait.Poller.run", boom)
    assert step.run() == 1
    assert any((c.request.url or "").endswith("/cancel") for c in responses.calls)


@responses.activate
def test_a_cancel_that_the_code_it_cut_short_turned_into_another_error_still_ends_cancelled(
    step: Step, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The handler's exception can land in code not written for it: there a cleanup may raise another error
    # instead (threading's Condition.wait, cut between releasing its lock and taking it back: "release unlocked
    # lock", seen once under load). The job is being cancelled: the step says so, and the cancel follows
    # cancel-on-job-cancel, not the switch for errors.
    responses.post(CREATE, status=201, json={"runId": "r-1"})
    responses.post(f"{CREATE}/r-1/cancel", status=200, json={})

    def signal_inside_a_lock(*args: object) -> None:
        lock = threading.Lock()
        with lock:
            lock.release()
            step.guard._handle(signal.SIGTERM, None)

    monkeypatch.setattr("certyn_action.wait.Poller.run", signal_inside_a_lock)
    assert step.run(cancel_on_timeout="false") == 1
    assert step.outputs()["result"] == "cancelled"
    assert "::error" not in step.stdout
    assert "GitHub job cancelled" in step.summary.read_text()
    assert [c.request.url for c in responses.calls][-1] == f"{CREATE}/r-1/cancel"
    assert "release unlocked lock" in step.stdout  # said, never an annotation


@pytest.mark.parametrize(
    ("line", "block", "result"),
    [
        ("try:", 2, "cancelled"),  # the wait's block (the first reads the settings), entered
        ("self._armed, self._blocks = False", 2, "cancelled"),  # left, the run ended meanwhile
        ("try:", 3, "passed"),  # the reads after the run: the gate's verdict stands
        ("self._armed, self._blocks = False", 3, "passed"),
    ],
)
@responses.activate
def test_a_signal_landing_as_a_block_is_entered_or_left_ends_the_step_once_and_still_reports(
    step: Step, monkeypatch: pytest.MonkeyPatch, line: str, block: int, result: str
) -> None:
    # Where the handler's exception leaves the block before the block can see it go (its first line, its
    # cleanup), nothing raises it again: not in the outputs written after the reads (the gate's verdict was
    # replaced), not in the status read after the run's cancel (it escaped the step: no outputs, no summary).
    responses.post(CREATE, status=201, json={"runId": "r-1"})
    responses.post(f"{CREATE}/r-1/cancel", status=409, json={})
    progress({"state": "completed", "total": 1, "passed": 1, "failed": 0, "blocked": 0})
    interruptible = SignalGuard.interruptible.__wrapped__  # type: ignore[attr-defined]
    source, first = inspect.getsource(interruptible).splitlines(), interruptible.__code__.co_firstlineno
    at = first + next(i for i, text in enumerate(source) if text.strip().startswith(line))
    entered = [0]

    def handler_at_the_line(frame: FrameType, event: str, arg: object) -> Any:  # sys.settrace's TraceFunction
        if frame.f_code is interruptible.__code__ and frame.f_lineno == at and event == "line":
            entered[0] += 1
            if entered[0] == block:
                step.guard._handle(signal.SIGTERM, frame)
        return handler_at_the_line

    tracing = sys.gettrace()  # coverage's, when it runs
    sys.settrace(handler_at_the_line)
    try:
        code = step.run(test_results="false")
    finally:
        sys.settrace(tracing)
    assert step.guard.signal_name == "SIGTERM"
    assert (step.outputs()["result"], code) == (result, int(result != "passed"))
    assert step.summary.read_text().strip()


@responses.activate
def test_an_adjusted_input_is_a_warning_and_the_run_goes_on(step: Step) -> None:
    responses.post(CREATE, status=201, json={"runId": "r-1"})
    progress({"state": "completed", "total": 1, "passed": 1, "failed": 0, "blocked": 0})
    assert step.run(max_poll_interval_seconds="2") == 0
    assert (
        "::warning title=Certyn%3A input 'max-poll-interval-seconds' adjusted::Input 'max-poll-interval-seconds': "
        "2 is below poll-interval-seconds (5)" in step.stdout
    )
    assert "polling every 5s" in step.stdout


@responses.activate
def test_a_bug_while_releasing_the_run_still_reports_and_never_passes(
    step: Step, monkeypatch: pytest.MonkeyPatch
) -> None:
    responses.post(CREATE, status=201, json={"runId": "r-1"})
    responses.get(f"{CREATE}/r-1", status=400, json={"error": "bad state"})

    def boom(*args: object, **kwargs: object) -> str:
        raise RuntimeError("bug in the cancel")

    monkeypatch.setattr("certyn_action.api.client.CertynClient.cancel", boom)
    assert step.run() == 1
    assert step.outputs()["result"] == "error"
    assert step.outputs()["run-id"] == "r-1"
    assert "bug in the cancel" in step.summary.read_text()


@responses.activate
def test_a_run_of_another_commit_is_said_once_even_when_each_poll_names_another(step: Step) -> None:
    # A replayed run of an old commit whose status names a different commit at each poll: one warning, one note.
    responses.post(CREATE, status=201, json={"runId": "r-1"}, headers={"Idempotency-Replayed": "true"})
    progress(
        {"state": "in_progress", "commitSha": "b" * 40, "total": 1, "pending": 1},
        {"state": "in_progress", "commitSha": "c" * 40, "total": 1, "pending": 1},
        {"state": "completed", "commitSha": "d" * 40, "total": 1, "passed": 1, "failed": 0, "blocked": 0},
    )
    step.run(idempotency_key="release-1")
    warnings = [line for line in step.stdout.splitlines() if "title=Certyn run of another commit" in line]
    assert len(warnings) == 1
    assert step.summary.read_text().count("This run tested commit") == 1
