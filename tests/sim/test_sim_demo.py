"""The demo: simulator + fake runner + an action, with the log streamed and outputs/summary printed."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from certyn_simulator.demo import run_demo

REPO_ROOT = Path(__file__).resolve().parents[2]

# A minimal stand-in for the action: create, poll, write outputs and summary, gate on failed.
STUB_ENTRYPOINT = textwrap.dedent(
    """
    import json, os, sys, time, urllib.request
    base, key = os.environ["INPUT_API-URL"], os.environ["INPUT_API-KEY"]
    def call(method, path, body=None):
        req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"X-API-Key": key, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.load(resp)
    run = call("POST", "/api/ci/runs", {"projectSlug": os.environ["INPUT_PROJECT-SLUG"],
                                        "processSlug": os.environ["INPUT_PROCESS-SLUG"]})
    print("created " + run["runId"])
    while True:
        status = call("GET", "/api/ci/runs/" + run["runId"])
        print("state " + status["state"])
        if status["state"] in ("completed", "cancelled"):
            break
        time.sleep(0.05)
    with open(os.environ["GITHUB_OUTPUT"], "a") as f:
        f.write("run-id=" + run["runId"] + "\\nfailed=" + str(status["failed"]) + "\\n")
    with open(os.environ["GITHUB_STEP_SUMMARY"], "a") as f:
        f.write("## Stub summary\\n")
    sys.exit(1 if status["failed"] else 0)
    """
)


@pytest.fixture
def stub_action() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "action.yml").write_text(
            (REPO_ROOT / "action.yml").read_text(encoding="utf-8"), encoding="utf-8"
        )
        (root / "entrypoint.py").write_text(STUB_ENTRYPOINT, encoding="utf-8")
        yield root


def test_demo_streams_the_log_and_prints_outputs_and_summary(
    stub_action: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_demo(scenario="pass", action_dir=stub_action)
    out = capsys.readouterr().out
    assert code == 0
    assert "  | created " in out
    assert "  | state completed" in out
    assert "== Outputs" in out
    assert "failed" in out
    assert "## Stub summary" in out
    assert "Step succeeded" in out


def test_demo_exit_code_follows_the_action(stub_action: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo(scenario="fail", action_dir=stub_action) == 1
    assert "Step failed" in capsys.readouterr().out


def test_demo_refuses_a_directory_without_an_action(capsys: pytest.CaptureFixture[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        assert run_demo(action_dir=tmp) == 2
    assert "entrypoint.py" in capsys.readouterr().err


def test_demo_refuses_an_unknown_scenario(stub_action: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo(scenario="nope", action_dir=stub_action) == 2
    assert "nope" in capsys.readouterr().err


@pytest.mark.e2e
def test_demo_with_the_real_action_gates_a_failing_run() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "certyn_simulator", "demo", "--scenario", "fail"],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=REPO_ROOT,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "result" in proc.stdout
    assert "'failed'" in proc.stdout
    assert "== Job summary (the Markdown source" in proc.stdout
    # per-test rows (failing first, with findings), their annotations, and the AI's answer
    assert "| ❌ failed | 1 | Checkout with a saved card |" in proc.stdout
    assert "::error title=Sign in with SSO — blocked::Sign in with SSO — Blocked:" in proc.stdout
    assert "failed-tests" in proc.stdout
    assert "::group::Certyn's AI answer (it can be wrong)" in proc.stdout
    assert "conversation-state    = 'idle'" in proc.stdout
    assert "### Certyn AI" in proc.stdout


@pytest.mark.e2e
def test_demo_preview_sets_the_test_login_as_variables_and_never_shows_the_password() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "certyn_simulator", "demo", "--preview"],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=REPO_ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Set 2 variables on the temporary Certyn environment" in proc.stdout
    assert "variables set on it: TEST_USER_EMAIL, TEST_USER_PASSWORD" in proc.stdout
    assert "| **Variables** |" in proc.stdout
    assert "demo-Passw0rd-never-shown" not in proc.stdout + proc.stderr  # masked like the runner masks it
