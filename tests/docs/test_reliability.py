"""docs/reliability.md names, for every fault, the test that proves what the action does: each named test exists,
in the file it is named with, so a moved or renamed test cannot leave the proof pointing at nothing."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RELIABILITY = ROOT / "docs" / "reliability.md"
_NAMED = re.compile(r"(?:([\w/]*test_\w+\.py)::)?(test_\w+)(?!\.py)\b")


def _defined() -> dict[str, set[str]]:
    """Test file name -> the test functions defined in it (every test file of the suite)."""
    return {
        path.name: set(re.findall(r"^\s*(?:async )?def (test_\w+)", path.read_text(encoding="utf-8"), re.M))
        for path in (ROOT / "tests").rglob("test_*.py")
    }


def _dangling(text: str, defined: dict[str, set[str]]) -> list[str]:
    every = set().union(*defined.values())
    dangling = []
    for match in _NAMED.finditer(text):
        file, name = match.groups()
        if file and Path(file).name not in defined:
            dangling.append(f"{file} (no such test file)")
        elif file and name not in defined[Path(file).name]:
            dangling.append(f"{file}::{name}")
        elif not file and name not in every:
            dangling.append(name)
    return dangling


def test_every_test_the_reliability_doc_names_exists_where_it_says() -> None:
    assert _dangling(RELIABILITY.read_text(encoding="utf-8"), _defined()) == []


def test_a_renamed_or_moved_test_is_caught() -> None:
    defined = {"test_a.py": {"test_one"}, "test_b.py": {"test_two"}}
    text = (
        "`test_a.py::test_one`, `tests/unit/test_b.py::test_two`, test_one, `test_a.py::test_two`, test_gone"
    )
    assert _dangling(text, defined) == ["test_a.py::test_two", "test_gone"]
    assert _dangling("`tests/unit/test_c.py::test_one`", defined) == [
        "tests/unit/test_c.py (no such test file)"
    ]
