"""Workflow commands and log lines on stdout. Everything printed goes through :class:`WorkflowLog`: it escapes
command data, keeps untrusted text from ever starting a line, and redacts registered secrets as a last line of
defence; its ``redact`` is the one scrubber of every destination (the log, the outputs, the summary, the JUnit file).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TextIO

from ..render.escape import (
    SCRUBBED,
    Scrubber,
    encodable,
    escape_command_data,
    escape_command_property,
    one_line,
    plain,
    visible,
)


class WorkflowLog:
    def __init__(self, stream: TextIO, *, debug: bool = False) -> None:
        self._stream = stream
        self._debug = debug
        self._secrets: list[tuple[str, Scrubber]] = []

    def add_mask(self, secret: str, *, redact: str = "spellings") -> None:
        """Ask the runner to mask ``secret``, and redact from everything we write every spelling of it
        (``"spellings"``, the API key's), the text as it is (``"exact"``), or nothing (``"none"``: a short value
        redacted in the outputs and summary would rewrite every count or word it happens to spell)."""
        if not secret:
            return
        if redact != "none" and (shown := secret.strip()):  # a value's spaces are not what gives it away
            self._secrets.append((shown, Scrubber(shown if redact == "spellings" else "")))
        # The only line that ever carries the secret, as the runner requires.
        self._write(f"::add-mask::{escape_command_data(secret)}", redact=False)

    def redact(self, text: str) -> str:
        """``text`` with each secret replaced: the last step of every destination, on the form it gives the text."""
        for secret, scrubber in self._secrets:
            text = scrubber.text(text).replace(secret, SCRUBBED)
        return text

    def info(self, line: str) -> None:
        """A log line of ours (any untrusted part already went through ``one_line``): it never contains a line
        break and never starts a workflow command."""
        flat = one_line(self.redact(line), limit=4000)
        self._write(": :" + flat[2:] if flat.startswith("::") else flat)

    def debug(self, message: str) -> None:
        if self._debug:
            self._command("debug", message)

    # -- annotations ---------------------------------------------------------------------------
    # An annotation is plain text: code spans shown as their words (before the scrubber, which then sees the
    # words joined as they are shown).
    def error(self, message: str, title: str = "") -> None:
        self._command("error", plain(message), plain(title))

    def warning(self, message: str, title: str = "") -> None:
        self._command("warning", plain(message), plain(title))

    def notice(self, message: str, title: str = "") -> None:
        self._command("notice", plain(message), plain(title))

    @contextlib.contextmanager
    def group(self, name: str) -> Iterator[None]:
        self._command("group", name)
        try:
            yield
        finally:
            self._write("::endgroup::")

    def _command(self, name: str, message: str, title: str = "") -> None:
        head = f"::{name} title={escape_command_property(self._shown(title))}::" if title else f"::{name}::"
        # Scrubbed as the runner shows it: the escaping below is undone by the runner.
        self._write(head + escape_command_data(self._shown(message)[:4000]), redact=False)

    def _shown(self, text: str) -> str:
        # No bidirectional or invisible character reaches the log; the secrets are scrubbed from what is left.
        return self.redact(visible(encodable(text)))

    def _write(self, line: str, *, redact: bool = True) -> None:
        # Every line printed, annotations included (their parts already went through ``_shown``).
        self._stream.write((self._shown(line) if redact else visible(encodable(line))) + "\n")
        self._stream.flush()
