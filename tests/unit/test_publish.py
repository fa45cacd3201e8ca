"""publish.py and github_api.py against mocked HTTP (responses), on a fake clock: what is written to GitHub,
where, with which credential, and that GitHub's refusals and rate limits are warnings, never a verdict."""

from __future__ import annotations

import io
import itertools
import json
import re
import signal
from dataclasses import replace
from functools import partial
from types import FrameType
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from certyn_action.api.http import Call, NotSent, Reply, Request
from certyn_action.api.models import Conversation, Created, CreatedRun, ProcessRun, RunItem, RunStatus
from certyn_action.clock import Deadline
from certyn_action.gate import Cause, Result, Verdict
from certyn_action.github_api import GitHub, GitHubError, GitHubTransport
from certyn_action.publish import Publisher, commit_under_test, conclusion, marker
from certyn_action.render.summary import cut_for_github, render_comment, render_summary
from certyn_action.report import Findings, Report
from certyn_action.runner.signals import SignalGuard
from certyn_action.runner.workflow import WorkflowLog
from certyn_action.settings import Settings, read_settings
from tests.fakes import FakeClock, reply
from tests.rendered import read
from tests.unit.api.test_client import _SignalAt

API = "https://api.github.com"
REPO = f"{API}/repos/acme/shop"
TOKEN = "ghs_unitTestToken123"
KEY = "certyn-unit-key-9876"
HEAD, MERGE, DEPLOYED = "a" * 40, "b" * 40, "c" * 40
APP = "https://app.certyn.io/runs/r1"
BOT = {"login": "github-actions[bot]", "type": "Bot"}  # who GITHUB_TOKEN writes as


def settings(event: str = "pull_request", payload: dict[str, Any] | None = None, **extra: str) -> Settings:
    inputs = {"api-key": KEY, "project-slug": "shop", "process-slug": "smoke", "github-token": TOKEN}
    inputs |= {"check-run": "true", "pr-comment": "always"}
    inputs |= {name.replace("_", "-"): value for name, value in extra.items()}
    env = {f"INPUT_{name.upper()}": value for name, value in inputs.items()}
    env |= {
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_SHA": MERGE,
        "GITHUB_JOB": "e2e",
        "GITHUB_WORKFLOW_REF": "acme/shop/.github/workflows/e2e.yml@refs/heads/main",
        "GITHUB_API_URL": API,
    }
    if payload is None:
        payload = {"pull_request": {"number": 7, "head": {"sha": HEAD, "ref": "feature"}}}
    return read_settings(env, payload)


def item(outcome: str, name: str, finding: str = "") -> RunItem:
    return RunItem.model_validate({"testOutcome": outcome, "testCaseName": name, "summaryMarkdown": finding})


def report(
    result: Result = Result.FAILED,
    *,
    cause: Cause | None = None,
    failing: int = 1,
    inputs: Settings | None = None,
) -> Report:
    items = (*(item("failed", f"test {i}", f"finding {i}") for i in range(failing)), item("passed", "ok"))
    findings = Findings(results=ProcessRun.model_validate({}).model_copy(update={"items": items}))
    settings_ = inputs or settings()
    return Report(
        inputs=settings_,
        created=Created(CreatedRun.model_validate({"runId": "r1", "appUrl": APP}), False),
        status=RunStatus.model_validate(
            {"state": "completed", "total": failing + 1, "passed": 1, "failed": failing}
        ),
        verdict=Verdict(result, ("1 test failed",) if result is Result.FAILED else (), cause=cause),
        findings=findings,
    )


def publisher(
    clock: FakeClock | None = None, guard: SignalGuard | None = None
) -> tuple[Publisher, io.StringIO]:
    out = io.StringIO()
    return Publisher({}, WorkflowLog(out), clock or FakeClock(), guard or SignalGuard()), out


def warnings(out: io.StringIO) -> list[str]:
    return [line for line in out.getvalue().splitlines() if line.startswith("::warning")]


def bodies(method: str, fragment: str) -> list[Any]:
    return [
        json.loads(call.request.body or b"null")
        for call in responses.calls
        if call.request.method == method and fragment in (call.request.url or "")
    ]


