"""Read the ``inputs:`` of an action.yml without a YAML library, and evaluate input defaults the way
the runner does (``${{ strategy.job-index }}`` and friends from a context).

Only the YAML a typical action.yml uses for inputs is understood: a top-level ``inputs:`` mapping of
input names to mappings of scalars (plain, single- or double-quoted, ``|``/``>`` block scalars).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["InputSpec", "evaluate_default", "load_action_inputs", "parse_action_inputs"]


@dataclass(frozen=True)
class InputSpec:
    name: str
    description: str = ""
    required: bool = False
    default: str | None = None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _strip_comment(value: str) -> str:
    quote: str | None = None
    for i, ch in enumerate(value):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"" and (i == 0 or value[i - 1] in " :"):
            quote = ch
        elif ch == "#" and (i == 0 or value[i - 1] in " \t"):
            return value[:i].rstrip()
    return value.rstrip()


def _scalar(raw: str) -> str:
    value = _strip_comment(raw.strip())
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return str(json.loads(value))
    return value


def _read_value(lines: list[str], i: int, ind: int, rest: str) -> tuple[str, int]:
    """The scalar that starts with ``rest`` on a line indented ``ind``; continuation lines from ``i``."""
    if rest[:1] in ("|", ">"):
        block: list[str] = []
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > ind):
            block.append(lines[i])
            i += 1
        while block and not block[-1].strip():
            block.pop()
        base = min((_indent(b) for b in block if b.strip()), default=0)
        body = [b[base:] for b in block]
        return ("\n" if rest[0] == "|" else " ").join(body) + ("\n" if "-" not in rest else ""), i
    parts = [rest] if rest else []
    while i < len(lines) and lines[i].strip() and _indent(lines[i]) > ind and not rest.startswith(("'", '"')):
        parts.append(lines[i].strip())
        i += 1
    return _scalar(" ".join(parts)), i


def parse_action_inputs(text: str) -> dict[str, InputSpec]:
    """The declared inputs of an action.yml, in file order."""
    lines = text.splitlines()
    i = 0
    while i < len(lines) and not re.match(r"^inputs:\s*(#.*)?$", lines[i]):
        i += 1
    result: dict[str, InputSpec] = {}
    i += 1
    name_indent: int | None = None
    current: str | None = None
    props: dict[str, str] = {}

    def flush() -> None:
        if current is not None:
            result[current] = InputSpec(
                name=current,
                description=props.get("description", ""),
                required=props.get("required", "false").strip().lower() == "true",
                default=props.get("default"),
            )

    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.lstrip().startswith("#"):
            i += 1
            continue
        ind = _indent(line)
        if ind == 0:
            break
        if name_indent is None:
            name_indent = ind
        if ind == name_indent:
            flush()
            head = _strip_comment(line.strip())
            if not head.endswith(":"):
                raise ValueError(f"cannot read input line {line.strip()!r}: expected 'name:'")
            current = _scalar(head[:-1])
            props = {}
            i += 1
            continue
        key, _, rest = line.strip().partition(":")
        props[key], i = _read_value(lines, i + 1, ind, rest.strip())
    flush()
    return result


def load_action_inputs(action_dir: Path) -> dict[str, InputSpec]:
    for name in ("action.yml", "action.yaml"):
        path = action_dir / name
        if path.is_file():
            return parse_action_inputs(path.read_text(encoding="utf-8"))
    raise FileNotFoundError(f"no action.yml in {action_dir}")


_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def evaluate_default(default: str, context: Mapping[str, str]) -> str:
    """Substitute each ``${{ a.b }}`` with ``context["a.b"]`` ("" when the context lacks it).

    Only plain context look-ups are supported (what input defaults use in practice).
    """
    return _EXPR.sub(lambda m: context.get(m.group(1), ""), default)
