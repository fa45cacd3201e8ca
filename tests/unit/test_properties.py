"""Properties over arbitrary text, checked against the runner's own rules (certyn_simulator.runner.filecommands)."""

from __future__ import annotations

import io
import json
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from certyn_action.api.models import Created, CreatedRun, RunStatus
from certyn_action.gate import Result, Verdict
from certyn_action.render.escape import escape_command_data, markdown, one_line, plain, visible
from certyn_action.render.summary import render_summary
from certyn_action.report import Report
from certyn_action.runner.files import OutputFile, cap_bytes
from certyn_action.runner.workflow import WorkflowLog
from certyn_action.settings import (
    InputErrors,
    RunMetadata,
    Settings,
    is_loopback,
    normalize_api_url,
    parse_tags,
    read_settings,
)
from certyn_simulator.runner.filecommands import (
    decode_file_command,
    parse_commands,
    parse_outputs,
    split_log_lines,
)
from tests.fakes import with_metadata

SETTINGS = settings(max_examples=200, deadline=None)
OUTPUT_NAMES = sorted(Report().outputs())
SECRET = "ck_live_S3cretValue42"

# Characters with a meaning somewhere (commands, outputs, Markdown, HTML, line breaks), mixed with anything.
_special_chars = st.sampled_from(list(":#[]%\r\n\u2028\u2029\x85\x00 \t|<>()!*_`\\-=,&\"'~{}@/"))
_tokens = st.sampled_from(
    ["::", "##[", "<<", "error", "add-mask", "set-output", "stop-commands", "ghadelimiter_"]
)
_text = st.text(alphabet=st.one_of(st.characters(codec="utf-8"), _special_chars), max_size=200) | st.lists(
    st.one_of(_special_chars, _tokens), max_size=12
).map("".join)
# Text shaped like a workflow command the runner would accept (any case, leading blanks, either form).
_command_like = st.builds(
    lambda lead, name, middle, rest: f"{lead}{name}{middle}{rest}",
    st.sampled_from(["::", " ::", "\t::", "\u00a0::", "x\n::", "x\r::", "##[", "x ##["]),
    st.sampled_from(["error", "ERROR", "warning", "add-mask", "stop-commands", "set-output name=a", "group"]),
    st.sampled_from(["::", "]", "::%0A", " title=t::"]),
    st.text(max_size=20),
)
untrusted = _text | _command_like


# -- inputs ---------------------------------------------------------------------------------------

_tag_text = st.one_of(
    untrusted,
    st.lists(st.text(max_size=20), max_size=8).map(json.dumps),
    st.lists(st.one_of(st.text(max_size=5), st.integers(), st.none(), st.booleans()), max_size=5).map(
        json.dumps
    ),
    st.lists(st.text(alphabet=" ,\r\nabAB", max_size=6), max_size=8).map(",".join),
)


@SETTINGS
@given(_tag_text)
def test_parse_tags_never_crashes(text: str) -> None:
    try:
        tags = parse_tags(text)
    except ValueError:
        return
    assert isinstance(tags, tuple)
    assert tags
    assert len(set(tags)) == len(tags)
    for tag in tags:
        assert isinstance(tag, str)
        assert tag
        assert tag == tag.strip()
        if not text.strip().startswith("["):
            assert tag in text
            assert "," not in tag
            assert "\n" not in tag
            assert "\r" not in tag


_url_text = st.one_of(
    untrusted,
    st.builds(
        lambda scheme, host, rest: scheme + host + rest,
        st.sampled_from(["https://", "http://", "HTTP://", "ftp://", "", "//", "https:"]),
        st.one_of(
            st.sampled_from(
                ["localhost", "127.0.0.1", "[::1]", "api.certyn.io", "[", "a@b", "h:0", "h:99999"]
            ),
            st.text(max_size=20),
        ),
        st.one_of(
            st.sampled_from(["", "/", "/api", "/api/", "/x/api", "?q", "#f", ":80"]), st.text(max_size=20)
        ),
    ),
)


@SETTINGS
@given(_url_text)
def test_normalize_api_url_never_crashes(text: str) -> None:
    try:
        url = normalize_api_url(text)
    except ValueError:
        return
    parts = urlsplit(url)
    assert parts.scheme in ("https", "http")
    assert parts.hostname
    if parts.scheme == "http":
        assert is_loopback(parts.hostname)
    assert parts.username is None
    assert parts.password is None
    assert not parts.query
    assert not parts.fragment
    assert not url.endswith("/")
    assert not url.lower().endswith("/api")
    assert normalize_api_url(url) == url


@SETTINGS
@given(
    key=st.builds(lambda before, after: before + SECRET + after, untrusted, untrusted),
    values=st.dictionaries(
        st.sampled_from(["tags", "api-url", "wait", "timeout-seconds", "job-index", "idempotency-key"]),
        untrusted,
    ),
)
def test_read_inputs_raises_only_input_errors_and_never_shows_the_key(
    key: str, values: dict[str, str]
) -> None:
    env = {"INPUT_API-KEY": key, "INPUT_PROJECT-SLUG": "p", "INPUT_PROCESS-SLUG": "s"}
    env |= {"INPUT_" + name.upper(): value for name, value in values.items()}
    message = ""
    try:
        read_settings(env)
    except InputErrors as err:
        message = str(err) + "".join(e.message for e in err.errors)
    assert SECRET not in message


