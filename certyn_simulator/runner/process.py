"""The running action: its process group, log readers, the runner's cancel (SIGINT, SIGTERM, SIGKILL)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from .filecommands import (
    FileCommandError,
    decode_file_command,
    parse_outputs,
    split_log_lines,
)
from .files import RunnerFiles
from .results import ActionRun, CancelTimings, LogLine

SIGTERM_AFTER = 7.5
SIGKILL_AFTER = 2.5

# Running ----------------------------------------------------------------------------------------

LineCallback = Callable[[LogLine], None]
Sink = int | IO[bytes]


def start_process(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    *,
    stdout: Sink = subprocess.PIPE,
    stderr: Sink = subprocess.PIPE,
) -> subprocess.Popen[bytes]:
    """Start the action as the runner does: its own session (process group), stdin closed."""
    return subprocess.Popen(  # noqa: S603 - argv comes from the launcher
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
    )


class _Reader(threading.Thread):
    def __init__(
        self,
        stream: Any,
        name: str,
        sink: list[LogLine],
        raw: list[bytes],
        lock: threading.Lock,
        on_line: LineCallback | None,
    ) -> None:
        super().__init__(name=f"fake-runner-{name}", daemon=True)
        self.stream = stream
        self.stream_name = name
        self.sink = sink
        self.raw = raw
        self.lock = lock
        self.on_line = on_line

    def run(self) -> None:
        try:
            for chunk in iter(self.stream.readline, b""):
                now = time.monotonic()
                with self.lock:
                    self.raw.append(chunk)
                for text in split_log_lines(chunk.decode("utf-8", errors="replace")):
                    line = LogLine(self.stream_name, text, now)
                    with self.lock:
                        self.sink.append(line)
                    if self.on_line is not None:
                        with contextlib.suppress(Exception):
                            self.on_line(line)
        finally:
            with contextlib.suppress(OSError):
                self.stream.close()


class RunningAction:
    """A started action. Use ``wait()``, ``send_signal()`` or ``cancel_like_runner()``; as a context
    manager it kills the process group on exit if the action is still running."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        files: RunnerFiles,
        env: dict[str, str],
        argv: list[str],
        started_at: float,
        runner_messages: list[str],
        on_line: LineCallback | None,
        cleanup: Callable[[], None] | None,
    ) -> None:
        self.process = process
        self.files = files
        self.env = env
        self.argv = argv
        self.started_at = started_at
        self.runner_messages = runner_messages
        self._lines: list[LogLine] = []
        self._raw_out: list[bytes] = []
        self._raw_err: list[bytes] = []
        self._lock = threading.Lock()
        self._cleanup = cleanup
        self._result: ActionRun | None = None
        self._readers = [
            _Reader(process.stdout, "stdout", self._lines, self._raw_out, self._lock, on_line),
            _Reader(process.stderr, "stderr", self._lines, self._raw_err, self._lock, on_line),
        ]
        for reader in self._readers:
            reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def lines(self) -> list[LogLine]:
        """The log so far."""
        with self._lock:
            return list(self._lines)

    def wait_for_line(self, predicate: Callable[[LogLine], bool], timeout: float = 10.0) -> LogLine:
        """Block until a log line matches (polling every 20 ms); raises ``TimeoutError``."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if predicate(line):
                    return line
            if time.monotonic() > deadline:
                raise TimeoutError(f"no matching log line within {timeout} s")
            if self.process.poll() is not None and not any(r.is_alive() for r in self._readers):
                raise TimeoutError("the action exited without a matching log line")
            time.sleep(0.02)

    def poll(self) -> int | None:
        return self.process.poll()

    def send_signal(self, sig: int) -> None:
        """Signal the action's process (as the runner signals the ``docker run`` client)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)

    def cancel_like_runner(
        self, *, sigterm_after: float = SIGTERM_AFTER, sigkill_after: float = SIGKILL_AFTER
    ) -> ActionRun:
        """SIGINT; SIGTERM ``sigterm_after`` s later if still alive; SIGKILL ``sigkill_after`` s after
        that; return the finished run with :class:`CancelTimings`."""
        sigint_at = time.monotonic()
        self.send_signal(signal.SIGINT)
        sigterm_at: float | None = None
        sigkill_at: float | None = None
        if not self._wait_exit(sigterm_after):
            sigterm_at = time.monotonic()
            self.send_signal(signal.SIGTERM)
            if not self._wait_exit(sigkill_after):
                sigkill_at = time.monotonic()
                self.send_signal(signal.SIGKILL)
                self.process.wait()
        exited_at = time.monotonic()
        return self._finish(
            cancel=CancelTimings(sigint_at, sigterm_at, sigkill_at, exited_at), ended_at=exited_at
        )

    def wait(self, timeout: float | None = None) -> ActionRun:
        """Wait for exit; on ``timeout`` cancel like the runner does for ``timeout-minutes``."""
        if self._result is not None:
            return self._result
        if not self._wait_exit(timeout):
            run = self.cancel_like_runner()
            self._result = _replace_timed_out(run)
            return self._result
        return self._finish(cancel=None, ended_at=time.monotonic())

    def kill(self) -> None:
        """SIGKILL the whole process group (cleanup for tests)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def _wait_exit(self, timeout: float | None) -> bool:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def _finish(self, *, cancel: CancelTimings | None, ended_at: float) -> ActionRun:
        if self._result is not None:
            return self._result
        for reader in self._readers:
            reader.join(timeout=10)
        code = self.process.returncode if self.process.returncode is not None else self.process.wait()
        messages = list(self.runner_messages)
        output_text = decode_file_command(_read_bytes(self.files.output_file))
        summary = decode_file_command(_read_bytes(self.files.summary_file))
        try:
            parse_outputs(output_text)
        except FileCommandError as exc:
            messages.append("Unable to process file command 'output' successfully.")
            messages.append(str(exc))
        if code != 0:
            messages.append(f"Process completed with exit code {code}.")
        with self._lock:
            lines = list(self._lines)
            stdout = b"".join(self._raw_out).decode("utf-8", errors="replace")
            stderr = b"".join(self._raw_err).decode("utf-8", errors="replace")
        self._result = ActionRun(
            exit_code=code,
            stdout=stdout,
            stderr=stderr,
            lines=lines,
            output_text=output_text,
            summary=summary,
            env=dict(self.env),
            argv=list(self.argv),
            started_at=self.started_at,
            ended_at=ended_at,
            cancel=cancel,
            runner_messages=messages,
            files=self.files if self._cleanup is None else None,
        )
        if self._cleanup is not None:
            self._cleanup()
        return self._result

    def __enter__(self) -> RunningAction:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.kill()
            self.process.wait()
        if self._result is None:
            self._finish(cancel=None, ended_at=time.monotonic())


def _replace_timed_out(run: ActionRun) -> ActionRun:
    return dataclasses.replace(
        run, timed_out=True, runner_messages=[*run.runner_messages, "The action has timed out."]
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""
