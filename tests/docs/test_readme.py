"""The README as a user reads it: every input and output of action.yml documented, every local link and picture
there, the result values explained."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML (a dependency of responses), no stubs pinned

from certyn_simulator.runner.actionyml import load_action_inputs
from tests.rendered import read

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
USER_DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]


def _action_outputs() -> list[str]:
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    block = text.split("\noutputs:\n", 1)[1].split("\nruns:\n", 1)[0]
    return re.findall(r"^  ([a-z-]+):", block, flags=re.MULTILINE)


def _table_names(section: str) -> set[str]:
    """The backticked names in the first column of the README section's first table."""
    text = README.read_text(encoding="utf-8").split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([a-z-]+)`", line.split(" | ", 1)[0]))
    return names


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as dashes."""
    headings = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def test_every_input_is_documented() -> None:
    inputs = set(load_action_inputs(ROOT))
    assert inputs
    assert inputs <= _table_names("Inputs"), inputs - _table_names("Inputs")


def test_every_output_is_documented() -> None:
    outputs = set(_action_outputs())
    assert "result" in outputs
    assert outputs <= _table_names("Outputs"), outputs - _table_names("Outputs")


def test_every_result_value_is_explained() -> None:
    text = README.read_text(encoding="utf-8")
    for value in ("passed", "failed", "timed-out", "cancelled", "error", "created"):
        assert f"`{value}` (" in text, value
    assert "`cancelled` (the GitHub job was cancelled" in text
    assert "cancelled in Certyn" in text


def test_the_fresh_machine_commands_and_the_runner_requirement_are_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    assert "make demo" in text
    assert "make test" in text
    assert "Linux runners only" in text
    assert "timeout-minutes" in text.split("## Examples", 1)[0]  # in the quick start


def test_local_links_and_pictures_resolve() -> None:
    for doc in USER_DOCS:
        markdown = doc.read_text(encoding="utf-8")
        targets = [href for href, _ in read(markdown).links]
        targets += re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", markdown)
        for href in targets:
            if href.startswith(("https://", "http://")):
                continue
            path, _, fragment = href.partition("#")
            target = (doc.parent / path).resolve() if path else doc
            assert target.is_file(), f"{doc.name}: {href}"
            if fragment and target.suffix == ".md":
                assert fragment in _anchors(target), f"{doc.name}: {href}"


def test_the_readme_picture_is_a_png() -> None:
    picture = ROOT / "docs" / "images" / "summary-failed.png"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "](docs/images/summary-failed.png)" in README.read_text(encoding="utf-8")


def _retried_operations() -> set[str]:
    """The requests the client retries with a policy, by the name their retry log line gives them."""
    names = {"create"}  # the run's create: CertynClient.create passes its name to _retrying directly
    for path in (ROOT / "certyn_action").rglob("*.py"):
        names.update(re.findall(r'\boperation="([^"]+)"', path.read_text(encoding="utf-8")))
    return names


def test_http_max_attempts_names_every_request_it_bounds() -> None:
    # It bounds every request retried with a policy (core/retry.py via CertynClient.call), not only the
    # create and the cancel: say so where users read it (action.yml and the README's inputs table).
    operations = _retried_operations()
    assert {"create", "cancel", "environment create", "projects overview"} <= operations
    described = load_action_inputs(ROOT)["http-max-attempts"].description
    row = next(
        line
        for line in README.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `http-max-attempts`")
    )
    for text in (described, row):
        assert [name for name in sorted(operations) if name not in text] == [], text
        assert "timeout-seconds" in text  # what bounds the status polls instead


# -- the YAML examples: each one parses and passes actionlint, as a user would paste it ---------------

_YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```", flags=re.MULTILINE | re.DOTALL)
_THIS_ACTION = re.compile(r"\buses: certyn/run-action@\S+")
_RUNS_ON = "    runs-on: ubuntu-latest\n"


def _yaml_examples() -> list[tuple[str, str]]:
    """Every ```yaml block of the user docs, with where it is (``README.md:23``)."""
    found = []
    for doc in USER_DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in _YAML_BLOCK.finditer(text):
            found.append((f"{doc.name}:{text.count(chr(10), 0, match.start()) + 1}", match.group(1)))
    return found


