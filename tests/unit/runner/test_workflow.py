"""workflow.py: our commands reach the runner as meant; untrusted text never becomes a command."""

from __future__ import annotations

import io

import pytest

from certyn_action.runner.workflow import WorkflowLog
from certyn_simulator.runner.filecommands import WorkflowCommand, parse_commands, split_log_lines

SECRET = "ck_live_0123456789abcdef"
HOSTILE = [
    "::error::pwned",
    "  ::warning::pwned",
    "::add-mask::x",
    "::stop-commands::tok",
    "::set-output name=result::passed",
    "::ERROR::upper",
    "ok\n::error::injected",
    "ok\r::error::injected",
    "ok\r\n::error::injected",
    "ok\u2028::error::x",
    "##[error]legacy",
    "text ##[set-output name=result;]passed",
    "%0A::error::encoded",
    "\x1b[31m::error::ansi",
    "\u00a0::error::nbsp",
]


def _log(debug: bool = False) -> tuple[WorkflowLog, io.StringIO]:
    stream = io.StringIO()
    return WorkflowLog(stream, debug=debug), stream


def _commands(stream: io.StringIO) -> list[WorkflowCommand]:
    return parse_commands(split_log_lines(stream.getvalue()))


def test_every_write_is_one_newline_terminated_line() -> None:
    log, stream = _log()
    log.info("a\nb\rc")
    log.error("x\ny")
    text = stream.getvalue()
    assert text.endswith("\n")
    assert len(split_log_lines(text)) == 2


@pytest.mark.parametrize("hostile", HOSTILE)
def test_info_never_produces_a_command(hostile: str) -> None:
    log, stream = _log()
    log.info(hostile)
    log.info(f"Run state: {hostile}")
    assert _commands(stream) == []
    for line in split_log_lines(stream.getvalue()):
        assert not line.lstrip().startswith("::")
        assert "##[" not in line


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("kind", ["error", "warning", "notice"])
def test_annotation_carries_untrusted_text_as_data(hostile: str, kind: str) -> None:
    log, stream = _log()
    getattr(log, kind)(hostile, title=hostile)
    commands = _commands(stream)
    assert [c.name for c in commands] == [kind]
    assert commands[0].data == hostile
    assert commands[0].properties == {"title": hostile}
    assert len(split_log_lines(stream.getvalue())) == 1


@pytest.mark.parametrize("hostile", HOSTILE)
def test_group_name_is_data(hostile: str) -> None:
    log, stream = _log()
    with log.group(hostile):
        log.info(hostile)
    commands = _commands(stream)
    assert [c.name for c in commands] == ["group", "endgroup"]
    assert commands[0].data == hostile


def test_group_closed_on_exception() -> None:
    log, stream = _log()
    with pytest.raises(RuntimeError), log.group("g"):
        raise RuntimeError
    assert [c.name for c in _commands(stream)] == ["group", "endgroup"]


def test_annotation_escapes_percent_cr_lf_exactly_like_actions_core() -> None:
    log, stream = _log()
    log.error("50% done\r\nnext", title="a:b,c%\n")
    assert stream.getvalue() == "::error title=a%3Ab%2Cc%25%0A::50%25 done%0D%0Anext\n"


def test_annotation_without_title_has_no_properties() -> None:
    log, stream = _log()
    log.warning("careful")
    log.notice("fyi", title="")
    assert stream.getvalue() == "::warning::careful\n::notice::fyi\n"


def test_annotation_message_is_capped() -> None:
    log, stream = _log()
    log.error("e" * 10_000)
    (command,) = _commands(stream)
    assert len(command.data) <= 4096


def test_debug_only_when_enabled() -> None:
    log, stream = _log(debug=False)
    log.debug("hidden")
    assert stream.getvalue() == ""
    log, stream = _log(debug=True)
    log.debug("shown\n::error::x")
    commands = _commands(stream)
    assert [(c.name, c.data) for c in commands] == [("debug", "shown\n::error::x")]


def test_info_line_kept_readable() -> None:
    log, stream = _log()
    log.info("Created run r1 (12 tests)")
    assert stream.getvalue() == "Created run r1 (12 tests)\n"


