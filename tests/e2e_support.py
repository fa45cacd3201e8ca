"""Helpers for the end-to-end fault tests: run entrypoint.py through the fake runner (several at once),
read its workflow commands, and stand-ins for network pieces the simulator does not have: TLS on the
simulator's socket (certificates made with the openssl CLI) and a tiny HTTP CONNECT proxy.
"""

from __future__ import annotations

import contextlib
import http.server
import itertools
import select
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from certyn_simulator import Simulator, snapshot
from certyn_simulator.records import RequestRecord
from certyn_simulator.runner import (
    ActionRun,
    Event,
    FakeRunner,
    PythonLauncher,
    RunningAction,
    WorkflowCommand,
)

ROOT = Path(__file__).resolve().parents[1]
# A key that Markdown escaping leaves alone (letters and digits only), so a leak shows verbatim.
API_KEY = "e2eSecretKey7Q3xZp9W"
PROJECT = "my-app"
PROCESS = "smoke-suite"
RUN_TIMEOUT = 40.0  # the fake runner cancels a step that runs longer, like timeout-minutes
PASSED = snapshot("completed", conclusion="success", total=2, passed=2)


def inputs(api_url: str, **extra: str) -> dict[str, str]:
    """The action's inputs with short intervals; ``extra`` uses the input names with '_' for '-'."""
    values = {
        "api-key": API_KEY,
        "project-slug": PROJECT,
        "process-slug": PROCESS,
        "api-url": api_url,
        "poll-interval-seconds": "1",
        "max-poll-interval-seconds": "1",
        "request-timeout-seconds": "2",
        "timeout-seconds": "20",
    }
    values.update({name.replace("_", "-"): value for name, value in extra.items()})
    return values


@dataclass
class Step:
    """One action step to run: its inputs, event and environment changes."""

    inputs: dict[str, str]
    event: Event | None = None
    env: Mapping[str, str | None] = field(default_factory=dict)
    timeout: float = RUN_TIMEOUT


def run_step(step: Step) -> ActionRun:
    runner = FakeRunner(ROOT, PythonLauncher(ROOT))
    return runner.run(step.inputs, event=step.event, env_overrides=step.env, timeout=step.timeout)


def run_steps(*steps: Step) -> list[ActionRun]:
    """Run the steps at the same time (each its own process), results in the given order."""
    with ThreadPoolExecutor(max_workers=max(len(steps), 1)) as pool:
        return list(pool.map(run_step, steps))


def run_action(
    api_url: str, *, event: Event | None = None, env: Mapping[str, str | None] | None = None, **extra: str
) -> ActionRun:
    return run_step(Step(inputs(api_url, **extra), event, dict(env or {})))


# -- what the runner sees ---------------------------------------------------------------------------


def signal_and_wait(action: RunningAction, sig: int, timeout: float = 15) -> tuple[ActionRun, float]:
    """Send ``sig`` to the running action; its run and the seconds from the signal to its exit."""
    sent = time.monotonic()
    action.send_signal(sig)
    result = action.wait(timeout=timeout)
    return result, time.monotonic() - sent


def commands(run: ActionRun) -> list[WorkflowCommand]:
    return run.commands


def names(run: ActionRun) -> list[str]:
    return [c.name for c in run.commands]


def titled(run: ActionRun, name: str, title: str) -> list[WorkflowCommand]:
    return [c for c in run.commands_named(name) if c.properties.get("title") == title]


def explain(run: ActionRun) -> str:
    """Everything worth seeing when an assertion fails."""
    return (
        f"exit={run.exit_code} duration={run.duration:.2f}s\n--- log ---\n{run.log}"
        f"--- outputs ---\n{run.output_text}--- summary ---\n{run.summary}"
    )