# -- the decisions -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "cause", "expected"),
    [
        (Result.PASSED, None, "success"),
        (Result.FAILED, None, "failure"),
        (Result.TIMED_OUT, None, "timed_out"),
        (Result.TIMED_OUT, Cause.OUTAGE, "neutral"),
        (Result.CANCELLED, None, "cancelled"),
        (Result.ERROR, Cause.KEY_REJECTED, "neutral"),
        (Result.ERROR, Cause.API_ERROR, "neutral"),
        (Result.ERROR, Cause.RUN_NOT_FOUND, "neutral"),
    ],
)
def test_the_conclusion_is_the_verdict_or_neutral_for_what_is_no_test_result(
    result: Result, cause: Cause | None, expected: str
) -> None:
    assert conclusion(result, cause) == expected


def test_the_tested_commit_is_the_pr_head_or_the_deployed_commit() -> None:
    assert commit_under_test(settings()) == HEAD  # not GITHUB_SHA, the merge commit
    deployment = {"deployment": {"sha": DEPLOYED}}
    assert commit_under_test(settings("deployment_status", deployment)) == DEPLOYED
    assert commit_under_test(settings("push", {})) == MERGE


def test_the_marker_names_workflow_job_suite_and_leg_never_the_run_and_cannot_close_the_comment() -> None:
    first = marker(settings())
    assert first == "<!-- certyn-run-action workflow=.github/workflows/e2e.yml job=e2e suite=smoke leg=0 -->"
    assert marker(settings(job_index="1")) != first
    hostile = marker(settings(process_slug="a --> <b>x</b>"))
    assert hostile.count("-->") == 1
    assert hostile.endswith("-->")
    assert "<b>" not in hostile


# -- the check run -----------------------------------------------------------------------------------------


@responses.activate
def test_the_check_run_is_created_in_progress_then_completed_with_the_verdict_and_the_token_alone() -> None:
    responses.post(f"{REPO}/check-runs", json={"id": 5}, status=201)
    responses.patch(f"{REPO}/check-runs/5", json={"id": 5})
    responses.get(f"{REPO}/issues/7/comments", json=[])
    responses.post(f"{REPO}/issues/7/comments", json={"id": 9}, status=201)
    pub, out = publisher()
    done = report()
    pub.started(done, deadline=Deadline(2000.0, pub.clock))
    pub.finish(done)
    [create] = bodies("POST", "/check-runs")
    assert create["status"] == "in_progress"
    assert create["head_sha"] == HEAD
    assert create["external_id"] == "r1"
    assert create["details_url"] == APP
    assert create["name"] == "Certyn: smoke (e2e)"
    [complete] = bodies("PATCH", "/check-runs/5")
    assert complete["conclusion"] == "failure"
    assert complete["output"]["title"].startswith("Certyn gate failed")
    assert [a["title"] for a in complete["output"]["annotations"]] == ["test 0"]
    assert complete["output"]["annotations"][0]["path"] == ".github/workflows/e2e.yml"
    for call in responses.calls:
        assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert call.request.headers["Accept"] == "application/vnd.github+json"
        assert "X-API-Key" not in call.request.headers
        assert KEY not in str(call.request.body or "")
    assert warnings(out) == []


@responses.activate
def test_annotations_go_fifty_per_request() -> None:
    responses.post(f"{REPO}/check-runs", json={"id": 5}, status=201)
    responses.patch(f"{REPO}/check-runs/5", json={"id": 5})
    pub, out = publisher()
    done = report(failing=120, inputs=settings(pr_comment="off"))
    pub.started(done, deadline=Deadline(2000.0, pub.clock))
    pub.finish(done)
    patches = bodies("PATCH", "/check-runs/5")
    assert [len(p["output"]["annotations"]) for p in patches] == [50, 50, 20]
    assert patches[0]["conclusion"] == "failure"
    assert all(p["output"]["summary"] for p in patches)  # an output needs its title and summary
    assert warnings(out) == []


@responses.activate
def test_a_check_run_that_could_not_be_started_is_created_completed_at_the_end() -> None:
    responses.post(f"{REPO}/check-runs", json={"id": 6}, status=201)
    pub, _ = publisher()
    pub.finish(report(Result.ERROR, cause=Cause.KEY_REJECTED, inputs=settings(pr_comment="off")))
    [create] = bodies("POST", "/check-runs")
    assert create["status"] == "completed"
    assert create["conclusion"] == "neutral"
    assert create["head_sha"] == HEAD


@responses.activate
def test_a_refusal_is_one_warning_naming_the_permission_and_is_not_asked_again() -> None:
    refused = {"message": "Resource not accessible by integration"}
    responses.post(f"{REPO}/check-runs", json=refused, status=403)
    pub, out = publisher()
    done = report(inputs=settings(pr_comment="off"))
    pub.started(done, deadline=Deadline(2000.0, pub.clock))
    pub.finish(done)
    [warning] = warnings(out)
    assert "permissions: checks: write" in warning
    assert "Resource not accessible by integration" in warning
    assert len(responses.calls) == 1