# -- secrets --------------------------------------------------------------------------------------


def _exercise(log: WorkflowLog, text: str) -> None:
    log.info(text)
    log.debug(text)
    log.error(text, title=text)
    log.warning(text, title=text)
    log.notice(text)
    with log.group(text):
        pass


def test_add_mask_comes_first_and_the_secret_appears_nowhere_else() -> None:
    log, stream = _log(debug=True)
    log.add_mask(SECRET)
    _exercise(log, f"key={SECRET} ({SECRET})")
    _exercise(log, SECRET)
    lines = split_log_lines(stream.getvalue())
    assert lines[0] == f"::add-mask::{SECRET}"
    assert all(SECRET not in line for line in lines[1:])
    assert sum("***" in line for line in lines) > 5
    commands = _commands(stream)
    assert commands[0].name == "add-mask"
    assert [c.name for c in commands].count("add-mask") == 1


def test_add_mask_data_escaped() -> None:
    log, stream = _log()
    log.add_mask("50%\nx")
    (command,) = _commands(stream)
    assert (command.name, command.data) == ("add-mask", "50%\nx")


def test_add_mask_of_empty_is_nothing() -> None:
    log, stream = _log()
    log.add_mask("")
    log.info("text")
    assert stream.getvalue() == "text\n"


def test_several_secrets_all_redacted() -> None:
    log, stream = _log()
    log.add_mask("alpha-secret")
    log.add_mask("beta-secret")
    log.info("alpha-secret and beta-secret")
    assert stream.getvalue().splitlines()[-1] == "*** and ***"


def test_a_mask_redacted_exactly_or_left_to_the_runner() -> None:
    log, stream = _log()
    log.add_mask("exact-Secret-42", redact="exact")
    log.add_mask("1", redact="none")
    log.info("exact-Secret-42 / EXACT-SECRET-42 / total 1")
    assert stream.getvalue().splitlines() == [
        "::add-mask::exact-Secret-42",
        "::add-mask::1",  # the runner masks it in the log; we leave counts alone
        "*** / EXACT-SECRET-42 / total 1",  # as written only: no spelling pattern to compile for each
    ]
    assert log.redact("total 1") == "total 1"


@pytest.mark.parametrize("kind", ["info", "error"])
def test_secret_straddling_the_length_cut_leaks_no_part(kind: str) -> None:
    log, stream = _log()
    log.add_mask(SECRET)
    getattr(log, kind)("x" * 3990 + SECRET)
    lines = split_log_lines(stream.getvalue())
    assert all(SECRET[:8] not in line for line in lines[1:])


def test_lone_surrogate_in_server_text_can_be_written_to_utf8_stdout() -> None:
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="\n")
    log = WorkflowLog(stdout)
    log.info("state: x\ud800y")
    log.error("conclusion x\udfffy", title="t\ud800")
    stdout.flush()
    buffer = stdout.buffer
    assert isinstance(buffer, io.BytesIO)
    assert buffer.getvalue().decode("utf-8").startswith("state: x")


# Inside the secret: characters the log shows as spaces (controls, bidi, U+2028) or drops.
BREAKERS = ["\x00", "\x01", "\x1b", "\x08", "\x0b", "\x0c", "\ufffe", "\uffff", "\u2028", "\u202e", "\r\n"]


def _spelled(text: str) -> bool:
    return SECRET.replace("_", "") in "".join(ch for ch in text if ch.isascii() and ch.isalnum())


@pytest.mark.parametrize("breaker", BREAKERS)
def test_the_secret_with_a_control_character_inside_is_redacted_from_every_line(breaker: str) -> None:
    log, stream = _log(debug=True)
    log.add_mask(SECRET)
    broken = SECRET[:8] + breaker + SECRET[8:]
    _exercise(log, f"name {broken} end")
    lines = split_log_lines(stream.getvalue())[1:]
    assert not any(_spelled(line) for line in lines)
    shown = [command.data for command in _commands(stream)[1:]]  # as the runner shows them, unescaped
    shown += [command.properties.get("title", "") for command in _commands(stream)]
    assert not any(_spelled(text) for text in shown)
    assert all("name *** end" in line for line in lines if "name" in line)
