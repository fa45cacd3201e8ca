"""The transport: one HTTP exchange with the Certyn API, bounded in time and size, and its reply.

- :meth:`Transport.send` is the one way a request goes out; nothing is sent when its :class:`Deadline` has
  passed (a create after the deadline could make a run no one waits for).
- The whole exchange (DNS, connect, headers and body) runs on a worker thread and is abandoned when the
  deadline passes: requests' own ``timeout`` bounds each socket read, so a server that drips its body a byte
  at a time could otherwise hold us for ever.
- The body is read up to a size cap.
- Redirects are never followed: requests strips ``Authorization`` on a cross-host redirect but not a
  custom header such as ``X-API-Key``. URLs are only ever built from the configured base, and every URL is
  checked the way urllib3 parses it: the key goes to the configured API host only.
- TLS verification is always on. ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``/``SSL_CERT_FILE`` and
  ``HTTPS_PROXY``/``NO_PROXY`` work for self-hosted runners (:func:`new_session`, the deployment check's too).
- The reply's JSON goes through the key scrubber before anyone reads it, and an object that names a key
  twice (in any case) is refused: which value counts would be up to the parser.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import requests
import requests.structures

from .. import __version__
from ..clock import Clock
from ..render.escape import Scrubber, one_line
from ..settings import api_origin

MAX_BODY_BYTES = 1024 * 1024
USER_AGENT = f"certyn-run-action/{__version__}"


class Deadline(NamedTuple):
    """When an exchange must be over: a monotonic time on the step's clock."""

    at: float
    clock: Clock

    def left(self) -> float:
        return self.at - self.clock.monotonic()

    def capped(self, seconds: float) -> Deadline:
        """This deadline, or ``seconds`` from now when that is sooner (one attempt's own timeout)."""
        return Deadline(min(self.at, self.clock.monotonic() + seconds), self.clock)


class Request(NamedTuple):
    """One request to the API; ``path`` always starts with ``/api/``. ``max_body`` raises the body size cap
    (the per-test results of a large run)."""

    method: str
    path: str
    json_body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None
    max_body: int | None = None

    @property
    def description(self) -> str:
        return f"{self.method} {self.path}"


def _unchanged(data: Any) -> Any:
    return data


class DuplicateKey(ValueError):
    """A JSON object names the same key twice: which value counts is up to the parser, so it is invalid."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Names are compared ignoring case: the backend (ASP.NET) binds them so, and {"failed": 0, "Failed": 2}
    # is as ambiguous to it as a key named twice is to us.
    data = dict(pairs)
    if len({key.lower() for key in data}) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key.lower() in seen or seen.add(key.lower()))  # type: ignore[func-returns-value]
        raise DuplicateKey(f"the key {one_line(repr(twice), 60)} appears twice in one object")
    return data


class Reply(NamedTuple):
    status: int
    headers: Mapping[str, str]
    body: bytes
    scrub: Callable[[Any], Any] = _unchanged  # applied to the parsed JSON (see scrub.py)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self) -> Any:
        """The body as JSON; raises ValueError when it is not JSON (an HTML proxy page, a cut body) or when
        an object repeats a key (:class:`DuplicateKey`), at any depth."""
        try:
            return self.scrub(json.loads(self.body.decode("utf-8"), object_pairs_hook=_unique_keys))
        except RecursionError:  # e.g. "[" * 100000: hostile or broken, never a crash
            raise ValueError("JSON nested too deeply") from None


class TransportError(Exception):
    """No usable HTTP response: network failure, timeout, oversized body. The message names no secret."""


class RequestTimedOut(TransportError):
    pass


class TlsVerificationFailed(TransportError):
    """The server's certificate did not verify: retrying cannot help."""


class NotSent(TransportError):
    """Refused before anything was sent (no time left, an unsafe URL): it cannot have reached the server."""


class UnsafeUrl(NotSent):
    """The URL about to be requested would not reach the configured API host: nothing was sent."""


