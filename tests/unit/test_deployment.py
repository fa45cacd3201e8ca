"""deployment.py: waiting for base-url to answer. Unit tests with `responses` and a FakeClock; then a real
server on 127.0.0.1 proving what reaches the deployment (never the API key) and that a port that starts
answering later is seen."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import responses
import urllib3.exceptions

from certyn_action import deployment
from certyn_action.api.http import network_failure
from certyn_action.deployment import (
    ATTEMPT_TIMEOUT_SECONDS,
    MAX_BACKOFF_SECONDS,
    DeploymentCheck,
    wait_until_up,
)
from tests.fakes import FakeClock

URL = "https://pr-42.preview.example.com/app"
API_KEY = "certyn_live_0123456789abcdefSECRET"


def _wrapped(cause: BaseException, outer: type[requests.RequestException]) -> requests.RequestException:
    """An error shaped as requests raises it: urllib3's MaxRetryError in args, the cause in ``reason``."""
    retry = urllib3.exceptions.MaxRetryError(None, "/", reason=cause)  # type: ignore[arg-type]
    return outer(retry)


# As requests raises it for a refused connection.
REFUSED = _wrapped(ConnectionRefusedError(111, "Connection refused"), requests.ConnectionError)


@pytest.fixture(autouse=True)
def _api_key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The runner passes the key to the process like this; nothing of it may reach the deployment.
    monkeypatch.setenv("INPUT_API-KEY", API_KEY)
    monkeypatch.setenv("INPUT_API_KEY", API_KEY)


# -- unit: responses + FakeClock -------------------------------------------------------------------


@responses.activate
def test_an_answer_at_once_is_up_without_waiting() -> None:
    responses.get(URL, status=200, body="hello")
    clock = FakeClock()
    result = wait_until_up(URL, 30, clock, env={})
    assert result == DeploymentCheck(up=True, attempts=1, status=200, error="")
    assert clock.sleeps == []


@pytest.mark.parametrize("status", [500, 503, 404, 401, 302, 301])
@responses.activate
def test_any_http_answer_counts_as_up(status: int) -> None:
    # The tests judge the application; a 500 or a login redirect still proves the deployment answers.
    responses.get(URL, status=status, headers={"Location": "https://elsewhere.example/login"})
    result = wait_until_up(URL, 30, FakeClock(), env={})
    assert result.up
    assert result.status == status
    assert len(responses.calls) == 1  # the redirect is not followed


@responses.activate
def test_the_request_carries_nothing_of_ours() -> None:
    responses.get(URL, status=200)
    wait_until_up(URL, 0, FakeClock(), env={})
    request = responses.calls[0].request
    assert request.method == "GET"
    sent = {name.lower(): value for name, value in request.headers.items()}
    assert "x-api-key" not in sent
    assert "authorization" not in sent
    assert "cookie" not in sent
    assert not any(API_KEY in value for value in sent.values())
    assert sent["user-agent"].startswith("certyn-run-action/")
    assert request.body is None
    assert request.req_kwargs["timeout"] == (ATTEMPT_TIMEOUT_SECONDS, ATTEMPT_TIMEOUT_SECONDS)  # type: ignore[attr-defined]


@responses.activate
def test_refused_then_answering_is_up_after_a_short_backoff() -> None:
    responses.get(URL, body=REFUSED)
    responses.get(URL, body=REFUSED)
    responses.get(URL, status=200)
    clock = FakeClock()
    retries: list[tuple[int, str, float]] = []
    result = wait_until_up(URL, 30, clock, env={}, on_retry=lambda *told: retries.append(told))
    assert result.up
    assert result.attempts == 3
    assert result.status == 200
    assert clock.sleeps == [0.5, 1.0]
    assert retries == [(1, "connection refused", 0.5), (2, "connection refused", 1.0)]


@responses.activate
def test_unreachable_until_the_wait_is_over() -> None:
    responses.get(URL, body=REFUSED)
    clock = FakeClock()
    result = wait_until_up(URL, 10, clock, env={})
    assert not result.up
    assert result.status is None
    assert result.error == "connection refused"
    assert sum(clock.sleeps) == 10  # waits the whole budget, and not a moment more
    assert max(clock.sleeps) <= MAX_BACKOFF_SECONDS
    assert clock.sleeps[:3] == [0.5, 1.0, 2.0]
    assert result.attempts == len(clock.sleeps) + 1  # one last try at the deadline


