"""runner/junit_file.py: the JUnit report is written inside the workspace, never through a link out of it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from certyn_action.runner.junit_file import ReportPathError, remove_stale, workspace, write_report


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


def _loop_at_the_file(root: Path) -> None:
    (root / "reports").mkdir()
    (root / "reports" / "certyn.xml").symlink_to("certyn.xml")


def _loop_at_the_folder(root: Path) -> None:
    (root / "reports").symlink_to("reports")


def _two_link_cycle(root: Path) -> None:
    (root / "reports").mkdir()
    (root / "reports" / "certyn.xml").symlink_to("other.xml")
    (root / "reports" / "other.xml").symlink_to("certyn.xml")


def _fifo(root: Path) -> None:
    (root / "reports").mkdir()
    os.mkfifo(root / "reports" / "certyn.xml")


def _folder(root: Path) -> None:
    (root / "reports" / "certyn.xml").mkdir(parents=True)


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (_loop_at_the_file, "symbolic link loop"),
        (_loop_at_the_folder, "symbolic link loop"),
        (_two_link_cycle, "symbolic link loop"),
        (_fifo, "not a regular file"),
        (_folder, "is a folder"),
    ],
)
def test_a_path_that_cannot_hold_a_report_is_refused_without_waiting(
    tmp_path: Path, make: Callable[[Path], None], says: str
) -> None:
    make(tmp_path)
    with pytest.raises(ReportPathError, match=says) as caught:
        write_report(tmp_path, "reports/certyn.xml", "x")
    assert str(tmp_path) not in str(caught.value)


def test_a_device_is_refused(tmp_path: Path) -> None:
    (tmp_path / "null").symlink_to(os.devnull)  # a link out of the workspace: refused for that already
    with pytest.raises(ReportPathError):
        write_report(tmp_path, "null", "x")
    with pytest.raises(ReportPathError, match="not a regular file"):
        write_report(Path(os.devnull).parent, Path(os.devnull).name, "x")


def test_a_hard_link_to_a_file_out_of_the_workspace_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep", encoding="utf-8")
    os.link(victim, root / "r.xml")
    with pytest.raises(ReportPathError, match="hard link"):
        write_report(root, "r.xml", "x")
    assert victim.read_text(encoding="utf-8") == "keep"


def test_the_report_is_renamed_into_place_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    (tmp_path / "r.xml").write_text("old", encoding="utf-8")
    before = (tmp_path / "r.xml").stat().st_ino
    write_report(tmp_path, "r.xml", "new")
    assert (tmp_path / "r.xml").read_text(encoding="utf-8") == "new"
    assert (tmp_path / "r.xml").stat().st_ino != before  # a new file took the old one's name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xml"]


def test_a_stale_report_is_removed_only_when_it_is_a_plain_file_of_the_workspace(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "reports").mkdir(parents=True)
    (root / "reports" / "old.xml").write_text("old", encoding="utf-8")
    assert remove_stale(root, "reports/old.xml")
    assert not (root / "reports" / "old.xml").exists()
    assert not remove_stale(root, "reports/old.xml")  # nothing there
    assert not remove_stale(root, "missing/old.xml")
    assert not (root / "missing").exists()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep", encoding="utf-8")
    (root / "linked.xml").symlink_to(victim)
    os.link(victim, root / "hard.xml")
    os.mkfifo(root / "fifo.xml")
    for kept in ("linked.xml", "hard.xml", "fifo.xml"):
        assert not remove_stale(root, kept)
        assert (root / kept).exists() or (root / kept).is_symlink()
    assert victim.read_text(encoding="utf-8") == "keep"
