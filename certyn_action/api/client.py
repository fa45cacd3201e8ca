"""The Certyn API's endpoints, each a few lines on the one retrying :meth:`CertynClient.call`.

The retry policies are values on urllib3's ``Retry``, asked how long to wait (mounted on the adapter, it would
sleep out of reach of the deadline, the clock and cancellation); :func:`classify` is the one rule for what may
pass. pydantic is imported when the first answer is read (:func:`load_models`), never before the create.
"""

from __future__ import annotations

import contextlib
import importlib
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar
from urllib.parse import urlencode, urlsplit

from urllib3.exceptions import InvalidHeader, MaxRetryError
from urllib3.util.retry import Retry

from ..clock import Clock, Deadline
from ..render.escape import one_line, plural
from ..settings import KEY_MAX_LENGTH
from .http import (
    Call,
    DuplicateKey,
    NotSent,
    Reply,
    Request,
    TlsVerificationFailed,
    Transport,
    TransportError,
    UnsafeUrl,
    signals_held,
)
from .vocabulary import api_path, run_path

if TYPE_CHECKING:
    from pydantic import BaseModel

    from . import models
else:

    class _Models:  # the models module, imported on first use
        def __getattr__(self, name: str) -> Any:
            load_models()
            return getattr(sys.modules["certyn_action.api.models"], name)

    models = _Models()

T = TypeVar("T")
U = TypeVar("U")
M = TypeVar("M", bound="BaseModel")

# 408, 429 and every server error but 501 Not Implemented and 505 HTTP Version Not Supported (52x included).
TRANSIENT_STATUSES = frozenset({408, 429, *range(500, 600)}) - {501, 505}
RETRY_AFTER_CAP_SECONDS = 60.0
# Kinds of failure that are not a status: no answer and an unusable 2xx body may pass; an unverified
# certificate, or a URL off the configured API host (nothing was sent), won't.
NO_ANSWER = "no answer"
UNUSABLE_BODY = "unusable body"
TLS = "tls"
UNSAFE_URL = "unsafe url"


