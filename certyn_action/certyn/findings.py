"""Reading what Certyn found after the run: its per-test results and the AI's answer to the instruction.

Endpoints beyond the CI ones (``GET /api/projects/{projectId}/process-runs/{runId}``,
``GET /api/assistant/conversations/{id}``), read with the client's read policy within the deadline given.
Every failure is an :class:`ApiError` for the caller, who turns it into a warning: none of this changes a
verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlencode

from ..clock import Clock
from ..core.api import conversation_path, project_path
from ..core.conversation import Conversation
from ..core.results import (
    ArtifactPage,
    EventPage,
    Execution,
    FlakyTestCases,
    ObservationPage,
    ProcessRun,
)
from .client import CertynClient
from .readers import read_model
from .reply import Reply

M = TypeVar("M", ArtifactPage, EventPage, Execution, FlakyTestCases, ObservationPage)

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


# -- diagnosis (issue 20): the reads of a failing test's diagnosis -----------------------------------------
# Each one request (retried by the read policy within ``deadline``); a 404 says the server or key offers none.

EVENTS_PAGE_SIZE = 500
ARTIFACTS_PAGE_SIZE = 50
OBSERVATIONS_PAGE_SIZE = 20
FLAKY_THRESHOLD = "0.2"
_NO_DIAGNOSIS = "this server does not offer {what} (or the key cannot see them)"


def _read(
    client: CertynClient, path: str, model: type[M], what: str, deadline: float, *, bare: bool = False
) -> M:
    def read(reply: Reply) -> M:
        if not bare:
            return read_model(reply, model, what)
        return read_model(reply._replace(body=b'{"items":' + reply.body + b"}"), model, what)

    return client.call(
        "GET",
        path,
        read,
        deadline,
        doing=f"reading {what}",
        policy=client.read_policy(),
        operation=what,
        not_found=_NO_DIAGNOSIS.format(what=what),
    )


def read_execution(client: CertynClient, project_id: str, execution_id: str, deadline: float) -> Execution:
    path = project_path(project_id, "executions", execution_id)
    return _read(client, path, Execution, f"execution {execution_id}", deadline)


def read_events(
    client: CertynClient, project_id: str, session_id: str, page: int, deadline: float
) -> EventPage:
    path = project_path(project_id, "agentsessions", session_id, "conversation")
    query = urlencode({"page": page, "pageSize": EVENTS_PAGE_SIZE})
    return _read(client, f"{path}?{query}", EventPage, f"the agent session {session_id}", deadline)


def read_artifacts(client: CertynClient, project_id: str, execution_id: str, deadline: float) -> ArtifactPage:
    path = project_path(project_id, "executions", execution_id, "artifacts")
    query = urlencode({"page": 1, "pageSize": ARTIFACTS_PAGE_SIZE})
    return _read(
        client, f"{path}?{query}", ArtifactPage, f"the artifacts of execution {execution_id}", deadline
    )


def read_flaky(client: CertynClient, project_id: str, deadline: float) -> FlakyTestCases:
    path = project_path(project_id, "flaky-testcases") + f"?threshold={FLAKY_THRESHOLD}"
    return _read(client, path, FlakyTestCases, "the flaky test cases", deadline, bare=True)


def read_observations(client: CertynClient, project_id: str, run_id: str, deadline: float) -> ObservationPage:
    path = project_path(project_id, "observations")
    query = urlencode({"processRunId": run_id, "page": 1, "pageSize": OBSERVATIONS_PAGE_SIZE})
    return _read(client, f"{path}?{query}", ObservationPage, "the run's observations", deadline)
