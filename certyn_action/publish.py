"""Where developers look: a check run on the tested commit and one sticky pull-request comment, when
``check-run`` or ``pr-comment`` asks. :meth:`Publisher.started` and :meth:`Publisher.finish` (after the cancel)
each get ``github_api.BUDGET_SECONDS``; a failure is one warning per thing written (naming the permission for a
refusal), and never changes the verdict nor raises. ``on-failure`` writes only when the gate fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from .clock import Clock, Deadline
from .gate import Cause, Result
from .github_api import BUDGET_SECONDS, GitHub, GitHubError, GitHubTransport
from .render import words
from .render.escape import one_line, safe_url
from .report import Report
from .runner.signals import SignalGuard
from .runner.workflow import WorkflowLog
from .settings import Settings

MARKER = "<!-- certyn-run-action"
MAX_CHECK_ANNOTATIONS = 250  # in requests of 50: GitHub's limit per request
ANNOTATIONS_PER_REQUEST = 50
_SHA = re.compile(r"[0-9a-f]{40}")
_NOT_MARKER = re.compile(r"[^A-Za-z0-9._/@+=:,-]+")  # nothing that could close the HTML comment
CONCLUSIONS = {Result.PASSED: "success", Result.FAILED: "failure", Result.TIMED_OUT: "timed_out"}
CONCLUSIONS[Result.CANCELLED] = "cancelled"  # the job's cancel has no cause: never neutral
NOT_A_TEST_RESULT = (Cause.OUTAGE, Cause.KEY_REJECTED, Cause.API_ERROR, Cause.INTERNAL_ERROR)
Write = Callable[[Report, Settings, Deadline], None]


def conclusion(result: Result, cause: Cause | None) -> str:
    """The verdict's, or ``neutral`` for an ending that says nothing about the tests."""
    return "neutral" if cause in NOT_A_TEST_RESULT else CONCLUSIONS.get(result, "neutral")


def commit_under_test(settings: Settings) -> str:
    """The deployment's commit on ``deployment_status`` (that workflow belongs to no PR: a check run on the
    deployed commit is how the result reaches it), else the commit sent to Certyn."""
    ctx = settings.context
    if ctx.event_name == "deployment_status":
        deployment = ctx.payload.get("deployment")
        sha = deployment.get("sha") if isinstance(deployment, Mapping) else None
        if isinstance(sha, str) and sha:
            return sha.lower()
    return settings.metadata.commit_sha.lower()


def suite(settings: Settings) -> str:
    """What ran (never the run id)."""
    tags = "tags " + ",".join(settings.tags) if settings.tags else "attached run"
    return settings.process_slug or tags


def marker(settings: Settings) -> str:
    """The hidden first line of the sticky comment."""
    ctx = settings.context
    workflow = workflow_path(settings) or ctx.workflow
    parts = {"workflow": workflow, "job": ctx.job, "suite": suite(settings), "leg": settings.job_index or "0"}
    shown = " ".join(f"{name}={_NOT_MARKER.sub('_', value)[:120]}" for name, value in parts.items())
    return f"{MARKER} {shown} -->"


