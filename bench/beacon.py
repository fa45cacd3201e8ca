"""A loopback listener that times when a baseline process first connects."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import suppress


class Beacon:
    """A TCP listener on 127.0.0.1 that records when it accepts each connection (``time.monotonic()``).

    A baseline ends its ``-c`` code with ``connect()``, so it is timed to its first contact with 127.0.0.1,
    the point where the action's first request reaches the simulator."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port: int = self._sock.getsockname()[1]
        self.accepted: list[float] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="beacon")
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            at = time.monotonic()
            with self._lock:
                self.accepted.append(at)
            conn.close()

    def connect_code(self, imports: str) -> str:
        """``-c`` code: the imports (may be empty), then one connection to this beacon."""
        connect = f"import socket; socket.create_connection(('127.0.0.1', {self.port})).close()"
        return f"{imports}; {connect}" if imports else connect

    def first_after(self, started: float, wait: float = 0.0) -> float | None:
        """The first accept at or after ``started``; waits up to ``wait`` s for the listener to record one."""
        end = time.monotonic() + wait
        while True:
            with self._lock:
                later = [t for t in self.accepted if t >= started]
            if later or time.monotonic() >= end:
                return min(later) if later else None
            time.sleep(0.005)

    def close(self) -> None:
        with suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(timeout=2)
