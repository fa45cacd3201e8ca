"""A stand-in for how the GitHub Actions runner runs a Docker container action.

``FakeRunner`` prepares the runner's directories and files, builds the environment the runner gives
the action (``INPUT_<NAME>`` with hyphens kept and action.yml defaults applied, ``GITHUB_*``,
``GITHUB_OUTPUT`` / ``GITHUB_STEP_SUMMARY`` files, the event payload), starts the action through a
:class:`Launcher` (``PythonLauncher`` runs ``entrypoint.py`` directly; a Docker launcher can live in
another module), captures its log, and reads back outputs, summary and workflow commands with the
runner's rules. ``RunningAction.cancel_like_runner()`` sends SIGINT, SIGTERM 7.5 s later and SIGKILL
2.5 s after that, like a workflow cancel or a step timeout.

    runner = FakeRunner(action_dir, PythonLauncher(action_dir))
    run = runner.run({"api-key": "k", "project-slug": "p", "process-slug": "s", "api-url": base})
    assert run.exit_code == 0 and run.outputs["result"] == "passed"
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .actionyml import InputSpec, evaluate_default, load_action_inputs
from .filecommands import (
    FileCommandError,
    WorkflowCommand,
    decode_file_command,
    parse_commands,
    parse_outputs,
    split_log_lines,
)

__all__ = [
    "CONTAINER_PATHS",
    "DEFAULT_REPOSITORY",
    "ActionRun",
    "CancelTimings",
    "Event",
    "FakeRunner",
    "FileCommandError",
    "Launcher",
    "LogLine",
    "PythonLauncher",
    "RunnerFiles",
    "RunningAction",
    "WorkflowCommand",
    "input_env_name",
    "translate_env",
]

DEFAULT_REPOSITORY = "certyn-demo/shop"
SIGTERM_AFTER = 7.5
SIGKILL_AFTER = 2.5


def _sha() -> str:
    return secrets.token_hex(20)


def input_env_name(name: str) -> str:
    """``api-key`` → ``INPUT_API-KEY``: upper-cased, spaces to ``_``, hyphens kept (as the runner does)."""
    return "INPUT_" + name.replace(" ", "_").upper()


# Files ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunnerFiles:
    """Host-side locations the runner prepared for one step."""

    root: Path
    file_commands: Path
    workflow: Path
    home: Path
    workspace: Path
    runner_temp: Path
    output_file: Path
    summary_file: Path
    event_file: Path
    env_file: Path | None = None
    path_file: Path | None = None
    state_file: Path | None = None

    @classmethod
    def create(cls, root: Path, repository: str = DEFAULT_REPOSITORY) -> RunnerFiles:
        """Lay out ``root`` like a runner: ``_temp/{_runner_file_commands,_github_workflow,_github_home}``,
        ``work/<repo>/<repo>``, and empty file-command files with one fresh uuid suffix."""
        repo = repository.rsplit("/", maxsplit=1)[-1] or "repo"
        temp = root / "_temp"
        commands = temp / "_runner_file_commands"
        workflow = temp / "_github_workflow"
        home = temp / "_github_home"
        workspace = root / "work" / repo / repo
        for d in (commands, workflow, home, workspace):
            d.mkdir(parents=True, exist_ok=True)
        suffix = str(uuid.uuid4())
        files = cls(
            root=root,
            file_commands=commands,
            workflow=workflow,
            home=home,
            workspace=workspace,
            runner_temp=temp,
            output_file=commands / f"set_output_{suffix}",
            summary_file=commands / f"step_summary_{suffix}",
            event_file=workflow / "event.json",
            env_file=commands / f"set_env_{suffix}",
            path_file=commands / f"add_path_{suffix}",
            state_file=commands / f"save_state_{suffix}",
        )
        for f in (files.output_file, files.summary_file, files.env_file, files.path_file, files.state_file):
            if f is not None:
                f.touch()
        return files

    def mounts(self) -> list[tuple[Path, str]]:
        """(host dir, container dir) pairs of the ``docker run -v`` mounts, most specific first."""
        return [
            (self.file_commands, CONTAINER_PATHS["file_commands"]),
            (self.workflow, CONTAINER_PATHS["workflow"]),
            (self.home, CONTAINER_PATHS["home"]),
            (self.workspace, CONTAINER_PATHS["workspace"]),
            (self.runner_temp, CONTAINER_PATHS["runner_temp"]),
        ]


CONTAINER_PATHS = {
    "file_commands": "/github/file_commands",
    "workflow": "/github/workflow",
    "home": "/github/home",
    "workspace": "/github/workspace",
    "runner_temp": "/github/runner_temp",
}
"""Where the runner mounts each :class:`RunnerFiles` directory inside the container."""


def translate_env(env: Mapping[str, str], files: RunnerFiles) -> dict[str, str]:
    """Rewrite env values that start with a mounted host path to the container path (as the runner does)."""
    out: dict[str, str] = {}
    mounts = [(str(host), container) for host, container in files.mounts()]
    for key, value in env.items():
        out[key] = value
        for host, container in mounts:
            if value == host or value.startswith(host + os.sep):
                out[key] = container + value[len(host) :]
                break
    return out


# Launchers --------------------------------------------------------------------------------------


class Launcher(Protocol):
    def command(self, env: Mapping[str, str], files: RunnerFiles) -> tuple[list[str], dict[str, str]]:
        """argv and the process environment to start the action with (env holds host paths)."""
        ...


DEFAULT_PASSTHROUGH = (
    "PATH",
    "LANG",
    "LC_ALL",
    "TZ",
    "SYSTEMROOT",
    "COVERAGE_PROCESS_START",
    "COVERAGE_FILE",
)


class PythonLauncher:
    """Run ``python -s action_dir/entrypoint.py`` (like the image's ENTRYPOINT) with this interpreter and
    only the runner's env plus what a Python process needs (``PATH``, locale, coverage hooks) and
    ``extra_env`` (by default ``PYTHONUNBUFFERED=1``, as the image sets, and ``PYTHONDONTWRITEBYTECODE=1``)."""

    def __init__(
        self,
        action_dir: Path | str,
        *,
        python: str = sys.executable,
        script: str = "entrypoint.py",
        extra_env: Mapping[str, str] | None = None,
        passthrough: tuple[str, ...] = DEFAULT_PASSTHROUGH,
        python_flags: tuple[str, ...] = ("-s",),
    ) -> None:
        self.action_dir = Path(action_dir).resolve()
        self.python = python
        self.python_flags = python_flags
        self.script = script
        self.extra_env = (
            dict(extra_env)
            if extra_env is not None
            else {
                "PYTHONUNBUFFERED": "1",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        self.passthrough = passthrough

    def command(self, env: Mapping[str, str], files: RunnerFiles) -> tuple[list[str], dict[str, str]]:
        proc_env = {k: os.environ[k] for k in self.passthrough if k in os.environ}
        proc_env.setdefault("PATH", os.defpath)
        proc_env.update(self.extra_env)
        proc_env.update(env)
        return [self.python, *self.python_flags, str(self.action_dir / self.script)], proc_env


# Events -----------------------------------------------------------------------------------------


def _repo_payload(repository: str) -> dict[str, Any]:
    owner, _, name = repository.partition("/")
    return {
        "id": 123456789,
        "name": name,
        "full_name": repository,
        "private": True,
        "owner": {"login": owner, "id": 4242, "type": "Organization"},
        "html_url": f"https://github.com/{repository}",
        "default_branch": "main",
    }


@dataclass(frozen=True)
class Event:
    """The triggering event: its name, payload (written to ``event.json``) and the event-specific
    ``GITHUB_*`` variables (SHA, REF, REF_NAME, REF_TYPE, HEAD_REF, BASE_REF). ``raw_payload``, when
    set, is written to ``event.json`` verbatim instead (e.g. to test a broken file)."""

    name: str
    payload: Mapping[str, Any]
    env: Mapping[str, str]
    raw_payload: str | None = None

    @classmethod
    def push(
        cls, branch: str = "main", sha: str | None = None, repository: str = DEFAULT_REPOSITORY
    ) -> Event:
        sha = sha or _sha()
        ref = f"refs/heads/{branch}"
        payload = {
            "ref": ref,
            "before": _sha(),
            "after": sha,
            "repository": _repo_payload(repository),
            "head_commit": {"id": sha, "message": "Update checkout flow", "author": {"name": "Octo Cat"}},
            "pusher": {"name": "octocat"},
            "sender": {"login": "octocat", "id": 583231, "type": "User"},
        }
        return cls("push", payload, _ref_env(sha, ref, branch, "branch"))

    @classmethod
    def tag(cls, tag: str = "v1.2.3", sha: str | None = None, repository: str = DEFAULT_REPOSITORY) -> Event:
        sha = sha or _sha()
        ref = f"refs/tags/{tag}"
        payload = {
            "ref": ref,
            "before": "0" * 40,
            "after": sha,
            "created": True,
            "base_ref": "refs/heads/main",
            "repository": _repo_payload(repository),
            "head_commit": {"id": sha, "message": f"Release {tag}"},
            "sender": {"login": "octocat", "id": 583231, "type": "User"},
        }
        return cls("push", payload, _ref_env(sha, ref, tag, "tag"))

    @classmethod
    def pull_request(
        cls,
        number: int = 42,
        head_ref: str = "feature/checkout",
        base_ref: str = "main",
        head_sha: str | None = None,
        merge_sha: str | None = None,
        repository: str = DEFAULT_REPOSITORY,
        name: str = "pull_request",
    ) -> Event:
        """``GITHUB_SHA`` is the synthetic merge commit; ``pull_request.head.sha`` the PR head (they differ)."""
        head_sha = head_sha or _sha()
        merge_sha = merge_sha or _sha()
        repo = _repo_payload(repository)
        payload = {
            "action": "synchronize",
            "number": number,
            "pull_request": {
                "number": number,
                "title": "Make checkout faster",
                "html_url": f"https://github.com/{repository}/pull/{number}",
                "head": {"ref": head_ref, "sha": head_sha, "repo": repo},
                "base": {"ref": base_ref, "sha": _sha(), "repo": repo},
                "merge_commit_sha": merge_sha,
            },
            "repository": repo,
            "sender": {"login": "octocat", "id": 583231, "type": "User"},
        }
        env = _ref_env(merge_sha, f"refs/pull/{number}/merge", f"{number}/merge", "branch")
        env.update({"GITHUB_HEAD_REF": head_ref, "GITHUB_BASE_REF": base_ref})
        return cls(name, payload, env)

    @classmethod
    def workflow_dispatch(
        cls, branch: str = "main", sha: str | None = None, repository: str = DEFAULT_REPOSITORY
    ) -> Event:
        sha = sha or _sha()
        ref = f"refs/heads/{branch}"
        payload = {
            "inputs": {},
            "ref": ref,
            "repository": _repo_payload(repository),
            "workflow": ".github/workflows/ci.yml",
        }
        return cls("workflow_dispatch", payload, _ref_env(sha, ref, branch, "branch"))

    @classmethod
    def named(cls, name: str) -> Event:
        """``push``, ``tag``, ``pull_request``, ``pull_request_target`` or ``workflow_dispatch`` with defaults."""
        if name == "push":
            return cls.push()
        if name == "tag":
            return cls.tag()
        if name in ("pull_request", "pull_request_target"):
            return cls.pull_request(name=name)
        if name == "workflow_dispatch":
            return cls.workflow_dispatch()
        raise ValueError(f"unknown event {name!r}")


def _ref_env(sha: str, ref: str, ref_name: str, ref_type: str) -> dict[str, str]:
    return {
        "GITHUB_SHA": sha,
        "GITHUB_REF": ref,
        "GITHUB_REF_NAME": ref_name,
        "GITHUB_REF_TYPE": ref_type,
        "GITHUB_HEAD_REF": "",
        "GITHUB_BASE_REF": "",
    }


# Results ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogLine:
    """One line of the action's log as the runner reads it; ``at`` is ``time.monotonic()``."""

    stream: str
    text: str
    at: float


@dataclass(frozen=True)
class CancelTimings:
    """``time.monotonic()`` values of a runner-style cancel."""

    sigint_at: float
    sigterm_at: float | None
    sigkill_at: float | None
    exited_at: float

    @property
    def exit_after(self) -> float:
        """Seconds from the first signal until the process exited."""
        return self.exited_at - self.sigint_at


@dataclass(frozen=True)
class ActionRun:
    """The finished step. ``exit_code`` is the raw return code (negative: killed by that signal)."""

    exit_code: int
    stdout: str
    stderr: str
    lines: list[LogLine]
    output_text: str
    summary: str
    env: dict[str, str]
    argv: list[str]
    started_at: float
    ended_at: float
    timed_out: bool = False
    cancel: CancelTimings | None = None
    runner_messages: list[str] = field(default_factory=list)
    files: RunnerFiles | None = None

    @property
    def duration(self) -> float:
        return self.ended_at - self.started_at

    @property
    def outputs(self) -> dict[str, str]:
        """Outputs parsed from ``GITHUB_OUTPUT`` like the runner; raises :class:`FileCommandError`."""
        return parse_outputs(self.output_text)

    @property
    def output_error(self) -> str | None:
        try:
            parse_outputs(self.output_text)
        except FileCommandError as exc:
            return str(exc)
        return None

    @property
    def commands(self) -> list[WorkflowCommand]:
        """Workflow commands the runner would process, from stdout and stderr in arrival order."""
        return parse_commands((line.stream, line.text) for line in self.lines)

    def commands_named(self, name: str) -> list[WorkflowCommand]:
        return [c for c in self.commands if c.name == name.lower()]

    @property
    def log(self) -> str:
        """stdout and stderr interleaved in arrival order."""
        return "".join(line.text + "\n" for line in self.lines)

    @property
    def conclusion(self) -> str:
        """``success`` when the runner would mark the step green (exit 0 and a readable GITHUB_OUTPUT)."""
        return (
            "success"
            if self.exit_code == 0 and self.output_error is None and not self.timed_out
            else "failure"
        )


# Running ----------------------------------------------------------------------------------------

LineCallback = Callable[[LogLine], None]


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


class FakeRunner:
    """Runs a container action the way actions/runner would (see the module docstring).

    ``action_dir`` holds ``action.yml`` (inputs and defaults). ``context`` gives values for default
    expressions (``strategy.job-index`` → "0", ``job.check_run_id`` → a random id, ``github.*`` from
    the env); ``base_env`` overrides default ``GITHUB_*``/``RUNNER_*`` values for every run.
    ``keep_files`` keeps each run's temp directory (``ActionRun.files``); by default it is removed.
    """

    def __init__(
        self,
        action_dir: Path | str,
        launcher: Launcher | None = None,
        *,
        inputs_spec: Mapping[str, InputSpec] | None = None,
        context: Mapping[str, str] | None = None,
        base_env: Mapping[str, str] | None = None,
        keep_files: bool = False,
        temp_root: Path | str | None = None,
    ) -> None:
        self.action_dir = Path(action_dir).resolve()
        self.launcher: Launcher = launcher if launcher is not None else PythonLauncher(self.action_dir)
        self.inputs_spec = (
            dict(inputs_spec) if inputs_spec is not None else load_action_inputs(self.action_dir)
        )
        self.context = dict(context or {})
        self.base_env = dict(base_env or {})
        self.keep_files = keep_files
        self.temp_root = str(temp_root) if temp_root is not None else None

    # Environment --------------------------------------------------------------------------------
    def default_env(self, event: Event, files: RunnerFiles) -> dict[str, str]:
        repository = self.base_env.get("GITHUB_REPOSITORY", DEFAULT_REPOSITORY)
        owner = repository.split("/")[0]
        env = {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": repository,
            "GITHUB_REPOSITORY_ID": "123456789",
            "GITHUB_REPOSITORY_OWNER": owner,
            "GITHUB_REPOSITORY_OWNER_ID": "4242",
            "GITHUB_RUN_ID": str(secrets.randbelow(9 * 10**9) + 10**9),
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_RUN_NUMBER": "42",
            "GITHUB_JOB": "certyn",
            "GITHUB_ACTION": "certyn",
            "GITHUB_ACTION_REPOSITORY": "certyn/run-action",
            "GITHUB_ACTION_REF": "v1",
            "GITHUB_ACTOR": "octocat",
            "GITHUB_ACTOR_ID": "583231",
            "GITHUB_TRIGGERING_ACTOR": "octocat",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_API_URL": "https://api.github.com",
            "GITHUB_GRAPHQL_URL": "https://api.github.com/graphql",
            "GITHUB_WORKFLOW": "CI",
            "GITHUB_WORKFLOW_REF": f"{repository}/.github/workflows/ci.yml@refs/heads/main",
            "GITHUB_WORKFLOW_SHA": event.env.get("GITHUB_SHA", _sha()),
            "GITHUB_RETENTION_DAYS": "90",
            "GITHUB_REF_PROTECTED": "false",
            "GITHUB_EVENT_NAME": event.name,
            **event.env,
            "GITHUB_EVENT_PATH": str(files.event_file),
            "GITHUB_WORKSPACE": str(files.workspace),
            "GITHUB_OUTPUT": str(files.output_file),
            "GITHUB_STEP_SUMMARY": str(files.summary_file),
            "HOME": str(files.home),
            "RUNNER_OS": "Linux",
            "RUNNER_ARCH": "X64",
            "RUNNER_NAME": "GitHub Actions 7",
            "RUNNER_ENVIRONMENT": "github-hosted",
            "RUNNER_TEMP": str(files.runner_temp),
        }
        for name, path in (
            ("GITHUB_ENV", files.env_file),
            ("GITHUB_PATH", files.path_file),
            ("GITHUB_STATE", files.state_file),
        ):
            if path is not None:
                env[name] = str(path)
        env.update(self.base_env)
        return env

    def expression_context(
        self, env: Mapping[str, str], extra: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        ctx = {
            "strategy.job-index": "0",
            "strategy.job-total": "1",
            "strategy.fail-fast": "true",
            "strategy.max-parallel": "1",
            "job.check_run_id": str(secrets.randbelow(9 * 10**10) + 10**10),
            "job.status": "success",
            "runner.os": env.get("RUNNER_OS", "Linux"),
            "runner.arch": env.get("RUNNER_ARCH", "X64"),
            "runner.name": env.get("RUNNER_NAME", ""),
            "runner.temp": env.get("RUNNER_TEMP", ""),
        }
        for key, value in env.items():
            if key.startswith("GITHUB_"):
                ctx["github." + key[len("GITHUB_") :].lower()] = value
        ctx["github.event_name"] = env.get("GITHUB_EVENT_NAME", "")
        ctx.update(self.context)
        ctx.update(extra or {})
        return ctx

    def build_env(
        self,
        inputs: Mapping[str, str],
        files: RunnerFiles,
        *,
        event: Event,
        env_overrides: Mapping[str, str | None] | None = None,
        context: Mapping[str, str] | None = None,
        messages: list[str] | None = None,
    ) -> dict[str, str]:
        """The step's environment (host paths). ``env_overrides`` win; a ``None`` value removes a variable."""
        env = self.default_env(event, files)
        ctx = self.expression_context(env, context)
        for name, spec in self.inputs_spec.items():
            if name in inputs:
                value = inputs[name]
            elif spec.default is not None:
                value = evaluate_default(spec.default, ctx)
            else:
                value = ""
            env[input_env_name(name)] = value
        unexpected = [name for name in inputs if name not in self.inputs_spec]
        for name in unexpected:
            env[input_env_name(name)] = inputs[name]
        if unexpected and messages is not None:
            valid = ", ".join(f"'{n}'" for n in self.inputs_spec)
            messages.append(
                f"Unexpected input(s) {', '.join(repr(n) for n in unexpected)}, valid inputs are [{valid}]"
            )
        for key, override in (env_overrides or {}).items():
            if override is None:
                env.pop(key, None)
            else:
                env[key] = override
        return env

    # Running ------------------------------------------------------------------------------------
    def start(
        self,
        inputs: Mapping[str, str],
        *,
        event: Event | str | None = None,
        env_overrides: Mapping[str, str | None] | None = None,
        context: Mapping[str, str] | None = None,
        on_line: LineCallback | None = None,
    ) -> RunningAction:
        """Prepare files and env, start the action in its own process group, capture its log."""
        ev = Event.named(event) if isinstance(event, str) else (event or Event.push())
        root = Path(tempfile.mkdtemp(prefix="fake-runner-", dir=self.temp_root))
        try:
            repository = (env_overrides or {}).get("GITHUB_REPOSITORY") or self.base_env.get(
                "GITHUB_REPOSITORY", DEFAULT_REPOSITORY
            )
            files = RunnerFiles.create(root, repository)
            files.event_file.write_text(
                ev.raw_payload if ev.raw_payload is not None else json.dumps(ev.payload, indent=2),
                encoding="utf-8",
            )
            messages: list[str] = []
            env = self.build_env(
                inputs, files, event=ev, env_overrides=env_overrides, context=context, messages=messages
            )
            argv, proc_env = self.launcher.command(env, files)
            started = time.monotonic()
            process = subprocess.Popen(  # noqa: S603 - argv comes from the launcher
                argv,
                cwd=files.workspace,
                env=proc_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        cleanup = None if self.keep_files else (lambda: shutil.rmtree(root, ignore_errors=True))
        return RunningAction(process, files, env, argv, started, messages, on_line, cleanup)

    def run(
        self,
        inputs: Mapping[str, str],
        *,
        event: Event | str | None = None,
        env_overrides: Mapping[str, str | None] | None = None,
        context: Mapping[str, str] | None = None,
        timeout: float | None = None,
        on_line: LineCallback | None = None,
    ) -> ActionRun:
        """Run the action to completion (``timeout``: cancel like a step timeout and mark ``timed_out``)."""
        with self.start(
            inputs, event=event, env_overrides=env_overrides, context=context, on_line=on_line
        ) as running:
            return running.wait(timeout)
