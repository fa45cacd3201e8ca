"""Writing the JUnit report (``junit-report``, a normalised relative path) inside the workspace.

Refused with a ``ReportPathError`` before anything is created: a symbolic link out of the workspace or in a
loop, a hard link (a file with other names, maybe outside), a FIFO, device, socket or folder at the path.
Nothing opens an existing file, so nothing can block: the report goes to a new temporary file in the same
folder (missing folders are created), renamed over the path, so a reader sees the old report or the new whole.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ..render import words


class ReportPathError(OSError):
    """The report cannot be written where asked; the message says why, naming no absolute path."""


def workspace(env: Mapping[str, str]) -> Path:
    return Path(env.get("GITHUB_WORKSPACE") or os.getcwd()).resolve()


def write_report(root: Path, relative: str, text: str) -> Path:
    target = _target(root, relative, create=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def remove_stale(root: Path, relative: str) -> bool:
    """Remove an old report at ``relative`` (a regular file of the workspace only); True when one was removed."""
    try:
        _target(root, relative, create=False).unlink()
    except (OSError, ValueError):
        return False
    return True


def _target(root: Path, relative: str, *, create: bool) -> Path:
    """The file ``relative`` names under ``root``, links followed, refused unless a new or plain file."""
    *folders, name = relative.split("/")
    here = root = root.resolve()
    for part in folders:
        here = _inside(root, here / part, relative)
        if not here.exists():
            if not create:
                raise FileNotFoundError(relative)
            here.mkdir()
        elif not here.is_dir():
            raise ReportPathError(words.PATH_NOT_A_FOLDER.format(path=relative, part=part))
    target = _inside(root, here / name, relative)
    try:
        found = target.lstat()
    except FileNotFoundError:
        if not create:
            raise
        return target
    if stat.S_ISLNK(found.st_mode):  # a loop newer Pythons resolve without raising
        raise ReportPathError(words.PATH_LOOP.format(path=relative))
    if stat.S_ISDIR(found.st_mode):
        raise ReportPathError(words.PATH_IS_A_FOLDER.format(path=relative))
    if not stat.S_ISREG(found.st_mode):
        raise ReportPathError(words.PATH_NOT_A_FILE.format(path=relative))
    if found.st_nlink > 1:
        raise ReportPathError(words.PATH_HARD_LINK.format(path=relative))
    return target


def _inside(root: Path, path: Path, relative: str) -> Path:
    """``path`` with its symbolic links followed, refused when they loop or lead out of ``root``."""
    try:
        resolved = path.resolve()
    except (RuntimeError, OSError) as err:  # RuntimeError up to Python 3.12, OSError (ELOOP) after
        raise ReportPathError(words.PATH_LOOP.format(path=relative)) from err
    if not resolved.is_relative_to(root):
        raise ReportPathError(words.PATH_OUTSIDE.format(path=relative))
    return resolved