class ApiError(Exception):
    """The API failed us: the ``status`` it answered, or the ``kind`` of failure when that says more; the
    message is for the workflow author and names no secret. ``last``: the last attempt's own error."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        kind: str | None = None,
        retry_after: str | None = None,
        attempts: int = 1,
        last: str = "",
    ) -> None:
        super().__init__(message)
        self.message, self.status, self.kind, self.retry_after = message, status, kind, retry_after
        self.attempts, self.last = attempts, last or message

    def gave_up(self, kind: type[GaveUp], why: str, attempts: int) -> GaveUp:
        message = f"{why}: {self.message}"
        return kind(message, status=self.status, kind=self.kind, attempts=attempts, last=self.message)


class AuthError(ApiError):
    """401/403: the key is wrong or lacks permission."""


class NotFound(ApiError):
    """404: unknown project, process or run."""


class GaveUp(ApiError):
    """Retrying stopped: never retried again."""


class DeadlineExceeded(GaveUp):
    """timeout-seconds passed before the operation could succeed."""


class Outage(NamedTuple):
    """Polls failing when the deadline came: since when (seconds into the step), how many, the last error."""

    since: float
    failures: int
    error: str


class TimedOut(Exception):
    """The deadline came without a terminal status (``last`` seen; ``outage`` when the API was unreachable)."""

    def __init__(self, last: models.RunStatus | None, outage: Outage | None = None) -> None:
        self.last, self.outage = last, outage


def classify(failure: ApiError) -> bool:
    """The one rule: whether a failure may go away on retry (an outage). Its kind says it; else the status."""
    if failure.kind is not None:
        return failure.kind in (NO_ANSWER, UNUSABLE_BODY)
    return failure.status in TRANSIENT_STATUSES


class RetryPolicy(NamedTuple):
    retry: Retry
    also: frozenset[int] = frozenset()  # statuses retried beyond the transient ones (the cancel's 404)

    @classmethod
    def create(
        cls,
        max_attempts: int | None,
        *,
        backoff_factor: float = 1.0,
        backoff_max: float = 30.0,
        jitter: float = 1.0,
        retry_after_max: float = RETRY_AFTER_CAP_SECONDS,
    ) -> RetryPolicy:
        """``max_attempts`` counts the first try; None: without limit (the caller's deadline ends it)."""
        return cls(
            Retry(
                total=None if max_attempts is None else max_attempts - 1,
                backoff_factor=backoff_factor,
                backoff_max=backoff_max,
                backoff_jitter=jitter,
                retry_after_max=int(retry_after_max),
            )
        )

    @property
    def failures(self) -> int:
        return len(self.retry.history)

    def after_failure(self, method: str, url: str) -> RetryPolicy | None:
        """The policy after one more failed attempt, or None when no attempt is left."""
        try:
            return self._replace(retry=self.retry.increment(method, url))
        except MaxRetryError:
            return None

    def delay(self, retry_after: str | None = None) -> float:
        """The backoff, or the server's ``Retry-After`` (capped) when longer: never shorter (a ``Retry-After``
        of 0 or in the past would spend every attempt in a short outage)."""
        backoff = self.retry.get_backoff_time()
        try:
            return max(self.retry.parse_retry_after(retry_after), backoff) if retry_after else backoff
        except (InvalidHeader, ValueError, OverflowError):  # unusable (or out of range): the backoff
            return backoff


CREATE = READ = RetryPolicy.create(None)
# quick retries, for what is released within the cancel budget (a cancel, an environment delete)
RELEASE = RetryPolicy.create(None, backoff_factor=0.25, backoff_max=1.0, jitter=0.25)
CANCEL = RELEASE._replace(also=frozenset({404}))  # a brand-new run may 404 a moment
MIN_ATTEMPT_SECONDS = 1.0  # an attempt (a replayed create, a last try) needs this long to be worth sending
CANCEL_RESERVE_SECONDS = 1.5  # of a cancel budget, kept for the cancel itself when recovering a create

EVENTS_PAGE_SIZE = 500  # diagnosis (issue 20): one page of an agent session's events
ARTIFACTS_PAGE_SIZE = 50
OBSERVATIONS_PAGE_SIZE = 20
RESULTS_MAX_BODY = 8 * 1024 * 1024  # a run with many tests and long findings can exceed the usual 1 MiB cap
CONVERSATION_MAX_BODY = 4 * 1024 * 1024  # the answer is cut at 100,000 characters, the body may hold more


def load_models() -> None:
    """Import pydantic and the models once, SIGINT and SIGTERM held: never left half loaded by a signal."""
    if "certyn_action.api.models" in sys.modules:
        return
    with signals_held():
        importlib.import_module("certyn_action.api.models")


KEY_REFUSED = (
    "Certyn refused the API key while {doing} (HTTP {status}). Check that `api-key` holds a valid, unrevoked "
    "Certyn API key with access to project `{project}`, and that the secret is available to this workflow.{suffix}"
)


def error_for(reply: Reply, ask: Ask, project: str) -> ApiError:
    status, said, doing = reply.status, server_message(reply), ask.doing
    suffix = f" Server said: {said}" if said else ""
    if status in (401, 403):
        refused = ask.refused or KEY_REFUSED
        return AuthError(
            refused.format(status=status, doing=doing, project=project, suffix=suffix), status=status
        )
    if 300 <= status < 400:
        try:
            location = urlsplit(reply.headers.get("Location") or "").netloc or "elsewhere"
        except ValueError:  # e.g. "http://[::1": still the redirect, never an internal error
            location = "an unparsable location"
        return ApiError(
            f"the API answered with a redirect (HTTP {status} to {one_line(location, 100)}) while {doing}; "
            "the API key is never sent to a redirect target: set `api-url` to the API's final address.",
            status=status,
        )
    if status == 404:
        what = ask.not_found or "the run was not found"
        return NotFound(f"HTTP 404 while {doing}: {what}.{suffix}", status=status)
    retry_after = reply.headers.get("Retry-After")  # heeded only where the failure is retried
    return ApiError(f"HTTP {status} while {doing}.{suffix}", status=status, retry_after=retry_after)


def may_have_made_a_run(status: int | None) -> bool:
    """Whether a create answered with ``status`` (no usable run) may have made it: no answer may hide one, a
    2xx made one, a 500, 502 or 504 may be a gateway's that gave up on a backend that went on. Else a refusal."""
    return status is None or 200 <= status < 300 or (status >= 500 and status != 503)


def json_object(reply: Reply, what: str, shape: type = dict) -> Any:
    """The JSON object (or array) of a 2xx body; anything else (a proxy's page, a cut body) may pass."""
    try:
        data = reply.json()
    except DuplicateKey as err:
        problem = f"ambiguous: {err}"
    except ValueError:
        kind = "an HTML page" if reply.body.lstrip()[:1] == b"<" else "not valid JSON"
        problem = f"{kind}: a proxy or load balancer answered, or the body was cut"
    else:
        if isinstance(data, shape):
            return data
        problem = "not a JSON object" if shape is dict else "not a JSON array"
    raise ApiError(f"{what} (HTTP {reply.status}) is {problem}", status=reply.status, kind=UNUSABLE_BODY)


def server_message(reply: Reply) -> str:
    """The server's own explanation (``error``, ``message``, problem details), on one line, cut."""
    try:
        data = reply.json()
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    said = (data.get(key) for key in ("error", "message", "title", "detail"))
    parts = list(dict.fromkeys(value.strip() for value in said if isinstance(value, str) and value.strip()))
    errors = data.get("errors")
    if isinstance(errors, dict):
        for field, messages in errors.items():
            items = messages if isinstance(messages, list) else [messages]
            parts.append(f"{field}: " + ", ".join(str(m) for m in items))
    elif isinstance(errors, list):
        parts.extend(str(item) for item in errors)
    return one_line(" — ".join(parts), 300)


def _validated(model: type[M], data: dict[str, Any], invalid: str, reply: Reply, kind: str | None) -> M:
    try:
        return model.model_validate(data)
    except models.ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        summary = one_line(f"{where}: {first['msg']}", 200)
        raise ApiError(f"{invalid}: {summary}", status=reply.status, kind=kind) from None


def read_created(reply: Reply) -> models.Created:
    """The run a 2xx create answer names; without a ``runId`` it is an error (not retried)."""
    data = json_object(reply, "the create response")
    if not data.get("runId"):
        raise ApiError(
            f"Certyn answered the create with HTTP {reply.status} but no runId; the run cannot be followed. "
            f"Server said: {server_message(reply) or 'nothing'}",
            status=reply.status,
        )
    run = _validated(models.CreatedRun, data, "the create response is invalid", reply, None)
    return models.Created(run, (reply.headers.get("Idempotency-Replayed") or "").strip().lower() == "true")


def read_model(
    reply: Reply,
    model: type[M],
    what: str,
    run_id: str | None = None,
    field: str = "id",
    invalid: str = "",
    bare: bool = False,
) -> M:
    """A 2xx answer read into ``model``; invalid (retried like a cut body) when it is not a JSON object, lacks a
    field the model cannot do without, or, with ``run_id``, its ``field`` (any case) names another run. ``bare``:
    any JSON (a page's bare array), read as ``{"items": ...}``."""
    data = {"items": json_object(reply, what, object)} if bare else json_object(reply, what)
    said = next((value for key, value in data.items() if key.lower() == field), None) if run_id else None
    if isinstance(said, int) and not isinstance(said, bool):
        said = str(said)
    if said is not None and said != run_id:
        raise ApiError(
            f"{what} (HTTP {reply.status}) is for run {one_line(repr(said), 80)}, not run {run_id}: "
            "a caching proxy or a server fault answered",
            status=reply.status,
            kind=UNUSABLE_BODY,
        )
    return _validated(
        model, data, invalid or f"{what} (HTTP {reply.status}) is invalid", reply, UNUSABLE_BODY
    )


def read_status(reply: Reply, run_id: str) -> models.RunStatus:
    return read_model(
        reply, models.RunStatus, "the status response", run_id, "runid", "invalid status response"
    )


def unless_conflict(call: Callable[[], T], otherwise: U) -> T | U:
    """``call()``, or ``otherwise`` on a 409 Conflict."""
    try:
        return call()
    except ApiError as err:
        if err.status != 409:
            raise
        return otherwise


class Ask(NamedTuple):
    """A request and its words: what we were ``doing``, the ``operation`` (the retry log), what a 404 means,
    and what a 401/403 means when it is not a wrong key (``{status}``, ``{doing}`` filled in)."""

    request: Request
    doing: str
    operation: str = ""
    not_found: str = ""
    refused: str = ""


@dataclass
class Creating:
    """A create that was sent (to replay: its key makes that harmless): whether an attempt may have made what
    it creates unseen (in flight from before it is sent until its answer is read, or an answer that may hide
    it), and its last 2xx reply (read again when a signal cut its reading short)."""

    ask: Ask
    in_flight: bool = False
    may_have_made: bool = False
    reply: Reply | None = None


class CertynClient:
    """The one client; ``on_retry(operation, error, delay, failures)`` hears of each retry."""

    def __init__(
        self,
        transport: Transport,
        clock: Clock,
        *,
        request_timeout_seconds: float,
        max_attempts: int,
        project_slug: str,
        on_retry: Callable[[str, ApiError, float, int], None] | None = None,
    ) -> None:
        self._transport, self._clock = transport, clock
        self._request_timeout_seconds = request_timeout_seconds
        self._max_attempts, self._project, self._on_retry = max_attempts, project_slug, on_retry
        self.creating: Creating | None = None
        self.created: models.Created | None = None
        self._project_id: str | None = None
        self.poll_sent_at = 0.0  # when the last status request went out

    def call(
        self,
        ask: Ask,
        read: Callable[[Reply], T],
        policy: RetryPolicy | None,
        deadline: Deadline,
        *,
        idle: Callable[[], float] | None = None,
        creating: Creating | None = None,
    ) -> T:
        """``read`` the 2xx answer to ``ask``, else raise the :class:`ApiError` it means; retried by ``policy``
        until ``deadline`` (None: one attempt). ``creating`` records each attempt of a create."""
        if policy is not None:
            policy = policy._replace(retry=policy.retry.new(total=self._max_attempts - 1))
        last_chance = False
        while True:
            try:
                return self._once(ask, read, deadline, idle, creating)
            except ApiError as err:
                if policy is None or not (classify(err) or err.status in policy.also):
                    raise
                error = err
            operation, tries = ask.operation or ask.doing, policy.failures + 1
            policy = policy.after_failure(ask.request.method, ask.request.path)
            if policy is None:
                raise error.gave_up(GaveUp, f"{operation} failed after {plural(tries, 'attempt')}", tries)
            remaining = deadline.left()
            delay = policy.delay(error.retry_after)
            if delay >= remaining:
                # The server asks for more time than is left. Giving up now would waste what is left (and
                # leave a run orphaned when this is the cancel): wait what we can, and try one last time.
                final_try = min(self._request_timeout_seconds, remaining / 2)
                if last_chance or final_try < MIN_ATTEMPT_SECONDS:
                    why = f"{operation} did not succeed before the deadline"
                    raise error.gave_up(DeadlineExceeded, why, tries)
                delay, last_chance = remaining - final_try, True
            if self._on_retry is not None:
                self._on_retry(operation, error, delay, policy.failures)
            self._clock.sleep(delay)

    def _once(
        self,
        ask: Ask,
        read: Callable[[Reply], T],
        deadline: Deadline,
        idle: Callable[[], float] | None,
        creating: Creating | None,
    ) -> T:
        """One attempt; a create's is in flight in ``creating`` from before it is sent (a signal may land while
        the worker thread sends)."""
        if creating is not None:
            creating.in_flight = True
        try:
            try:
                attempt = deadline.capped(self._request_timeout_seconds)
                reply = self._transport.send(ask.request, attempt, idle)
            except TransportError as err:
                if creating is not None and isinstance(err, NotSent):
                    creating.in_flight = False
                kind = {TlsVerificationFailed: TLS, UnsafeUrl: UNSAFE_URL}.get(type(err), NO_ANSWER)
                raise ApiError(str(err), kind=kind) from None
            if not 200 <= reply.status < 300:
                raise error_for(reply, ask, self._project)
            if creating is not None:  # in flight until read: a signal while it is read leaves it to read
                creating.reply = reply
            return read(reply)
        except ApiError as err:
            if creating is not None and creating.in_flight:
                creating.may_have_made |= may_have_made_a_run(err.status)
                creating.in_flight, creating.reply = False, None
            raise

    # -- the endpoints ---------------------------------------------------------------------------
    def project_id(self, deadline: Deadline) -> str:
        """The id of ``project-slug``, read once: the endpoints beyond the CI ones address projects by id."""
        if self._project_id is None:
            ask = Ask(
                Request("GET", api_path("projects", "overview")),
                "reading the projects overview",
                operation="projects overview",
            )
            read = partial(read_model, model=models.ProjectsOverview, what="the projects overview")
            overview = self.call(ask, read, READ, deadline)
            self._project_id = models.resolve_project_id(overview, self._project)
            if self._project_id is None:
                raise NotFound(
                    f"project `{self._project}` is not among the projects this API key can see "
                    "(GET /api/projects/overview): check `project-slug` and the key's access.",
                    status=404,
                )
        return self._project_id

    def create(self, body: Mapping[str, Any], idempotency_key: str, deadline: Deadline) -> models.Created:
        request = Request("POST", api_path("ci", "runs"), body, {"Idempotency-Key": idempotency_key})
        not_found = (
            f"unknown project `{self._project}`, process or environment (check `project-slug`, "
            "`process-slug`/`tags` and `environment-key`)"
        )
        self.creating = Creating(Ask(request, "creating the run", operation="create", not_found=not_found))
        return self.call(self.creating.ask, self._read_created, CREATE, deadline, creating=self.creating)

    def _read_created(self, reply: Reply) -> models.Created:
        self.created = read_created(reply)
        return self.created

    def status(
        self, run_id: str, deadline: Deadline, idle: Callable[[], float] | None = None
    ) -> models.RunStatus:
        """One attempt: the waiter retries."""
        self.poll_sent_at = self._clock.monotonic()
        ask = Ask(Request("GET", run_path(run_id)), "reading the run's status")
        return self.call(ask, partial(read_status, run_id=run_id), None, deadline, idle=idle)

    def cancel(self, run_id: str, reason: str, deadline: Deadline) -> str:
        """What happened to the cancel; never sends the create's key."""
        request = Request("POST", run_path(run_id) + "/cancel", {"reason": reason})
        ask = Ask(request, "cancelling the run", operation="cancel")
        cancel = partial(self.call, ask, lambda _reply: "cancelled", CANCEL, deadline)
        return unless_conflict(cancel, "not cancelled: the run had already finished")

    def process_run(self, run_id: str, deadline: Deadline) -> models.ProcessRun:
        """The run's per-test results (the CI run id is the process-run id)."""
        path = api_path("projects", self.project_id(deadline), "process-runs", run_id)
        ask = Ask(
            Request("GET", path, max_body=RESULTS_MAX_BODY),
            f"reading the per-test results of run {run_id}",
            operation="per-test results",
            not_found="this server does not offer per-test results for the run (or the key cannot see them)",
        )
        read = partial(read_model, model=models.ProcessRun, what="the per-test results", run_id=run_id)
        return self.call(ask, read, READ, deadline)

    def conversation(self, conversation_id: str, deadline: Deadline) -> models.Conversation:
        path = api_path("assistant", "conversations", conversation_id)
        ask = Ask(
            Request("GET", path, max_body=CONVERSATION_MAX_BODY),
            f"reading the AI conversation {conversation_id}",
            operation="AI conversation",
            not_found="this server does not offer the AI conversation (or the key cannot see it)",
        )
        read = partial(read_model, model=models.Conversation, what="the AI conversation")
        return self.call(ask, read, READ, deadline)

    # -- diagnosis: a 404 says the server or the key offers none
    def _diagnosis(self, model: type[M], what: str, deadline: Deadline, path: str, bare: bool = False) -> M:
        not_found = f"this server does not offer {what} (or the key cannot see them)"
        ask = Ask(Request("GET", path), f"reading {what}", operation=what, not_found=not_found)
        return self.call(ask, partial(read_model, model=model, what=what, bare=bare), READ, deadline)

    def execution(self, project: str, execution_id: str, deadline: Deadline) -> models.Execution:
        path = api_path("projects", project, "executions", execution_id)
        return self._diagnosis(models.Execution, f"execution {execution_id}", deadline, path)

    def session_events(self, project: str, session: str, page: int, deadline: Deadline) -> models.EventPage:
        query = urlencode({"page": page, "pageSize": EVENTS_PAGE_SIZE})
        path = api_path("projects", project, "agentsessions", session, "conversation") + "?" + query
        return self._diagnosis(models.EventPage, f"the agent session {session}", deadline, path)

    def artifacts(self, project: str, execution_id: str, deadline: Deadline) -> models.ArtifactPage:
        query = urlencode({"page": 1, "pageSize": ARTIFACTS_PAGE_SIZE})
        path = api_path("projects", project, "executions", execution_id, "artifacts") + "?" + query
        return self._diagnosis(
            models.ArtifactPage, f"the artifacts of execution {execution_id}", deadline, path
        )

    def flaky_test_cases(self, project: str, deadline: Deadline) -> models.FlakyTestCases:
        path = api_path("projects", project, "flaky-testcases") + "?threshold=0.2"
        return self._diagnosis(models.FlakyTestCases, "the flaky test cases", deadline, path, bare=True)

    def observations(self, project: str, run_id: str, deadline: Deadline) -> models.ObservationPage:
        query = urlencode({"processRunId": run_id, "page": 1, "pageSize": OBSERVATIONS_PAGE_SIZE})
        path = api_path("projects", project, "observations") + "?" + query
        return self._diagnosis(models.ObservationPage, "the run's observations", deadline, path)

    # -- the create's recovery: an interrupted create is replayed once with its Idempotency-Key
    @property
    def create_may_have_made_a_run(self) -> bool:
        """No run is known, yet an attempt is in flight or got an answer that may hide one."""
        if self.created is not None or self.creating is None:
            return False
        return self.creating.in_flight or self.creating.may_have_made

    def answered_create(self) -> models.Created | None:
        """The run of a create answered but not read (interrupted while read), sending nothing; or None."""
        if self.created is not None or self.creating is None or self.creating.reply is None:
            return self.created
        try:
            return self._read_created(self.creating.reply)
        except ApiError:
            return None

    def recover_create(self, deadline: Deadline) -> models.Created | None:
        """The run an interrupted create made, if any, leaving ``CANCEL_RESERVE_SECONDS`` for the cancel (half of
        a shorter budget, such as the run's half beside base-url's environment): replayed once with its key when
        it may have made one (never after refusals only)."""
        answered = self.answered_create()
        if answered is not None or not self.create_may_have_made_a_run or self.creating is None:
            return answered
        end = deadline.earlier_by(min(CANCEL_RESERVE_SECONDS, deadline.left() / 2))
        if end.left() < MIN_ATTEMPT_SECONDS:
            return None
        if (call := self._cut_short(self.creating)) is not None:
            return self._first_answer(call, end)
        try:  # the replay's failure changes nothing: whether a run may exist is the create's to say
            return self.call(self.creating.ask, self._read_created, None, end)
        except ApiError:
            return None

    def answer_in_flight(self, creating: Creating, deadline: Deadline) -> Reply | None:
        """The 2xx answer to ``creating``'s attempt whose wait a signal cut short, awaited for half the time left
        before ``deadline``; else None."""
        call = self._cut_short(creating)
        if call is None:
            return None
        try:
            reply = call.wait(deadline.left() / 2)
        except TransportError:
            return None
        return reply if 200 <= reply.status < 300 else None

    def _cut_short(self, creating: Creating) -> Call | None:
        """``creating``'s attempt whose wait a signal cut short (the transport's last exchange, when it is that
        request and still counts as in flight), or None."""
        call = self._transport.in_flight
        if not creating.in_flight or call is None or call.description != creating.ask.request.description:
            return None
        return call

    def _first_answer(self, in_flight: Call, end: Deadline) -> models.Created | None:
        """The run named by the first usable answer by ``end``: the attempt in flight's (sent first, a slow server
        answers it first; when it is in, nothing is sent) or its replay's (when the first answer is lost)."""
        assert self.creating is not None  # noqa: S101 - the caller's
        calls = [in_flight]
        if in_flight.over_within(0):
            if (created := self._answer(in_flight)) is not None:
                return created
            calls = []
        with contextlib.suppress(TransportError):
            calls.append(self._transport.begin(self.creating.ask.request, end))
        while calls and (left := end.left()) > 0:
            call = calls.pop(0)
            if not call.over_within(min(left, 0.05) if calls else left):  # in turns while two are awaited
                calls.append(call)
            elif (created := self._answer(call)) is not None:
                return created
        return None

    def _answer(self, call: Call) -> models.Created | None:
        """The run an exchange that is over names in a usable 2xx answer, else None."""
        try:
            reply = call.wait(0)
            return self._read_created(reply) if 200 <= reply.status < 300 else None
        except (TransportError, ApiError):
            return None


# -- the temporary environment of `base-url`, its variables, the runner pools

CREATING_ENVIRONMENT = "creating the temporary environment"
ENVIRONMENT_RIGHTS = (
    "the API key lacks environment rights (HTTP {status} while {doing}): `base-url` creates and deletes a "
    "temporary Certyn environment, so the key needs environment create/delete access. Use such a key, or "
    "run against an existing environment with `environment-key` instead of `base-url`."
)
POOL_RIGHTS = (
    "the API key may not read the self-hosted runner pools (HTTP {status} while listing them): `runner-pool` "
    "needs a key with access to them. Use such a key, or remove `runner-pool` to run in Certyn's cloud."
)


def another_key(key: str, random_hex: Callable[[int], str] = secrets.token_hex) -> str:
    """``key`` with a short random suffix (``key`` is taken by an environment this step did not make)."""
    return f"{key[: KEY_MAX_LENGTH - 7].rstrip('-')}-{random_hex(3)}"


class EnvironmentsApi:
    """The temporary environment's endpoints: ``key`` the create uses, ``taken_key`` the one someone else's
    environment had (the create moved on). A 401/403 here says the key lacks environment rights."""

    def __init__(self, client: CertynClient) -> None:
        self.client = client
        self.creating: Creating | None = None
        self.key = self.taken_key = ""

    @property
    def create_sent(self) -> bool:
        return self.creating is not None

    def create(self, body: Mapping[str, str], deadline: Deadline) -> models.Environment:
        """Create the environment ``body`` describes (retried: its key makes that harmless). On a 409 the key
        is taken: by an earlier attempt of this step when the one listed has this key, ``baseUrl`` and label
        (it is used); else by someone else's (left alone): the create is sent once more under another key."""
        self.key = body["key"]
        created = self._create(body, deadline)
        if created is not None:
            return created
        found = self.find(body["key"], deadline)
        # found under the key: provably ours only with the same ``baseUrl`` and label (else never used)
        if found is not None and (found.base_url, found.label) == (body["baseUrl"], body["label"]):
            return found
        self.taken_key, self.key = body["key"], another_key(body["key"])
        created = self._create({**body, "key": self.key}, deadline)
        if created is None:
            raise ApiError(
                f"HTTP 409 while {CREATING_ENVIRONMENT}: the keys `{self.taken_key}` and `{self.key}` are both "
                "taken by environments this step did not create. Re-run the job.",
                status=409,
            )
        return created

    def _create(self, body: Mapping[str, str], deadline: Deadline) -> models.Environment | None:
        """One create (retried); None on a 409 (the key is taken)."""
        request = Request("POST", self._path(deadline), body)
        ask = Ask(request, CREATING_ENVIRONMENT, operation="environment create", refused=ENVIRONMENT_RIGHTS)
        if self.creating is None:  # one record for both keys: whether any attempt may have made one
            self.creating = Creating(ask)
        read = partial(read_model, model=models.Environment, what="the environment create response")
        create = partial(self.client.call, ask, read, CREATE, deadline, creating=self.creating)
        return unless_conflict(create, None)

    def answered(self, deadline: Deadline) -> models.Environment | None:
        """The environment of a create answered but not read (a signal cut its reading short), or of the attempt
        whose wait a signal cut short, its answer awaited for half the time left before ``deadline`` (a slow server
        makes it only as it answers: looked up at once, it is not listed yet); sending nothing."""
        if self.creating is None:
            return None
        reply = self.creating.reply or self.client.answer_in_flight(self.creating, deadline)
        if reply is None:
            return None
        try:
            return read_model(reply, models.Environment, "the environment create response")
        except ApiError:
            return None

    def find(self, key: str, deadline: Deadline) -> models.Environment | None:
        """The environment with ``key``, in at most 50 pages, or None."""
        read = partial(read_model, model=models.EnvironmentPage, what="the environments list")
        for number in range(1, 51):
            path = f"{self._path(deadline)}?{urlencode({'page': number, 'pageSize': 100})}"
            ask = Ask(Request("GET", path), "listing the environments", operation="environments list")
            page = self.client.call(ask._replace(refused=ENVIRONMENT_RIGHTS), read, READ, deadline)
            found = models.find_environment(page, key)
            if found is not None or not page.has_next_page or not page.items:
                return found
        return None

    def delete(self, environment_id: str, deadline: Deadline) -> str:
        """What happened to the delete (quick retries)."""
        request = Request("DELETE", self._path(deadline, environment_id))
        doing = f"deleting environment {environment_id}"
        ask = Ask(request, doing, operation="environment delete", refused=ENVIRONMENT_RIGHTS)
        try:
            return self.client.call(ask, lambda _reply: "deleted", RELEASE, deadline)
        except NotFound:
            return "already deleted"

    def set_variable(self, environment_id: str, name: str, value: str, deadline: Deadline) -> bool:
        """Set a variable (retried). False when it is already set: only by an earlier attempt of this request
        (this step made the environment, names are unique)."""
        body = {"name": name, "value": value, "description": "Set by the Certyn GitHub Action (`variables`)"}
        request = Request("POST", self._path(deadline, environment_id, "variables"), body)
        not_found = "the temporary environment was not found"
        doing = f"setting the variable `{name}`"
        ask = Ask(
            request, doing, operation="variable create", not_found=not_found, refused=ENVIRONMENT_RIGHTS
        )
        return unless_conflict(partial(self.client.call, ask, lambda _reply: True, CREATE, deadline), False)

    def _path(self, deadline: Deadline, *segments: str) -> str:
        return api_path("projects", self.client.project_id(deadline), "environments", *segments)


def list_runner_pools(client: CertynClient, deadline: Deadline) -> tuple[models.RunnerPool, ...]:
    """A bare array (retried); an unusable entry is skipped."""

    def read(reply: Reply) -> tuple[models.RunnerPool, ...]:
        return models.usable(models.RunnerPool, json_object(reply, "the runner pools list", list))

    ask = Ask(
        Request("GET", api_path("self-hosted", "pools")),
        "listing the self-hosted runner pools",
        operation="runner pools list",
        not_found="this Certyn API has no self-hosted runner pools (remove `runner-pool`)",
        refused=POOL_RIGHTS,
    )
    try:
        return client.call(ask, read, READ, deadline)
    except NotFound as err:  # not the project's 404: it must not read "project not found"
        raise ApiError(err.message, status=err.status) from None
