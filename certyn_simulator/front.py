"""The simulator's HTTP front: a threaded server on loopback whose handler reads each request, records
it, applies the endpoint's next fault, and sends the answer (or misbehaves as the fault says)."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

from .payloads import HTML_PAGE, JSON_TYPE, Response, error, json_response
from .records import RequestRecord
from .routing import route
from .scenario import Fault

MAX_BODY = 1024 * 1024


class Backend(Protocol):
    """What the front needs from the simulator."""

    stop_event: threading.Event

    @property
    def verbose(self) -> bool: ...

    def record(self, rec: RequestRecord) -> RequestRecord: ...
    def take_fault(self, endpoint: str) -> Fault | None: ...
    def process(self, rec: RequestRecord, *, omit_run_id: bool = False) -> Response: ...
    def control(self, method: str, path: str, query: str, body: Any) -> Response: ...
    def redirect_base(self) -> str: ...
    def log(self, message: str) -> None: ...
    def notify(self) -> None: ...


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sim: Backend) -> None:
        self.sim = sim
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.sim.verbose:
            super().handle_error(request, client_address)

    def abort_open_connections(self) -> None:
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # an idle keep-alive connection is closed after this many seconds
    server_version = "CertynSimulator/1.0"
    sys_version = ""
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log (the simulator logs through ``Backend.log``)."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    # ----------------------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(1024)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or "0")
        if length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        sim = self.server.sim
        try:
            raw = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._send(error(413, "Request body too large or malformed."))
            return
        received = time.monotonic()
        split = urlsplit(self.path)
        path = split.path
        text = raw.decode("utf-8", errors="replace")
        try:
            parsed: Any = json.loads(text) if text.strip() else None
        except json.JSONDecodeError:
            parsed = None
        if path.startswith("/_sim/") or path == "/_sim":
            self._send(sim.control(self.command, path, split.query, parsed))
            return
        found = route(self.command, path)
        rec = sim.record(
            RequestRecord(
                seq=-1,
                method=self.command,
                path=path,
                query=split.query,
                headers=[(k, v) for k, v in self.headers.items()],
                body_text=text,
                json=parsed,
                received_at=received,
                wall_time=time.time(),
                client=f"{self.client_address[0]}:{self.client_address[1]}",
                endpoint=found.endpoint,
                run_id=found.run_id,
                project_id=found.project_id,
                item_id=found.item_id,
                repository=found.repository,
            )
        )
        fault = sim.take_fault(found.endpoint)
        if fault is not None:
            rec.fault = fault.kind
        try:
            self._serve(sim, rec, fault)
        finally:
            rec.finished_at = time.monotonic()
            sim.log(
                f"{rec.method} {rec.path} -> {rec.response_status if rec.response_status is not None else 'no response'}"
                + (f" [fault {rec.fault}]" if rec.fault else "")
            )
            sim.notify()

    def _serve(self, sim: Backend, rec: RequestRecord, fault: Fault | None) -> None:
        if fault is None:
            self._send_recorded(rec, sim.process(rec))
            return
        if fault.kind == "delay" and sim.stop_event.wait(fault.seconds):
            self._drop()
            return
        if not fault.processes:
            self._serve_fault(sim, rec, fault)
            return
        response = sim.process(rec, omit_run_id=fault.kind == "missing_run_id")
        if fault.kind == "truncated":
            self._serve_truncated(rec, fault, response)
        elif fault.kind in ("stall", "drip"):
            self._serve_slowly(sim, rec, fault, response)
        elif fault.kind in ("delay", "missing_run_id", "ok"):
            self._send_recorded(rec, response)
        else:  # the response is lost or replaced by the fault's own
            self._serve_fault(sim, rec, fault)

    def _serve_fault(self, sim: Backend, rec: RequestRecord, fault: Fault) -> None:
        """Send the fault's own answer (or none), whatever the request asked for."""
        kind = fault.kind
        if kind == "reset":
            self._reset()
        elif kind == "status":
            self._send_recorded(rec, _fault_status_response(fault))
        elif kind == "html":
            self._send_recorded(
                rec, Response(fault.status or 200, HTML_PAGE.encode(), "text/html; charset=utf-8")
            )
        elif kind == "not_json":
            body = (
                fault.body if isinstance(fault.body, str) else "Service temporarily unavailable, please retry"
            )
            ctype = fault.content_type or JSON_TYPE
            self._send_recorded(rec, Response(fault.status or 200, body.encode(), ctype, _hdrs(fault)))
        elif kind == "redirect":
            target = fault.location or f"{sim.redirect_base()}{self.path}"
            resp = json_response(fault.status or 302, {"location": target})
            resp.headers = [("Location", target), *_hdrs(fault)]
            self._send_recorded(rec, resp)
        else:  # drop, drop_after, and processing kinds told not to process
            self._drop()

    def _serve_truncated(self, rec: RequestRecord, fault: Fault, response: Response) -> None:
        cut = response.body[: len(response.body) // 2]
        if fault.short_read:
            rec.response_status = response.status
            self._send_head(response, len(response.body))
            self._write(cut)
            self._drop()
        else:
            self._send_recorded(rec, Response(response.status, cut, response.content_type, response.headers))

    def _serve_slowly(self, sim: Backend, rec: RequestRecord, fault: Fault, response: Response) -> None:
        """``stall``: headers, a pause, the body. ``drip``: headers, then one byte every ``seconds``."""
        rec.response_status = response.status
        self._send_head(response, len(response.body))
        if fault.kind == "stall":
            pieces = [response.body]
            if sim.stop_event.wait(fault.seconds):
                self._drop()
                return
        else:
            pieces = [response.body[i : i + 1] for i in range(len(response.body))]
        for i, piece in enumerate(pieces):
            if fault.kind == "drip" and i and sim.stop_event.wait(fault.seconds):
                self._drop()
                return
            if i == len(pieces) - 1 and response.on_serve is not None:
                response.on_serve()
            if not self._write(piece):
                self._drop()
                return

    # Low-level sending ------------------------------------------------------------------------------
    def _send_recorded(self, rec: RequestRecord, response: Response) -> None:
        rec.response_status = response.status
        self._send(response)

    def _send(self, response: Response) -> None:
        body = b"" if self.command == "HEAD" else response.body
        self._send_head(response, len(response.body))
        if response.on_serve is not None:
            response.on_serve()
        self._write(body)

    def _send_head(self, response: Response, length: int) -> None:
        try:
            self.send_response(response.status)
            if response.content_type:
                self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(length))
            for key, value in response.headers:
                self.send_header(key, value)
            self.end_headers()
        except OSError:
            self.close_connection = True

    def _write(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
            return False
        return True

    def _drop(self) -> None:
        """Close the connection without (the rest of) a response."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER on, timeout 0, then close)."""
        self.close_connection = True
        sock = self.connection
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        fd = sock.detach()  # the rfile/wfile wrappers keep the socket object alive: close the fd itself
        if fd >= 0:
            with contextlib.suppress(OSError):
                socket.socket(fileno=fd).close()


def _hdrs(fault: Fault) -> list[tuple[str, str]]:
    return list(fault.headers.items())


def _fault_status_response(fault: Fault) -> Response:
    status = fault.status or 503
    body = fault.body
    if body is None:
        resp = json_response(status, {"error": f"Simulated HTTP {status}"})
    elif isinstance(body, str):
        ctype = fault.content_type or (
            "text/html; charset=utf-8" if body.lstrip().startswith("<") else "text/plain"
        )
        resp = Response(status, body.encode(), ctype)
    else:
        resp = Response(status, json.dumps(body).encode(), fault.content_type or JSON_TYPE)
    resp.headers = _hdrs(fault)
    return resp
