"""The parsers that only the per-test results and AI instruction inputs need (``inputs.py`` reads them;
``test-results`` and ``conversation-timeout-seconds`` use its generic parsers). Pure.

Like the parsers of ``inputs.py``, each takes the input's text (stripped, not empty) and returns the value or
raises ``ValueError`` whose message tells the fix; the input's name is added by the reader.
"""

from __future__ import annotations

MAX_INSTRUCTION = 10_000
MAX_CONVERSATION_TIMEOUT_SECONDS = 3600
MAX_REPORT_PATH = 4096
_EXAMPLE = "e.g. `junit-report: reports/certyn.xml`"


def parse_junit_report(value: str) -> str:
    """The report's path relative to the workspace, normalised (``./a//b/../c.xml`` → ``a/c.xml``).

    An absolute path, ``..`` leaving the workspace, a NUL or a path without a file name is an error.
    Symbolic links are the writer's concern (``github/reports.py``): this parser sees no file system."""
    if "\x00" in value:
        raise ValueError(f"must not contain a NUL character: use a plain relative path, {_EXAMPLE}")
    if len(value) > MAX_REPORT_PATH:
        raise ValueError(
            f"is longer than {MAX_REPORT_PATH} characters: use a short relative path, {_EXAMPLE}"
        )
    if value.startswith("/"):
        raise ValueError(
            f"must be relative to the workspace, not an absolute path: drop the leading `/`, {_EXAMPLE}"
        )
    parts: list[str] = []
    for part in value.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise ValueError(
                    f"must stay inside the workspace, but the path leaves it through `..`: "
                    f"use a path below the workspace, {_EXAMPLE}"
                )
            parts.pop()
            continue
        parts.append(part)
    last = value.rsplit("/", 1)[-1]
    if not parts or last in ("", ".", ".."):
        raise ValueError(f"must name a file, not a folder: add a file name, {_EXAMPLE}")
    return "/".join(parts)


def parse_instruction(value: str) -> str:
    """The instruction for Certyn's AI, at most ``MAX_INSTRUCTION`` characters."""
    if len(value) > MAX_INSTRUCTION:
        raise ValueError(
            f"is {len(value):,} characters long; Certyn's AI takes at most {MAX_INSTRUCTION:,}: shorten it"
        )
    return value