class Call:
    """An exchange running on a worker thread. (A plain class, not a dataclass: ``dataclasses`` would bring
    ``inspect`` onto the path to the first request.)"""

    def __init__(self, description: str, debug: Callable[[str], None] | None = None) -> None:
        self.description = description
        self.debug = debug
        self.started = time.monotonic()
        self._done = threading.Event()
        self._reply: Reply | None = None
        self._error: TransportError | None = None

    def wait(self, timeout: float, idle: Callable[[], float] | None = None) -> Reply:
        """The reply, within ``timeout`` seconds. ``idle`` runs while waiting (a heartbeat for the log) and
        says how many seconds until it wants to run again."""
        end = time.monotonic() + max(timeout, 0.0)
        while True:
            left = end - time.monotonic()
            if self._done.wait(max(left if idle is None else min(left, idle()), 0.0)):
                break
            if time.monotonic() >= end:
                self._trace(f"abandoned after {timeout:.3g}s")
                raise RequestTimedOut(f"{self.description}: no complete response within {timeout:.3g}s")
        if self._error is not None:
            self._trace(str(self._error))
            raise self._error
        assert self._reply is not None  # noqa: S101 - set together with _done
        self._trace(f"HTTP {self._reply.status}, {len(self._reply.body)} bytes")
        return self._reply

    def _trace(self, outcome: str) -> None:
        # Runs on the caller's thread, so log lines never interleave. Never includes headers.
        if self.debug is not None:
            self.debug(f"{self.description}: {outcome} ({time.monotonic() - self.started:.3f}s)")

    def _finish(self, reply: Reply | None, error: TransportError | None) -> None:
        self._reply, self._error = reply, error
        self._done.set()


class _Session(requests.Session):
    """A session that never works out a redirect target: redirects are never followed, and requests would
    otherwise decode the ``Location`` of every 3xx anyway (one that is not UTF-8 raised, hiding the
    redirect behind a retried network error)."""

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        return None


def new_session(url: str, env: Mapping[str, str], headers: Mapping[str, str]) -> requests.Session:
    """A fresh session for requests to ``url`` (the API's, the deployment's): the one place that decides what
    the environment may change. Proxies (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) and the
    CA bundle (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, ``SSL_CERT_FILE``) come from ``env``; nothing else:
    ``trust_env`` is off, so a ``.netrc`` entry can never add an ``Authorization`` header. Only ``headers`` are
    sent besides each request's own."""
    session = _Session()
    session.trust_env = False
    session.headers.clear()
    session.headers.update(headers)
    no_proxy = env.get("NO_PROXY") or env.get("no_proxy")
    if not requests.utils.should_bypass_proxies(url, no_proxy=no_proxy):
        for scheme in ("http", "https", "all"):
            proxy = env.get(f"{scheme.upper()}_PROXY") or env.get(f"{scheme}_proxy")
            if proxy:
                session.proxies[scheme] = proxy
    bundles = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")
    session.verify = next((env[name] for name in bundles if env.get(name)), True)
    return session


