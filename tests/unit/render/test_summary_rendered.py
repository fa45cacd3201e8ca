"""Every outcome's job summary, rendered with GitHub's own parser (cmark-gfm) and read as a user reads it.

Each summary comes from the whole step in-process (mocked HTTP, fake clock), so it is the one the action
writes. The invariants: no literal backticks or backslash escapes in the visible text, no empty table header
row, every link http(s), no tag that our Markdown does not make, the outcome's heading and reasons shown, and
the biggest summary far below GitHub's 1 MiB limit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import responses

from certyn_action.api.models import Created, CreatedRun, RunStatus
from certyn_action.gate import Result, Verdict
from certyn_action.render import words
from certyn_action.render.summary import MAX_REASONS, render_summary
from certyn_action.report import CancelRequest, Report
from certyn_action.runner.signals import CancelRequested
from certyn_action.settings import read_settings
from certyn_simulator import DEFAULT_API_KEY, Scenario, Simulator, snapshot
from certyn_simulator.runner import FakeRunner
from tests.e2e_support import ROOT
from tests.fakes import FakeClock
from tests.rendered import ALLOWED_TAGS, Rendered, read
from tests.unit.test_main import CREATE, Step

RUN = f"{CREATE}/r-1"
APP = "https://app.certyn.test/runs/r-1"
MIB = 1024 * 1024


class CancellingClock(FakeClock):
    """The job is cancelled (SIGINT) while the action sleeps between polls."""

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        raise CancelRequested("SIGINT")


def _created(**extra: object) -> None:
    responses.post(CREATE, status=201, json={"runId": "r-1", "appUrl": APP, "testCaseCount": 5, **extra})


def _poll(*snapshots: dict[str, object]) -> None:
    for state in snapshots:
        responses.get(RUN, json=state)


def _done(**counts: int) -> dict[str, object]:
    # failed and blocked are the counters the API promises: a finished status without them does not pass
    return {"state": "completed", "conclusion": "success", "failed": 0, "blocked": 0, **counts}


@dataclass(frozen=True)
class Case:
    heading: str
    reasons: tuple[str, ...]  # what the list items must say (fragments of the visible text)
    arrange: Callable[[Step], dict[str, str]]  # mocks the API; returns the step's inputs
    code: int = 1
    next_step: str = ""  # a fragment of the "Next step" paragraph (or list)


def _after_cancel(running: dict[str, object], cancelled: dict[str, object], code: int = 200) -> None:
    """Polls answer ``running`` until the step's cancel arrives, then ``cancelled`` with HTTP ``code``."""
    asked: list[bool] = []

    def status(_request: object) -> tuple[int, dict[str, str], str]:
        return (code, {}, json.dumps(cancelled)) if asked else (200, {}, json.dumps(running))

    def cancel(_request: object) -> tuple[int, dict[str, str], str]:
        asked.append(True)
        return 202, {}, "{}"

    responses.add_callback(responses.GET, RUN, callback=status)
    responses.add_callback(responses.POST, f"{RUN}/cancel", callback=cancel)


def _passed(step: Step) -> dict[str, str]:
    _created()
    _poll({"state": "in_progress", "total": 5, "pending": 5}, _done(total=5, passed=5))
    return {}


def _waived(step: Step) -> dict[str, str]:
    _created()
    _poll(_done(total=5, passed=3, failed=2))
    return {"fail_on_failed": "false"}


def _failed(step: Step) -> dict[str, str]:
    _created()
    _poll(_done(total=9, passed=4, failed=2, blocked=1, aborted=2))
    return {}


def _incomplete(step: Step) -> dict[str, str]:
    _created()
    _poll(_done(total=10, passed=4, failed=0, blocked=0, aborted=0, skipped=0))
    return {}


def _timed_out(step: Step) -> dict[str, str]:
    _created()
    running = {"state": "in_progress", "total": 5, "passed": 1, "pending": 4}
    _after_cancel(running, {**running, "state": "cancelled", "conclusion": "cancelled"})
    return {"timeout_seconds": "60"}


def _timed_out_no_reread(step: Step) -> dict[str, str]:
    """The cancel is accepted but the status cannot be read again: the state shown is from before it."""
    _created()
    _after_cancel({"state": "in_progress", "total": 5, "passed": 1, "pending": 4}, {"error": "down"}, 503)
    return {"timeout_seconds": "60"}