# -- rate limits and the budget ---------------------------------------------------------------------------


@responses.activate
def test_a_rate_limit_is_waited_out_on_the_clock_within_the_budget() -> None:
    responses.post(
        f"{REPO}/check-runs", status=429, headers={"Retry-After": "3"}, json={"message": "slow down"}
    )
    responses.post(f"{REPO}/check-runs", json={"id": 5}, status=201)
    clock = FakeClock()
    github = GitHub(GitHubTransport(API, TOKEN, env={}), clock, "acme/shop")
    data, _ = github.request("POST", "/check-runs", clock.after(15), {"name": "x"})
    assert data == {"id": 5}
    assert clock.sleeps == [3.0]


@responses.activate
def test_a_rate_limit_longer_than_the_budget_gives_up_at_once() -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "10060"}
    responses.post(
        f"{REPO}/check-runs", status=403, headers=headers, json={"message": "API rate limit exceeded"}
    )
    clock = FakeClock()
    github = GitHub(GitHubTransport(API, TOKEN, env={}), clock, "acme/shop", wall=lambda: 10_000.0)
    with pytest.raises(GitHubError) as raised:
        github.request("POST", "/check-runs", clock.after(15), {"name": "x"})
    assert raised.value.rate_limited
    assert not raised.value.refused  # a 403 rate limit is no permission problem
    assert clock.sleeps == []


@responses.activate
def test_a_403_without_rate_limit_headers_is_a_refusal_not_retried() -> None:
    responses.post(
        f"{REPO}/check-runs", status=403, json={"message": "Resource not accessible by integration"}
    )
    clock = FakeClock()
    github = GitHub(GitHubTransport(API, TOKEN, env={}), clock, "acme/shop")
    with pytest.raises(GitHubError) as raised:
        github.request("POST", "/check-runs", clock.after(15), {"name": "x"})
    assert raised.value.refused
    assert len(responses.calls) == 1


@responses.activate
def test_after_a_signal_the_finish_fits_in_the_release_budget() -> None:
    clock = FakeClock()
    guard = SignalGuard(clock.monotonic)
    guard.received_at = clock.now - 10  # the release budget (5 s from the signal) is spent
    pub, out = publisher(clock, guard)
    pub.finish(report(Result.CANCELLED))
    assert len(responses.calls) == 0
    assert len(warnings(out)) == 2  # the check run and the comment: each said once


class _Ticking(FakeClock):
    """Each reading of the clock is ``step`` seconds after the last one (time passes while a request hangs)."""

    step: float = 0.0

    def monotonic(self) -> float:
        self.now += self.step
        return self.now


class _SignalledOnTheWire(GitHubTransport):
    """The request hangs, and the job is cancelled while it is on the wire; from then on each reading of
    ``clock`` is 6 s later."""

    clock: _Ticking

    def begin(self, request: Request, deadline: Deadline) -> Call:
        self.begun = [*getattr(self, "begun", []), request.description]
        signal.raise_signal(signal.SIGINT)  # recorded: not inside an interruptible block
        self.clock.step = 6.0
        return Call(request.description)  # never answered


def test_a_signal_while_a_request_hangs_cuts_its_wait_and_its_retries_to_the_release_budget() -> None:
    # The step ended without a signal, so the finish's requests had their 15 s; the runner's SIGINT came during
    # one: its wait (and any retry) ends with the release budget, not when the attempt's 10 s are up (the wait
    # for a reply is on the real clock: 4 s here, past the budget), and it is not sent again.
    clock = _Ticking()
    guard = SignalGuard(clock.monotonic)
    transport = _SignalledOnTheWire(API, TOKEN, env={})
    transport.clock = clock
    github = GitHub(transport, clock, "acme/shop", guard=guard)
    guard.install()
    try:
        with pytest.raises(GitHubError, match="no complete response"):
            github.request("PATCH", "/check-runs/5", Deadline.after(clock, 15), {"status": "completed"})
    finally:
        guard.uninstall()
    assert transport.begun == ["PATCH /repos/acme/shop/check-runs/5"]  # not retried


class _SignalledAsleep(FakeClock):
    def sleep(self, seconds: float) -> None:
        signal.raise_signal(signal.SIGINT)  # recorded: not inside an interruptible block
        super().sleep(seconds + 6.0)  # the release budget is spent meanwhile


