"""What went wrong with Certyn, in words for the workflow author: the error classes, the classification of a
reply that is not the answer we wanted, and the server's own explanation. Pure: a reply in, an error out.

Whether an error is ``transient`` is never decided here: :mod:`..core.retry` owns that one rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from ..core.retry import NO_ANSWER, TLS, UNSAFE_URL, UNUSABLE_BODY, is_transient
from ..core.text import one_line
from .http import TlsVerificationFailed, TransportError, UnsafeUrl
from .reply import DuplicateKey, Reply

if TYPE_CHECKING:
    from pydantic import ValidationError

    from ..api.models import RunStatus


class ApiError(Exception):
    """The API failed us. ``transient`` errors may go away on retry; the others will not."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        transient: bool = False,
        retry_after: str | None = None,
        attempts: int = 1,
        last: str = "",
        unreachable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.transient = transient
        self.retry_after = retry_after
        self.attempts = attempts  # how many attempts were made before giving up
        self.last = last or message  # the last attempt's own error, without "failed after N attempts"
        # Retried until given up, every failure one that may pass (an outage): not transient itself, as
        # nobody should retry it again, but the heading names it "API unreachable".
        self.unreachable = unreachable or transient


class AuthError(ApiError):
    """401/403: the key is wrong or lacks permission."""


class NotFound(ApiError):
    """404: unknown project/process on create, unknown run on status."""


class DeadlineExceeded(ApiError):
    """timeout-seconds passed before the operation could succeed."""


class Outage(NamedTuple):
    """Polls failing when the deadline came: since when (seconds into the step), how many, the last error."""

    since: float
    failures: int
    error: str


class TimedOut(Exception):
    """The waiter reached the deadline without a terminal status (``last``: the latest status seen;
    ``outage``: set when the API was unreachable at the deadline)."""

    def __init__(self, last: RunStatus | None, outage: Outage | None = None) -> None:
        super().__init__("deadline reached")
        self.last = last
        self.outage = outage


def gave_up(kind: type[ApiError], message: str, last: ApiError, attempts: int) -> ApiError:
    """The error once retrying ``last`` stopped after ``attempts``: not transient itself (nobody should
    retry it again), but ``unreachable`` when the failures were the kind that may pass."""
    return kind(message, status=last.status, attempts=attempts, last=last.message, unreachable=last.transient)


def no_answer(err: TransportError) -> ApiError:
    """No usable HTTP answer: a network failure, a timeout, a body over the cap, a TLS failure, or a URL
    refused before sending."""
    if isinstance(err, TlsVerificationFailed):
        return ApiError(
            f"{err} — the API's TLS certificate did not verify. On a runner behind a TLS-inspecting proxy, "
            "point REQUESTS_CA_BUNDLE or SSL_CERT_FILE at your CA bundle.",
            transient=is_transient(TLS),
        )
    if isinstance(err, UnsafeUrl):
        return ApiError(str(err), transient=is_transient(UNSAFE_URL))
    return ApiError(str(err), transient=is_transient(NO_ANSWER))


def error_for(reply: Reply, doing: str, project: str, *, not_found: str = "") -> ApiError:
    """The error for a reply that is not a 2xx, written for the workflow author.

    ``not_found`` says what a 404 means for this request (default: the run was not found).
    """
    status = reply.status
    said = server_message(reply)
    suffix = f" Server said: {said}" if said else ""
    if status in (401, 403):
        return AuthError(
            f"Certyn refused the API key while {doing} (HTTP {status}). Check that `api-key` holds a valid, "
            f"unrevoked Certyn API key with access to project `{project}`, and that the secret is "
            f"available to this workflow.{suffix}",
            status=status,
        )
    if 300 <= status < 400:
        try:
            location = urlsplit(reply.header("Location") or "").netloc or "elsewhere"
        except ValueError:  # e.g. "http://[::1": still the redirect, never an internal error
            location = "an unparsable location"
        return ApiError(
            f"the API answered with a redirect (HTTP {status} to {one_line(location, 100)}) while {doing}; "
            "the API key is never sent to a redirect target: set `api-url` to the API's final address.",
            status=status,
        )
    if status == 404:
        what = not_found or "the run was not found"
        return NotFound(f"HTTP 404 while {doing}: {what}.{suffix}", status=status)
    transient = is_transient(status=status)
    return ApiError(
        f"HTTP {status} while {doing}.{suffix}",
        status=status,
        transient=transient,
        retry_after=reply.header("Retry-After") if transient else None,
    )


def may_have_made_a_run(status: int | None) -> bool:
    """Whether a create answered with ``status`` (and no usable run) may still have made a run.

    No answer (None) may hide one. A 2xx did make one (its body was unusable). A 500, 502 or 504 may come
    from a gateway that gave up on a backend which went on to create the run. A 3xx, a 4xx (429 and 408
    included) or a 503 is a refusal before the request was acted on.
    """
    if status is None:
        return True
    return 200 <= status < 300 or (status >= 500 and status != 503)


def json_object(reply: Reply, what: str) -> dict[str, Any]:
    """The JSON object in a 2xx body; anything else (a proxy's HTML page, a cut body) is transient."""
    try:
        data = reply.json()
    except DuplicateKey as err:
        raise ApiError(
            f"{what} (HTTP {reply.status}) is ambiguous: {err}",
            status=reply.status,
            transient=is_transient(UNUSABLE_BODY),
        ) from None
    except ValueError:
        kind = "an HTML page" if reply.body.lstrip()[:1] == b"<" else "not valid JSON"
        raise ApiError(
            f"{what} (HTTP {reply.status}) is {kind}: a proxy or load balancer answered, or the body was cut",
            status=reply.status,
            transient=is_transient(UNUSABLE_BODY),
        ) from None
    if not isinstance(data, dict):
        raise ApiError(
            f"{what} (HTTP {reply.status}) is not a JSON object",
            status=reply.status,
            transient=is_transient(UNUSABLE_BODY),
        )
    return data


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


def validation_summary(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return one_line(f"{where}: {first['msg']}", 200)