@responses.activate
def test_zero_wait_is_one_try() -> None:
    responses.get(URL, body=REFUSED)
    clock = FakeClock()
    result = wait_until_up(URL, 0, clock, env={})
    assert (result.up, result.attempts, clock.sleeps) == (False, 1, [])


@responses.activate
def test_time_spent_in_attempts_counts_against_the_wait() -> None:
    clock = FakeClock()

    def slow_refusal(request: Any) -> Any:
        clock.advance(4.0)  # each attempt takes 4 s before failing (a connect timeout, say)
        raise requests.exceptions.ConnectTimeout("timed out")

    responses.add_callback(responses.GET, URL, callback=slow_refusal)
    result = wait_until_up(URL, 10, clock, env={}, attempt_timeout_seconds=4)
    assert not result.up
    assert result.error == "no connection within 4s"
    # 4 (try) + 0.5 + 4 (try) + 1 + 4 (try, deadline passed): no further try starts after the deadline.
    assert result.attempts == 3
    assert clock.sleeps == [0.5, 1.0]


@pytest.mark.parametrize(
    "error",
    [
        requests.exceptions.InvalidURL("bad"),
        requests.exceptions.MissingSchema("no scheme"),
        requests.exceptions.InvalidHeader("bad header"),
    ],
)
@responses.activate
def test_an_error_that_cannot_get_better_is_not_retried(error: Exception) -> None:
    responses.get(URL, body=error)
    clock = FakeClock()
    result = wait_until_up(URL, 60, clock, env={})
    assert (result.up, result.attempts, clock.sleeps) == (False, 1, [])
    assert type(error).__name__ in result.error


@responses.activate
def test_the_error_never_shows_the_url_or_server_text() -> None:
    token_url = "https://pr-42.example.com/?token=s3cr3t-preview-token"
    responses.get(
        token_url,
        body=requests.ConnectionError(
            f"HTTPSConnectionPool(host='pr-42.example.com'): Max retries exceeded with url: {token_url} {API_KEY}"
        ),
    )
    result = wait_until_up(token_url, 0, FakeClock(), env={})
    assert result.error == "connection failed"
    assert "s3cr3t" not in result.error


@responses.activate
def test_proxies_and_ca_bundle_come_from_the_given_environment() -> None:
    responses.get(URL, status=200)
    env = {"HTTPS_PROXY": "http://proxy.internal:3128", "REQUESTS_CA_BUNDLE": "/etc/ssl/corp.pem"}
    wait_until_up(URL, 0, FakeClock(), env=env)
    kwargs = responses.calls[0].request.req_kwargs  # type: ignore[attr-defined]
    assert kwargs["proxies"] == {"https": "http://proxy.internal:3128"}
    assert kwargs["verify"] == "/etc/ssl/corp.pem"


@responses.activate
def test_no_proxy_is_honoured() -> None:
    responses.get(URL, status=200)
    env = {"HTTPS_PROXY": "http://proxy.internal:3128", "NO_PROXY": ".example.com"}
    wait_until_up(URL, 0, FakeClock(), env=env)
    assert responses.calls[0].request.req_kwargs["proxies"] == {}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (
            _wrapped(
                urllib3.exceptions.NameResolutionError("x.test", None, socket.gaierror(-2, "unknown")),  # type: ignore[arg-type]
                requests.ConnectionError,
            ),
            "the host name does not resolve (DNS)",
        ),
        (
            _wrapped(
                urllib3.exceptions.NewConnectionError(None, "[Errno 111] Connection refused"),  # type: ignore[arg-type]
                requests.ConnectionError,
            ),
            "connection failed",
        ),
        (_wrapped(ConnectionRefusedError(111, "refused"), requests.ConnectionError), "connection refused"),
        (_wrapped(ConnectionResetError(104, "reset"), requests.ConnectionError), "connection reset"),
        (
            _wrapped(ssl.SSLCertVerificationError("certificate verify failed"), requests.exceptions.SSLError),
            "the TLS certificate did not verify (set REQUESTS_CA_BUNDLE for a private CA)",
        ),
        (
            _wrapped(ssl.SSLError("wrong version number"), requests.exceptions.SSLError),
            "the TLS handshake failed",
        ),
        (requests.exceptions.ProxyError("proxy said no"), "the proxy failed (check HTTPS_PROXY/NO_PROXY)"),
        (requests.exceptions.ConnectTimeout("x"), "no connection within 5s"),
        (requests.exceptions.ReadTimeout("x"), "connected, but no answer within 5s"),
        (_wrapped(OSError(113, "no route"), requests.ConnectionError), "network or host unreachable"),
        (RuntimeError("boom"), "unexpected error (RuntimeError)"),
    ],
)
def test_failures_are_described_in_our_words(error: BaseException, text: str) -> None:
    assert network_failure(error, 5)[1] == text