class _Answering(GitHubTransport):
    """Answers each request at once with the next of ``replies``."""

    def __init__(self, *replies: Reply) -> None:
        super().__init__(API, TOKEN, env={})
        self.replies, self.begun = list(replies), 0

    def begin(self, request: Request, deadline: Deadline) -> Call:
        if deadline.left() <= 0:
            raise NotSent("no time left")
        self.begun += 1
        call = Call(request.description)
        call._finish(self.replies.pop(0), None)
        return call


def test_a_signal_during_the_wait_before_a_retry_cuts_the_retries_to_the_release_budget() -> None:
    transport = _Answering(reply(502, {"message": "Server Error"}), reply(200, {"id": 5}))
    clock = _SignalledAsleep()
    guard = SignalGuard(clock.monotonic)
    github = GitHub(transport, clock, "acme/shop", guard=guard)
    guard.install()
    try:
        with pytest.raises(GitHubError):
            github.request("PATCH", "/check-runs/5", Deadline.after(clock, 15), {"status": "completed"})
    finally:
        guard.uninstall()
    assert transport.begun == 1  # nothing is sent once the budget is spent


def test_the_github_transport_sends_only_repository_paths() -> None:
    transport, clock = GitHubTransport(API, TOKEN, env={}), FakeClock()
    with pytest.raises(ValueError, match="not an API path"):  # a Certyn path: refused before anything is sent
        transport.send(Request("GET", "/api/ci/runs"), Deadline(clock.now + 5, clock))


# -- the comment -------------------------------------------------------------------------------------------


@responses.activate
def test_the_sticky_comment_is_found_on_a_later_page_and_edited_not_added() -> None:
    sign = marker(settings())
    page1 = [{"id": i, "body": "hello", "user": {"login": "octocat"}} for i in range(100)]
    page2 = [
        {
            "id": 500,
            "body": f"quoted: {sign}",
            "user": {"login": "octocat"},
        },  # not ours: the marker is not first
        {"id": 501, "body": f"{sign}\nold", "user": BOT},
    ]
    next_page = f'<{REPO}/issues/7/comments?per_page=100&page=2>; rel="next"'
    responses.get(
        f"{REPO}/issues/7/comments",
        json=page1,
        headers={"Link": next_page},
        match=[matchers.query_param_matcher({"per_page": "100", "page": "1"})],
    )
    responses.get(
        f"{REPO}/issues/7/comments",
        json=page2,
        match=[matchers.query_param_matcher({"per_page": "100", "page": "2"})],
    )
    responses.patch(f"{API}/repos/acme/shop/issues/comments/501", json={"id": 501})
    pub, out = publisher()
    pub.finish(report(inputs=settings(check_run="false")))
    [edit] = bodies("PATCH", "/comments/501")
    assert edit["body"].startswith(sign + "\n")
    assert bodies("POST", "/comments") == []
    assert warnings(out) == []


@responses.activate
def test_with_a_personal_token_only_its_own_comment_with_the_marker_is_edited() -> None:
    # GitHub names a personal token's account; a bot's comment with our marker is then not ours
    sign = marker(settings())
    responses.get(f"{API}/user", json={"login": "release-bot-owner", "type": "User"})
    theirs = {"id": 4, "body": f"{sign}\nplanted", "user": BOT}
    ours = {"id": 5, "body": f"{sign}\nold", "user": {"login": "release-bot-owner", "type": "User"}}
    responses.get(f"{REPO}/issues/7/comments", json=[theirs, ours])
    responses.patch(f"{REPO}/issues/comments/5", json={"id": 5})
    pub, out = publisher()
    pub.finish(report(inputs=settings(check_run="false")))
    assert len(bodies("PATCH", "/comments/5")) == 1
    assert bodies("PATCH", "/comments/4") == []
    assert warnings(out) == []


@responses.activate
def test_a_token_github_will_not_name_edits_a_bots_comment_and_warns_of_nothing() -> None:
    # GITHUB_TOKEN (an installation token) may not read /user: then the comment with the marker by a bot is ours
    sign = marker(settings())
    responses.get(f"{API}/user", json={"message": "Resource not accessible by integration"}, status=403)
    planted = {"id": 4, "body": f"{sign}\nplanted", "user": {"login": "mallory", "type": "User"}}
    ours = {"id": 5, "body": f"{sign}\nold", "user": BOT}
    responses.get(f"{REPO}/issues/7/comments", json=[planted, ours])
    responses.patch(f"{REPO}/issues/comments/5", json={"id": 5})
    pub, out = publisher()
    pub.finish(report(inputs=settings(check_run="false")))
    assert len(bodies("PATCH", "/comments/5")) == 1
    assert bodies("PATCH", "/comments/4") == []
    assert warnings(out) == []


