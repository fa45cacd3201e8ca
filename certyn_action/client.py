"""The Certyn CI Runs API: create (retried, idempotent), status (one attempt), cancel (retried).

Every error is an :class:`ApiError` whose message is written for the workflow author and names no secret.
The pydantic models are not needed to send the first request: they load on a helper thread while the
create is on the wire (``preload_models``).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from .api import CREATE_PATH, Created, run_path
from .clock import Clock
from .http import Call, DuplicateKey, Reply, TlsVerificationFailed, Transport, TransportError, UnsafeUrl
from .retry import RetryPolicy, is_transient_status
from .text import one_line

if TYPE_CHECKING:
    from pydantic import ValidationError

    from .models import RunStatus

T = TypeVar("T")
CANCEL_RESERVE_SECONDS = 1.5  # of a cancel budget, kept for the cancel itself when recovering a create
MIN_ATTEMPT_SECONDS = 1.0  # an attempt (a replayed create, a last try) needs this long to be worth sending
_preload: threading.Thread | None = None


def preload_models() -> None:
    """Import pydantic and the models on a helper thread, once.

    They are not needed to send the first request, so they load while it is on the wire. Not on the main
    thread: a cancellation signal raised in the middle of an import can leave pydantic-core unusable.
    """
    global _preload  # noqa: PLW0603 - one import per process
    if _preload is None:
        _preload = threading.Thread(
            target=importlib.import_module, args=(f"{__package__}.models",), daemon=True
        )
        _preload.start()


def _await_models() -> None:
    if _preload is not None:
        _preload.join()  # interruptible, and harmless to interrupt: the import goes on on its thread


class ApiError(Exception):
    """The API failed us. ``transient`` errors may go away on retry; the others will not."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        transient: bool = False,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.transient = transient
        self.retry_after = retry_after


class AuthError(ApiError):
    """401/403: the key is wrong or lacks permission."""


class NotFound(ApiError):
    """404: unknown project/process on create, unknown run on status."""


class DeadlineExceeded(ApiError):
    """timeout-seconds passed before the operation could succeed."""


