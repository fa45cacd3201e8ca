"""The transport: :meth:`Transport.send` is the one way a request goes out, bounded in time and size.

Nothing is sent once the :class:`Deadline` has passed; the exchange runs on a worker thread abandoned at the
deadline (requests' ``timeout`` bounds one socket read, not a dripping body). No redirect is followed and every
URL is checked as urllib3 parses it: the key goes to the configured host only. The reply's secrets are removed
before anyone reads it, and JSON that names a key twice is refused (which value counts is up to the parser).
"""

from __future__ import annotations

import _thread
import contextlib
import errno
import json
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import requests
import requests.structures
import urllib3.exceptions

from .. import __version__
from ..clock import WAKE_SECONDS, Deadline
from ..render.escape import Scrubber, each_string, one_line
from ..settings import api_origin

MAX_BODY_BYTES = 1024 * 1024
USER_AGENT = f"certyn-run-action/{__version__}"
NETWORK_FAILURES = {  # why base-url or the API did not answer: never the URL nor what the server sent
    "dns": "the host name does not resolve (DNS)",
    "certificate": "the TLS certificate did not verify (set REQUESTS_CA_BUNDLE for a private CA)",
    "tls": "the TLS handshake failed",
    "proxy": "the proxy failed (check HTTPS_PROXY/NO_PROXY)",
    "connect timeout": "no connection within {timeout:g}s",
    "read timeout": "connected, but no answer within {timeout:g}s",
    "no answer": "no answer within {timeout:g}s",
    "refused": "connection refused",
    "reset": "connection reset",
    "unreachable": "network or host unreachable",
    "connection": "connection failed",
    "request": "the URL could not be requested ({kind})",
    "unexpected": "unexpected error ({kind})",
}


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM held back from this thread until the block's end, then delivered. A thread started
    inside holds them for good: they stay the main thread's (whose handler raises where it waits), and while
    it holds them nobody takes them (the kernel gives a process's signal to any thread that does not hold it,
    and Python runs the handler in the main thread all the same)."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, [])  # only read: a signal raising here holds nothing
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class Request(NamedTuple):
    """One request; ``max_body`` raises the body size cap (the per-test results of a large run)."""

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
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # ignoring case: the backend (ASP.NET) binds {"failed": 0, "Failed": 2} as one name
    seen: set[str] = set()
    for key, _ in pairs:
        if key.lower() in seen:
            raise DuplicateKey(f"the key {one_line(repr(key), 60)} appears twice in one object")
        seen.add(key.lower())
    return dict(pairs)


class Reply(NamedTuple):
    status: int
    headers: Mapping[str, str]
    body: bytes
    scrub: Callable[[Any], Any] = _unchanged  # applied to the parsed JSON

    def json(self) -> Any:
        try:
            return self.scrub(json.loads(self.body.decode("utf-8"), object_pairs_hook=_unique_keys))
        except RecursionError:  # e.g. "[" * 100000: hostile or broken, never a crash
            raise ValueError("JSON nested too deeply") from None


class TransportError(Exception):
    """No usable HTTP response (network, timeout, oversized body); the message names no secret."""


class TlsVerificationFailed(TransportError):
    """The server's certificate did not verify: retrying cannot help."""


class NotSent(TransportError):
    """Refused before anything was sent (no time left, an unsafe URL)."""


class UnsafeUrl(NotSent):
    """The URL would not reach the configured API host."""


