"""The README as a user reads it: every input and output of action.yml documented, every local link and picture
there, the result values explained."""

from __future__ import annotations

import re
from pathlib import Path

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
        line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith("| `http-max-attempts`")
    )
    for text in (described, row):
        assert [name for name in sorted(operations) if name not in text] == [], text
        assert "timeout-seconds" in text  # what bounds the status polls instead