def assert_input_error(run: ActionRun, name: str) -> None:
    """The step ended as bad input ``name`` ends it: exit 1, an ``::error`` naming it, result ``error``, a summary."""
    assert run.exit_code == 1, explain(run)
    errors = run.commands_named("error")
    assert any(f"'{name}'" in (c.properties.get("title", "") + c.data) for c in errors), explain(run)
    assert run.outputs["result"] == "error"
    assert run.summary.strip(), "the summary is written on every exit path"


def gaps(requests: Sequence[RequestRecord]) -> list[float]:
    """Seconds between consecutive requests."""
    return [b.received_at - a.received_at for a, b in itertools.pairwise(requests)]


def keys(requests: Sequence[RequestRecord]) -> list[str | None]:
    return [r.header("Idempotency-Key") for r in requests]


@contextlib.contextmanager
def simulators(*scenarios: Any, api_key: str = API_KEY) -> Iterator[list[Simulator]]:
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(Simulator(sc, api_key=api_key)) for sc in scenarios]


# -- TLS -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certs:
    ca: Path
    cert: Path
    key: Path


def openssl_available() -> bool:
    return shutil.which("openssl") is not None


def make_certs(directory: Path) -> Certs:
    """A throw-away CA and a server certificate for 127.0.0.1/localhost signed by it (openssl CLI)."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory, timeout=30)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=certyn e2e test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    )
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (directory / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n",
        encoding="utf-8",
    )
    openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    )
    return Certs(directory / "ca.pem", directory / "server.pem", directory / "server.key")


def serve_tls(sim: Simulator, certs: Certs) -> str:
    """Switch a started simulator to HTTPS (its listening socket wrapped in TLS); returns the https base.

    The wrapped socket keeps its file descriptor, so the server loop, already waiting on it, accepts
    TLS connections from now on. The handshake runs in the connection's handler thread (lazily).
    """
    server = sim._server  # the simulator has no TLS option: wrap its socket here
    assert server is not None, "start the simulator first"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.cert, certs.key)
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return f"https://127.0.0.1:{sim.port}"


# -- a CONNECT proxy -------------------------------------------------------------------------------


class RecordingProxy:
    """An HTTP proxy on 127.0.0.1: tunnels ``CONNECT host:port``; answers any other request with 502.

    ``requests`` holds each request line it received (e.g. ``CONNECT 127.0.0.1:4431 HTTP/1.1``).
    """

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def seen(self) -> list[str]:
        with self._lock:
            return list(self.requests)

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, client: socket.socket) -> None:
        client.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        with self._lock:
            self.requests.append(request_line)
        method, _, rest = request_line.partition(" ")
        if method.upper() != "CONNECT":
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        host, _, port = rest.split(" ")[0].rpartition(":")
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=1)
        except OSError:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        with upstream:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _relay(client, upstream)


def _relay(a: socket.socket, b: socket.socket) -> None:
    peers = {a: b, b: a}
    while True:
        readable, _, _ = select.select(list(peers), [], [], 10)
        if not readable:
            return
        for sock in readable:
            try:
                data = sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            peers[sock].sendall(data)


def later(seconds: float, action: Callable[[], None]) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.daemon = True
    timer.start()
    return timer


# -- the deployment under test (base-url) ----------------------------------------------------------


@dataclass(frozen=True)
class DeploymentRequest:
    method: str
    path: str
    headers: dict[str, str]


class Deployment:
    """A stand-in for the deployment under test (``base-url``) on 127.0.0.1, apart from the simulator:
    answers every request with ``status`` (and ``location`` when given, e.g. a redirect to the API) and
    records each one, so a test can prove what reached it (never the API key). ``port`` 0 picks a free one."""

    def __init__(self, status: int = 200, location: str = "", port: int = 0) -> None:
        self.requests: list[DeploymentRequest] = []
        self._lock = threading.Lock()
        deployment = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                deployment._record(self)
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def seen(self) -> list[DeploymentRequest]:
        with self._lock:
            return list(self.requests)

    def _record(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests.append(
                DeploymentRequest(handler.command, handler.path, dict(handler.headers.items()))
            )

    def __enter__(self) -> Deployment:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
