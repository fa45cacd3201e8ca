"""files.py: GITHUB_OUTPUT read back with the runner's rules, the summary cap, the event payload."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from certyn_action.render.escape import Scrubber
from certyn_action.runner.files import (
    OUTPUT_LIMIT_BYTES,
    SUMMARY_LIMIT_BYTES,
    OutputFile,
    cap_bytes,
    heredoc,
    read_event_payload,
    write_summary,
)
from certyn_simulator.runner.filecommands import FileCommandError, decode_file_command, parse_outputs

TRICKY_VALUES = [
    "",
    "plain",
    "line1\nline2",
    "trailing newline\n",
    "\n",
    "\n\n",
    "cr\rinside",
    "crlf\r\n",
    "\r",
    "a=b",
    "=",
    "x<<EOF",
    "<<",
    "ghadelimiter_00000000000000000000000000000000",
    "result<<ghadelimiter_abc\nresult=failed\nghadelimiter_abc",
    "result=passed",
    "\nresult=passed\n",
    "emoji 😀 ünïcode",
    "\x00nul",
    "::error::x",
]


def _read(path: Path) -> dict[str, str]:
    return parse_outputs(decode_file_command(path.read_bytes()))


@pytest.mark.parametrize("value", TRICKY_VALUES)
def test_output_round_trips_through_the_runner_parser(tmp_path: Path, value: str) -> None:
    path = tmp_path / "out"
    OutputFile(str(path)).write({"state": value, "result": "failed"})
    assert _read(path) == {"state": value, "result": "failed"}


def test_many_values_in_one_file(tmp_path: Path) -> None:
    path = tmp_path / "out"
    values = {f"name-{i}": value for i, value in enumerate(TRICKY_VALUES)}
    OutputFile(str(path)).write(values)
    assert _read(path) == values


def test_later_values_win(tmp_path: Path) -> None:
    path = tmp_path / "out"
    out = OutputFile(str(path))
    out.write({"result": "error", "run-id": ""})
    out.write({"result": "passed", "run-id": "r1"})
    assert _read(path) == {"result": "passed", "run-id": "r1"}


def test_unchanged_values_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "out"
    out = OutputFile(str(path))
    out.write({"run-id": "r1", "state": "queued"})
    size = path.stat().st_size
    out.write({"run-id": "r1", "state": "queued"})
    assert path.stat().st_size == size
    out.write({"run-id": "r1", "state": "completed"})
    text = path.read_text(encoding="utf-8")
    assert text.count("run-id<<") == 1
    assert text.count("state<<") == 2
    assert _read(path) == {"run-id": "r1", "state": "completed"}


def test_appends_to_what_the_runner_or_others_wrote(tmp_path: Path) -> None:
    path = tmp_path / "out"
    path.write_text("earlier=1\n", encoding="utf-8")
    OutputFile(str(path)).write({"result": "passed"})
    assert _read(path) == {"earlier": "1", "result": "passed"}


def test_no_path_means_nothing_written_and_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # outside a runner there is no GITHUB_OUTPUT: nothing may appear anywhere
    for path in (None, ""):
        OutputFile(path).write({"result": "passed"})
        write_summary(path, "# summary")
    assert list(tmp_path.iterdir()) == []


def test_written_bytes_are_utf8_without_crlf_translation(tmp_path: Path) -> None:
    path = tmp_path / "out"
    OutputFile(str(path)).write({"v": "é\n"})
    data = path.read_bytes()
    assert b"\r" not in data
    assert "é".encode() in data


def test_heredoc_uses_a_random_delimiter_like_actions_core() -> None:
    first, second = heredoc("a", "v"), heredoc("a", "v")
    assert first != second
    match = re.fullmatch(r"a<<(ghadelimiter_[0-9a-f]{32})\nv\n\1\n", first)
    assert match is not None


@pytest.mark.parametrize("name", ["", "a<<b", "a=b", "a\nb", "a\rb"])
def test_heredoc_refuses_bad_names(name: str) -> None:
    with pytest.raises(ValueError, match="invalid output name"):
        heredoc(name, "v")


def test_parser_would_reject_a_plain_name_value_with_newline() -> None:
    # The reason for the heredoc form: the runner's reader fails on the plain form.
    with pytest.raises(FileCommandError):
        parse_outputs("state=line1\nline2\n")


# -- summary --------------------------------------------------------------------------------------


def test_summary_written_and_appended(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_text("before\n", encoding="utf-8")
    write_summary(str(path), "## Title\n")
    assert path.read_text(encoding="utf-8") == "before\n## Title\n"


def test_summary_capped_below_one_mebibyte_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    write_summary(str(path), "é" * SUMMARY_LIMIT_BYTES)
    data = path.read_bytes()
    assert SUMMARY_LIMIT_BYTES == 1024 * 1024
    assert len(data) <= SUMMARY_LIMIT_BYTES - 1024
    assert len(data) > SUMMARY_LIMIT_BYTES - 2048
    text = data.decode("utf-8")  # still valid UTF-8
    assert text.endswith("*(summary truncated)*\n")


def test_small_summary_untouched(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    write_summary(str(path), "ok\n")
    assert path.read_text(encoding="utf-8") == "ok\n"


@pytest.mark.parametrize("char", ["a", "é", "€", "😀"])
@pytest.mark.parametrize("limit", [40, 41, 42, 43, 44, 100])
def test_cap_bytes_never_splits_a_character(char: str, limit: int) -> None:
    text = char * 200
    capped = cap_bytes(text, limit)
    encoded = capped.encode("utf-8")
    assert len(encoded) <= limit
    assert capped.endswith("*(summary truncated)*\n")
    body = capped[: -len("\n\n*(summary truncated)*\n")]
    assert set(body) <= {char}
    assert len(body.encode("utf-8")) > limit - 40 - len(char.encode("utf-8"))


def test_cap_bytes_exact_fit_is_untouched() -> None:
    assert cap_bytes("abc", 3) == "abc"
    assert cap_bytes("€", 3) == "€"
    assert cap_bytes("", 0) == ""


# -- event payload --------------------------------------------------------------------------------


def test_read_event_payload(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"pull_request": {"head": {"sha": "abc"}}}), encoding="utf-8")
    assert read_event_payload(str(path)) == {"pull_request": {"head": {"sha": "abc"}}}


@pytest.mark.parametrize(
    "content", [b"", b"{", b"not json", b"[1, 2]", b'"text"', b"null", b"42", b"\xff\xfe"]
)
def test_read_event_payload_bad_content_is_empty(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "event.json"
    path.write_bytes(content)
    assert read_event_payload(str(path)) == {}


def test_read_event_payload_missing_is_empty(tmp_path: Path) -> None:
    assert read_event_payload(None) == {}
    assert read_event_payload("") == {}
    assert read_event_payload(str(tmp_path / "absent.json")) == {}
    assert read_event_payload(str(tmp_path)) == {}  # a directory


def test_lone_surrogate_in_server_text_does_not_lose_outputs_or_summary(tmp_path: Path) -> None:
    path = tmp_path / "out"
    OutputFile(str(path)).write({"result": "failed", "conclusion": "x\ud800y"})
    assert _read(path)["result"] == "failed"
    summary = tmp_path / "summary.md"
    write_summary(str(summary), "state x\ud800y\n")
    assert summary.read_text(encoding="utf-8").startswith("state x")


LIVE = "ck_live_SECRETSECRET123"


@pytest.mark.parametrize("breaker", ["\x00", "\x1b", "\x0b", "\ufffe", "\uffff", "\ud800", "\\u0000"])
def test_outputs_and_the_summary_are_scrubbed_as_written(tmp_path: Path, breaker: str) -> None:
    broken = LIVE[:8] + breaker + LIVE[8:]
    scrub = Scrubber(LIVE).text
    OutputFile(str(tmp_path / "out"), scrub).write({"failed-tests": json.dumps([f"a {broken}"]), "x": broken})
    write_summary(str(tmp_path / "summary"), f"| {broken} |\n", scrub)
    assert _read(tmp_path / "out") == {"failed-tests": '["a ***"]', "x": "***"}
    assert (tmp_path / "summary").read_text(encoding="utf-8") == "| *** |\n"


def test_a_json_array_output_over_the_cap_is_cut_at_an_item_and_stays_valid(tmp_path: Path) -> None:
    path, said = tmp_path / "out", list[str]()
    names = [f"{i:05d} " + "n" * 500 for i in range(15_000)]
    OutputFile(str(path), warn=said.append).write({"failed-tests": json.dumps(names), "result": "failed"})
    out = _read(path)
    kept = json.loads(out["failed-tests"])
    assert len(out["failed-tests"].encode()) <= OUTPUT_LIMIT_BYTES
    assert 1000 < len(kept) < len(names)
    assert kept == names[: len(kept)]  # whole names, the first ones
    assert out["result"] == "failed"
    assert len(said) == 1
    assert "`failed-tests`" in said[0]
    assert "1 MiB" in said[0]
    assert f"{len(kept)} of 15000" in said[0].replace(",", "")


def test_a_text_output_over_the_cap_is_cut_at_a_line_and_said_once(tmp_path: Path) -> None:
    path, said = tmp_path / "out", list[str]()
    lines = [f"line {i} " + "é" * 300 for i in range(3000)]
    output = OutputFile(str(path), warn=said.append)
    output.write({"conversation-response": "\n".join(lines)})
    output.write({"conversation-response": "\n".join(lines)})  # written again: no second warning
    value = _read(path)["conversation-response"]
    assert len(value.encode()) <= OUTPUT_LIMIT_BYTES
    assert value.split("\n") == lines[: len(value.split("\n"))]
    assert len(said) == 1
    assert "`conversation-response`" in said[0]
    assert "1 MiB" in said[0]


def test_an_output_within_the_cap_is_whole_and_nothing_is_said(tmp_path: Path) -> None:
    path, said = tmp_path / "out", list[str]()
    value = "x" * (OUTPUT_LIMIT_BYTES - 1)
    OutputFile(str(path), warn=said.append).write({"conversation-response": value})
    assert _read(path)["conversation-response"] == value
    assert said == []
