"""The action's Docker image, run exactly the way the GitHub runner runs a container action.

A session fixture makes a Docker engine answer (scripts/docker-engine.sh), makes the Dockerfile's base
image available (scripts/base-image.sh: pull, or a local stand-in) and builds the image from the real
Dockerfile. Each test starts the image through ``DockerLauncher`` (``docker run --rm --workdir
/github/workspace -e NAME ... -v <file_commands>:/github/file_commands -v <workflow>:/github/workflow
...``) from the fake runner, against the simulator on 127.0.0.1, and reads outputs and summary back from
the mounted file-command directory, as the runner does.
"""

from __future__ import annotations

import gzip
import json
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from junitparser import JUnitXml

from certyn_simulator import Scenario, Simulator, snapshot
from certyn_simulator.runner import ActionRun, Event, FakeRunner
from certyn_simulator.runner.docker import DockerLauncher
from tests.docker_env import (
    IMAGE,
    ROOT,
    Timings,
    build_image,
    containers_with_label,
    ensure_base_image,
    remove_containers,
    run,
    start_engine,
    stop_engine,
)
from tests.e2e_support import Deployment

# Set-up on a fresh machine (install docker.io, debootstrap a base, build) takes a minute or two;
# every run below has its own, much shorter, deadline.
pytestmark = [pytest.mark.timeout(600)]

RUN_TIMEOUT = 60.0  # seconds for one action run; the simulator's scenarios finish in about 5 s


@pytest.fixture(scope="session")
def action_image() -> Iterator[str]:
    timings = Timings()
    started_engine = start_engine(timings)
    try:
        ensure_base_image(timings)
        build_image(timings)
        print(f"\ncontainer tests set-up: {timings.report()}")
        yield IMAGE
    finally:
        if started_engine:
            stop_engine()


@pytest.fixture
def launcher(action_image: str) -> Iterator[DockerLauncher]:
    """A launcher with its own container label; after the test no container with that label may exist."""
    launcher = DockerLauncher(action_image, label=f"certyn-test-{uuid.uuid4().hex}")
    yield launcher
    left = _wait_removed(launcher.label, within=10.0)
    remove_containers(left)
    assert not left, f"containers left behind after the test: {left}"


def _wait_removed(label: str, within: float) -> list[str]:
    """Containers with ``label`` still present after up to ``within`` s (``--rm`` removal is asynchronous)."""
    deadline = time.monotonic() + within
    while True:
        left = containers_with_label(label)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def _inputs(sim: Simulator, **extra: str) -> dict[str, str]:
    return {
        "api-key": sim.api_key,
        "project-slug": "shop",
        "process-slug": "smoke",
        "api-url": sim.base_url,
        "poll-interval-seconds": "1",
        "max-poll-interval-seconds": "1",
        "timeout-seconds": "120",
        **extra,
    }


def _describe(result: ActionRun) -> str:
    return f"exit {result.exit_code}\n--- log ---\n{result.log[-4000:]}\n--- runner ---\n{result.runner_messages}"


def test_image_is_small_and_runner_ready(action_image: str) -> None:
    config = json.loads(run(["docker", "image", "inspect", action_image], timeout=60).stdout)[0]["Config"]
    assert config["Entrypoint"][0].endswith("python")
    assert config["Entrypoint"][-1] == "/action/entrypoint.py"
    assert not config.get("Cmd")
    assert not config.get("User"), "the runner expects the action to run as root: no USER"
    assert not config.get("WorkingDir"), "the runner passes --workdir: no WORKDIR"
    assert "PYTHONUNBUFFERED=1" in config["Env"]

    probe = """
import importlib.metadata as md, importlib.util, json, os, pathlib, shutil, sys
action = pathlib.Path("/action")
sources = sorted(p.relative_to(action).as_posix() for p in action.rglob("*.py"))
missing_pyc = [p.name for p in (action / "certyn_action").rglob("*.py")
               if not list((p.parent / "__pycache__").glob(p.stem + ".*.pyc"))]
print(json.dumps({
    "top": sorted(p.name for p in action.iterdir() if p.name != "__pycache__"),
    "sources": sources,
    "missing_pyc": missing_pyc,
    "versions": {d: md.version(d) for d in ("requests", "pydantic", "pydantic_core", "urllib3")},
    "compilers": [c for c in ("gcc", "cc", "g++", "make") if shutil.which(c)],
    "pip_cache": os.path.exists("/root/.cache/pip"),
    "requirements_left": os.path.exists("/tmp/requirements.txt"),
    "pydantic_v1": importlib.util.find_spec("pydantic.v1") is not None,
}))
"""
    out = run(
        ["docker", "run", "--rm", "--network", "host", "--entrypoint", "python", action_image, "-c", probe],
        timeout=60,
    ).stdout
    facts = json.loads(out)
    assert facts["top"] == ["certyn_action", "entrypoint.py"]
    assert not [s for s in facts["sources"] if s.startswith(("tests", "certyn_simulator"))]
    assert facts["missing_pyc"] == [], "bytecode must be compiled at build time"
    pins = dict(
        line.split(" ")[0].split("==")
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith(" ")
    )
    assert facts["versions"]["requests"] == pins["requests"]
    assert facts["versions"]["pydantic"] == pins["pydantic"]
    assert facts["versions"]["pydantic_core"] == pins["pydantic-core"]
    assert facts["compilers"] == []
    assert not facts["pip_cache"]
    assert not facts["requirements_left"]
    assert not facts["pydantic_v1"], "pydantic/v1 is never imported: left out of the image"
    # Only the final stage's layers are pulled: no layer of ours ever held requirements.txt.
    created_by = run(
        ["docker", "history", "--no-trunc", "--format", "{{.CreatedBy}}", action_image], timeout=60
    ).stdout
    assert "requirements.txt" not in created_by