@responses.activate
def test_on_failure_writes_nothing_for_a_pass_but_turns_an_existing_comment_green() -> None:
    responses.get(f"{REPO}/issues/7/comments", json=[])
    pub, _ = publisher()
    pub.finish(report(Result.PASSED, failing=0, inputs=settings(check_run="false", pr_comment="on-failure")))
    assert bodies("POST", "/comments") == []

    sign = marker(settings())
    responses.replace(
        responses.GET, f"{REPO}/issues/7/comments", json=[{"id": 3, "body": f"{sign}\n❌", "user": BOT}]
    )
    responses.patch(f"{REPO}/issues/comments/3", json={"id": 3})
    pub, _ = publisher()
    pub.finish(report(Result.PASSED, failing=0, inputs=settings(check_run="false", pr_comment="on-failure")))
    [edit] = bodies("PATCH", "/comments/3")
    assert "Certyn tests passed" in edit["body"]


@responses.activate
def test_outside_pull_request_events_the_open_pull_requests_of_the_commit_get_the_comment() -> None:
    pulls = [{"number": 3, "state": "open"}, {"number": 4, "state": "closed"}]
    responses.get(f"{REPO}/commits/{DEPLOYED}/pulls", json=pulls)
    responses.get(f"{REPO}/issues/3/comments", json=[])
    responses.post(f"{REPO}/issues/3/comments", json={"id": 1}, status=201)
    pub, out = publisher()
    inputs = settings("deployment_status", {"deployment": {"sha": DEPLOYED}}, check_run="false")
    pub.finish(report(inputs=inputs))
    assert len(bodies("POST", "/issues/3/comments")) == 1
    assert warnings(out) == []


@responses.activate
def test_a_broken_answer_is_a_warning_never_an_exception() -> None:
    responses.post(f"{REPO}/check-runs", body="<html>proxy</html>", status=201)
    pub, out = publisher()
    pub.finish(report(inputs=settings(pr_comment="off")))
    [warning] = warnings(out)
    assert "check run" in warning


def test_nothing_is_asked_of_github_when_nothing_is_published() -> None:
    pub, out = publisher()
    quiet = settings(check_run="false", pr_comment="off")
    with responses.RequestsMock() as mocked:  # any request would fail: none is registered
        pub.started(report(inputs=quiet), deadline=Deadline(2000.0, pub.clock))
        pub.finish(report(inputs=quiet))
        assert len(mocked.calls) == 0
    assert TOKEN not in out.getvalue()


@responses.activate
def test_a_server_error_is_retried_with_backoff_within_the_budget() -> None:
    responses.post(f"{REPO}/check-runs", status=502, json={"message": "Server Error"})
    responses.post(f"{REPO}/check-runs", json={"id": 5}, status=201)
    clock = FakeClock()
    github = GitHub(GitHubTransport(API, TOKEN, env={}), clock, "acme/shop")
    data, _ = github.request("POST", "/check-runs", clock.after(15), {"name": "x"})
    assert data == {"id": 5}
    assert len(responses.calls) == 2
    assert clock.sleeps == [0.0]  # urllib3's backoff: the first retry at once, then growing


@responses.activate
def test_a_post_without_an_answer_is_not_sent_again() -> None:
    responses.post(f"{REPO}/issues/7/comments", body=requests.ConnectionError("reset"))
    clock = FakeClock()
    github = GitHub(GitHubTransport(API, TOKEN, env={}), clock, "acme/shop")
    with pytest.raises(GitHubError):
        github.request("POST", "/issues/7/comments", clock.after(15), {"body": "x"})
    assert len(responses.calls) == 1  # it may have made the comment: a second would not be sticky


# -- hostile comments and long texts -------------------------------------------------------------------
@responses.activate
def test_a_comment_someone_else_starts_with_our_marker_is_not_edited() -> None:
    # The marker is public (workflow file, job, suite, leg): anyone who may comment on the pull request can
    # post it first. The action then edits that person's comment (write access edits any comment) and never
    # finds its own.
    sign = marker(settings())
    planted = {"id": 9, "body": f"{sign}\nplanted", "user": {"login": "mallory", "type": "User"}}
    responses.get(f"{REPO}/issues/7/comments", json=[planted])
    responses.patch(f"{REPO}/issues/comments/9", json={"id": 9})
    responses.post(f"{REPO}/issues/7/comments", json={"id": 10}, status=201)
    pub, _ = publisher()
    pub.finish(report(inputs=settings(check_run="false")))
    assert bodies("PATCH", "/comments/9") == []