# -- GITHUB_OUTPUT ----------------------------------------------------------------------------------


@SETTINGS
@given(
    st.lists(st.dictionaries(st.sampled_from(OUTPUT_NAMES), untrusted | st.text()), min_size=1, max_size=4)
)
def test_outputs_read_back_exactly_by_the_runner(writes: list[dict[str, str]]) -> None:
    expected: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "set_output"
        out = OutputFile(str(path))
        for values in writes:
            out.write(values)
            expected.update(values)
        text = decode_file_command(path.read_bytes()) if path.exists() else ""
    assert parse_outputs(text) == expected


# -- workflow commands ----------------------------------------------------------------------------

_calls = st.lists(
    st.tuples(
        st.sampled_from(["info", "debug", "error", "warning", "notice", "group"]), untrusted, untrusted
    ),
    min_size=1,
    max_size=6,
)


@SETTINGS
@given(_calls)
def test_log_has_only_the_commands_we_meant(calls: list[tuple[str, str, str]]) -> None:
    stream = io.StringIO()
    log = WorkflowLog(stream, debug=True)
    log.add_mask(SECRET)
    expected: list[tuple[str, str]] = [("add-mask", SECRET)]
    for kind, text, title in calls:
        if kind == "info":
            log.info(text)
        elif kind == "debug":
            log.debug(text)
            expected.append(("debug", visible(log.redact(text))))
        elif kind == "group":
            with log.group(text):
                log.info(title)
            expected += [("group", visible(log.redact(text))), ("endgroup", "")]
        else:
            getattr(log, kind)(text, title=title)
            expected.append((kind, visible(log.redact(plain(text)))))  # annotations: code spans as words
    lines = split_log_lines(stream.getvalue())
    commands = parse_commands(lines)
    assert [(c.name, c.data) for c in commands] == expected
    assert not any(c.legacy for c in commands)
    assert all(SECRET not in line for line in lines[1:])
    for line in lines:
        if not line.startswith("::"):
            assert not line.lstrip().startswith("::")
            assert "##[" not in line


@SETTINGS
@given(untrusted)
def test_one_line_is_one_line(text: str) -> None:
    flat = one_line(text)
    assert split_log_lines(flat + "\n") in ([flat], [])
    assert re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", flat) is None
    assert "##[" not in flat
    assert len(flat) <= 500


@SETTINGS
@given(untrusted)
def test_command_data_survives_the_runner(text: str) -> None:
    (command,) = parse_commands([f"::notice::{escape_command_data(text)}"])
    assert command.data == text


# -- job summary ----------------------------------------------------------------------------------


def _cells(row: str) -> int:
    return len(re.split(r"(?<!\\)\|", row)) - 2


@SETTINGS
@given(untrusted)
def test_markdown_escapes_everything_markdown_or_html(text: str) -> None:
    out = markdown(text)
    assert "<" not in out
    assert ">" not in out
    assert "\n" not in out
    assert re.search(r"(?<!\\)[|*_`\[\]()!]", out) is None


_server = st.fixed_dictionaries(
    {
        "state": untrusted,
        "conclusion": untrusted,
        "appUrl": st.one_of(untrusted, st.builds(lambda t: "https://app.certyn.io/" + t, untrusted)),
        "total": st.integers(0, 10**12),
        "failed": st.integers(0, 10**12),
    }
)


def _inputs(project: str, tags: str) -> Settings:
    env = {"INPUT_API-KEY": "k", "INPUT_PROJECT-SLUG": project.strip() or "p", "INPUT_TAGS": tags}
    try:
        return read_settings(env)
    except ValueError:
        return read_settings(env | {"INPUT_TAGS": "fallback"})


@SETTINGS
@given(
    server=_server,
    run_id=untrusted.filter(lambda s: 0 < len(s) <= 200),
    reasons=st.lists(untrusted, max_size=25),
    project=untrusted,
    tags=_tag_text,
    ref=untrusted,
    job_url=untrusted,
    result=st.sampled_from(list(Result)),
    replayed=st.booleans(),
)
def test_summary_stays_valid_for_any_server_text(
    server: dict[str, Any],
    run_id: str,
    reasons: list[str],
    project: str,
    tags: str,
    ref: str,
    job_url: str,
    result: Result,
    replayed: bool,
) -> None:
    try:  # a run id the model refuses (dots only, ...) never reaches the summary: nothing to render
        created = CreatedRun.model_validate({"runId": run_id, "appUrl": server["appUrl"]})
    except ValueError:
        assume(False)
    report = Report(
        inputs=with_metadata(
            _inputs(project, tags), RunMetadata("o/r", ref, ref, "push", job_url, job_url, job_url)
        ),
        created=Created(created, replayed),
        status=RunStatus.model_validate(server),
        verdict=Verdict(result, tuple(reasons)),
        notes=reasons[:3],
        duration=12.0,
    )
    text = render_summary(report)
    assert len(text.encode("utf-8")) < 256 * 1024
    assert cap_bytes(text, 1024 * 1024) == text
    assert "<" not in text.replace("<code>", "").replace("</code>", "")
    for target in re.findall(r"\]\(([^)]*)\)", text):
        assert target.startswith(("https://", "http://"))
        assert not re.search(r"\s", target)
    width: int | None = None
    for line in text.split("\n"):
        if line.startswith("|"):
            assert line.endswith("|")
            width = _cells(line) if width is None else width
            assert _cells(line) == width, line
        else:
            width = None
