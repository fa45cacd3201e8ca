"""Parsers of the inputs for per-test results and the AI instruction. Pure.

Each takes the input's text (already stripped; empty means "not set" and never reaches a parser) and
returns the value or raises ``ValueError`` whose message tells the fix, like the parsers of
``inputs.py``.
"""

from __future__ import annotations

import math

MAX_INSTRUCTION = 10_000
MAX_CONVERSATION_TIMEOUT_SECONDS = 3600
MAX_REPORT_PATH = 4096
_EXAMPLE = "e.g. `junit-report: reports/certyn.xml`"


def _show(value: str) -> str:
    shown = value if len(value) <= 40 else value[:39] + "…"
    return "`" + "".join(ch if ch.isprintable() else "?" for ch in shown).replace("`", "'") + "`"


def parse_junit_report(value: str) -> str:
    """The report's path relative to the workspace, normalised (``./a//b/../c.xml`` → ``a/c.xml``).

    An absolute path, ``..`` leaving the workspace, a NUL or a path without a file name is an error.
    Symbolic links are the writer's concern: this parser sees no file system."""
    if "\x00" in value:
        raise ValueError(
            f"`junit-report` must not contain a NUL character: use a plain relative path, {_EXAMPLE}"
        )
    if len(value) > MAX_REPORT_PATH:
        raise ValueError(
            f"`junit-report` is longer than {MAX_REPORT_PATH} characters: use a short relative path, {_EXAMPLE}"
        )
    if value.startswith("/"):
        raise ValueError(
            f"`junit-report` must be relative to the workspace, got the absolute path {_show(value)}: "
            f"drop the leading `/`, {_EXAMPLE}"
        )
    parts: list[str] = []
    for part in value.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise ValueError(
                    f"`junit-report` must stay inside the workspace, but {_show(value)} leaves it through `..`: "
                    f"use a path below the workspace, {_EXAMPLE}"
                )
            parts.pop()
            continue
        parts.append(part)
    last = value.rsplit("/", 1)[-1]
    if not parts or last in ("", ".", ".."):
        raise ValueError(f"`junit-report` must name a file, got {_show(value)}: add a file name, {_EXAMPLE}")
    return "/".join(parts)


def parse_instruction(value: str) -> str:
    """The instruction for Certyn's AI, at most ``MAX_INSTRUCTION`` characters."""
    if len(value) > MAX_INSTRUCTION:
        raise ValueError(
            f"`instruction` is {len(value):,} characters long; Certyn's AI takes at most "
            f"{MAX_INSTRUCTION:,}: shorten it"
        )
    return value


def parse_conversation_timeout(value: str) -> float:
    """Seconds to wait for the AI's answer after the run ends: 0 (do not wait) to 3600."""
    try:
        number = float(value)
    except ValueError:
        raise ValueError(
            f"`conversation-timeout-seconds` must be a number of seconds, got {_show(value)}: "
            f"use 0 to {MAX_CONVERSATION_TIMEOUT_SECONDS}, e.g. 120"
        ) from None
    if not math.isfinite(number) or not 0 <= number <= MAX_CONVERSATION_TIMEOUT_SECONDS:
        raise ValueError(
            f"`conversation-timeout-seconds` must be between 0 and {MAX_CONVERSATION_TIMEOUT_SECONDS} "
            f"seconds, got {_show(value)} (0 = do not wait for the answer)"
        )
    return number


def parse_test_results(value: str) -> bool:
    """The `test-results` switch: ``true`` or ``false`` (any case)."""
    lowered = value.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise ValueError(f"`test-results` must be `true` or `false`, got {_show(value)}")
