"""The Certyn API's endpoints, thin on top of one retrying call.

:meth:`CertynClient.call` sends one request and reads its 2xx answer, retrying what the policy says is worth
another attempt (``core/retry.py`` owns the rule) within a deadline. An endpoint is a few lines: its path, its
reader (``readers.py``) and its policy. The create is the one exception: its exchanges are recorded in a
:class:`CreateLedger`, so that a create interrupted by a signal can still be found (:meth:`recover_create`).

Every error is an :class:`ApiError` whose message is written for the workflow author and names no secret.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ..api.client import CREATE_PATH, PROJECTS_OVERVIEW_PATH, run_path
from ..clock import Clock
from ..core.retry import RetryPolicy
from .errors import ApiError, NotFound, error_for, no_answer
from .http import Call, Transport, TransportError, first_done
from .ledger import Attempts, CreateLedger
from .readers import read_created, read_model, read_status
from .reply import Reply
from .retrying import MIN_ATTEMPT_SECONDS, RetryListener, retrying

if TYPE_CHECKING:
    from ..api.models import Created, RunStatus

T = TypeVar("T")
CANCEL_RESERVE_SECONDS = 1.5  # of a cancel budget, kept for the cancel itself when recovering a create
REPLAY_ROOM_SECONDS = 1.25  # of a cancel budget, kept for a replay while awaiting a create's answer
CREATE_NOT_FOUND = (
    "unknown project `{project}`, process or environment (check `project-slug`, "
    "`process-slug`/`tags` and `environment-key`)"
)


class CertynClient:
    def __init__(
        self,
        transport: Transport,
        clock: Clock,
        *,
        request_timeout: float,
        max_attempts: int,
        project_slug: str,
        on_retry: RetryListener | None = None,
    ) -> None:
        self._transport = transport
        self._clock = clock
        self._request_timeout = request_timeout
        self._max_attempts = max_attempts
        self._project = project_slug
        self._on_retry = on_retry
        self.ledger: CreateLedger | None = None  # set by the create
        self._project_id: str | None = None  # read once, by project_id()
        self.poll_sent_at = 0.0  # clock time the last status request went out

    # -- the policies ----------------------------------------------------------------------------
    def create_policy(self) -> RetryPolicy:
        return RetryPolicy.create(self._max_attempts)

    def cancel_policy(self) -> RetryPolicy:
        """Quick retries (the cancel has seconds, not minutes); a 404 too: a brand-new run may 404 a moment."""
        return self.release_policy().with_also(404)

    def release_policy(self) -> RetryPolicy:
        """Quick retries, for what is released within the cancel budget (a cancel, an environment delete)."""
        return RetryPolicy.create(self._max_attempts, backoff_factor=0.25, backoff_max=1.0, jitter=0.25)

    def read_policy(self) -> RetryPolicy:
        """Reads beyond the CI endpoints (projects, results, environments, conversations): safe to repeat."""
        return RetryPolicy.create(self._max_attempts)

    # -- the endpoints ---------------------------------------------------------------------------
    def project_id(self, deadline: float) -> str:
        """The id of ``project-slug`` (``GET /api/projects/overview``; slugs compared case-insensitively),
        read once. The endpoints beyond the CI ones address the project by id."""
        if self._project_id is None:
            from ..api.models import ProjectsOverview, resolve_project_id  # noqa: PLC0415 - after the create

            overview = self.call(
                "GET",
                PROJECTS_OVERVIEW_PATH,
                lambda reply: read_model(reply, ProjectsOverview, "the projects overview"),
                deadline,
                doing="reading the projects overview",
                policy=self.read_policy(),
                operation="projects overview",
            )
            found = resolve_project_id(overview, self._project)
            if found is None:
                raise NotFound(
                    f"project `{self._project}` is not among the projects this API key can see "
                    "(GET /api/projects/overview): check `project-slug` and the key's access.",
                    status=404,
                )
            self._project_id = found
        return self._project_id

    def create(self, body: Mapping[str, Any], idempotency_key: str, deadline: float) -> Created:
        """Create the run, retrying transient failures with the same Idempotency-Key."""
        self.ledger = ledger = CreateLedger(body, idempotency_key)
        once = lambda dl: self._create_once(ledger, dl)  # noqa: E731
        return self._retrying("create", CREATE_PATH, self.create_policy(), deadline, once)

    def status(self, run_id: str, deadline: float, idle: Callable[[], float] | None = None) -> RunStatus:
        """One status request. Transient failures raise a transient ApiError; the caller (the waiter) decides.

        ``idle`` runs while the request is in flight (see :meth:`Call.wait`)."""
        self.poll_sent_at = self._clock.monotonic()
        read = lambda reply: read_status(reply, run_id)  # noqa: E731
        return self.call("GET", run_path(run_id), read, deadline, doing="reading the run's status", idle=idle)

    def cancel(self, run_id: str, reason: str, deadline: float) -> str:
        """Cancel the run within ``deadline``; returns what happened. Never sends the create's key."""
        try:
            return self.call(
                "POST",
                run_path(run_id) + "/cancel",
                lambda _reply: "cancelled",
                deadline,
                json_body={"reason": reason},
                doing="cancelling the run",
                policy=self.cancel_policy(),
                operation="cancel",
            )
        except ApiError as err:
            if err.status == 409:
                return "not cancelled: the run had already finished"
            raise

    # -- the one call ----------------------------------------------------------------------------
    def call(
        self,
        method: str,
        path: str,
        read: Callable[[Reply], T],
        deadline: float,
        *,
        doing: str,
        policy: RetryPolicy | None = None,
        operation: str = "",
        json_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        not_found: str = "",
        idle: Callable[[], float] | None = None,
        max_body: int | None = None,
        attempts: Attempts | None = None,
    ) -> T:
        """Send one request and ``read`` its 2xx answer; other answers raise the :class:`ApiError` they mean.

        With a ``policy``, failures it retries are retried (``operation`` names the request in the log) until
        it gives up or ``deadline``; without one, a single attempt, whose transient failure is the caller's.
        ``attempts`` (a create's) records each failed attempt: whether it may have made what it creates.
        """

        def once(deadline: float) -> T:
            def send() -> Reply:
                return self._transport.request(
                    method,
                    path,
                    timeout=self._timeout(deadline),
                    json_body=json_body,
                    headers=headers,
                    idle=idle,
                    max_body=max_body,
                )

            return self._answer(send, read, doing, not_found)

        attempt = once if attempts is None else attempts.recording(once)
        if policy is None:
            return attempt(deadline)
        return self._retrying(operation or doing, path, policy, deadline, attempt)

    def _answer(
        self, exchange: Callable[[], Reply], read: Callable[[Reply], T], doing: str, not_found: str = ""
    ) -> T:
        """The 2xx answer of ``exchange``, read; any other outcome raises the :class:`ApiError` it means."""
        try:
            reply = exchange()
        except TransportError as err:
            raise no_answer(err) from None
        if not 200 <= reply.status < 300:
            raise error_for(reply, doing, self._project, not_found=not_found)
        return read(reply)

    # -- the create and its recovery ---------------------------------------------------------------
    @property
    def create_may_have_made_a_run(self) -> bool:
        """No run is known, yet an attempt got no answer (or one that may hide a run): one may exist."""
        return self.ledger is not None and self.ledger.may_hold_a_run

    def recover_create(self, deadline: float, reserve: float = CANCEL_RESERVE_SECONDS) -> Created | None:
        """After an interrupted create: the run it made, if any, leaving ``reserve`` seconds for the cancel.

        The answer of the exchange still in flight usually comes sooner than any replay could: it is awaited
        until ``deadline - reserve``. If it has not come ``REPLAY_ROOM_SECONDS`` before that, or the exchange
        failed without one, and some attempt got no HTTP answer at all or an answer that may hide a run
        (:func:`errors.may_have_made_a_run`), the create is replayed once with the same Idempotency-Key,
        which returns that run; the first usable answer wins. A create the server only ever refused (3xx,
        4xx, 503) made no run: nothing is replayed.
        """
        ledger = self.ledger
        if ledger is None:
            return None
        if ledger.created is not None:  # the create succeeded; the caller was interrupted before it knew
            return ledger.created
        end = deadline - reserve
        pending = [ledger.in_flight] if ledger.in_flight is not None else []
        created = self._first_created(ledger, pending, end - REPLAY_ROOM_SECONDS)
        if created is not None or not ledger.may_hold_a_run:
            return created
        if end - self._clock.monotonic() >= MIN_ATTEMPT_SECONDS:
            with contextlib.suppress(TransportError):  # refused before sending: nothing to wait for
                pending.append(self._send_create(ledger, self._timeout(end), replay=True))
        return self._first_created(ledger, pending, end)

    def _first_created(self, ledger: CreateLedger, pending: list[Call], until: float) -> Created | None:
        """The first usable create answer among ``pending`` before ``until``; the calls that ended are removed."""
        while pending:
            call = first_done(pending, until - self._clock.monotonic())
            if call is None:
                return None
            pending.remove(call)
            try:
                return self._read_created(ledger, call.wait(0))
            except TransportError:
                ledger.lost()
            except ApiError:  # answered after all: a refusal made no run
                pass
        return None

    def _send_create(self, ledger: CreateLedger, timeout: float, *, replay: bool = False) -> Call:
        if not replay:  # a replay runs beside the attempt in flight, which stays the ledger's
            ledger.sending()  # before start(): a signal may land while the worker thread is sending
        try:
            call = self._transport.start(
                "POST",
                CREATE_PATH,
                timeout=timeout,
                json_body=ledger.body,
                headers={"Idempotency-Key": ledger.key},
            )
        except TransportError:
            if not replay:
                ledger.not_sent()
            raise
        if not replay:
            ledger.sent(call)
        return call

    def _create_once(self, ledger: CreateLedger, deadline: float) -> Created:
        timeout = self._timeout(deadline)
        try:
            call = self._send_create(ledger, timeout)
        except TransportError as err:  # refused before sending (an unsafe URL): nothing went out
            raise no_answer(err) from None
        try:
            reply = call.wait(timeout)
        except TransportError as err:
            ledger.lost()
            raise no_answer(err) from None
        # Until the run is stored, the exchange stays in flight: a signal raised in between leaves
        # recover_create() the reply to read again, so the run it names can still be cancelled.
        return self._read_created(ledger, reply)

    def answered_create(self) -> Created | None:
        """The run of a create answered but not read back yet (interrupted during the reply's validation),
        sending nothing; None when there is no such answer or it names no usable run."""
        ledger = self.ledger
        if ledger is None or ledger.created is not None:
            return None if ledger is None else ledger.created
        if ledger.in_flight is None or not ledger.in_flight.done:
            return None
        try:
            return self._read_created(ledger, ledger.in_flight.wait(0))
        except (ApiError, TransportError):
            return None

    def _read_created(self, ledger: CreateLedger, reply: Reply) -> Created:
        try:
            if not 200 <= reply.status < 300:
                project = self._project
                raise error_for(
                    reply, "creating the run", project, not_found=CREATE_NOT_FOUND.format(project=project)
                )
            created = read_created(reply)
        except ApiError as err:
            ledger.refused(err.status)
            raise
        ledger.answered(created)
        return created

    # -- retrying --------------------------------------------------------------------------------
    def _retrying(
        self, operation: str, path: str, policy: RetryPolicy, deadline: float, once: Callable[[float], T]
    ) -> T:
        url, clock, timeout = self._transport.url(path), self._clock, self._request_timeout
        return retrying(operation, url, policy, deadline, once, clock, timeout, self._on_retry)

    def _timeout(self, deadline: float) -> float:
        return min(self._request_timeout, deadline - self._clock.monotonic())
