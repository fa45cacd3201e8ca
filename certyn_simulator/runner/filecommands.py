"""How the GitHub runner reads what an action wrote: ``GITHUB_OUTPUT``-style files and workflow
commands in the log. Both follow actions/runner (``EnvFileKeyValuePairs`` in FileCommandManager and
``ActionCommand.TryParseV2`` / ``TryParse`` + ``ActionCommandManager``), behaviour for behaviour.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "REGISTERED_COMMANDS",
    "FileCommandError",
    "WorkflowCommand",
    "decode_file_command",
    "parse_commands",
    "parse_file_command",
    "parse_outputs",
    "split_log_lines",
]


class FileCommandError(Exception):
    """The runner would fail the step: "Unable to process file command 'output' successfully."."""


def decode_file_command(data: bytes) -> str:
    """Bytes → text like .NET ``File.ReadAllText``: UTF-8, a leading BOM dropped, bad bytes replaced."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", errors="replace")


def _read_line(text: str, index: int) -> tuple[str | None, int, str | None]:
    """(line, new index, newline) like the runner's ``ReadLine`` on Linux: splits on "\\n" only."""
    if index >= len(text):
        return None, index, None
    lf = text.find("\n", index)
    if lf < 0:
        return text[index:], len(text), None
    return text[index:lf], lf + 1, "\n"


def parse_file_command(text: str) -> list[tuple[str, str]]:
    """Every (name, value) pair of a ``GITHUB_OUTPUT`` (or ``GITHUB_ENV``) file, in file order.

    - lines are split on "\\n" only; a "\\r" stays part of the line (and of the value);
    - empty lines are skipped;
    - ``name=value``: split at the first "=" (when it comes before any "<<");
    - ``name<<DELIM``: the value is the text of the following lines up to a line exactly equal to
      ``DELIM`` (without the newline before it); neither name nor delimiter may be empty;
    - anything else raises :class:`FileCommandError` ("Invalid format '...'"), as does a missing
      delimiter ("Matching delimiter not found") or a last value line without a newline
      ("EOF marker missing new line").

    Like the runner, an empty name in the ``=`` form is not rejected (its check tests the line).
    """
    pairs: list[tuple[str, str]] = []
    index = 0
    line, index, _ = _read_line(text, index)
    while line is not None:
        if line:
            equals = line.find("=")
            heredoc = line.find("<<")
            if equals >= 0 and (heredoc < 0 or equals < heredoc):
                key, value = line.split("=", 1)
                pairs.append((key, value))
            elif heredoc >= 0 and (equals < 0 or heredoc < equals):
                key, delimiter = line.split("<<", 1)
                if not key or not delimiter:
                    raise FileCommandError(
                        f"Invalid format '{line}'. Name must not be empty and delimiter must not be empty"
                    )
                start = index
                end = index
                temp, index, newline = _read_line(text, index)
                while temp != delimiter:
                    if temp is None:
                        raise FileCommandError(f"Invalid value. Matching delimiter not found '{delimiter}'")
                    if newline is None:
                        raise FileCommandError("Invalid value. EOF marker missing new line.")
                    end = index - len(newline)
                    temp, index, newline = _read_line(text, index)
                pairs.append((key, text[start:end] if end > start else ""))
            else:
                raise FileCommandError(f"Invalid format '{line}'")
        line, index, _ = _read_line(text, index)
    return pairs


def parse_outputs(text: str) -> dict[str, str]:
    """The step outputs a ``GITHUB_OUTPUT`` file sets; a later write of a name wins."""
    return dict(parse_file_command(text))


# Workflow commands ------------------------------------------------------------------------------

REGISTERED_COMMANDS = frozenset(
    {
        "stop-commands",
        "set-env",
        "set-output",
        "save-state",
        "add-mask",
        "add-path",
        "add-matcher",
        "remove-matcher",
        "warning",
        "error",
        "notice",
        "debug",
        "group",
        "endgroup",
        "echo",
    }
)

