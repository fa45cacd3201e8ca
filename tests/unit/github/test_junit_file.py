"""github/junit_file.py: the JUnit report is written inside the workspace, never through a link out of it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from certyn_action.github.junit_file import ReportPathError, workspace, write_report


def test_folders_are_created_and_an_existing_file_replaced(tmp_path: Path) -> None:
    written = write_report(tmp_path, "a/b/r.xml", "one")
    assert written == (tmp_path / "a" / "b" / "r.xml").resolve()
    write_report(tmp_path, "a/b/r.xml", "two")
    assert (tmp_path / "a" / "b" / "r.xml").read_text(encoding="utf-8") == "two"


def test_a_link_inside_the_workspace_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real", target_is_directory=True)
    write_report(tmp_path, "alias/r.xml", "x")
    assert (tmp_path / "real" / "r.xml").read_text(encoding="utf-8") == "x"


@pytest.mark.parametrize("relative", ["out/r.xml", "out/deeper/r.xml"])
def test_a_folder_linked_out_of_the_workspace_is_refused_and_nothing_is_created_there(
    tmp_path: Path, relative: str
) -> None:
    root, outside = tmp_path / "ws", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "out").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ReportPathError, match="leads out of the workspace through a symbolic link") as caught:
        write_report(root, relative, "x")
    assert list(outside.iterdir()) == []
    assert str(tmp_path) not in str(caught.value)


def test_a_file_linked_out_of_the_workspace_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep", encoding="utf-8")
    (root / "r.xml").symlink_to(victim)
    with pytest.raises(ReportPathError):
        write_report(root, "r.xml", "x")
    assert victim.read_text(encoding="utf-8") == "keep"


def test_a_file_in_the_way_of_a_folder_is_said(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("", encoding="utf-8")
    with pytest.raises(ReportPathError, match="is a file, not a folder"):
        write_report(tmp_path, "a/r.xml", "x")


def test_the_workspace_is_github_workspace_else_the_working_directory(tmp_path: Path) -> None:
    assert workspace({"GITHUB_WORKSPACE": str(tmp_path)}) == tmp_path.resolve()
    assert workspace({}) == Path(os.getcwd()).resolve()
