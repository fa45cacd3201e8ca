"""Removing the API key from text, however it is spelled. Pure.

One :class:`Scrubber` for every place text comes in or goes out. A reply is scrubbed as it arrives (its
headers, and every string of its parsed JSON): redacting only when a line is printed is too late, as server
text is cut short first and a cut key no longer matches. After JSON decoding, so that escapes such as
``\\u002B`` or ``\\/`` cannot hide the key. And each destination scrubs what it writes as its last step, after
the text took the form that destination gives it (the log, the job summary, the outputs, the JUnit file).

A spelling of the key is its characters in order, each as it is, percent-encoded (either case, also when
only some are) or as an HTML entity, with anything between them that a destination drops, shows as a space
or inserts: spaces and control characters, bidirectional and invisible characters, lone surrogates and
U+FFFD to U+FFFF, the backslash of Markdown escaping, ``?`` (what UTF-8 writes for a lone surrogate), and
those in encoded form (``%00``, ``\\u0000``, ``&#10;``), and the ``<code>`` tags of the summary. So the log
turning ``ESC`` into a space, XML dropping ``NUL`` or Markdown writing ``\\_`` leaves no readable key.

Keys shorter than ``MIN_SCRUBBED_KEY`` are left alone: replacing a short string could rewrite JSON field
names, and so the counters; real Certyn keys are far longer.
"""

from __future__ import annotations

import re
from typing import Any

from .text import INVISIBLE_CHARS

MIN_SCRUBBED_KEY = 8
SCRUBBED = "***"

_GAP = (
    f"(?:[\\s\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\ud800-\\udfff\\ufffd-\\uffff\\\\?{INVISIBLE_CHARS}]"
    r"|%[0-9a-f]{2}|\\u[0-9a-f]{4}|\\[bfnrt]|&#?[0-9a-z]{1,8};|</?code>)*"
)
# What html.escape writes for a character (the summary's escaping); html itself loads with the summary only.
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}


def _either(ch: str) -> str:
    escaped = "".join(f"%{byte:02X}" for byte in ch.encode("utf-8", "replace"))
    forms = dict.fromkeys([ch, escaped, _ENTITIES.get(ch, ch)])
    alternatives = [re.escape(form) for form in forms] + (["\\+"] if ch == " " else [])
    return "(?:" + "|".join(alternatives) + ")"


class Scrubber:
    def __init__(self, api_key: str) -> None:
        self._pattern: re.Pattern[str] | None = None
        if len(api_key) >= MIN_SCRUBBED_KEY:
            self._pattern = re.compile(_GAP.join(_either(ch) for ch in api_key), re.IGNORECASE)

    def text(self, text: str) -> str:
        return text if self._pattern is None else self._pattern.sub(SCRUBBED, text)

    def data(self, value: Any) -> Any:
        """Parsed JSON with every string (object keys included) scrubbed."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.data(item) for item in value]
        if isinstance(value, dict):
            return {self.text(k): self.data(v) for k, v in value.items()}
        return value