_DATA_ESCAPES = (("%0D", "\r"), ("%0A", "\n"), ("%25", "%"))
_PROPERTY_ESCAPES = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%"))
_LEGACY_ESCAPES = (("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]"), ("%25", "%"))


def _unescape(value: str, mappings: tuple[tuple[str, str], ...]) -> str:
    for escaped, token in mappings:  # sequential, in the runner's order
        value = value.replace(escaped, token)
    return value


@dataclass(frozen=True)
class WorkflowCommand:
    """One workflow command the runner would process (``::name k=v,k2=v2::data`` or ``##[name k=v;]data``).

    ``name`` is lower-cased (the runner matches names case-insensitively); ``properties`` keep the
    key as written. ``legacy`` marks the ``##[...]`` form; ``line`` is the log line as printed.
    """

    name: str
    data: str
    properties: dict[str, str] = field(default_factory=dict)
    stream: str = "stdout"
    line: str = ""
    legacy: bool = False


def _try_parse_v2(message: str, registered: set[str]) -> WorkflowCommand | None:
    message = message.lstrip()
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    info = message[2:end]
    space = info.find(" ")
    name = info if space < 0 else info[:space]
    if name.lower() not in registered:
        return None
    props: dict[str, str] = {}
    if space > 0:
        for prop in (p for p in info[space + 1 :].strip().split(",") if p):
            pair = [p for p in prop.split("=", 1) if p]
            if len(pair) == 2:
                props[pair[0]] = _unescape(pair[1], _PROPERTY_ESCAPES)
    return WorkflowCommand(name.lower(), _unescape(message[end + 2 :], _DATA_ESCAPES), props)


def _try_parse_legacy(message: str, registered: set[str]) -> WorkflowCommand | None:
    prefix = message.find("##[")
    if prefix < 0:
        return None
    rb = message.find("]", prefix)
    if rb < 0:
        return None
    info = message[prefix + 3 : rb]
    space = info.find(" ")
    name = info if space < 0 else info[:space]
    if not name or name.lower() not in registered:
        return None
    props: dict[str, str] = {}
    if space > 0:
        for prop in (p for p in info[space + 1 :].split(";") if p):
            pair = [p for p in prop.split("=", 1) if p]
            if len(pair) == 2:
                props[pair[0]] = _unescape(pair[1], _LEGACY_ESCAPES)
    return WorkflowCommand(name.lower(), _unescape(message[rb + 1 :], _LEGACY_ESCAPES), props, legacy=True)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_log_lines(text: str) -> list[str]:
    """Split process output into lines like the runner's reader (.NET ``ReadLine``): "\\r\\n", "\\r" or "\\n".

    A lone "\\r" therefore ends a line: ``"x\\r::error::y"`` is two lines, the second a command.
    """
    if not text:
        return []
    parts = _LINE_BREAK.split(text)
    if parts and parts[-1] == "":
        parts.pop()
    return parts


def parse_commands(lines: Iterable[str | tuple[str, str]]) -> list[WorkflowCommand]:
    """The workflow commands the runner would process, in order, given log lines.

    Items are lines or ``(stream, line)`` pairs. ``::stop-commands::TOKEN`` suspends processing until a
    ``::TOKEN::`` line (both are returned, as ``stop-commands`` and the token name). Unregistered
    names are not commands.
    """
    registered = {name.lower() for name in REGISTERED_COMMANDS}
    stop_token: str | None = None
    found: list[WorkflowCommand] = []
    for item in lines:
        stream, line = item if isinstance(item, tuple) else ("stdout", item)
        if not line:
            continue
        command = _try_parse_v2(line, registered) or _try_parse_legacy(line, registered)
        if command is None:
            continue
        command = WorkflowCommand(
            command.name, command.data, command.properties, stream, line, command.legacy
        )
        if stop_token is not None:
            if command.name == stop_token.lower():
                registered.discard(stop_token.lower())
                stop_token = None
                found.append(command)
            continue
        if command.name == "stop-commands":
            stop_token = command.data
            if stop_token:
                registered.add(stop_token.lower())
        found.append(command)
    return found