RetryListener = Callable[[str, ApiError, float, int], None]  # operation, error, delay, failed attempts


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
        self._create_body: Mapping[str, Any] | None = None
        self._create_key = ""
        self._create_inflight: Call | None = None
        self._create_unanswered = False  # an attempt may have made a run we never heard of
        self._unanswered_before = False  # the same, not counting the attempt in flight
        self._created: Created | None = None

    # -- create ----------------------------------------------------------------------------------
    def create(self, body: Mapping[str, Any], idempotency_key: str, deadline: float) -> Created:
        """Create the run, retrying transient failures with the same Idempotency-Key."""
        self._create_body, self._create_key = body, idempotency_key
        policy = RetryPolicy.create(self._max_attempts)
        return self._retrying("create", CREATE_PATH, policy, deadline, self._create_once)

    def recover_create(self, deadline: float, reserve: float = CANCEL_RESERVE_SECONDS) -> Created | None:
        """After an interrupted create: the run it made, if any, leaving ``reserve`` seconds for the cancel.

        The exchange still in flight gets half the time left; failing that, if some attempt got no HTTP answer
        at all, or an answer that may hide one (see :func:`_may_have_made_a_run`), the create is replayed
        once with the same Idempotency-Key, which returns that run. A create the server only ever refused
        (3xx, 4xx, 503) made no run: nothing is replayed.
        """
        if self._created is not None:  # the create succeeded; the caller was interrupted before it knew
            return self._created
        if self._create_body is None:
            return None
        call = self._create_inflight
        if call is not None:
            # Half of what is left after the reserve: a stalled create leaves time for the replay.
            try:
                return self._parse_created(call.wait((deadline - reserve - self._clock.monotonic()) / 2))
            except ApiError as err:  # answered after all: a refusal made no run
                self._settled(err)
            except TransportError:
                pass
        if not self._create_unanswered or deadline - reserve - self._clock.monotonic() < MIN_ATTEMPT_SECONDS:
            return None
        try:
            return self._create_once(deadline - reserve)
        except (TransportError, ApiError):
            return None

    @property
    def create_may_have_made_a_run(self) -> bool:
        """No run is known, yet an attempt got no answer (or one that may hide a run): one may exist."""
        return self._created is None and self._create_unanswered

    def _create_once(self, deadline: float) -> Created:
        assert self._create_body is not None  # noqa: S101 - set by create()
        timeout = self._timeout(deadline)
        self._unanswered_before = self._create_unanswered
        self._create_unanswered = True  # sticky until a 2xx: this attempt may reach the server unseen
        self._create_inflight = self._transport.start(
            "POST",
            CREATE_PATH,
            timeout=timeout,
            json_body=self._create_body,
            headers={"Idempotency-Key": self._create_key},
        )
        preload_models()  # pydantic loads on a helper thread while the request is on the wire
        reply = self._create_inflight.wait(timeout)
        # Until the run is stored, the exchange stays "in flight": a signal raised in between leaves
        # recover_create() the reply to read again, so the run it names can still be cancelled.
        try:
            self._created = self._parse_created(reply)
        except ApiError as err:
            self._settled(err)
            raise
        self._create_inflight, self._create_unanswered = None, False
        return self._created

    def _settled(self, err: ApiError) -> None:
        """The attempt in flight was answered without a usable run."""
        self._create_inflight = None
        self._create_unanswered = self._unanswered_before or _may_have_made_a_run(err.status)

    def _parse_created(self, reply: Reply) -> Created:
        if not 200 <= reply.status < 300:
            raise self._error_for(reply, "creating the run")
        data = _json_object(reply, "the create response")
        if not data.get("runId"):
            raise ApiError(
                f"Certyn answered the create with HTTP {reply.status} but no runId; the run cannot be followed. "
                f"Server said: {server_message(reply) or 'nothing'}",
                status=reply.status,
            )
        _await_models()
        from .models import CreatedRun, ValidationError  # noqa: PLC0415 - see the module docstring

        try:
            run = CreatedRun.model_validate(data)
        except ValidationError as err:
            raise ApiError(
                f"the create response is invalid: {_validation_summary(err)}", status=reply.status
            ) from None
        replayed = (reply.header("Idempotency-Replayed") or "").strip().lower() == "true"
        return Created(run, replayed)

    # -- status ----------------------------------------------------------------------------------
    def status(self, run_id: str, deadline: float, idle: Callable[[], float] | None = None) -> RunStatus:
        """One status request. Transient failures raise a transient ApiError; the caller decides.

        ``idle`` runs while the request is in flight (see :meth:`Call.wait`)."""
        try:
            reply = self._transport.request(
                "GET", run_path(run_id), timeout=self._timeout(deadline), idle=idle
            )
        except TlsVerificationFailed as err:
            raise _tls_error(err) from None
        except UnsafeUrl as err:
            raise ApiError(str(err)) from None
        except TransportError as err:
            raise ApiError(str(err), transient=True) from None
        if not 200 <= reply.status < 300:
            raise self._error_for(reply, f"reading run {run_id}")
        data = _json_object(reply, "the status response")
        _check_run_id(data, run_id, reply.status)
        _await_models()
        from .models import RunStatus, ValidationError  # noqa: PLC0415 - see the module docstring

        try:
            return RunStatus.model_validate(data)
        except ValidationError as err:
            raise ApiError(
                f"invalid status response: {_validation_summary(err)}", status=reply.status, transient=True
            ) from None

    # -- cancel ----------------------------------------------------------------------------------
    def cancel(self, run_id: str, reason: str, deadline: float) -> str:
        """Cancel the run within ``deadline``; returns what happened. Never sends the create's key."""

        def once(deadline: float) -> str:
            reply = self._transport.request(
                "POST",
                run_path(run_id) + "/cancel",
                timeout=self._timeout(deadline),
                json_body={"reason": reason},
            )
            if 200 <= reply.status < 300:
                return "cancelled"
            if reply.status == 409:
                return "not cancelled: the run had already finished"
            if reply.status == 404:  # a brand-new run may 404 for a moment: worth another try in the budget
                raise ApiError(f"HTTP 404 while cancelling run {run_id}", status=404, transient=True)
            raise self._error_for(reply, f"cancelling run {run_id}")

        policy = RetryPolicy.create(self._max_attempts, backoff_factor=0.25, backoff_max=1.0, jitter=0.25)
        return self._retrying("cancel", run_path(run_id) + "/cancel", policy, deadline, once)

    # -- shared ----------------------------------------------------------------------------------
    def _retrying(
        self, operation: str, path: str, policy: RetryPolicy, deadline: float, once: Callable[[float], T]
    ) -> T:
        url = self._transport.url(path)
        last_chance = False
        while True:
            try:
                return once(deadline)
            except TlsVerificationFailed as err:
                raise _tls_error(err) from None
            except UnsafeUrl as err:
                raise ApiError(str(err)) from None
            except TransportError as err:
                error = ApiError(str(err), transient=True)
            except ApiError as err:
                if not err.transient:
                    raise
                error = err
            next_policy = policy.after_failure("POST", url)
            remaining = deadline - self._clock.monotonic()
            if next_policy is None:
                raise ApiError(
                    f"{operation} failed after {policy.failures + 1} attempts: {error.message}",
                    status=error.status,
                )
            delay = next_policy.delay(error.retry_after)
            if delay >= remaining:
                # The server asks for more time than is left. Giving up now would waste what is left (and
                # leave a run orphaned when this is the cancel): wait what we can, and try one last time.
                final_try = min(self._request_timeout, remaining / 2)
                if last_chance or final_try < MIN_ATTEMPT_SECONDS:
                    raise DeadlineExceeded(
                        f"{operation} did not succeed before the deadline: {error.message}"
                    )
                delay, last_chance = remaining - final_try, True
            if self._on_retry is not None:
                self._on_retry(operation, error, delay, next_policy.failures)
            self._clock.sleep(delay)
            policy = next_policy

    def _timeout(self, deadline: float) -> float:
        return min(self._request_timeout, deadline - self._clock.monotonic())

    def _error_for(self, reply: Reply, doing: str) -> ApiError:
        status = reply.status
        said = server_message(reply)
        suffix = f" Server said: {said}" if said else ""
        if status in (401, 403):
            return AuthError(
                f"Certyn refused the API key while {doing} (HTTP {status}). Check that `api-key` holds a valid, "
                f"unrevoked Certyn API key with access to project `{self._project}`, and that the secret is "
                f"available to this workflow.{suffix}",
                status=status,
            )
        if 300 <= status < 400:
            location = urlsplit(reply.header("Location") or "").netloc or "elsewhere"
            return ApiError(
                f"the API answered with a redirect (HTTP {status} to {one_line(location, 100)}) while {doing}; "
                "the API key is never sent to a redirect target: set `api-url` to the API's final address.",
                status=status,
            )
        if status == 404:
            what = (
                f"unknown project `{self._project}`, process or environment (check `project-slug`, "
                "`process-slug`/`tags` and `environment-key`)"
                if doing == "creating the run"
                else "the run was not found"
            )
            return NotFound(f"HTTP 404 while {doing}: {what}.{suffix}", status=status)
        if is_transient_status(status):
            return ApiError(
                f"HTTP {status} while {doing}.{suffix}",
                status=status,
                transient=True,
                retry_after=reply.header("Retry-After"),
            )
        return ApiError(f"HTTP {status} while {doing}.{suffix}", status=status)


