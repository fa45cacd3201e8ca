"""A job summary as GitHub shows it: rendered with cmark-gfm (GitHub's own Markdown parser) and read back.

Used by tests/unit/test_summary_rendered.py and by scripts/screenshot_summaries.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import cmarkgfm  # type: ignore[import-untyped]
from cmarkgfm.cmark import Options  # type: ignore[import-untyped]

# The extensions GitHub turns on for Markdown it renders. Raw HTML is kept (GitHub sanitises it later),
# so the options must not drop it: the summary's own <code> tags have to survive.
EXTENSIONS = ("table", "strikethrough", "autolink", "tagfilter")
# What a summary of ours may contain once rendered; anything else came from unescaped text.
ALLOWED_TAGS = frozenset(
    {
        "h2",
        "h3",
        "p",
        "ul",
        "li",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "strong",
        "code",
        "a",
        "blockquote",
        "details",
        "summary",
        # Certyn's Markdown, formatted (render/escape.py): the AI answer's headings go below ours
        "h4",
        "h5",
        "h6",
        "ol",
        "em",
        "pre",
        "hr",
    }
)


def render_gfm(markdown: str) -> str:
    """The HTML GitHub makes of ``markdown`` (before its sanitiser, which only removes more)."""
    html: str = cmarkgfm.markdown_to_html_with_extensions(
        markdown, options=Options.CMARK_OPT_UNSAFE, extensions=list(EXTENSIONS)
    )
    return html


@dataclass
class Rendered:
    """What a reader sees of the rendered HTML."""

    html: str
    tags: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (href, visible text)
    headings: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)  # list items and quotes, as visible text
    header_rows: list[list[str]] = field(default_factory=list)  # the <th> texts of each table
    tables: list[list[list[str]]] = field(default_factory=list)  # each table's rows of cell texts
    text: str = ""  # all visible text

    def row(self, label: str) -> list[str] | None:
        """The first table row whose first cell reads ``label``."""
        for table in self.tables:
            for cells in table:
                if cells and cells[0] == label:
                    return cells
        return None


class _Reader(HTMLParser):
    def __init__(self, rendered: Rendered) -> None:
        super().__init__(convert_charrefs=True)
        self.out = rendered
        self.stack: list[tuple[str, list[str]]] = []  # open elements whose text we collect
        self.href: str | None = None
        self.chunks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.tags.append(tag)
        if tag == "a":
            self.href = dict(attrs).get("href") or ""
        if tag in ("a", "h2", "li", "blockquote", "th", "td"):
            self.stack.append((tag, []))
        if tag == "table":
            self.out.tables.append([])
        if tag == "tr" and self.out.tables:
            self.out.tables[-1].append([])
        if tag == "thead":
            self.out.header_rows.append([])

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            return
        _, parts = self.stack.pop()
        text = " ".join("".join(parts).split())
        if self.stack:  # a nested element's text belongs to its parent too
            self.stack[-1][1].append("".join(parts))
        if tag == "a":
            self.out.links.append((self.href or "", text))
        elif tag == "h2":
            self.out.headings.append(text)
        elif tag in ("li", "blockquote"):
            self.out.items.append(text)
        else:  # a table cell
            if tag == "th" and self.out.header_rows:
                self.out.header_rows[-1].append(text)
            if self.out.tables and self.out.tables[-1]:
                self.out.tables[-1][-1].append(text)

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)
        if self.stack:
            self.stack[-1][1].append(data)


def read(markdown: str) -> Rendered:
    rendered = Rendered(render_gfm(markdown))
    reader = _Reader(rendered)
    reader.feed(rendered.html)
    reader.close()
    rendered.text = " ".join("".join(reader.chunks).split())
    return rendered
