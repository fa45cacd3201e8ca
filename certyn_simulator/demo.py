"""``python -m certyn_simulator demo``: the action end to end against the simulator, on this machine.

Starts the simulator with a scripted run, runs the action's ``entrypoint.py`` through
:class:`FakeRunner` + :class:`PythonLauncher` with its log streamed live, then prints the outputs the
runner would record and the job summary, and exits with the action's exit code. Ctrl-C cancels the
action the way the runner cancels a job (SIGINT, then SIGTERM 7.5 s later, then SIGKILL).

With ``preview`` the run goes against a stand-in preview deployment on 127.0.0.1 (``base-url``), with a test
login in ``variables``: the log shows the value masked, and the demo prints what the simulator stored (the
variable names, set before the run was created).
"""

from __future__ import annotations

import contextlib
import http.server
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from .catalogue import load_scenario
from .runner import ActionRun, Event, FakeRunner, LogLine, PythonLauncher
from .runner.filecommands import FileCommandError, parse_commands
from .scenario import ScenarioError
from .server import Simulator

DEMO_KEY = "demo-key"
DEMO_PROJECT = "demo-shop"
# A made-up login for the preview demo: its password must never show in the log, the outputs or the summary.
DEMO_VARIABLES = "TEST_USER_EMAIL=qa@demo-shop.example\nTEST_USER_PASSWORD=demo-Passw0rd-never-shown\n"


def demo_inputs(api_url: str, **extra: str) -> dict[str, str]:
    """The action's inputs for a demo run against the simulator at ``api_url`` (1 s polls, 2 min at most)."""
    return {
        "api-key": DEMO_KEY,
        "project-slug": DEMO_PROJECT,
        "process-slug": "smoke-suite",
        "api-url": api_url,
        "poll-interval-seconds": "1",
        "max-poll-interval-seconds": "1",
        "timeout-seconds": "120",
        **extra,
    }


@contextlib.contextmanager
def preview_deployment() -> Iterator[str]:
    """A stand-in preview deployment on 127.0.0.1 that answers every GET with 200; yields its URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _default_action_dir() -> Path:
    return Path(__file__).resolve().parent.parent


class _MaskedLog:
    """Prints the step's log as the runner shows it: each ``::add-mask::`` value replaced by ``***`` from then on
    (its own line too)."""

    def __init__(self) -> None:
        self.masks: list[str] = []

    def __call__(self, line: LogLine) -> None:
        text = line.text
        for command in parse_commands([text]):
            if command.name == "add-mask" and command.data.strip():
                self.masks.append(command.data)
        for mask in sorted(self.masks, key=len, reverse=True):
            text = text.replace(mask, "***")
        out = sys.stdout if line.stream == "stdout" else sys.stderr
        out.write(f"  | {text}\n")
        out.flush()


def _report(run: ActionRun) -> None:
    print("\n== Outputs (as the runner records them) ==")
    try:
        outputs = run.outputs
    except FileCommandError as exc:
        print(f"  GITHUB_OUTPUT is invalid, the runner would fail the step: {exc}")
        outputs = {}
    width = max((len(k) for k in outputs), default=0)
    for key, value in outputs.items():
        print(f"  {key.ljust(width)} = {value!r}")
    if not outputs:
        print("  (none)")
    print("\n== Job summary (the Markdown source; GitHub renders it on the run page) ==")
    print(run.summary.rstrip() or "  (empty)")
    for message in run.runner_messages:
        print(f"\n[runner] {message}")
    verdict = "succeeded" if run.conclusion == "success" else "failed"
    print(f"\n== Step {verdict} (exit code {run.exit_code}, {run.duration:.1f} s) ==")


def _github_report(sim: Simulator) -> None:
    """What the action wrote to GitHub: the check run (as the PR's checks list shows it) and the comment."""
    for check in sim.github_check_runs:
        print(
            f"\n== GitHub check run {check.name!r} on {check.head_sha[:7]}: {check.status}, {check.conclusion} =="
        )
        print(f"  title: {check.output.get('title', '')}")
        for note in check.annotations:
            print(
                f"  annotation ({note['annotation_level']}): {note.get('title', '')}: {' '.join(note['message'].split())}"
            )
        print("  (its summary is the job summary above)")
    for comment in sim.github_comments:
        print(f"\n== Pull request #{comment.issue_number}: the Certyn comment (Markdown source) ==")
        print(comment.body.rstrip())


def run_demo(
    scenario: str = "pass",
    action_dir: str | Path | None = None,
    event: str = "push",
    *,
    preview: bool = False,
) -> int:
    directory = Path(action_dir) if action_dir is not None else _default_action_dir()
    if not (directory / "entrypoint.py").is_file() or not (directory / "action.yml").is_file():
        print(f"demo: {directory} has no entrypoint.py and action.yml; pass --action-dir", file=sys.stderr)
        return 2
    try:
        sc = load_scenario(scenario)
        ev = Event.named(event)
    except (ScenarioError, ValueError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    sc.retry_after_seconds = 1
    # An open pull request on the tested commit, so that a push shows the comment too.
    head = ev.payload.get("pull_request", {}).get("head", {}).get("sha") or ev.env.get("GITHUB_SHA", "")
    sc.github = {"pulls": [{"number": 42, "head_sha": head, "state": "open"}], **sc.github}
    if preview:  # the temporary environment is created before the run: the project must be listed already
        sc.projects = sorted({*(sc.projects or []), DEMO_PROJECT})
    with contextlib.ExitStack() as stack:
        sim = stack.enter_context(Simulator(sc, api_key=DEMO_KEY))
        extra = (
            {"base-url": stack.enter_context(preview_deployment()), "variables": DEMO_VARIABLES}
            if preview
            else {}
        )
        print(f"== Certyn simulator at {sim.base_url} (scenario {sc.name!r}) ==")
        runner = FakeRunner(directory, PythonLauncher(directory))
        # The per-test results are read by default; the AI answers this after the run, passed or failed.
        inputs = demo_inputs(
            sim.base_url,
            instruction="Explain each failure and suggest where to look in the code.",
            **{"conversation-timeout-seconds": "30"},
            # The check run and the sticky comment, written to the simulator's fake GitHub API.
            **{"github-token": sim.github_token, "check-run": "true", "pr-comment": "always"},
            **extra,
        )
        print(
            f"== Running the action ({ev.name} event); Ctrl-C cancels it like the runner would ==\n"
            "   (the raw step log: GitHub turns ::group:: into a fold and ::notice::/::error:: into annotations)\n"
        )
        github = {"GITHUB_API_URL": sim.github_url}
        running = runner.start(inputs, event=ev, env_overrides=github, on_line=_MaskedLog())
        with running:
            try:
                run = running.wait()
            except KeyboardInterrupt:
                print(
                    "\n== Cancelling like the runner: SIGINT now, SIGTERM after 7.5 s, SIGKILL 2.5 s later =="
                )
                run = running.cancel_like_runner()
        _report(run)
        _github_report(sim)
        for rec in sim.runs.values():
            reasons = [r for r in rec.cancel_reasons if r]
            if rec.cancel_requests:
                print(
                    f"[simulator] run {rec.run_id} was cancelled; reason: {reasons[0] if reasons else '(none)'}"
                )
        for env in sim.created_environments:
            names = ", ".join(v.name for v in env.variables) or "none"
            gone = "deleted" if env.deleted_at is not None else "kept"
            print(f"[simulator] temporary environment {env.key} ({gone}); variables set on it: {names}")
    return run.exit_code if run.exit_code >= 0 else 128 - run.exit_code