def _may_have_made_a_run(status: int | None) -> bool:
    """Whether a create answered with ``status`` (and no usable run) may still have made a run.

    A 2xx did make one (its body was unusable). A 500, 502 or 504 may come from a gateway that gave up on
    a backend which went on to create the run. A 3xx, a 4xx (429 and 408 included) or a 503 is a refusal
    before the request was acted on.
    """
    if status is None:
        return True
    return 200 <= status < 300 or (status >= 500 and status != 503)


def _tls_error(err: TransportError) -> ApiError:
    return ApiError(
        f"{err} — the API's TLS certificate did not verify. On a runner behind a TLS-inspecting proxy, "
        "point REQUESTS_CA_BUNDLE or SSL_CERT_FILE at your CA bundle."
    )


def _json_object(reply: Reply, what: str) -> dict[str, Any]:
    """The JSON object in a 2xx body; anything else (a proxy's HTML page, a cut body) is transient."""
    try:
        data = reply.json()
    except DuplicateKey as err:
        raise ApiError(
            f"{what} (HTTP {reply.status}) is ambiguous: {err}", status=reply.status, transient=True
        ) from None
    except ValueError:
        kind = "an HTML page" if reply.body.lstrip()[:1] == b"<" else "not valid JSON"
        raise ApiError(
            f"{what} (HTTP {reply.status}) is {kind}: a proxy or load balancer answered, or the body was cut",
            status=reply.status,
            transient=True,
        ) from None
    if not isinstance(data, dict):
        raise ApiError(
            f"{what} (HTTP {reply.status}) is not a JSON object", status=reply.status, transient=True
        )
    return data


def _check_run_id(data: Mapping[str, Any], run_id: str, status: int) -> None:
    """A status naming another run (a caching proxy, a server bug) is an invalid answer, retried like a cut
    body and never gated on. A status without ``runId`` (or with null) is taken as the polled run's: the
    API does not promise the field in a status."""
    said = data.get("runId")
    if said is None:
        return
    if isinstance(said, int) and not isinstance(said, bool):
        said = str(said)
    if said != run_id:
        raise ApiError(
            f"the status response (HTTP {status}) is for run {one_line(repr(said), 80)}, not run {run_id}: "
            "a caching proxy or a server fault answered",
            status=status,
            transient=True,
        )


def server_message(reply: Reply) -> str:
    """The server's own explanation (``error``, ``message``, problem details), sanitised and truncated."""
    try:
        data = reply.json()
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    parts: list[str] = []
    for key in ("error", "message", "title", "detail"):
        value = data.get(key)
        if isinstance(value, str) and value.strip() and value.strip() not in parts:
            parts.append(value.strip())
    errors = data.get("errors")
    if isinstance(errors, dict):
        for field, messages in errors.items():
            items = messages if isinstance(messages, list) else [messages]
            parts.append(f"{field}: " + ", ".join(str(m) for m in items))
    elif isinstance(errors, list):
        parts.extend(str(item) for item in errors)
    return one_line(" — ".join(parts), 300)


def _validation_summary(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return one_line(f"{where}: {first['msg']}", 200)
