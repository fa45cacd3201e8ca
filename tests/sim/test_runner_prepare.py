"""The stand-in runner's two halves that the bench reuses: ``FakeRunner.prepare`` (files, env, argv; nothing
started) and ``start_process`` (own process group, stdin closed)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from certyn_simulator.runner import Event, FakeRunner, PythonLauncher
from certyn_simulator.runner.process import start_process

REPO_ROOT = Path(__file__).resolve().parents[2]
INPUTS = {"api-key": "k", "project-slug": "p", "process-slug": "s", "api-url": "http://127.0.0.1:1"}


def test_prepare_writes_the_runner_files_and_starts_nothing(tmp_path: Path) -> None:
    runner = FakeRunner(REPO_ROOT, PythonLauncher(REPO_ROOT), temp_root=tmp_path)
    step = runner.prepare(INPUTS, event=Event.pull_request(number=7))
    try:
        assert step.root.parent == tmp_path
        assert json.loads(step.files.event_file.read_text(encoding="utf-8"))["number"] == 7
        assert step.files.output_file.read_bytes() == b""
        assert step.env["INPUT_PROJECT-SLUG"] == "p"
        assert step.env["GITHUB_EVENT_NAME"] == "pull_request"
        assert step.argv[-1].endswith("entrypoint.py")
        assert step.proc_env["INPUT_API-KEY"] == "k"
        assert step.messages == []
    finally:
        step.remove()
    assert not step.root.exists()


def test_prepare_reports_unexpected_inputs_like_the_runner(tmp_path: Path) -> None:
    step = FakeRunner(REPO_ROOT, temp_root=tmp_path).prepare({**INPUTS, "no-such-input": "x"})
    step.remove()
    assert any("no-such-input" in message for message in step.messages)


def test_start_process_gives_the_action_its_own_process_group_and_no_stdin(tmp_path: Path) -> None:
    code = "import os, sys; print(os.getpgid(0) == os.getpid(), sys.stdin.read() == '', os.getcwd())"
    proc = start_process([sys.executable, "-c", code], {"PATH": os.defpath}, tmp_path)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert out.decode().split() == ["True", "True", str(tmp_path)]
