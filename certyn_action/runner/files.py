"""The runner's files: GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and the event payload."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..render import words
from ..render.escape import encodable

SUMMARY_LIMIT_BYTES = 1024 * 1024  # the runner drops a larger step summary
OUTPUT_LIMIT_BYTES = 1024 * 1024  # what any one output may hold (the runner allows about that for a job's)


def heredoc(name: str, value: str) -> str:
    """One output in the runner's ``name<<DELIM`` form, with a delimiter the value cannot contain: the runner
    reads lines until one equals the delimiter, so any value round-trips exactly."""
    if not name or "<<" in name or "=" in name or "\n" in name or "\r" in name:
        raise ValueError(f"invalid output name {name!r}")
    delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    while delimiter in value:  # astronomically unlikely; never write a value that ends the heredoc early
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8", errors="replace", newline="") as fh:
        fh.write(text)


class OutputFile:
    """Appends step outputs to GITHUB_OUTPUT as soon as they are known, each once, scrubbed as the file holds
    it (UTF-8) and held to ``OUTPUT_LIMIT_BYTES``; ``warn`` is told once per output cut."""

    def __init__(
        self,
        path: str | None,
        scrub: Callable[[str], str] = str,
        warn: Callable[[str], None] = lambda message: None,
    ) -> None:
        self._path = Path(path) if path else None
        self._scrub, self._warn = scrub, warn
        self._written: dict[str, str] = {}
        self._cut_said: set[str] = set()

    def write(self, values: Mapping[str, str]) -> None:
        values = {name: self._capped(name, self._scrub(encodable(value))) for name, value in values.items()}
        changed = {k: v for k, v in values.items() if self._written.get(k) != v}
        if changed and self._path is not None:
            _append(self._path, "".join(heredoc(name, value) for name, value in changed.items()))
            self._written.update(changed)

    def _capped(self, name: str, value: str) -> str:
        capped, how = cap_output(value, OUTPUT_LIMIT_BYTES)
        if not how:
            return value
        if name not in self._cut_said:
            self._cut_said.add(name)
            self._warn(words.OUTPUT_CUT_NOTE.format(name=name, how=how))
        return self._scrub(capped)  # a cut may not join what the scrubber saw apart, but scrub again anyway


def cap_output(value: str, limit: int) -> tuple[str, str]:
    """``value`` within ``limit`` UTF-8 bytes and how it was cut ("" when whole): a JSON array keeps its first
    items whole (still valid JSON), any other text its first whole lines (or characters, when the first line
    alone is too long)."""
    data = value.encode("utf-8", "replace")
    if len(data) <= limit:
        return value, ""
    try:
        items = json.loads(value) if value.startswith("[") else None
    except (ValueError, RecursionError):
        items = None
    if isinstance(items, list):
        size, kept = 2, 0  # "[]"
        for item in items:
            size += len(json.dumps(item, ensure_ascii=False).encode("utf-8", "replace")) + 2  # ", "
            if size > limit:
                break
            kept += 1
        return json.dumps(items[:kept], ensure_ascii=False), words.CUT_TO_ITEMS.format(
            kept=kept, total=len(items)
        )
    head = data[:limit].decode("utf-8", errors="ignore")
    cut = head.rfind("\n")
    if cut > 0:
        lines = head.count("\n", 0, cut) + 1
        return head[:cut], words.CUT_TO_LINES.format(kept=lines)
    return head, words.CUT_TO_CHARACTERS.format(kept=len(head))


def write_summary(path: str | None, markdown: str, scrub: Callable[[str], str] = str) -> None:
    """Appends to the job summary; Markdown over the runner's 1 MiB limit is cut, never dropped. ``scrub`` (the
    log's ``redact``) runs on the Markdown as written (escaped, UTF-8), before the cut."""
    if path:
        _append(Path(path), cap_bytes(scrub(encodable(markdown)), SUMMARY_LIMIT_BYTES - 1024))


def cap_bytes(text: str, limit: int) -> str:
    """``text`` cut so that its UTF-8 encoding fits in ``limit`` bytes, with a note when cut."""
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text
    note = words.SUMMARY_CUT_NOTE
    return data[: limit - len(note.encode("utf-8"))].decode("utf-8", errors="ignore") + note


class EventPayloadError(ValueError):
    """The event payload exists but cannot be used; the step goes on without it."""


def read_event_payload(path: str | None) -> dict[str, Any]:
    """The webhook payload of the triggering event, or {} when absent or unreadable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8")) if path else {}
    except (OSError, ValueError):
        return {}
    except RecursionError:  # e.g. a repository_dispatch client_payload nested thousands deep
        raise EventPayloadError(words.PAYLOAD_TOO_DEEP) from None
    return data if isinstance(data, dict) else {}
