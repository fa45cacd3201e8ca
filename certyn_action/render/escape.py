"""Escaping of untrusted text for each place it can end up, and removing the API key from it. Pure: server
text and inputs are data, never a workflow command, an output or Markdown/HTML of their own.

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
And the scrubber reads each text a second time as a reader sees it formatted (a link shows its label alone,
right beside what follows): a key split by a link's target is scrubbed from those words.

Keys shorter than ``MIN_SCRUBBED_KEY`` are left alone: replacing a short string could rewrite JSON field
names, and so the counters; real Certyn keys are far longer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cached_property
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
# surrogates (valid in JSON escapes, unencodable in UTF-8); _CONTROL: and the invisible characters above.
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_CONTROL = re.compile(CONTROLS.pattern[:-1] + INVISIBLE_CHARS + "]")
# The same, but tabs and line breaks stay: for text shown on several lines (a fenced block, an annotation).
_MULTILINE_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]"
# ASCII punctuation that Markdown may give meaning to; '&', '#' and ';' are left for HTML entities
# (html.escape runs first, so a raw '&' can no longer occur, and '#' never starts a line of ours).
_MD_PUNCT = re.compile(r"([!\"$%'()*+,\-./:<=>?@\[\\\]^_`{|}~])")
WORD_JOINER = "\u2060"
_ISSUE = re.compile(r"(\\#|\bGH\\-)(?=\d)", re.IGNORECASE)  # "#123", "GH-123": a link to an issue
_BACKTICKS = r"`+"


def encodable(text: str) -> str:
    """``text`` with lone surrogates (from JSON such as "\\ud800") replaced, so UTF-8 can encode it."""
    return text.encode("utf-8", "replace").decode("utf-8")


def collapsed(text: str) -> str:
    """``text`` on one line: controls spaced, each run of white space one space, none at either end."""
    return " ".join(CONTROLS.sub(" ", text).split())


def visible(text: str) -> str:
    """``text`` with bidirectional controls and invisible characters replaced by spaces (for showing it)."""
    return _INVISIBLE.sub(" ", text)


def multiline(text: str) -> str:
    """``text`` to show on several lines: lone surrogates replaced, controls but tabs and line breaks spaced."""
    return re.sub(_MULTILINE_CONTROL, " ", encodable(text))


def newlines(text: str) -> str:
    """``text`` with lone surrogates replaced and every line ending a ``\\n``."""
    return encodable(text).replace("\r\n", "\n").replace("\r", "\n")


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def defused(text: str) -> str:
    """``text`` with the runner's legacy ``##[`` command marker, which it recognises anywhere, broken up."""
    return text.replace("##[", "## [")


# -- Certyn's Markdown (findings, the diagnosis' reasons, the AI answer) ----------------------------------
# One tokeniser for the spans a reader expects formatted: code, links, bare http(s) URLs, bold and italics,
# each at most 1,000 characters (a line of unclosed markers costs linear time, not quadratic).
_SPAN = re.compile(
    r"(?<!`)(?P<ticks>`+)(?!`)(?P<code>[^\n]{1,1000}?)(?<!`)(?P=ticks)(?!`)"
    r"|(?P<image>!?)\[(?P<label>[^\[\]\n]*)\]\((?P<url>[^()\s]*)(?:[ \t]+\"[^\"\n]*\")?\)"
    r"|<(?P<auto>https?://[^\s<>]+)>"
    r"|(?P<bare>\bhttps?://[^\s<>()\[\]`*]+)"
    # bold never spans a space before another "**" or "__" (each opener scans to the next one at most)
    r"|(?P<stars>\*\*|__)(?=\S)(?P<strong>(?:\S|[^\S\n](?!\*\*|__)){1,1000}?)(?<=\S)(?P=stars)"
    r"|(?<![\w*])\*(?=[^\s*])(?P<em>[^*\n]+?)(?<=\S)\*(?![\w*])"
    r"|(?<![\w_])_(?=[^\s_])(?P<em_>[^_\n]+?)(?<=\S)_(?![\w_])",
    re.IGNORECASE,
)
# The patterns below are only the text of each: most runs never show Certyn's Markdown, so `re` compiles each
# (and keeps it in its cache) when it is first used.
# A heading line (its words with a closing run of '#'); a code fence (its language, if it names one)
HEADING = r"^ {0,3}(?P<level>#{1,6})(?:[ \t]+(?P<text>.*))?$"
_FENCE = r"^ {0,3}(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[\w+#.-]{0,30})"
# A list item with words (an empty one after a paragraph line would underline it as a heading)
_ITEM = r"^(?P<indent> *)(?P<marker>[-*+]|\d{1,9}[.)])[ \t]+(?P<text>\S.*)$"
_QUOTE = r"^ {0,3}>[ \t]?(?P<text>.*)$"
_RULE = r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$"
_DELIMITER = r"^[ \t]*:?-+:?[ \t]*$"
# Code blocks GitHub draws instead of showing (diagrams, maps, 3D models, formulas)
_DRAWN = frozenset({"mermaid", "geojson", "topojson", "stl", "math"})
_DEPTH = 8
_WHOLE = 1_000_000  # a line of the answer is not cut: the answer is, before
_PIPE = r"(?<!\\)\|"


