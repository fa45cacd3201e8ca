"""Removing the API key from what the server sends back, before anything reads it. Pure.

A server may echo the key (in an error message, a URL). Redacting only when a line is printed is too late:
server text is cut short first, and a cut key no longer matches the mask. So every reply is scrubbed as it
arrives: its headers, and every string of its parsed JSON. After JSON decoding, so that escapes such as
``\\u002B`` or ``\\/`` cannot hide the key (the raw bytes are never shown, and replacing inside them could
break a valid body). Percent-encoded forms are matched in either case, also when only some characters are escaped. Keys shorter than
``MIN_SCRUBBED_KEY`` are left alone: replacing a short string could rewrite JSON field names, and so the
counters; real Certyn keys are far longer.
"""

from __future__ import annotations

import re
from typing import Any

from .text import INVISIBLE_CHARS

MIN_SCRUBBED_KEY = 8
SCRUBBED = "***"


def _either(ch: str) -> str:
    escaped = "".join(f"%{byte:02X}" for byte in ch.encode("utf-8"))
    alternatives = [re.escape(ch), re.escape(escaped)] + (["\\+"] if ch == " " else [])
    return "(?:" + "|".join(alternatives) + ")"


class Scrubber:
    def __init__(self, api_key: str) -> None:
        self._pattern: re.Pattern[str] | None = None
        if len(api_key) >= MIN_SCRUBBED_KEY:
            # Each character literally or %-escaped (hex digits in either case), so every partial escaping
            # (``abc%44ef``) matches too; ``+`` for a space, as quote_plus writes it.
            # Invisible characters between them (``k\u200bey``) would be shown as spaces: the key, readable.
            gap = f"[{INVISIBLE_CHARS}]*"
            self._pattern = re.compile(gap.join(_either(ch) for ch in api_key), re.IGNORECASE)

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