class Call:
    """An exchange running on a worker thread. The caller waits on a bare lock, held until the exchange is over:
    one call into C that a signal's exception leaves whole (a ``threading.Event``'s wait, cut by it in Python
    code between releasing and taking back its lock, raised "release unlocked lock" instead)."""

    def __init__(self, description: str, debug: Callable[[str], None] | None = None) -> None:
        self.description, self.debug = description, debug
        self.started = time.monotonic()
        self._done = threading.Lock()
        self._done.acquire()  # released by the worker when the exchange is over
        self._over = False  # set by the worker before it releases _done: a second wait never takes the lock
        self._reply: Reply | None = None
        self._error: TransportError | None = None

    def wait(
        self,
        timeout: float,
        idle: Callable[[], float] | None = None,
        left: Callable[[], float] | None = None,
    ) -> Reply:
        """The reply within ``timeout`` seconds; ``idle`` (the log's heartbeat) runs meanwhile and says when
        it wants to run again; ``left``, the seconds still allowed, which a signal may cut short."""
        start = time.monotonic()
        end = start + max(timeout, 0.0)
        while not self._over and not self._done.acquire(
            timeout=max(
                min(
                    end - time.monotonic(),
                    idle() if idle else timeout,
                    left() if left else timeout,
                    WAKE_SECONDS,
                ),
                0.0,
            )
        ):
            if time.monotonic() >= end or (left is not None and left() <= 0):
                waited = min(timeout, time.monotonic() - start)
                self._trace(f"abandoned after {waited:.3g}s")
                raise TransportError(f"{self.description}: no complete response within {waited:.3g}s")
        if self._error is not None:
            self._trace(str(self._error))
            raise self._error
        assert self._reply is not None  # noqa: S101 - set together with _done
        self._trace(f"HTTP {self._reply.status}, {len(self._reply.body)} bytes")
        return self._reply

    def over_within(self, seconds: float) -> bool:
        """Whether the exchange is over, waiting at most ``seconds`` (a slice): for a caller awaiting two."""
        return self._over or self._done.acquire(timeout=max(min(seconds, WAKE_SECONDS), 0.0))

    def _trace(self, outcome: str) -> None:
        # On the caller's thread, so log lines never interleave. Never includes headers.
        if self.debug is not None:
            self.debug(f"{self.description}: {outcome} ({time.monotonic() - self.started:.3f}s)")

    def _finish(self, reply: Reply | None, error: TransportError | None) -> None:
        self._reply, self._error, self._over = reply, error, True
        self._done.release()


class _Session(requests.Session):
    """Never works out a redirect target: none is followed, and requests would decode every 3xx's
    ``Location`` anyway (one that is not UTF-8 raised, hiding the redirect behind a network error)."""

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        return None


def new_session(url: str, env: Mapping[str, str], headers: Mapping[str, str]) -> requests.Session:
    """A fresh session for ``url`` (the API's, the deployment's): the environment gives proxies and the CA
    bundle, never a ``.netrc`` ``Authorization`` header (``trust_env`` is off)."""
    session = _Session()
    session.trust_env = False
    session.headers = requests.structures.CaseInsensitiveDict(headers)
    if not requests.utils.should_bypass_proxies(url, no_proxy=env.get("NO_PROXY") or env.get("no_proxy")):
        for scheme in ("http", "https", "all"):
            if proxy := env.get(f"{scheme.upper()}_PROXY") or env.get(f"{scheme}_proxy"):
                session.proxies[scheme] = proxy
    bundles = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")
    session.verify = next((env[name] for name in bundles if env.get(name)), True)
    return session