def test_image_holds_only_what_the_action_runs(action_image: str) -> None:
    """No shell, no package manager, no pip in the image; pulled in full it is at most 20 MB compressed."""
    probe = """
import json, os
tools = ("/bin/sh", "/bin/bash", "/usr/bin/apt-get", "/usr/bin/dpkg", "/usr/local/bin/pip", "/usr/bin/pip3")
print(json.dumps({"present": [t for t in tools if os.path.lexists(t)], "bin": sorted(os.listdir("/usr/bin"))}))
"""
    out = run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            "host",
            "--entrypoint",
            "/usr/local/bin/python",
            action_image,
            "-c",
            probe,
        ],
        timeout=60,
    ).stdout
    facts = json.loads(out)
    assert facts["present"] == []
    assert all(name.startswith("python") for name in facts["bin"]), facts["bin"]
    with tempfile.TemporaryDirectory(prefix="certyn-save-") as tmp:
        archive = Path(tmp) / "image.tar"
        run(["docker", "save", "-o", str(archive), action_image], timeout=300)
        compressed = len(gzip.compress(archive.read_bytes(), compresslevel=6))
    assert compressed <= 20 * 1024 * 1024, f"docker save | gzip is {compressed / 1e6:.1f} MB"


def test_run_writes_the_junit_file_into_the_workspace(launcher: DockerLauncher) -> None:
    runner = FakeRunner(ROOT, launcher, keep_files=True)
    with Simulator("fail") as sim:
        result = runner.run(_inputs(sim, **{"junit-report": "reports/certyn.xml"}), timeout=RUN_TIMEOUT)

    assert result.exit_code == 1, _describe(result)
    assert result.files is not None
    report = result.files.workspace / "reports" / "certyn.xml"
    try:
        cases = [case for suite in JUnitXml.fromfile(str(report)) for case in suite]
        assert len(cases) == int(result.outputs["total"])
        not_passed = [case.name for case in cases if case.result]
        failed = json.loads(result.outputs["failed-tests"])
        assert len(not_passed) == len(failed)
        assert all(any(case.endswith(name) for case in not_passed) for name in failed), (not_passed, failed)
    finally:
        shutil.rmtree(result.files.root, ignore_errors=True)


def test_passing_run(launcher: DockerLauncher) -> None:
    event = Event.pull_request(number=7, head_ref="feature/cart", head_sha="a" * 40, merge_sha="b" * 40)
    with Simulator("pass") as sim:
        result = FakeRunner(ROOT, launcher).run(_inputs(sim), event=event, timeout=RUN_TIMEOUT)
        runs = sim.runs
        creates = sim.api_requests("create")

    assert result.exit_code == 0, _describe(result)
    assert result.conclusion == "success"
    outputs = result.outputs
    assert list(runs) == [outputs["run-id"]]
    assert outputs["result"] == "passed"
    assert outputs["state"] == "completed"
    assert (outputs["total"], outputs["passed"], outputs["failed"]) == ("5", "5", "0")
    assert runs[outputs["run-id"]].terminal_state == "completed"
    # The PR head commit and branch exist only in the event payload: the action read
    # /github/workflow/event.json through the runner's mount and env rewriting.
    assert len(creates) == 1
    assert creates[0].json["commitSha"] == "a" * 40
    assert creates[0].json["ref"] == "feature/cart"
    assert creates[0].header("X-API-Key") == sim.api_key
    # The summary went to /github/file_commands/step_summary_<uuid>, i.e. the runner's file.
    assert "Certyn tests passed" in result.summary
    assert outputs["run-id"] in result.summary.replace("\\", "")
    # The key is masked before anything else is printed, and never printed otherwise.
    assert [line for line in result.log.splitlines() if sim.api_key in line] == [f"::add-mask::{sim.api_key}"]


