"""The step's report written out: the outputs as they become known, and on every exit path every output, the
job summary, the verdict line and one annotation; the step alone fills the report. Server text may echo the API
key: everything goes through the log's redaction, before it is cut or rendered and as each file's last step.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..render import words
from ..render.escape import one_line
from ..report import Report
from .files import OutputFile, write_summary
from .workflow import WorkflowLog


class Reporter:
    def __init__(self, env: Mapping[str, str], log: WorkflowLog) -> None:
        self.log = log
        self._outputs = OutputFile(
            env.get("GITHUB_OUTPUT"),
            log.redact,
            lambda message: log.warning(message, title=words.OUTPUT_CUT),
        )
        self._summary = env.get("GITHUB_STEP_SUMMARY")

    def outputs(self, report: Report, *, after_create: bool = False) -> None:
        """The outputs known so far (only the create's right after it)."""
        public = report.redacted(self.log.redact)
        try:
            self._outputs.write(public.outputs_after_create() if after_create else public.outputs())
        except OSError as err:  # never lose the verdict (exit code, log) over an unwritable file
            self._failed(words.OUTPUTS_NOT_WRITTEN, err)

    def finish(self, report: Report) -> None:
        """Every exit path: every output, the summary, the verdict line(s) and the one annotation."""
        from ..render.summary import render_summary  # noqa: PLC0415 - not needed before the create

        self.outputs(report)
        try:
            write_summary(self._summary, render_summary(report.redacted(self.log.redact)), self.log.redact)
        except OSError as err:
            self._failed(words.SUMMARY_NOT_WRITTEN, err)
        lines, annotation = words.verdict(report)
        for line in lines:
            self.log.info(line)
        if annotation is not None:
            getattr(self.log, annotation.kind)(annotation.message, title=annotation.title)

    def _failed(self, what: str, err: OSError) -> None:
        self.log.error(what.format(error=one_line(str(err), 300)), title=words.ACTION_ERROR)