def _cancel_failed(step: Step) -> dict[str, str]:
    _created()
    _poll({"state": "in_progress", "total": 5, "passed": 1, "pending": 4})
    responses.post(f"{RUN}/cancel", status=503, json={"error": "maintenance"})
    return {"timeout_seconds": "60", "http_max_attempts": "3"}


def _outage(step: Step) -> dict[str, str]:
    _created()
    _poll({"state": "in_progress", "total": 5, "passed": 2, "failed": 1, "pending": 2})
    responses.get(RUN, status=503, json={"error": "down"})
    responses.post(f"{RUN}/cancel", status=503, json={"error": "down"})
    return {"timeout_seconds": "120"}


def _outage_on_create(step: Step) -> dict[str, str]:
    responses.post(CREATE, status=503, json={"error": "down"})
    return {"http_max_attempts": "2"}


def _run_not_found(step: Step) -> dict[str, str]:
    _created()
    responses.get(RUN, status=404, json={"error": "no such run"})
    responses.post(f"{RUN}/cancel", status=404, json={})
    return {"http_max_attempts": "1"}


def _attached_not_found(step: Step) -> dict[str, str]:
    responses.get(f"{CREATE}/r-404", status=404, json={"error": "no such run"})
    step.env.pop("INPUT_PROCESS-SLUG")  # an attached run was made with its own selection
    return {"run_id": "r-404"}


def _deployment_down(step: Step) -> dict[str, str]:
    responses.get("https://preview.shop.test/", body=ConnectionError("refused"))
    return {"base_url": "https://preview.shop.test/", "base_url_wait_seconds": "10"}


def _empty(step: Step) -> dict[str, str]:
    _created()
    _poll(_done(total=0))
    return {}


def _blocked(step: Step) -> dict[str, str]:
    _created()
    _poll(_done(total=3, passed=2, blocked=1))
    return {}


def _cancelled_in_certyn(step: Step) -> dict[str, str]:
    _created()
    _poll(
        {
            "state": "cancelled",
            "conclusion": "cancelled",
            "total": 3,
            "passed": 1,
            "failed": 0,
            "blocked": 0,
            "aborted": 2,
        }
    )
    return {}


def _internal_error(step: Step) -> dict[str, str]:
    _created()
    _poll(_done(total=1, passed=1))
    return {}  # the gate raises: see BUGS


def _a_bug(*_args: object, **_kwargs: object) -> object:
    raise RuntimeError("a bug")


BUGS = {"internal-error": {"certyn_action.step.evaluate": _a_bug}}  # case → what to break, and how


def _cancelled(step: Step) -> dict[str, str]:
    step.clock = CancellingClock()
    _created()
    _poll({"state": "in_progress", "total": 5, "pending": 5})
    responses.post(f"{RUN}/cancel", status=200, json={})
    return {}


def _api_error(step: Step) -> dict[str, str]:
    _created()
    responses.get(RUN, status=400, json={"error": "runId `r-1` is malformed"})
    responses.post(f"{RUN}/cancel", status=200, json={})
    return {}


def _not_found(step: Step) -> dict[str, str]:
    responses.post(CREATE, status=404, json={"error": "no such project"})
    return {}


def _key_rejected(step: Step) -> dict[str, str]:
    responses.post(CREATE, status=401, json={"error": "invalid API key"})
    return {}


def _input_errors(step: Step) -> dict[str, str]:
    return {"process_slug": "", "tags": "", "timeout_seconds": "soon", "api_url": "http://api.certyn.io"}


def _created_only(step: Step) -> dict[str, str]:
    _created()
    return {"wait": "false"}