def workflow_path(settings: Settings) -> str:
    """The workflow file (``.github/workflows/e2e.yml``) from ``GITHUB_WORKFLOW_REF``, "" when unknown."""
    parts = settings.context.workflow_ref.rpartition("@")[0].split("/", 2)
    return parts[2] if len(parts) == 3 else ""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Publisher:
    def __init__(self, env: Mapping[str, str], log: WorkflowLog, clock: Clock, guard: SignalGuard) -> None:
        self.env, self.log, self.clock, self.guard = env, log, clock, guard
        self.check_run_id: int | None = None
        self._github: GitHub | None = None
        self._warned: set[str] = set()
        self._refused: set[str] = set()  # GitHub refused it once: not asked again

    def started(self, report: Report, deadline: Deadline) -> None:
        """The run is created or attached: the check run, in progress (before ``deadline``, the step's)."""
        settings = report.inputs
        if settings is not None and settings.check_run:
            until = deadline.capped(BUDGET_SECONDS)
            self._write(words.CHECK_RUN, self._start_check_run, report, settings, until)

    def finish(self, report: Report) -> None:
        """The step has ended (the cancel included): complete the check run, write the comment."""
        settings = report.inputs
        if settings is None or not settings.publishes:
            return
        deadline = Deadline.after(self.clock, BUDGET_SECONDS)
        if settings.check_run and words.CHECK_RUN not in self._refused:
            self._write(words.CHECK_RUN, self._complete_check_run, report, settings, deadline)
        if settings.pr_comment != "off" and words.COMMENT not in self._refused:
            self._write(words.COMMENT, self._comment, report, settings, deadline)

    def _write(self, what: str, write: Write, report: Report, settings: Settings, deadline: Deadline) -> None:
        """Never raises: a failure (a bug included) is a warning and never changes the verdict."""
        try:
            write(report, settings, deadline)
        except Exception as err:
            self._warn(what, err if isinstance(err, GitHubError) else GitHubError(words.internal_error(err)))

    def _start_check_run(self, report: Report, settings: Settings, deadline: Deadline) -> None:
        body = self._check_run_fields(report, settings) | {"status": "in_progress", "started_at": _now()}
        running = self.log.redact(words.check_run_running(report.run_id, safe_url(report.app_url)))
        body["output"] = {"title": words.CHECK_RUN_IN_PROGRESS, "summary": running}
        data, _ = self._client(settings).request("POST", "/check-runs", deadline, body)
        self.check_run_id = _created_id(data)
        self.log.info(words.CHECK_RUN_CREATED.format(name=one_line(body["name"], 200)))

    def _complete_check_run(self, report: Report, settings: Settings, deadline: Deadline) -> None:
        from .render.summary import cut_for_github, render_summary  # noqa: PLC0415 - at the end only

        redact, verdict = self.log.redact, report.verdict
        output = {
            "title": redact(words.headline(report)),
            "summary": redact(cut_for_github(render_summary(report.redacted(redact)))),
        }
        annotations = self._annotations(report, settings)
        body: dict[str, Any] = {
            "status": "completed",
            "conclusion": conclusion(verdict.result, verdict.cause),
            "completed_at": _now(),
            "output": output | {"annotations": annotations[:ANNOTATIONS_PER_REQUEST]},
        }
        github = self._client(settings)
        if self.check_run_id is None:  # a signal interrupted its create: learn the id it got
            self.check_run_id = _id(github.answer_in_flight(deadline))
        if self.check_run_id is None:  # it could not be made at the start (or the run never was)
            fields = self._check_run_fields(report, settings)
            self.check_run_id = _created_id(github.request("POST", "/check-runs", deadline, body | fields)[0])
        else:
            github.request("PATCH", f"/check-runs/{self.check_run_id}", deadline, body)
        for start in range(ANNOTATIONS_PER_REQUEST, len(annotations), ANNOTATIONS_PER_REQUEST):
            more = output | {"annotations": annotations[start : start + ANNOTATIONS_PER_REQUEST]}
            github.request("PATCH", f"/check-runs/{self.check_run_id}", deadline, {"output": more})
        self.log.info(words.CHECK_RUN_COMPLETED.format(conclusion=body["conclusion"]))

    def _check_run_fields(self, report: Report, settings: Settings) -> dict[str, Any]:
        sha = commit_under_test(settings)
        if not _SHA.fullmatch(sha):
            raise GitHubError(words.NO_COMMIT_TO_CHECK.format(sha=one_line(sha or "unknown", 80)))
        fields = {
            "name": words.check_run_name(suite(settings), settings.context.job, settings.job_index),
            "head_sha": sha,
            "external_id": report.run_id,
            "details_url": report.app_url if safe_url(report.app_url) else "",
        }
        return {name: value for name, value in fields.items() if value}  # never an empty id or link

    def _annotations(self, report: Report, settings: Settings) -> list[dict[str, Any]]:
        results = report.findings.results
        if results is None:
            return []
        level = "warning" if report.verdict.result.succeeds else "failure"
        where = {"path": workflow_path(settings) or ".github", "start_line": 1, "end_line": 1}
        diagnosis = report.findings.diagnosis  # the reason after each test's name
        notes = words.failing_annotations(results.items, diagnosis=diagnosis, limit=MAX_CHECK_ANNOTATIONS)
        redact = self.log.redact
        return [
            where | {"annotation_level": level, "title": redact(note.title), "message": redact(note.message)}
            for note in notes
        ]

    def _comment(self, report: Report, settings: Settings, deadline: Deadline) -> None:
        from .render.summary import render_comment  # noqa: PLC0415 - at the end only

        github, ctx = self._client(settings), settings.context
        number = ctx.pull_request().get("number")  # a pull_request(_target) event names it; else ask GitHub
        numbers = [number] if isinstance(number, int) and not isinstance(number, bool) and number > 0 else []
        if not ctx.is_pull_request:
            pulls, _ = github.request("GET", f"/commits/{commit_under_test(settings)}/pulls", deadline)
            numbers = [
                pull["number"]
                for pull in (pulls if isinstance(pulls, list) else [])
                if isinstance(pull, Mapping)
                and pull.get("state") == "open"
                and isinstance(pull.get("number"), int)
            ]
        if not numbers:
            self.log.info(words.NO_PULL_REQUEST)
            return
        sign = marker(settings)
        body = self.log.redact(render_comment(report.redacted(self.log.redact), sign))
        login = github.login(deadline)
        failed = report.verdict.result not in (Result.PASSED, Result.CREATED, Result.CANCELLED)
        for number in numbers:
            comments = github.pages(f"/issues/{number}/comments", deadline)
            existing = next((c for c in comments if _is_ours(c, sign, login)), None)
            if existing is not None:
                github.request("PATCH", f"/issues/comments/{existing['id']}", deadline, {"body": body})
                self.log.info(words.COMMENT_UPDATED.format(number=number))
            elif settings.pr_comment == "always" or failed:
                github.request("POST", f"/issues/{number}/comments", deadline, {"body": body})
                self.log.info(words.COMMENT_WRITTEN.format(number=number))

    def _client(self, settings: Settings) -> GitHub:
        if self._github is None:
            self.log.add_mask(settings.github_token)
            transport = GitHubTransport(
                settings.github_api_url, settings.github_token, env=self.env, debug=self.log.debug
            )

            def on_retry(request: str, error: str, delay: float) -> None:
                self.log.info(
                    words.GITHUB_RETRY.format(request=request, error=one_line(error, 300), delay=delay)
                )

            repository = settings.context.repository
            self._github = GitHub(transport, self.clock, repository, on_retry=on_retry, guard=self.guard)
        return self._github

    def _warn(self, what: str, err: GitHubError) -> None:
        """One warning per thing written: the first failure says it all."""
        if err.refused:
            self._refused.add(what)
        if what not in self._warned:
            self._warned.add(what)
            permission = words.CHECKS_PERMISSION if what == words.CHECK_RUN else words.COMMENTS_PERMISSION
            message = words.github_not_written(what, str(err), permission if err.refused else "")
            self.log.warning(message, title=words.GITHUB_NOT_WRITTEN)


def _id(data: Any) -> int | None:
    ident = data.get("id") if isinstance(data, Mapping) else None
    return ident if isinstance(ident, int) and not isinstance(ident, bool) else None


def _created_id(data: Any) -> int:
    if (ident := _id(data)) is None:
        raise GitHubError(words.NO_CHECK_RUN_ID)
    return ident


def _is_ours(comment: Any, sign: str, login: str | None) -> bool:
    """A comment this step wrote before: its body starts with our marker (public: anyone may post it), it has
    an id to edit, and it is by us: by ``login``, the token's account, or when GitHub does not say who the
    token is (an installation token), by a bot account."""
    if not (isinstance(comment, Mapping) and isinstance(comment.get("body"), str)):
        return False
    user = comment.get("user")
    author = user if isinstance(user, Mapping) else {}
    by_us = author.get("login") == login if login else author.get("type") == "Bot"
    return by_us and comment["body"].startswith(sign) and isinstance(comment.get("id"), int)