def _spans(line: str, write: _Writer) -> str:
    """``line`` with each span and the text between them as ``write`` writes them."""
    parts: list[str] = []
    end = 0
    for match in _SPAN.finditer(line):
        parts.append(write.text(line[end : match.start()]))
        found = match.groupdict()
        if found["code"] is not None:
            parts.append(write.code(found["code"]))
        elif found["label"] is not None:
            url = found["url"]
            label = found["label"] or (url if found["image"] else "")
            parts.append(write.link(label, url) if label else write.text(""))
        elif url := found["auto"] or found["bare"]:  # trailing punctuation ends a sentence; a cut URL is text
            core = url.rstrip(".,;:!?'\"")
            whole = "…" not in url
            parts.append(write.link(core, core) + write.text(url[len(core) :]) if whole else write.text(url))
        elif found["strong"] is not None:
            parts.append(write.strong(found["strong"]))
        else:
            parts.append(write.em(found["em"] or found["em_"]))
        end = match.end()
    parts.append(write.text(line[end:]))
    return "".join(parts)


class _Writer:
    """How ``_spans`` writes each span: as plain words (``plain``)."""

    def text(self, text: str) -> str:
        return text

    code = text

    def strong(self, text: str) -> str:
        return _spans(text, self)

    em = strong

    def link(self, label: str, url: str) -> str:
        if label == url:  # a URL written out: nothing more to say
            return self.text(label)
        words = _spans(label, self)
        return f"{words} ({url})" if safe_url(url) else words


class _Markdown(_Writer):
    """...as Markdown of our own: HTML tags around escaped text, links only to http(s) (``formatted``)."""

    def __init__(self, links: bool = True) -> None:
        self.links = links

    def text(self, text: str) -> str:
        return _escape_markdown(text)

    def code(self, text: str) -> str:
        return f"<code>{_escape_markdown(text)}</code>"

    def strong(self, text: str) -> str:
        return f"<strong>{_spans(text, self)}</strong>"

    def em(self, text: str) -> str:
        return f"<em>{_spans(text, self)}</em>"

    def link(self, label: str, url: str) -> str:
        target = safe_url(url) if self.links else None
        words = self.text(label) if label == url else _spans(label, _Markdown(links=False))  # no nested link
        return f"[{words}]({target})" if target else words


class _Shown(_Writer):
    """...as a reader sees them formatted: a link as its words alone."""

    def link(self, label: str, url: str) -> str:
        return self.text(label) if label == url else _spans(label, self)


def plain(text: str, writer: _Writer = _Writer()) -> str:  # noqa: B008 - a writer holds no state
    """Markdown as plain words, for a reader that shows text literally (the log, an annotation, JUnit): a link
    as its text and its URL (http(s) only), an image as its alt text."""
    return "\n".join(_spans(line, writer) for line in text.split("\n"))


def heading_words(heading: re.Match[str]) -> str:
    """A ``HEADING``'s words, without its closing run of '#' (cut in one pass: a pattern for that run would
    try every split of a line of spaces and hashes)."""
    words = (heading["text"] or "").rstrip(" \t")
    bare = words.rstrip("#")
    return bare.rstrip(" \t") if bare != words and (not bare or bare[-1] in " \t") else words


def plain_lines(text: str) -> list[str]:
    """Markdown on several lines as plain lines: heading markers and fences dropped, code as it is."""
    lines: list[str] = []
    in_code = False
    for line in text.split("\n"):
        if re.match(_FENCE, line):
            in_code = not in_code
        elif in_code:
            lines.append(line)
        else:
            lines.append(plain(heading_words(heading) if (heading := re.match(HEADING, line)) else line))
    return lines


def without_heading(text: str) -> str:
    """``text`` without the heading (and blank lines) it starts with, when more follows: a finding that
    begins "## Result" is about what follows, not "Result"."""
    lines = text.strip().split("\n")
    start = next((n for n, line in enumerate(lines) if line.strip() and not re.match(HEADING, line)), 0)
    return "\n".join(lines[start:])


