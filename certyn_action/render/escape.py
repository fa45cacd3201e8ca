"""Escaping of untrusted text for each place it can end up, and removing the API key from it. Pure.

Server text and inputs are data: they must not start a workflow command on stdout, inject outputs,
or render as Markdown/HTML in the job summary.

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
from urllib.parse import quote, urlsplit

# Bidirectional controls and invisible characters: they can make shown text read differently from what it
# is (U+202E turns "exe.txt" around) or hide text. Neutralised wherever text is shown (``visible``).
INVISIBLE_CHARS = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f"
)
_INVISIBLE = re.compile(f"[{INVISIBLE_CHARS}]")
# C0/C1 controls, DEL, the Unicode line/paragraph separators some renderers break lines on, lone
# surrogates (valid in JSON escapes, unencodable in UTF-8), and the invisible characters above.
_CONTROL = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\ud800-\\udfff{INVISIBLE_CHARS}]")
# The same, but tabs and line breaks stay: for text shown on several lines (a fenced block, an annotation).
_MULTILINE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
# ASCII punctuation that Markdown may give meaning to; '&', '#' and ';' are left for HTML entities
# (html.escape runs first, so a raw '&' can no longer occur, and '#' never starts a line of ours).
_MD_PUNCT = re.compile(r"([!\"$%'()*+,\-./:<=>?@\[\\\]^_`{|}~])")
WORD_JOINER = "\u2060"
# The runner also recognises the legacy '##[command]' form anywhere in a line.
_LEGACY_COMMAND = "##["


def encodable(text: str) -> str:
    """``text`` with lone surrogates (from JSON such as "\\ud800") replaced, so UTF-8 can encode it."""
    return text.encode("utf-8", "replace").decode("utf-8")


def visible(text: str) -> str:
    """``text`` with bidirectional controls and invisible characters replaced by spaces (for showing it)."""
    return _INVISIBLE.sub(" ", text)


def multiline(text: str) -> str:
    """``text`` to show on several lines: lone surrogates replaced, controls but tabs and line breaks spaced."""
    return _MULTILINE_CONTROL.sub(" ", encodable(text))


def newlines(text: str) -> str:
    """``text`` with lone surrogates replaced and every line ending a ``\\n``."""
    return encodable(text).replace("\r\n", "\n").replace("\r", "\n")


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + "…"


def defused(text: str) -> str:
    """``text`` with the runner's legacy ``##[`` command marker, which it recognises anywhere, broken up."""
    return text.replace(_LEGACY_COMMAND, "## [")


_CODE_SPAN = re.compile(r"(?<!`)(`+)([^`\n]+?)\1(?!`)")


def plain(text: str) -> str:
    """``text`` with its Markdown code spans (`` `api-key` ``) shown as their words: an annotation is plain
    text, where backticks would show literally. Other backticks are kept."""
    return _CODE_SPAN.sub(r"\2", text)


_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(([^()\s]*)\)")
_STRONG = re.compile(r"(\*\*|__)(?=\S)([^\n]+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=\S)\*(?![\w*])")


def _link_text(match: re.Match[str]) -> str:
    image, label, url = match.groups()
    if image or not url or url == label:
        return label
    return f"{label} ({url})"


def plain_text(markdown: str) -> str:
    """A line of Markdown as plain text: links as ``label (url)``, images as their alt text, code spans,
    bold and italics as their words. For a reader that shows text literally (a JUnit message)."""
    text = plain(_LINK.sub(_link_text, markdown))
    text = _STRONG.sub(r"\2", text)
    return _EMPHASIS.sub(r"\1", text)


def one_line(text: object, limit: int = 500) -> str:
    """Untrusted text made safe to print inside one log line of ours.

    Control characters (line breaks included) become spaces, so the text can never start a line,
    and the legacy ``##[`` command marker is broken up.
    """
    flat = defused(_CONTROL.sub(" ", str(text)))
    return truncate(flat.strip(), limit)


def escape_command_data(text: str) -> str:
    """Escape the message part of a workflow command, as @actions/core does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_command_property(text: str) -> str:
    """Escape a property value (``title=``) of a workflow command, as @actions/core does."""
    return escape_command_data(text).replace(":", "%3A").replace(",", "%2C")


def markdown(text: object, limit: int = 500) -> str:
    """Untrusted text rendered literally in GitHub-flavoured Markdown (HTML and Markdown escaped)."""
    return _escape_markdown(one_line(text, limit))


def markdown_with_code(text: object, limit: int = 500) -> str:
    """Like :func:`markdown`, but each pair of backticks (`project-slug`) becomes a code span.

    Our messages quote input names in backticks; escaped, they would show as literal backticks. The span's
    content is escaped like the rest and wrapped in ``<code>`` (a Markdown code span would stop escaping),
    so server text with backticks gets code style at most. An unpaired backtick stays a literal one.
    """
    parts = one_line(text, limit).split("`")
    if len(parts) % 2 == 0:  # an odd number of backticks: the last one has no partner
        parts[-2:] = [parts[-2] + "`" + parts[-1]]
    return "".join(
        f"<code>{_escape_markdown(part)}</code>" if index % 2 else _escape_markdown(part)
        for index, part in enumerate(parts)
    )


def _escape_markdown(flat: str) -> str:
    # html (with its table of entities) loads with the summary, not on the way to the first request.
    import html  # noqa: PLC0415

    # '#' is set aside while html.escape writes entities such as &#x27;, then escaped like the rest.
    flat = flat.replace("#", "\x00")
    escaped = _MD_PUNCT.sub(r"\\\1", html.escape(flat, quote=True)).replace("\x00", "\\#")
    # GitHub's autolinker makes user@host.example (and mailto:/xmpp: forms) a link even when the '@' and
    # the dots are escaped: a WORD JOINER after each '@' (invisible) breaks the address for it.
    return escaped.replace("@", "@" + WORD_JOINER)


def without_secrets(url: str) -> str:
    """``url`` as it may be quoted: without its query, fragment and credentials (they may carry tokens); the
    credentials end at the authority's LAST "@", as URL parsers read it (a password may hold an "@")."""
    head = url.strip().split("#", 1)[0].split("?", 1)[0]
    scheme, sep, rest = head.partition("://")
    if not sep:
        return head
    authority, slash, path = rest.partition("/")
    return f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"


def safe_url(url: str) -> str | None:
    """The URL, percent-encoded for a Markdown link target, or None unless it is http(s) with a host."""
    url = url.strip()
    if not url or _CONTROL.search(url) or len(url) > 2048:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return quote(url, safe=":/?#@!$&*+,;=%-._~")


def markdown_link(label: str, url: str) -> str:
    """A Markdown link when ``url`` is a safe http(s) URL, else the escaped label alone."""
    target = safe_url(url)
    if target is None:
        return markdown(label)
    return f"[{markdown(label)}]({target})"


def plural(count: int, noun: str, many: str = "") -> str:
    """``1 attempt``, ``2 attempts``; ``many`` for a plural that is not ``noun`` + s (``1 test is``)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def format_duration(seconds: float) -> str:
    """``45s``, ``2m 05s``, ``1h 02m``."""
    whole = max(int(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


MIN_SCRUBBED_KEY = 8
SCRUBBED = "***"

_GAP = (
    f"(?:[\\s\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\ud800-\\udfff\\ufffd-\\uffff\\\\?{INVISIBLE_CHARS}]"
    r"|%[0-9a-f]{2}|\\u[0-9a-f]{4}|\\[bfnrt]|&(?:amp;)*\\?#?[0-9a-z]{1,8};|</?code>)*"
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