def test_the_cut_note_of_a_long_check_run_summary_is_not_swallowed_by_a_code_block() -> None:
    # Certyn's findings (each "'" written as seven characters) push the summary past GitHub's limit, and the
    # cut falls inside the AI answer's code block: it is not closed, so the note saying the summary was cut
    # is shown as a line of the answer's code.
    items = tuple(item("failed", f"t{i} " + "'" * 190, "'" * 300) for i in range(17))
    answer = "```\n" + "\n".join(f"line {i}" for i in range(3000)) + "\n```\n"
    conversation = Conversation.model_validate(
        {"status": "idle", "messages": [{"role": "assistant", "content": answer}]}
    )
    results = ProcessRun.model_validate({}).model_copy(update={"items": items})
    findings = Findings(results=results, asked=True, conversation=conversation)
    asked = report(failing=17, inputs=settings(instruction="why?"))
    shown = read(cut_for_github(render_summary(replace(asked, findings=findings))))
    assert "<em>Cut here" in shown.html, shown.html[-300:]


def test_the_cut_note_of_a_long_comment_is_not_hidden_in_the_collapsed_answer() -> None:
    # Ten failing tests of "'" (seven characters each, escaped) and an answer of nested ordered items (our
    # indentation grows by eleven spaces a level) pass 65,536: the cut falls inside "<details>", which is
    # never closed, so the note that the comment was cut is folded away with the answer.
    items = tuple(item("failed", f"t{i} " + "'" * 190, "'" * 300) for i in range(10))
    answer = "\n".join(" " * k + "999999999. '" for k in range(300))[:5000]
    conversation = Conversation.model_validate(
        {"status": "idle", "messages": [{"role": "assistant", "content": answer}]}
    )
    results = ProcessRun.model_validate({}).model_copy(update={"items": items})
    findings = Findings(results=results, asked=True, conversation=conversation)
    html = read(render_comment(replace(report(failing=10), findings=findings), marker(settings()))).html
    assert html.count("<details>") == html.count("</details>"), html[-300:]


def test_an_issue_number_in_a_test_name_does_not_link_or_notify_from_the_comment() -> None:
    # ``formatted`` breaks "#1" with a WORD JOINER (GitHub links and notifies "\#1" too); ``markdown``, which
    # writes the test names (and reasons, notes) into the comment, does not.
    items = (item("failed", "checkout regression #1", "it broke"),)
    results = ProcessRun.model_validate({}).model_copy(update={"items": items})
    comment = render_comment(replace(report(), findings=Findings(results=results)), marker(settings()))
    assert not re.search(r"#\d", read(comment).text), read(comment).text


class _SignalInOurCode(_SignalAt):
    """Lands on the action's own steps only: a step inside a library it calls is that call's."""

    def __call__(self, frame: FrameType, event: str, arg: object) -> _SignalAt | None:
        return super().__call__(frame, event, arg) if "certyn_action" in frame.f_code.co_filename else None


@responses.activate
def test_a_signal_wherever_it_lands_while_the_check_run_starts_leaves_one_check_run() -> None:
    # The job's cancel may cut the check run's create at any step: the finish learns the id the create got
    # and completes that check run. A second one would leave the first in progress under the pull request.
    responses.post(f"{REPO}/check-runs", json={"id": 5}, status=201)
    responses.patch(f"{REPO}/check-runs/5", json={"id": 5})
    made: dict[str, int] = {}
    for at in itertools.count(1):
        clock = FakeClock()
        guard = SignalGuard(clock.monotonic)
        pub, _ = publisher(clock, guard)
        done = report(Result.CANCELLED, inputs=settings(pr_comment="off"))
        responses.calls.reset()
        signal_at = _SignalInOurCode(guard, at)
        signal_at.run(partial(pub.started, done, clock.at(2000.0)))
        if not signal_at.where:
            break  # started was over before its at-th step: every step has had its signal
        pub.finish(done)
        made[signal_at.where] = len(bodies("POST", "/check-runs"))
    assert len(made) > 20
    assert {where: posts for where, posts in made.items() if posts != 1} == {}
