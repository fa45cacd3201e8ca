"""What Certyn found, in the log: one ``::error`` per failing test (at most 9, so that with the gate's own
annotation a step never crosses GitHub's 10 per kind; ``::warning`` when the gate passed, so that a green step
carries no error) and the AI's answer in its own group, every line
neutralised like all server text (``WorkflowLog.info``: never a workflow command)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .workflow import WorkflowLog

if TYPE_CHECKING:
    from ..api.models import Conversation, RunItem


def test_annotations(log: WorkflowLog, items: Sequence[RunItem], *, gate_passed: bool) -> int:
    """One annotation per failing test, titled with its name; returns how many were written.

    Errors, or warnings when the gate passed (the counts said passed, the per-test results disagree)."""
    from ..core.results_summary import failing_annotations, unannotated_line  # noqa: PLC0415 - after the run

    annotations = failing_annotations(items)
    annotate = log.warning if gate_passed else log.error
    for annotation in annotations:
        annotate(annotation.message, title=annotation.title)
    if rest := unannotated_line(items, len(annotations)):
        log.info(rest)
    return len(annotations)


def answer(log: WorkflowLog, conversation: Conversation) -> None:
    """The AI's answer (or its state when there is none) inside its own group."""
    text = conversation.answer
    with log.group(f"Certyn AI answer ({conversation.state})"):
        if text is None:
            log.info("No answer.")
            return
        # Only real line breaks start a line: splitlines() would also break at a form feed or U+2028, and a
        # key split over two lines would pass the scrubber (``log.info`` shows those as spaces instead).
        for line in re.split(r"\r\n|[\r\n]", text.rstrip("\r\n")):
            log.info(line)