class Transport:
    # What this transport talks to: every path starts with ``PATH_PREFIX``, the credential goes only in
    # ``_credentials()``'s header, and a URL off the configured host is refused naming ``CONFIGURED_BY``.
    # ``github_api.GitHubTransport`` overrides the three for GitHub: one transport, each with its own secret.
    PATH_PREFIX = "/api/"
    CONFIGURED_BY = "`api-url`"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        env: Mapping[str, str],
        max_body: int = MAX_BODY_BYTES,
        debug: Callable[[str], None] | None = None,
    ) -> None:
        self._debug = debug
        self.base_url = base_url.rstrip("/")
        self._origin = _configured_origin(self.base_url)
        self._api_key = api_key
        self._scrubber = Scrubber(api_key)
        self._max_body = max_body
        self._session = new_session(
            self.base_url, env, {"User-Agent": USER_AGENT, "Accept": "application/json"}
        )

    def url(self, path: str) -> str:
        return self.base_url + path

    def send(self, request: Request, deadline: Deadline, idle: Callable[[], float] | None = None) -> Reply:
        """The reply to ``request`` by ``deadline``; nothing is sent when no time is left. ``idle`` runs while
        waiting (a heartbeat for the log) and says how many seconds until it wants to run again."""
        timeout = deadline.left()
        return self._start(request, timeout).wait(timeout, idle)

    def _start(self, request: Request, timeout: float) -> Call:
        """Start one exchange on a worker thread; refused when no time is left."""
        if timeout <= 0:
            raise NotSent(f"{request.description}: no time left")
        if not request.path.startswith(self.PATH_PREFIX):
            raise ValueError(f"not an API path: {request.path}")
        url = self.url(request.path)
        self._check_target(url)
        headers = {**self._credentials(), **(request.headers or {})}
        data = None
        if request.json_body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(request.json_body).encode("utf-8")
        call = Call(request.description, self._debug)
        worker = threading.Thread(
            target=self._exchange,
            args=(call, request.method, url, headers, data, timeout, request.max_body or self._max_body),
            name=f"http {request.description}",
            daemon=True,  # an abandoned exchange never holds the process open
        )
        worker.start()
        return call

    def _credentials(self) -> dict[str, str]:
        """The header that carries the secret: the API key, to the configured API host only."""
        return {"X-API-Key": self._api_key}

    def _check_target(self, url: str) -> None:
        """Defence in depth: the URL, as requests prepares it and urllib3 parses it, must reach exactly the
        configured scheme, host and port; the key goes nowhere else, whatever the spelling."""
        prepared = requests.PreparedRequest()
        try:
            prepared.prepare_url(url, None)
            target = api_origin(prepared.url or "")
        except (requests.RequestException, ValueError):
            target = None
        if target != self._origin:
            raise UnsafeUrl(
                "refused to send the request: its URL would not reach the configured API host "
                f"(check {self.CONFIGURED_BY}); nothing was sent"
            )

    def _exchange(
        self,
        call: Call,
        method: str,
        url: str,
        headers: dict[str, str],
        data: bytes | None,
        timeout: float,
        max_body: int,
    ) -> None:
        try:
            with self._session.request(
                method,
                url,
                headers=headers,
                data=data,
                # A socket-level read timeout a little past the whole-request deadline: the deadline
                # (Call.wait) fires first and says "no complete response within ...".
                timeout=(timeout, timeout + 1.0),
                allow_redirects=False,
                stream=True,
            ) as response:
                body = self._read_body(response, max_body)
                reply = self._scrubbed(Reply(response.status_code, response.headers, body))
        except TransportError as err:
            call._finish(None, err)
        except requests.RequestException as err:
            kind = TlsVerificationFailed if _is_cert_verification_error(err) else TransportError
            call._finish(None, kind(f"{call.description}: {describe_network_error(err)}"))
        except Exception as err:
            call._finish(None, TransportError(f"{call.description}: {type(err).__name__}"))
        else:
            call._finish(reply, None)

    def _scrubbed(self, reply: Reply) -> Reply:
        """The reply with the API key removed, before any of it is parsed, cut short or shown."""
        headers = requests.structures.CaseInsensitiveDict(
            {name: self._scrubber.text(value) for name, value in reply.headers.items()}
        )
        return Reply(reply.status, headers, reply.body, self._scrubber.data)

    def _read_body(self, response: requests.Response, max_body: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(chunk_size=16 * 1024):
            size += len(chunk)
            if size > max_body:
                raise TransportError(f"response body larger than {max_body // 1024} KiB")
            chunks.append(chunk)
        return b"".join(chunks)


def _configured_origin(base_url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of the configured base URL, by the strict parse the inputs were checked with."""
    parts = urlsplit(base_url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def _root_causes(err: BaseException) -> list[BaseException]:
    chain = [err]
    while len(chain) < 10 and (chain[-1].__cause__ or chain[-1].__context__) is not None:
        chain.append(chain[-1].__cause__ or chain[-1].__context__)  # type: ignore[arg-type]
    return chain


def _is_cert_verification_error(err: BaseException) -> bool:
    return any(
        isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(cause)
        for cause in _root_causes(err)
    )


def describe_network_error(err: BaseException) -> str:
    """A short, secret-free description of a requests error and its root cause."""
    kind = {
        requests.exceptions.ConnectTimeout: "connection timed out",
        requests.exceptions.ReadTimeout: "timed out waiting for the response",
        requests.exceptions.SSLError: "TLS error (check the CA bundle: REQUESTS_CA_BUNDLE or SSL_CERT_FILE)",
        requests.exceptions.ProxyError: "proxy error (check HTTPS_PROXY/NO_PROXY)",
        requests.exceptions.ChunkedEncodingError: "connection broke while reading the response",
        requests.exceptions.ConnectionError: "connection failed",
    }
    label = next((text for cls, text in kind.items() if isinstance(err, cls)), type(err).__name__)
    root = _root_causes(err)[-1]
    detail = getattr(root, "strerror", None) or getattr(root, "reason", None) or ""
    return one_line(f"{label} ({detail})" if detail else label, 300)