def one_line(text: object, limit: int = 500) -> str:
    """Untrusted text inside one log line of ours: controls (line breaks too) spaced, ``##[`` broken up."""
    return truncate(defused(_CONTROL.sub(" ", str(text))).strip(), limit)


def formatted(text: object, limit: int = 500) -> str:
    """Certyn's Markdown on one line (a table cell), formatted: code, bold, italics and http(s) links as
    Markdown of our own, everything else escaped like :func:`markdown`; cut to ``limit`` first."""
    return _spans(one_line(text, limit), _Markdown())


def fenced(text: str, info: str = "text") -> str:
    """``text`` as a fenced code block that shows it literally: the fence is longer than any run of backticks
    inside, so no line can close it; controls, bidirectional and invisible characters are spaced."""
    body = visible(multiline(newlines(text)))
    longest = max((len(run) for run in re.findall(_BACKTICKS, body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}\n{fence}\n"


def _cells(row: str) -> list[str]:
    """A table row's cells, split at its unescaped pipes (the outer ones dropped)."""
    row = row.strip().removeprefix("|")
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    return [cell.strip().replace("\\|", "|") for cell in re.split(_PIPE, row)]


def _table(lines: list[str], start: int) -> tuple[list[str], int]:
    """The GFM table at ``lines[start]`` (a header row, then its delimiter row), written anew with every cell
    ``formatted``, and the index after it; ``([], start)`` when there is no table there."""
    if start + 1 >= len(lines) or "|" not in lines[start]:
        return [], start
    head, delimiters = _cells(lines[start]), _cells(lines[start + 1])
    if len(head) != len(delimiters) or not all(re.match(_DELIMITER, cell) for cell in delimiters):
        return [], start
    align = [
        ("" if cell[:1] != ":" else ":") + "---" + (":" if cell[-1:] == ":" else "") for cell in delimiters
    ]
    end = start + 2
    while end < len(lines) and "|" in lines[end] and lines[end].strip():
        end += 1
    rows = [head] + [(_cells(line) + [""] * len(head))[: len(head)] for line in lines[start + 2 : end]]
    written = ["| " + " | ".join(formatted(cell, _WHOLE) for cell in row) + " |" for row in rows]
    return ["", written[0], "|" + "|".join(align) + "|", *written[1:], ""], end


def formatted_block(text: str) -> str:
    """Certyn's Markdown on several lines (the AI answer), written anew: headings three levels down,
    lists, quotes, tables, rules and code blocks, their text ``formatted``; anything else escaped. What it
    opens it closes, so nothing after it changes. No raw HTML, no image, links only to http(s)."""
    lines = visible(multiline(newlines(text))).expandtabs(4).split("\n")
    out: list[str] = []
    # the open list items: (their indent in the text, their content's in ours)
    items: list[tuple[int, int]] = []
    at = 0
    while at < len(lines):
        line, at = lines[at], at + 1
        if line[:1] not in ("", " ") and not re.match(_ITEM, line):
            items = []  # back at the margin: the lists are closed
        if fence := re.match(_FENCE, line):
            mark = fence["fence"]
            close = re.compile(f"^ {{0,3}}{re.escape(mark[0])}{{{len(mark)},}}[ \t]*$")
            end = next((n for n in range(at, len(lines)) if close.match(lines[n])), len(lines))
            code = "\n".join(lines[at:end]).rstrip("\n")
            info = fence["info"] if fence["info"].lower() not in _DRAWN else ""  # shown as code, not drawn
            out += ["", fenced(code, info or "text").rstrip("\n"), ""]
            at = end + 1
        elif (table := _table(lines, at - 1))[0]:
            out += table[0]
            at = table[1]
        elif (heading := re.match(HEADING, line)) and (words := heading_words(heading)):
            level = min(len(heading["level"]) + 3, 6)  # below the summary's own
            out += ["", "#" * level + " " + formatted(words, _WHOLE), ""]
        elif re.match(_RULE, line):
            out += ["", "***", ""]
        elif item := re.match(_ITEM, line):
            indent = len(item["indent"])
            # a sibling or an item further out closes the deeper ones; at most 8 levels (as wide as the text)
            while items and (items[-1][0] >= indent or len(items) >= _DEPTH):
                items.pop()
            ours = items[-1][1] if items else 0
            marker = "-" if item["marker"] in "-*+" else item["marker"][:-1] + "."
            items.append((indent, ours + len(marker) + 1))
            # an item that formats to nothing ("- [](x)") is left out: under a paragraph line, "- " underlines
            # it as a heading
            shown = formatted(item["text"], _WHOLE)
            out.append(" " * ours + f"{marker} {shown}" if shown.strip() else "")
        elif quote := re.match(_QUOTE, line):
            out.append("> " + formatted(quote["text"], _WHOLE))
        else:  # a paragraph's line (in the open list item when indented), or a blank one
            out.append(" " * (items[-1][1] if items and line.strip() else 0) + formatted(line, _WHOLE))
    return "\n".join(out).strip() + "\n"  # no blank line, nor one of spaces alone, at either end


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
    """Like :func:`markdown`, but each pair of backticks (our `input` names) becomes ``<code>`` around escaped
    text (a Markdown code span would stop escaping); an unpaired backtick stays a literal one."""
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
    # the dots are escaped, and "#123" or "GH-123" a link to (and a mention of) issue 123: a WORD JOINER
    # (invisible) after each '@', and before the number, breaks them.
    return _ISSUE.sub("\\1" + WORD_JOINER, escaped.replace("@", "@" + WORD_JOINER))


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
    return f"[{markdown(label)}]({target})" if target else markdown(label)


def plural(count: int, noun: str, many: str = "") -> str:
    """``1 attempt``, ``2 attempts``; ``many`` for a plural that is not ``noun`` + s (``1 test is``)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def format_duration(seconds: float) -> str:
    """``45s``, ``2m 05s``, ``1h 02m``."""
    minutes, secs = divmod(max(int(seconds), 0), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


MIN_SCRUBBED_KEY = 8
SCRUBBED = "***"

_GAP = (
    f"(?:[\\s\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\ud800-\\udfff\\ufffd-\\uffff\\\\?{INVISIBLE_CHARS}]"
    r"|%[0-9a-f]{2}|\\u[0-9a-f]{4}|\\[bfnrt]|&(?:amp;)*\\?#?\u2060?[0-9a-z]{1,8};|</?(?:code|strong|em)>)*"
)
# What html.escape writes for a character (the summary's escaping); html itself loads with the summary only.
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
_MARKS = frozenset("_*`~")  # what plain words drop around a span


def _either(ch: str) -> str:
    escaped = "".join(f"%{byte:02X}" for byte in ch.encode("utf-8", "replace"))
    forms = dict.fromkeys([ch, escaped, _ENTITIES.get(ch, ch)])
    alternatives = [re.escape(form) for form in forms] + (["\\+"] if ch == " " else [])
    # a Markdown mark of the key's own ("_", "*") may have been read as the edge of a span and dropped
    return "(?:" + "|".join(alternatives) + (")?" if ch in _MARKS else ")")


class Scrubber:
    def __init__(self, api_key: str) -> None:
        self._key = api_key if len(api_key) >= MIN_SCRUBBED_KEY else ""
        # Every spelling holds the key's characters in order, each as itself (in any case) or as an escape that
        # starts with `%` or `&` (`+` for a space). A text without them is left as it is, without the full
        # pattern: its gaps take about 25 ms to compile, which would delay every step's first request. Beside the
        # escapes' class, `re` folds a capital letter beyond the BMP only when it is written in lower case.
        self._quick = re.compile(
            "".join(
                f"(?>.*?(?:{re.escape(ch.lower() if ord(ch) > 0xFFFF else ch)}|[%&{'+' if ch == ' ' else ''}]))"
                for ch in self._key
                if ch not in _MARKS
            ),
            re.IGNORECASE | re.DOTALL,
        )

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """Every spelling of the key."""
        return re.compile(_GAP.join(_either(ch) for ch in self._key), re.IGNORECASE)

    def _scrubbed(self, text: str) -> tuple[str, int]:
        """``text`` without the key, and how many spellings went."""
        return self.pattern.subn(SCRUBBED, text) if self._quick.match(text) else (text, 0)

    def text(self, text: str) -> str:
        """``text`` without the key; when its words as a reader sees them formatted (a link shows its label
        alone, right beside what follows) still spell it, those words, scrubbed."""
        if not self._key:
            return text
        text = self._scrubbed(text)[0]
        shown, found = self._scrubbed(plain(text, _Shown()))
        return shown if found else text

    def data(self, value: Any) -> Any:
        """Parsed JSON with every string (object keys included) scrubbed."""
        return each_string(value, self.text) if self._key else value


def each_string(value: Any, change: Callable[[str], str]) -> Any:
    """Parsed JSON with every string (object keys included) changed by ``change``."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [each_string(item, change) for item in value]
    if isinstance(value, dict):
        return {change(k): each_string(v, change) for k, v in value.items()}
    return value