CASES = {
    "passed": Case("✅ Certyn tests passed — smoke", (), _passed, code=0),
    "passed-waived": Case("✅ Certyn gate passed — smoke", ("2 tests failed",), _waived, code=0),
    "failed": Case(
        "❌ Certyn gate failed — smoke",
        ("2 tests failed", "1 test blocked", "2 tests aborted"),
        _failed,
        next_step="Resolve the blocked tests in Certyn",
    ),
    "blocked": Case(
        "❌ Certyn gate failed — smoke", ("1 test blocked",), _blocked, next_step="then re-run the job"
    ),
    "empty": Case("❌ Certyn gate failed — smoke", ("no tests",), _empty, next_step="process-slug or tags"),
    "incomplete": Case(
        "❌ Certyn gate failed — smoke", ("no result",), _incomplete, next_step="fail-on-incomplete: false"
    ),
    "cancelled-in-certyn": Case(
        "❌ Certyn gate failed — smoke",
        ("the run was cancelled in Certyn",),
        _cancelled_in_certyn,
        next_step="re-run the job to start a new run",
    ),
    "timed-out": Case(
        "⏱️ Certyn run timed out — smoke",
        ("timeout-seconds (1m 00s)",),
        _timed_out,
        next_step="raise timeout-seconds",
    ),
    "timed-out-no-reread": Case(
        "⏱️ Certyn run timed out — smoke",
        ("timeout-seconds (1m 00s)",),
        _timed_out_no_reread,
        next_step="timeout-minutes",
    ),
    "cancel-failed": Case(
        "⏱️ Certyn run timed out — smoke",
        ("timeout-seconds (1m 00s)",),
        _cancel_failed,
        next_step="raise timeout-seconds",
    ),
    "outage": Case(
        "📡 Certyn API unreachable — smoke",
        ("Certyn API unreachable since", "HTTP 503"),
        _outage,
        next_step="Check Certyn's status",
    ),
    "outage-on-create": Case(
        "📡 Certyn API unreachable — smoke",
        ("create failed after 2 attempts", "HTTP 503"),
        _outage_on_create,
        next_step="then re-run the job",
    ),
    "cancelled": Case(
        "🛑 Certyn: GitHub job cancelled — smoke",
        ("the workflow job was cancelled (SIGINT)",),
        _cancelled,
        next_step="timeout-minutes",
    ),
    "api-error": Case(
        "⚠️ Certyn API error — smoke",
        ("HTTP 400", "runId r-1 is malformed"),
        _api_error,
        next_step="check api-url",
    ),
    "run-not-found": Case(
        "⚠️ Certyn run not found — smoke", ("HTTP 404",), _run_not_found, next_step="Certyn support"
    ),
    "attached-not-found": Case(
        "⚠️ Certyn run not found — run r-404",
        ("HTTP 404",),
        _attached_not_found,
        next_step="Certyn support",  # the reason says to check run-id: not said again
    ),
    "deployment-down": Case(
        "⚠️ Deployment not reachable — smoke on https://preview.shop.test/",  # the deployment, named
        ("base-url",),
        _deployment_down,
        next_step="Check that the deployment finished and is reachable from the runner",
    ),
    "not-found": Case(
        "⚠️ Certyn project or process not found — smoke",
        ("HTTP 404", "project-slug"),
        _not_found,
        next_step="check project-slug, process-slug/tags and environment-key",
    ),
    "key-rejected": Case(
        "🔑 Certyn API key rejected — smoke",
        ("refused the API key", "api-key"),
        _key_rejected,
        next_step="Check that api-key holds a valid",
    ),
    "input-errors": Case(
        "📝 Certyn: invalid input",
        ("process-slug", "timeout-seconds", "api-url"),
        _input_errors,
        next_step="Fix the inputs named above",
    ),
    "internal-error": Case(
        "⚠️ Certyn action error — smoke",
        ("internal error", "a bug"),
        _internal_error,
        next_step="open an issue",
    ),
    "created": Case("🚀 Certyn run created — smoke", (), _created_only, code=0),
}


def summary_of(name: str, tmp_path: Path) -> str:
    """The job summary the action writes for outcome ``name`` (run inside ``responses.activate``)."""
    step = Step(tmp_path)
    inputs = CASES[name].arrange(step)
    with pytest.MonkeyPatch.context() as patch:
        for target, replacement in BUGS.get(name, {}).items():
            patch.setattr(target, replacement)
        code = step.run(**inputs)
    assert code == CASES[name].code, step.stdout
    return step.summary.read_text(encoding="utf-8")


FIX_IN_THE_REASON = {"key-rejected", "deployment-down", "not-found"}  # the reason names the input and the fix


def check_invariants(view: Rendered) -> None:
    """What must hold in any summary a user reads."""
    assert "`" not in view.text, "a literal backtick in the visible text"
    assert "\\" not in view.text, "a backslash escape shows in the visible text"
    for header in view.header_rows:
        assert any(cell for cell in header), f"a table starts with an empty header row: {view.html}"
    for href, _ in view.links:
        assert href.startswith(("https://", "http://")), href
    assert set(view.tags) <= ALLOWED_TAGS, set(view.tags) - ALLOWED_TAGS


