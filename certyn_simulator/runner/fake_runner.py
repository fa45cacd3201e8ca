"""``FakeRunner``: runs a container action the way actions/runner does. It prepares the runner's files,
builds the environment the runner gives the action (``INPUT_<NAME>`` with hyphens kept and action.yml
defaults applied, ``GITHUB_*``, ``GITHUB_OUTPUT`` / ``GITHUB_STEP_SUMMARY``, the event payload), and
starts the action through a :class:`Launcher`. ``RunningAction.cancel_like_runner()`` sends SIGINT,
SIGTERM 7.5 s later and SIGKILL 2.5 s after that, like a workflow cancel or a step timeout.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .actionyml import InputSpec, evaluate_default, load_action_inputs
from .events import Event
from .files import DEFAULT_REPOSITORY, RunnerFiles, input_env_name, new_sha
from .launchers import Launcher, PythonLauncher
from .process import LineCallback, RunningAction, start_process
from .results import ActionRun


@dataclass(frozen=True)
class PreparedStep:
    """A step ready to start: ``argv`` with ``proc_env`` in ``files.workspace``; ``env`` is what the
    action is given; ``messages`` are the runner's warnings (unexpected inputs)."""

    root: Path
    files: RunnerFiles
    env: dict[str, str]
    argv: list[str]
    proc_env: dict[str, str]
    messages: list[str]

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


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
            "GITHUB_WORKFLOW_SHA": event.env.get("GITHUB_SHA", new_sha()),
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
    def prepare(
        self,
        inputs: Mapping[str, str],
        *,
        event: Event | str | None = None,
        env_overrides: Mapping[str, str | None] | None = None,
        context: Mapping[str, str] | None = None,
    ) -> PreparedStep:
        """The runner's files (in a new temp directory), the action's env and the launcher's command,
        without starting anything. The caller removes ``root`` (``PreparedStep.remove()``)."""
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
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return PreparedStep(root, files, env, argv, proc_env, messages)

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
        step = self.prepare(inputs, event=event, env_overrides=env_overrides, context=context)
        try:
            started = time.monotonic()
            process = start_process(step.argv, step.proc_env, step.files.workspace)
        except BaseException:
            step.remove()
            raise
        cleanup = None if self.keep_files else step.remove
        return RunningAction(
            process, step.files, step.env, step.argv, started, step.messages, on_line, cleanup
        )

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
