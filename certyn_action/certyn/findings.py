"""Reading what Certyn found after the run: its per-test results and the AI's answer to the instruction.

Endpoints beyond the CI ones (``GET /api/projects/{projectId}/process-runs/{runId}``,
``GET /api/assistant/conversations/{id}``), read with the client's read policy within the deadline given.
Every failure is an :class:`ApiError` for the caller, who turns it into a warning: none of this changes a
verdict.
"""

from __future__ import annotations

from collections.abc import Callable

from ..api.client import conversation_path, project_path
from ..api.models import Conversation, ProcessRun
from ..clock import Clock
from .client import CertynClient
from .readers import read_model

# A run with many tests and long findings can exceed the transport's usual 1 MiB cap.
RESULTS_MAX_BODY = 8 * 1024 * 1024
# The answer is cut at 100,000 characters when read (core/fields.py), but the body may hold more messages.
CONVERSATION_MAX_BODY = 4 * 1024 * 1024
ANSWER_POLL_SECONDS = 5.0  # the official action's pace, when the server gives no hint
MIN_POLL_SECONDS = 1.0
MAX_POLL_SECONDS = 30.0
READ_SECONDS = 10.0  # what one read of the answer may take beyond its budget


def read_process_run(client: CertynClient, run_id: str, deadline: float) -> ProcessRun:
    """The run's per-test results (the CI run id is the process-run id), after resolving the project's id."""
    project_id = client.project_id(deadline)
    return client.call(
        "GET",
        project_path(project_id, "process-runs", run_id),
        lambda reply: read_model(reply, ProcessRun, "the per-test results", run_id),
        deadline,
        doing=f"reading the per-test results of run {run_id}",
        policy=client.read_policy(),
        operation="per-test results",
        not_found="this server does not offer per-test results for the run (or the key cannot see them)",
        max_body=RESULTS_MAX_BODY,
    )


def read_conversation(client: CertynClient, conversation_id: str, deadline: float) -> Conversation:
    return client.call(
        "GET",
        conversation_path(conversation_id),
        lambda reply: read_model(reply, Conversation, "the AI conversation"),
        deadline,
        doing=f"reading the AI conversation {conversation_id}",
        policy=client.read_policy(),
        operation="AI conversation",
        not_found="this server does not offer the AI conversation (or the key cannot see it)",
        max_body=CONVERSATION_MAX_BODY,
    )


def wait_for_answer(
    client: CertynClient,
    conversation_id: str,
    until: float,
    hard_deadline: float,
    clock: Clock,
    seen: Callable[[Conversation], None],
) -> None:
    """Read the conversation until it is ``idle`` or ``failed`` or ``until`` passes; every read is given to
    ``seen``. About every 5 s, or the server's hint (kept between 1 and 30 s); one last read at ``until``.
    Each read may take up to ``READ_SECONDS`` past ``until`` (a budget of 0 still reads once), never past
    ``hard_deadline`` (the step's own)."""
    first = True
    while True:
        read_by = min(hard_deadline, max(until, clock.monotonic() + READ_SECONDS))
        if not first and read_by - clock.monotonic() < MIN_POLL_SECONDS:
            return  # the step's own deadline: the last read stands ("processing")
        first = False
        conversation = read_conversation(client, conversation_id, read_by)
        seen(conversation)
        left = until - clock.monotonic()
        if conversation.finished or left <= 0:
            return
        hint = conversation.retry_after_seconds
        pause = min(
            max(hint if hint is not None else ANSWER_POLL_SECONDS, MIN_POLL_SECONDS), MAX_POLL_SECONDS
        )
        clock.sleep(min(pause, left))