def test_failing_gate(launcher: DockerLauncher) -> None:
    with Simulator("fail") as sim:
        result = FakeRunner(ROOT, launcher).run(_inputs(sim), timeout=RUN_TIMEOUT)
        runs = sim.runs

    assert result.exit_code == 1, _describe(result)
    outputs = result.outputs
    assert outputs["result"] == "failed"
    assert (outputs["total"], outputs["passed"], outputs["failed"]) == ("5", "2", "2")
    assert list(runs) == [outputs["run-id"]]
    errors = result.commands_named("error")
    assert errors, _describe(result)
    assert "failed" in result.summary.lower()


def test_bad_input_fails_before_any_request(launcher: DockerLauncher) -> None:
    with Simulator("pass") as sim:
        result = FakeRunner(ROOT, launcher).run(
            _inputs(sim, **{"poll-interval-seconds": "soon"}), timeout=RUN_TIMEOUT
        )
        requests = sim.requests

    assert result.exit_code == 1, _describe(result)
    assert requests == [], "an invalid input must stop the action before it calls the API"
    titles = [c.properties.get("title", "") for c in result.commands_named("error")]
    assert any("poll-interval-seconds" in title for title in titles), _describe(result)
    assert result.outputs["result"] == "error"


def test_cancel_like_the_runner(launcher: DockerLauncher) -> None:
    """Workflow cancel: SIGINT to the ``docker run`` client, SIGTERM 7.5 s later, SIGKILL 2.5 s after."""
    with Simulator("never") as sim:
        running = FakeRunner(ROOT, launcher).start(_inputs(sim))
        with running:
            # "While the action polls": its second status request has reached the simulator.
            first = sim.wait_for(lambda r: r.endpoint == "status", timeout=30.0)
            second = sim.wait_for(lambda r: r.endpoint == "status", timeout=10.0, since=first.seq + 1)
            result = running.cancel_like_runner()
        run_record = sim.run(second.run_id)

    assert result.cancel is not None
    assert result.cancel.sigterm_at is None, "the container must exit on SIGINT, before the runner's SIGTERM"
    assert result.cancel.exit_after < 7.0, _describe(result)
    print(f"\ncancel: container exited {result.cancel.exit_after:.2f}s after SIGINT")
    assert run_record.cancel_requests, "the Certyn run must be cancelled at the API"
    assert run_record.cancelled_at is not None
    assert result.exit_code == 1, _describe(result)
    assert result.outputs["result"] == "cancelled"
    assert result.outputs["run-id"] == second.run_id
    assert _running(launcher.label) == [], "the container outlived the docker client"


def test_sigterm_reaches_python_as_pid_1(launcher: DockerLauncher) -> None:
    """SIGTERM alone (the runner's second signal; also what ``docker stop`` sends) must not be dropped:
    a PID 1 without a SIGTERM handler would ignore it and keep the run going."""
    with Simulator("never") as sim:
        running = FakeRunner(ROOT, launcher).start(_inputs(sim))
        with running:
            first = sim.wait_for(lambda r: r.endpoint == "status", timeout=30.0)
            sent_at = time.monotonic()
            running.send_signal(signal.SIGTERM)
            result = running.wait(timeout=7.0)
        run_record = sim.run(first.run_id)

    assert not result.timed_out, "the container ignored SIGTERM"
    assert result.ended_at - sent_at < 7.0
    print(f"\nSIGTERM: container exited {result.ended_at - sent_at:.2f}s after SIGTERM")
    assert run_record.cancel_requests, "the Certyn run must be cancelled at the API"
    assert result.outputs["result"] == "cancelled"


def test_base_url_run_uses_and_deletes_a_temporary_environment(launcher: DockerLauncher) -> None:
    """``base-url`` in the image: the deployment check (its own session, from inside the container), the
    temporary environment created before the run and deleted after it, the key never at the deployment."""
    passing = Scenario(snapshots=[snapshot("completed", total=2, passed=2)], projects=["shop"])
    with Deployment() as deployment, Simulator(passing) as sim:
        result = FakeRunner(ROOT, launcher).run(
            _inputs(sim, **{"base-url": deployment.url}), timeout=RUN_TIMEOUT
        )
        created, deleted = sim.created_environments, sim.deleted_environments
        creates = sim.api_requests("create")
        checks = deployment.seen()

    assert result.exit_code == 0, _describe(result)
    assert result.outputs["result"] == "passed"
    assert len(created) == 1, _describe(result)
    assert created[0].base_url == deployment.url
    assert [e.environment_id for e in deleted] == [created[0].environment_id], _describe(result)
    assert creates[0].json["environmentKey"] == created[0].key
    assert result.outputs["environment-key"] == created[0].key
    assert checks, "the deployment was never checked"
    for check in checks:
        assert "x-api-key" not in {name.lower() for name in check.headers}
        assert all(sim.api_key not in value for value in check.headers.values())


def _running(label: str) -> list[str]:
    return run(["docker", "ps", "-q", "--filter", f"label={label}"], timeout=60).stdout.split()