class Transport:
    # paths start with PATH_PREFIX, the secret is only in _credentials(), a URL off the host names CONFIGURED_BY
    PATH_PREFIX: str | tuple[str, ...] = "/api/"
    CONFIGURED_BY = "`api-url`"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        env: Mapping[str, str],
        debug: Callable[[str], None] | None = None,
        redact: Callable[[str], str] = str,
    ) -> None:
        self._debug = debug
        self._redact = redact  # every other secret a reply may echo (the `variables` values)
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
        self._origin = scheme, host, parts.port or (443 if scheme == "https" else 80)
        self._api_key = api_key
        self._scrubber = Scrubber(api_key)
        self._session = new_session(
            self.base_url, env, {"User-Agent": USER_AGENT, "Accept": "application/json"}
        )

    in_flight: Call | None = None  # the last exchange started: a signal may interrupt the wait for it

    def send(self, request: Request, deadline: Deadline, idle: Callable[[], float] | None = None) -> Reply:
        timeout = deadline.left()
        self.in_flight = self._start(request, timeout)
        return self.in_flight.wait(timeout, idle)

    def begin(self, request: Request, deadline: Deadline) -> Call:
        """The exchange started, not waited for."""
        return self._start(request, deadline.left())

    def _start(self, request: Request, timeout: float) -> Call:
        if timeout <= 0:
            raise NotSent(f"{request.description}: no time left")
        if not request.path.startswith(self.PATH_PREFIX):
            raise ValueError(f"not an API path: {request.path}")
        url = self.base_url + request.path
        prepared = requests.PreparedRequest()
        try:  # the URL as requests prepares it and urllib3 parses it: the key goes nowhere else
            prepared.prepare_url(url, None)
            target = api_origin(prepared.url or "")
        except (requests.RequestException, ValueError):
            target = None
        if target != self._origin:
            raise UnsafeUrl(
                "refused to send the request: its URL would not reach the configured API host "
                f"(check {self.CONFIGURED_BY}); nothing was sent"
            )
        headers = {**self._credentials(), **(request.headers or {})}
        call = Call(request.description, self._debug)
        # A bare thread, started by one call into C: threading.Thread.start runs Python code under threading's
        # locks, which a signal's exception can leave held. Like a daemon, an abandoned one never holds the
        # process open; it never takes a signal.
        with signals_held():
            _thread.start_new_thread(self._exchange, (call, request, url, headers, timeout))
        return call

    def _scrub(self, text: str) -> str:
        return self._redact(self._scrubber.text(text))

    def _credentials(self) -> dict[str, str]:
        return {"X-API-Key": self._api_key}

    def _exchange(
        self, call: Call, request: Request, url: str, headers: dict[str, str], timeout: float
    ) -> None:
        try:
            # The socket read timeout is a little past the deadline: Call.wait fires first.
            with self._session.request(
                request.method,
                url,
                headers=headers,
                json=request.json_body,
                timeout=(timeout, timeout + 1.0),
                allow_redirects=False,
                stream=True,
            ) as response:
                body = _read_body(response, request.max_body or MAX_BODY_BYTES)
                scrubbed = requests.structures.CaseInsensitiveDict(
                    {name: self._scrub(value) for name, value in response.headers.items()}
                )
                reply = Reply(
                    response.status_code, scrubbed, body, lambda data: each_string(data, self._scrub)
                )
        except TransportError as err:
            call._finish(None, err)
        except requests.RequestException as err:
            kind, text = network_failure(err, round(timeout, 1))
            root = list(_causes(err))[-1]
            detail = getattr(root, "strerror", None) or getattr(root, "reason", None)
            text = one_line(f"{text} ({detail})" if detail else text, 300)
            error = TlsVerificationFailed if kind == "certificate" else TransportError
            call._finish(None, error(f"{call.description}: {text}"))
        except Exception as err:
            call._finish(None, TransportError(f"{call.description}: {type(err).__name__}"))
        else:
            call._finish(reply, None)


def _read_body(response: requests.Response, max_body: int) -> bytes:
    body = bytearray()
    for chunk in response.iter_content(chunk_size=16 * 1024):
        body += chunk
        if len(body) > max_body:
            raise TransportError(f"response body larger than {max_body // 1024} KiB")
    return bytes(body)


def _causes(err: BaseException) -> Iterator[BaseException]:
    """``err`` and what it wraps (requests keeps urllib3's error in ``args``, urllib3 its cause in ``reason``)."""
    seen: set[int] = set()
    todo = [err]
    while todo and len(seen) < 20:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = (*current.args, getattr(current, "reason", None), current.__cause__, current.__context__)
        todo.extend(cause for cause in linked if isinstance(cause, BaseException))


def network_failure(err: BaseException, timeout: float) -> tuple[str, str]:
    """The kind of a network failure (a key of :data:`NETWORK_FAILURES`) and its words."""
    causes = list(_causes(err))

    def caused_by(*kinds: type[BaseException]) -> bool:
        return any(isinstance(cause, kinds) for cause in causes)

    def errno_in(*numbers: int) -> bool:
        return any(getattr(cause, "errno", None) in numbers for cause in causes)

    checks = [  # the first that matches names the failure
        ("dns", caused_by(urllib3.exceptions.NameResolutionError, socket.gaierror)),
        ("certificate", caused_by(ssl.SSLCertVerificationError)),
        ("tls", caused_by(requests.exceptions.SSLError, ssl.SSLError)),
        ("proxy", caused_by(requests.exceptions.ProxyError)),
        ("connect timeout", caused_by(requests.exceptions.ConnectTimeout)),
        ("read timeout", caused_by(requests.exceptions.ReadTimeout)),
        ("refused", caused_by(ConnectionRefusedError) or errno_in(errno.ECONNREFUSED)),
        ("reset", caused_by(ConnectionResetError) or errno_in(errno.ECONNRESET)),
        ("unreachable", errno_in(errno.ENETUNREACH, errno.EHOSTUNREACH)),
        ("connection", caused_by(requests.ConnectionError)),
        ("request", caused_by(requests.RequestException)),
    ]
    kind = next((name for name, matched in checks if matched), "unexpected")
    return kind, NETWORK_FAILURES[kind].format(timeout=timeout, kind=type(err).__name__)
