"""Writing the JUnit report (``junit-report``) inside the workspace.

The input is a normalised relative path (``core/result_inputs.py``); what it cannot see is the file system:
a folder or file on the way that is a symbolic link leading out of the workspace is refused here, before
anything is created through it. Missing folders are created; an existing file is replaced.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


class ReportPathError(OSError):
    """The report cannot be written where asked; the message says why, naming no absolute path."""


def workspace(env: Mapping[str, str]) -> Path:
    """The job's workspace (``GITHUB_WORKSPACE``; the working directory when unset)."""
    return Path(env.get("GITHUB_WORKSPACE") or os.getcwd()).resolve()


def write_report(root: Path, relative: str, text: str) -> Path:
    """Write ``text`` (UTF-8) at ``relative`` under ``root``; returns the path written."""
    root = root.resolve()
    *folders, name = relative.split("/")
    here = root
    for part in folders:
        here = _inside(root, here / part, relative)
        if not here.exists():
            here.mkdir()
        elif not here.is_dir():
            raise ReportPathError(f"`{relative}`: `{part}` is a file, not a folder")
    target = here / name
    if target.is_symlink():
        target = _inside(root, target, relative)
    if target.is_dir():
        raise ReportPathError(f"`{relative}` is a folder")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(target, flags, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return target


def _inside(root: Path, path: Path, relative: str) -> Path:
    """``path`` with its symbolic links followed, refused when it leads out of ``root``."""
    resolved = path.resolve()
    if resolved != root and not resolved.is_relative_to(root):
        raise ReportPathError(
            f"`{relative}` leads out of the workspace through a symbolic link: choose a path inside it"
        )
    return resolved