def _indented(text: str, spaces: int) -> str:
    return textwrap.indent(text, " " * spaces)


def _as_workflow(example: str) -> str:
    """The example as a whole workflow: a workflow stays as it is (given an ``on:`` when it has none), a job
    gets a name (and ``runs-on`` when it has none), steps get a job. Raises ``yaml.YAMLError`` when the
    example itself is not YAML."""
    data = yaml.safe_load(example)
    head = "on: push\njobs:\n  example:\n"
    if isinstance(data, list):
        return head + _RUNS_ON + "    steps:\n" + _indented(example, 6)
    assert isinstance(data, dict), f"neither a workflow, a job nor steps: {example!r}"
    if "jobs" in data:
        # PyYAML reads the key `on` as YAML 1.1's true
        return example if "on" in data or True in data else "on: push\n" + example
    if "steps" in data:
        return head + ("" if "runs-on" in data else _RUNS_ON) + _indented(example, 4)
    assert "uses" in data or "run" in data, f"neither a workflow, a job nor a step: {example!r}"
    return head + _RUNS_ON + "    steps:\n      - " + _indented(example, 8).lstrip()


def _actionlint() -> str:
    """actionlint from the project's virtualenv (scripts/lint.sh installs it) or PATH. Missing: a skip on a
    developer's machine, a failure in CI."""
    beside = Path(sys.executable).parent / "actionlint"
    found = str(beside) if beside.is_file() else shutil.which("actionlint")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("actionlint is not installed: run `bash scripts/lint.sh` (requirements-lint.txt)")
    pytest.skip("actionlint is not installed: run `bash scripts/lint.sh` to install it")


EXAMPLES = _yaml_examples()


def test_the_user_docs_have_yaml_examples() -> None:
    assert len([where for where, _ in EXAMPLES if where.startswith("README.md:")]) >= 5


def _problems(example: str, folder: Path) -> str:
    """What is wrong with the example as a workflow ("" when nothing): its YAML, or actionlint's findings
    (shellcheck's on the scripts too when it is installed, as in scripts/lint.sh). The action's own `uses:`
    becomes `./` beside a copy of action.yml, so every `with:` key is checked against the real inputs (and
    the required ones must be given)."""
    try:
        workflow = _THIS_ACTION.sub("uses: ./", _as_workflow(example))
    except yaml.YAMLError as err:
        return f"not valid YAML: {err}"
    (folder / ".git").mkdir()  # actionlint reads local actions from the repository's root
    for name in ("action.yml", "Dockerfile"):
        shutil.copy(ROOT / name, folder / name)
    workflows = folder / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "example.yml").write_text(workflow, encoding="utf-8")
    linted = subprocess.run(
        [_actionlint(), "-no-color", ".github/workflows/example.yml"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return "" if linted.returncode == 0 else f"actionlint:\n{linted.stdout}{linted.stderr}\n---\n{workflow}"


@pytest.mark.parametrize(("where", "example"), EXAMPLES, ids=[where for where, _ in EXAMPLES])
def test_every_yaml_example_parses_and_passes_actionlint(where: str, example: str, tmp_path: Path) -> None:
    problems = _problems(example, tmp_path)
    assert not problems, f"{where}: {problems}"


@pytest.mark.parametrize(
    ("example", "said"),
    [
        ('- run: echo "Certyn said ${RESULT}: done"\n', "not valid YAML"),  # ": " in a plain scalar
        (
            "- uses: certyn/run-action@v1\n  with:\n    api-key: k\n    project-slugg: my-app\n",
            "project-slugg",
        ),
        ("steps:\n  - run: echo ${{ steps.nowhere.outputs.x }}\n", "nowhere"),
    ],
    ids=["yaml", "unknown-input", "unknown-step"],
)
def test_a_broken_example_is_caught(example: str, said: str, tmp_path: Path) -> None:
    assert said in _problems(example, tmp_path)