# -- a real server on 127.0.0.1 --------------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    status = 200
    location = ""
    seen: list[dict[str, str]]

    def do_GET(self) -> None:
        self.seen.append({name.lower(): value for name, value in self.headers.items()})
        self.send_response(self.status)
        if self.location:
            self.send_header("Location", self.location)
        self.send_header("Content-Length", "1000000")  # a big body that is never read
        self.end_headers()
        self.wfile.write(b"x" * 1000)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server:
    def __init__(self, port: int = 0, status: int = 200, location: str = "") -> None:
        seen: list[dict[str, str]] = []
        handler = type("Handler", (_Recorder,), {"status": status, "location": location, "seen": seen})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.seen = seen
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    started = _Server()
    yield started
    started.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_real_server_gets_no_key_even_with_the_key_in_the_environment(
    server: _Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    # A .netrc entry for the host must not become an Authorization header either.
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login user password netrc-password\n")
    monkeypatch.setenv("NETRC", str(netrc))
    result = wait_until_up(server.url, 5, FakeClock())
    assert result.up
    assert result.status == 200
    assert len(server.seen) == 1
    headers = server.seen[0]
    assert "x-api-key" not in headers
    assert "authorization" not in headers
    assert "cookie" not in headers
    assert not any(API_KEY in value or "netrc-password" in value for value in headers.values())
    assert headers["user-agent"].startswith("certyn-run-action/")


def test_real_redirect_is_not_followed() -> None:
    target = _Server()
    source = _Server(status=302, location=target.url + "login")
    try:
        result = wait_until_up(source.url, 5, FakeClock())
    finally:
        source.stop()
        target.stop()
    assert (result.up, result.status) == (True, 302)
    assert target.seen == []


def test_real_server_error_is_up() -> None:
    failing = _Server(status=500)
    try:
        result = wait_until_up(failing.url, 0, FakeClock())
    finally:
        failing.stop()
    assert (result.up, result.status) == (True, 500)


class _StartsServerOnSleep(FakeClock):
    """Time passes only in sleeps; the deployment comes up during the second one."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port
        self.started: _Server | None = None

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if len(self.sleeps) == 2:
            self.started = _Server(port=self.port)


def test_a_refused_port_that_starts_answering_is_seen_as_up() -> None:
    port = _free_port()
    clock = _StartsServerOnSleep(port)
    try:
        result = wait_until_up(f"http://127.0.0.1:{port}/", 30, clock)
    finally:
        if clock.started is not None:
            clock.started.stop()
    assert result.up
    assert result.attempts == 3
    assert result.status == 200
    assert clock.started is not None
    assert len(clock.started.seen) == 1


def test_a_refused_port_is_reported_as_refused() -> None:
    result = wait_until_up(f"http://127.0.0.1:{_free_port()}/", 0, FakeClock())
    assert (result.up, result.error) == (False, "connection refused")


def test_a_server_that_never_answers_is_bounded_by_the_attempt_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # the handshake completes in the backlog; nothing is ever sent
        port = silent.getsockname()[1]
        result = wait_until_up(f"http://127.0.0.1:{port}/", 0, FakeClock(), attempt_timeout_seconds=0.2)
    assert not result.up
    assert result.error == "connected, but no answer within 0.2s"


def test_an_attempt_that_hangs_past_its_timeout_is_abandoned(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests' timeout does not bound DNS resolution: the attempt is abandoned on its own.
    release = threading.Event()

    def hang(self: requests.Session, url: str, **kwargs: Any) -> requests.Response:
        release.wait(5)
        raise requests.ConnectionError("released")

    monkeypatch.setattr(requests.Session, "get", hang)
    monkeypatch.setattr(deployment, "GRACE_SECONDS", 0.05)
    try:
        result = wait_until_up("http://hangs.example/", 0, FakeClock(), attempt_timeout_seconds=0.05)
    finally:
        release.set()
    assert not result.up
    assert result.error == "no answer within 0.05s"
