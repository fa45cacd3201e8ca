"""Shared fixtures, and markers that follow the folders.

Every test module lives in one of the folders below, and its folder gives its marker: ``-m "not container
and not act"`` (the Makefile's test-fast, the brief's check) selects by folder. A test module in any other
place is a collection error, so a new folder can never slip past the markers or collect nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from certyn_simulator import Simulator

# In CI the property tests run the same examples every time (a red build names a change, not a dice roll);
# on a developer's machine they keep exploring, and what they find is replayed from .hypothesis/.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

TESTS = Path(__file__).resolve().parent
# folder -> marker (None: unmarked). Unit tests mirror certyn_action/ (api/, render/, runner/, settings).
FOLDERS: dict[str, str | None] = {
    "unit": "unit",
    "docs": "docs",
    "sim": "sim",
    "e2e": "e2e",
    "container": "container",
    "act": "act",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        folder = item.path.resolve().relative_to(TESTS).parts[0]
        if folder not in FOLDERS:
            raise pytest.UsageError(
                f"{item.path}: a test module belongs in one of tests/{{{','.join(FOLDERS)}}}/"
            )
        marker = FOLDERS[folder]
        if marker is not None:
            item.add_marker(marker)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A simulator whose runs pass."""
    with Simulator("pass") as simulator:
        yield simulator
