"""The step's report, written to the runner as it grows: the outputs at once and whole (after the create,
after each status), and at the end every output, the job summary, the verdict line and one annotation.

Server text may echo the API key: everything written goes through the log's redaction, before it is cut or
rendered and, as each file's last step, on what that file holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..core.report import Report
from ..render import words
from ..render.escape import one_line, plural
from .files import OutputFile, SummaryFile
from .workflow import WorkflowLog

if TYPE_CHECKING:
    from ..api.models import Created, RunStatus


class Reporter:
    def __init__(self, env: Mapping[str, str], log: WorkflowLog) -> None:
        self.env, self.log = env, log
        self.report = Report()
        self._outputs = OutputFile(
            env.get("GITHUB_OUTPUT"),
            log.redact,
            lambda message: log.warning(message, title=words.OUTPUT_CUT),
        )
        self._summary = SummaryFile(env.get("GITHUB_STEP_SUMMARY"), log.redact)
        self._other_commit_said = False

    def note(self, text: str) -> None:
        """A line for the summary's notes (a release, a kept run, a run that may exist)."""
        self.report.notes.append(text)

    def key_refused(self, may_have_made_a_run: bool) -> str:
        """The key was refused, so no run can be cancelled: the note on the run that may be left running (a
        run a lost create may have made, or the known run, with its link), in the summary; returned with a
        leading space for the error line. "" when there is no such run."""
        report = self.report
        if may_have_made_a_run:
            note = words.orphan("cannot cancel with a refused key", report.idempotency_key)
        elif report.run_id:
            note = words.still_running(one_line(report.run_id, 80), one_line(report.app_url, 500))
        else:
            return ""
        self.note(note)
        return " " + note

    def created(self, created: Created) -> None:
        """The run is known: its outputs at once, and where to follow it."""
        self.report.created = created
        if self.report.findings.instruction:  # the AI's answer is read by this id
            self.report.findings.conversation_id = created.run.conversation_id
        self.write_outputs(after_create=True)
        run = created.run
        count = f" with {plural(run.test_case_count, 'test case')}" if run.test_case_count is not None else ""
        self.log.info(f"Created Certyn run {one_line(run.run_id, 80)}{count}")
        if run.app_url:
            self.log.info(f"Follow it in Certyn: {one_line(run.app_url, 500)}")
        if created.replayed:
            self.log.info(
                "The create was an idempotent replay: this step had already created this run "
                "(same Idempotency-Key), so it is reused rather than started twice."
            )

    def environment(self) -> None:
        """The temporary environment exists: its key as the `environment-key` output at once."""
        self.write_outputs(after_create=True)
        key = self.report.temporary_environment
        self.log.info(f"Created the temporary Certyn environment `{one_line(key, 80)}`")

    def attached(self, run_id: str) -> None:
        """`run-id`: the existing run to wait for; its outputs at once."""
        self.report.attached_run_id = run_id
        self.write_outputs(after_create=True)
        self.log.info(f"Attached to Certyn run {one_line(run_id, 80)} (no create: `run-id` was given)")

    def seen(self, status: RunStatus) -> None:
        """A status: state and counts as outputs at once."""
        self.report.status = status
        self.write_outputs()
        report = self.report
        if report.other_commit and report.metadata and not self._other_commit_said:  # once, not every poll
            self._other_commit_said = True
            message = words.other_commit(
                one_line(report.other_commit, 80),
                one_line(report.metadata.commit_sha, 80),
                one_line(report.idempotency_key, 200),
                replayed=bool(report.created and report.created.replayed),
            )
            self.log.warning(message, title=words.OTHER_COMMIT)  # the gate still judges it: the user's key
            self.note(message)

    def write_outputs(self, *, after_create: bool = False) -> None:
        """The outputs known so far (only the create's right after it)."""
        public = self.report.redacted(self.log.redact)
        try:
            self._outputs.write(public.outputs_after_create() if after_create else public.outputs())
        except OSError as err:  # never lose the verdict (exit code, log) over an unwritable file
            self.log.error(
                f"Could not write the step outputs: {one_line(str(err), 300)}", title=words.ACTION_ERROR
            )

    def finish(self, duration: float) -> None:
        """Every exit path: every output, the summary, the verdict line(s) and the one annotation."""
        from ..render.summary import render_summary  # noqa: PLC0415 - not needed before the create

        self.report.duration = duration
        self.write_outputs()
        try:
            self._summary.write(render_summary(self.report.redacted(self.log.redact)))
        except OSError as err:
            self.log.error(
                f"Could not write the job summary: {one_line(str(err), 300)}", title=words.ACTION_ERROR
            )
        lines, annotation = words.verdict(self.report)
        for line in lines:
            self.log.info(line)
        if annotation is not None:
            write = self.log.notice if annotation.kind == "notice" else self.log.error
            write(annotation.message, title=annotation.title)