@responses.activate
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_outcome_reads_well_as_github_renders_it(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    view = read(summary_of(name, tmp_path))
    check_invariants(view)
    assert view.headings == [case.heading]
    for reason in case.reasons:
        assert any(reason in item for item in view.items), (reason, view.items)
    if name in FIX_IN_THE_REASON:  # what to do, said once: in the reason, not again as a next step
        assert "Next step" not in view.text
        assert any(case.next_step in item for item in view.items), view.items
    elif case.code:  # every failing outcome says what to do next
        assert case.next_step, name
        assert "Next step" in view.text
        assert case.next_step in view.text, view.text
    else:
        assert "Next step" not in view.text


@responses.activate
@pytest.mark.parametrize("name", ["passed", "failed", "timed-out", "cancelled", "api-error", "created"])
def test_the_run_in_certyn_and_the_github_job_are_links(name: str, tmp_path: Path) -> None:
    view = read(summary_of(name, tmp_path))
    assert (APP, "Open run r-1 in Certyn") in view.links
    assert ("https://github.com/acme/shop/actions/runs/42/attempts/1", "this workflow run") in view.links


def test_a_failing_run_end_to_end_reads_well(tmp_path: Path) -> None:
    """entrypoint.py run as the runner runs it, against the simulator: the summary GitHub would show."""
    scenario = Scenario(snapshots=[snapshot("completed", conclusion="failure", total=5, passed=3, failed=2)])
    with Simulator(scenario) as sim:
        inputs = {
            "api-key": DEFAULT_API_KEY,
            "project-slug": "my-app",
            "process-slug": "smoke",
            "api-url": sim.base_url,
        }
        result = FakeRunner(ROOT).run({**inputs, "check-run-id": "777"}, timeout=60)
    assert result.exit_code == 1, result.log
    view = read(result.summary)
    check_invariants(view)
    assert view.headings == ["❌ Certyn gate failed — smoke"]
    assert "2 tests failed" in view.items
    job = view.row("GitHub job")
    assert job is not None
    assert job[1].startswith("job ")  # the job and run by name, not "this job"
    assert any(href.endswith("/job/777") for href, _ in view.links)
    assert any("/commit/" in href for href, _ in view.links)


@responses.activate
def test_the_job_link_names_the_job_and_run_and_the_commit_is_linked(tmp_path: Path) -> None:
    step = Step(tmp_path)
    step.env.update({"GITHUB_WORKFLOW": "CI", "GITHUB_RUN_NUMBER": "7", "INPUT_CHECK-RUN-ID": "99"})
    step.run(**_passed(step))
    view = read(step.summary.read_text(encoding="utf-8"))
    assert view.row("GitHub job") == ["GitHub job", "job e2e in CI #\u20607"]
    assert ("https://github.com/acme/shop/actions/runs/42/job/99", "job e2e in CI #\u20607") in view.links
    assert ("https://github.com/acme/shop/commit/" + "a" * 40, "aaaaaaa") in view.links
    assert view.row("Commit") == ["Commit", "aaaaaaa on main"]


@responses.activate
def test_input_names_show_as_code_and_no_empty_details_follow(tmp_path: Path) -> None:
    view = read(summary_of("input-errors", tmp_path))
    assert "<code>process-slug</code>" in view.html or "<code>tags</code>" in view.html
    assert view.tables == []  # nothing but "Duration 0s" would be in it
    assert "Duration" not in view.text


@responses.activate
def test_server_text_with_backticks_stays_text(tmp_path: Path) -> None:
    view = read(summary_of("api-error", tmp_path))
    assert "<code>r-1</code>" in view.html
    assert "<code>api-key</code>" not in view.html  # only what the server said between backticks


def test_the_biggest_summary_stays_far_below_one_mebibyte() -> None:
    noisy = "`|<b>&\\*_[x](javascript:y)# " * 200
    status = {
        "state": noisy,
        "conclusion": noisy,
        "total": 10**9,
        "failed": 10**9,
        "appUrl": APP + "?" + "a" * 2000,
    }
    report = Report(
        inputs=read_settings(
            {
                "INPUT_API-KEY": "k",
                "INPUT_PROJECT-SLUG": "p" * 200,
                "INPUT_ENVIRONMENT-KEY": "e" * 200,
                "INPUT_TAGS": "\n".join(f"{i}{'t' * 180}" for i in range(200)),
            }
        ),
        created=Created(CreatedRun.model_validate({"runId": noisy[:200], "appUrl": APP}), replayed=True),
        status=RunStatus.model_validate(status),
        verdict=Verdict(
            Result.FAILED,
            tuple([noisy] * 100),
            tuple([noisy] * 100),
            failed_by=tuple(words.NEXT_FOR_SWITCH),
        ),
        notes=[noisy] * 100,
        duration=7 * 86400,
        cancel=CancelRequest(noisy, accepted=False, outcome=noisy),
    )
    markdown = render_summary(report)
    assert len(markdown.encode("utf-8")) < MIB // 4
    view = read(markdown)
    assert len(view.html.encode("utf-8")) < MIB
    check_invariants_except_backticks(view)
    # Each backtick pair is a code span, the rest is literal text: nothing became markup.
    assert (
        len([item for item in view.items if item.startswith("|<b>&\\*_[x](javascript:y)#")])
        == 3 * MAX_REASONS
    )


def check_invariants_except_backticks(view: Rendered) -> None:
    # Server text full of backticks and backslashes must show them literally: the rest still holds.
    for header in view.header_rows:
        assert any(cell for cell in header)
    for href, _ in view.links:
        assert href.startswith(("https://", "http://")), href
    assert set(view.tags) <= ALLOWED_TAGS, set(view.tags) - ALLOWED_TAGS


# -- the cause named, the next step given, Certyn's words told from the verdict ------------------------


@responses.activate
def test_a_rejected_key_is_named_in_the_heading(tmp_path: Path) -> None:
    view = read(summary_of("key-rejected", tmp_path))
    assert "key rejected" in view.headings[0].lower()


@responses.activate
def test_an_unknown_project_is_named_in_the_heading(tmp_path: Path) -> None:
    view = read(summary_of("not-found", tmp_path))
    assert "not found" in view.headings[0].lower()


@responses.activate
def test_tests_without_a_result_have_a_column(tmp_path: Path) -> None:
    view = read(summary_of("incomplete", tmp_path))
    assert view.header_rows
    assert any("no result" in cell.lower() for cell in view.header_rows[0])


@responses.activate
def test_after_cancelling_the_summary_does_not_say_in_progress(tmp_path: Path) -> None:
    view = read(summary_of("timed-out", tmp_path))
    assert "in_progress" not in view.text


@responses.activate
def test_a_timeout_says_what_to_raise(tmp_path: Path) -> None:
    view = read(summary_of("timed-out", tmp_path))
    assert "timeout-minutes" in view.text


@responses.activate
def test_an_outage_until_the_deadline_is_named(tmp_path: Path) -> None:
    step = Step(tmp_path)
    _created()
    responses.get(RUN, status=503, json={"error": "down"})
    assert step.run(timeout_seconds="60") == 1
    view = read(step.summary.read_text(encoding="utf-8"))
    assert "unreachable" in view.headings[0].lower()


def test_each_note_is_its_own_quote() -> None:
    notes = [
        "Cancel requested (the action's timeout-seconds passed): cancelled.",
        "The run was left running.",
    ]
    view = read(render_summary(Report(verdict=Verdict(Result.TIMED_OUT, ("no final result",)), notes=notes)))
    assert [item for item in view.items if item in notes] == notes


# -- what the step did to the run, and what Certyn last said -------------------------------------------


def _run_case(name: str, tmp_path: Path) -> Step:
    step = Step(tmp_path)
    inputs = CASES[name].arrange(step)
    assert step.run(**inputs) == CASES[name].code, step.stdout
    return step


@responses.activate
def test_after_cancelling_the_state_is_read_again_and_says_so(tmp_path: Path) -> None:
    step = _run_case("timed-out", tmp_path)
    view = read(step.summary.read_text(encoding="utf-8"))
    assert "Certyn's state: cancelled — read after this step cancelled the run" in view.text
    assert step.outputs()["state"] == "cancelled"  # Certyn's word, the latest one
    assert step.outputs()["result"] == "timed-out"  # the verdict stays the step's


@responses.activate
def test_a_state_from_before_the_cancel_is_labelled_as_such(tmp_path: Path) -> None:
    step = _run_case("timed-out-no-reread", tmp_path)
    view = read(step.summary.read_text(encoding="utf-8"))
    assert (
        "Certyn's state: in_progress — Certyn's last word, read before this step cancelled the run "
        "(the action's timeout-seconds passed)"
    ) in view.text
    assert "Certyn accepted it" in view.text
    assert step.outputs()["state"] == "in_progress"


@responses.activate
def test_a_failed_cancel_says_the_run_may_still_be_running_and_links_it(tmp_path: Path) -> None:
    step = _run_case("cancel-failed", tmp_path)
    view = read(step.summary.read_text(encoding="utf-8"))
    [quote] = [item for item in view.items if "may still be running" in item]
    assert quote.startswith("⚠️ The run may still be running in Certyn")
    assert "3 attempts" in quote
    assert "cancel failed" not in quote
    assert (APP, "Open it in Certyn") in view.links  # its own words are the link: not said twice
    assert "Open the run in Certyn" not in quote
    assert "could not cancel the run" in view.text  # the state line says the state is from before
    log = step.stdout
    cancel_lines = [line for line in log.splitlines() if line.startswith("Cancel attempt")]
    assert len(cancel_lines) == 2
    assert not any("r-1" in line for line in cancel_lines)  # the run id is said once, not per attempt
    assert "retrying in 0.0s" not in log
    assert "may still be running in Certyn" in log
    assert APP in log


@responses.activate
def test_an_outage_until_the_deadline_keeps_timed_out_and_names_the_outage(tmp_path: Path) -> None:
    step = _run_case("outage", tmp_path)
    assert step.outputs()["result"] == "timed-out"  # not a new value: workflows that test it keep working
    view = read(step.summary.read_text(encoding="utf-8"))
    assert ["Total", "Passed", "Failed", "Blocked", "Pending"] in view.header_rows  # no column of 0s
    assert any(cells[:3] == ["5", "2", "1"] for table in view.tables for cells in table)  # the last counts
    assert "may still be running in Certyn" in view.text  # the cancel failed in the outage too
    assert "::error title=Certyn API unreachable::" in step.stdout
    [warning] = [line for line in step.stdout.splitlines() if line.startswith("::warning")]
    assert "the gate is not affected" not in warning
    assert "keeps polling with backoff until the deadline" in warning
    assert "the step fails" in warning


@responses.activate
def test_incomplete_labels_the_conclusion_as_certyns_word(tmp_path: Path) -> None:
    view = read(summary_of("incomplete", tmp_path))
    assert "Certyn's conclusion: success (Certyn's own word, not this step's verdict)" in view.text
    header = view.header_rows[0]
    row = next(cells for table in view.tables for cells in table if cells and cells[0] == "10")
    assert dict(zip(header, row, strict=True))["No result"] == "6"


def test_only_a_bug_reads_action_error() -> None:
    for name, case in CASES.items():
        assert ("action error" in case.heading) == (name == "internal-error"), name


@responses.activate
def test_matrix_legs_are_told_apart_by_environment_and_tags(tmp_path: Path) -> None:
    step = Step(tmp_path)
    _created()
    _poll(_done(total=5, passed=5))
    step.env.pop("INPUT_PROCESS-SLUG")
    assert step.run(tags="checkout, smoke, api, slow", environment_key="staging") == 0
    view = read(step.summary.read_text(encoding="utf-8"))
    assert view.headings == ["✅ Certyn tests passed — tags checkout, smoke, api +1 on staging"]


def test_email_addresses_in_untrusted_text_are_not_links() -> None:
    texts = ["ask bob@example.com", "mailto:bob@example.com", "xmpp:bob@example.com/x", "a@b.co"]
    report = Report(verdict=Verdict(Result.FAILED, tuple(texts)), notes=list(texts))
    view = read(render_summary(report))
    assert view.links == []
    assert "href=" not in view.html
    for text in texts:  # still shown as written (the WORD JOINER is invisible)
        assert text in view.text.replace("\u2060", "")


@responses.activate
def test_no_time_left_after_the_cancel_means_no_second_read(tmp_path: Path) -> None:
    step = Step(tmp_path)
    _created()
    _poll({"state": "in_progress", "total": 5, "passed": 1, "pending": 4})

    def slow_cancel(_request: object) -> tuple[int, dict[str, str], str]:
        step.clock.now += 4.5  # of the 5 s release budget: less than a second is left for a read
        return 202, {}, "{}"

    responses.add_callback(responses.POST, f"{RUN}/cancel", callback=slow_cancel)
    assert step.run(timeout_seconds="60") == 1
    calls = [call.request.method for call in responses.calls]
    assert calls[-1] == "POST"  # nothing was read after the cancel
    view = read(step.summary.read_text(encoding="utf-8"))
    assert "in_progress — Certyn's last word, read before this step cancelled the run" in view.text
