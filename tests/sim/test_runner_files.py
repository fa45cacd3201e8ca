"""The fake runner: GITHUB_OUTPUT parsing, workflow commands, the env it builds, and running an action.

Expected values come from actions/runner's rules (FileCommandManager, ActionCommand), written out by hand.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certyn_simulator.runner import (
    CONTAINER_PATHS,
    Event,
    FakeRunner,
    PythonLauncher,
    RunnerFiles,
    input_env_name,
    translate_env,
)
from certyn_simulator.runner.actionyml import evaluate_default, parse_action_inputs
from certyn_simulator.runner.filecommands import (
    FileCommandError,
    decode_file_command,
    parse_commands,
    parse_file_command,
    parse_outputs,
    split_log_lines,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

# GITHUB_OUTPUT ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("a=1\nb=2\n", {"a": "1", "b": "2"}),
        ("a=1\nb=2", {"a": "1", "b": "2"}),
        ("\n\na=1\n\n", {"a": "1"}),
        ("x=1=2\n", {"x": "1=2"}),
        ("x=\n", {"x": ""}),
        ("=v\n", {"": "v"}),  # the runner's empty-name check tests the line, so this passes
        ("a=1\na=2\n", {"a": "2"}),
        ("a=b<<c\n", {"a": "b<<c"}),
        ("v=line\r\n", {"v": "line\r"}),
        ("n<<EOF\nhello\nworld\nEOF\n", {"n": "hello\nworld"}),
        ("n<<EOF\nhello\nEOF", {"n": "hello"}),
        ("n<<EOF\nEOF\n", {"n": ""}),
        ("n<<EOF\n\nEOF\n", {"n": ""}),
        ("n<<EOF\nline\n\nEOF\n", {"n": "line\n"}),
        ("n<<EOF\n\nline\nEOF\n", {"n": "\nline"}),
        ("n<<EOF\nv\r\nEOF\n", {"n": "v\r"}),
        ("n<<EOF\r\nv\r\nEOF\r\n", {"n": "v\r"}),  # the delimiter is "EOF\r"
        ("n<<EOF\n EOF\nEOF\n", {"n": " EOF"}),
        ("n<<d=1\nx\nd=1\n", {"n": "x"}),
        ("n<<EOF\na=1\nEOF\nm=2\n", {"n": "a=1", "m": "2"}),
        ("n<<EOF\nfirst\nEOF\nn=second\n", {"n": "second"}),
    ],
)
def test_output_file_examples(text: str, expected: dict[str, str]) -> None:
    assert parse_outputs(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("just text\n", "Invalid format 'just text'"),
        ("a=1\nbroken\n", "Invalid format 'broken'"),
        ("n<<EOF\nvalue\n", "Matching delimiter not found 'EOF'"),
        ("n<<EOF\nvalue\nEOF \n", "Matching delimiter not found 'EOF'"),
        ("n<<EOF\nv\nEOF\r\n", "Matching delimiter not found 'EOF'"),
        ("n<<EOF\nvalue", "EOF marker missing new line"),
        ("<<EOF\nv\nEOF\n", "Name must not be empty and delimiter must not be empty"),
        ("n<<\nv\n\n", "Name must not be empty and delimiter must not be empty"),
        ("n<<EOF", "Matching delimiter not found"),
    ],
)
def test_output_file_errors(text: str, message: str) -> None:
    with pytest.raises(FileCommandError, match=message.replace("'", ".")):
        parse_outputs(text)


def test_a_newline_in_a_plain_value_injects_another_output() -> None:
    assert parse_outputs("result=passed\nresult=failed\n") == {"result": "failed"}
    with pytest.raises(FileCommandError):
        parse_outputs("message=line one\nline two\n")


def test_pairs_keep_file_order_and_duplicates() -> None:
    assert parse_file_command("a=1\nb<<X\n2\nX\na=3\n") == [("a", "1"), ("b", "2"), ("a", "3")]


def test_file_decoding_drops_a_bom_and_replaces_bad_bytes() -> None:
    assert decode_file_command(b"\xef\xbb\xbfa=1\n") == "a=1\n"
    assert decode_file_command(b"a=\xff\n") == "a=\ufffd\n"


NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_0123456789", min_size=1, max_size=12)


@given(name=NAMES, value=st.text())
def test_toolkit_heredoc_form_round_trips(name: str, value: str) -> None:
    """What @actions/core writes (heredoc, random delimiter) reads back exactly, whatever the value."""
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    assert parse_outputs(f"{name}<<{delimiter}\n{value}\n{delimiter}\n") == {name: value}


# Workflow commands -------------------------------------------------------------------------------------


def test_command_with_escaped_properties_and_data() -> None:
    (cmd,) = parse_commands(["::error title=A%3Ab%2Cc,file=app.py,line=3::bad%0Aline%25 and %0D"])
    assert cmd.name == "error"
    assert cmd.properties == {"title": "A:b,c", "file": "app.py", "line": "3"}
    assert cmd.data == "bad\nline% and \r"
    assert not cmd.legacy


def test_unescaping_is_sequential_like_the_runner() -> None:
    (cmd,) = parse_commands(["::notice::%250A"])
    assert cmd.data == "%0A"  # %25 is undone last, so an escaped "%0A" stays literal


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("::group::Title", "group"),
        ("::endgroup::", "endgroup"),
        ("   ::warning::indented", "warning"),
        ("::ERROR::upper", "error"),
        ("::add-mask::secret", "add-mask"),
        ("::debug::x", "debug"),
        ("prefix ##[error]legacy anywhere in the line", "error"),
    ],
)
def test_recognised_commands(line: str, name: str) -> None:
    commands = parse_commands([line])
    assert [c.name for c in commands] == [name]


@pytest.mark.parametrize(
    "line",
    ["plain text", "text ::error::not at the start", "::error", "::unknown-thing::x", "##[nope]x", "::::x"],
)
def test_not_commands(line: str) -> None:
    assert parse_commands([line]) == []


def test_property_without_value_is_ignored() -> None:
    (cmd,) = parse_commands(["::error title=,file=a=b::x"])
    assert cmd.properties == {"file": "a=b"}


def test_stop_commands_suspends_until_the_token() -> None:
    lines = ["::stop-commands::tok123", "::error::hidden", "::TOK123::", "::error::shown"]
    commands = parse_commands(lines)
    assert [(c.name, c.data) for c in commands] == [
        ("stop-commands", "tok123"),
        ("tok123", ""),
        ("error", "shown"),
    ]


def test_stop_commands_with_an_empty_token_never_resumes() -> None:
    assert [c.name for c in parse_commands(["::stop-commands::", "::error::x", "::::"])] == ["stop-commands"]


def test_log_lines_split_like_dotnet_readline() -> None:
    assert split_log_lines("a\rb\r\nc\n\nd") == ["a", "b", "c", "", "d"]
    assert [c.name for c in parse_commands(split_log_lines("server said\r::error::injected\n"))] == ["error"]


def test_commands_remember_their_stream() -> None:
    (cmd,) = parse_commands([("stderr", "::warning::w")])
    assert cmd.stream == "stderr"
    assert cmd.line == "::warning::w"


# action.yml and the env ----------------------------------------------------------------------------------

ACTION_YML = textwrap.dedent(
    """\
    name: Test action
    description: for tests
    inputs:
      api-key:
        description: key
        required: true
      api-url:
        description: >
          base url,
          folded
        default: https://api.certyn.io  # a comment
      wait:
        default: "true"
      quoted:
        default: 'it''s'
      my input:
        default: ""
      job-index:
        default: ${{ strategy.job-index }}
      check-run-id:
        default: ${{ job.check_run_id }}
      repo:
        default: "${{ github.repository }}@x"
    outputs:
      result:
        description: r
    runs:
      using: docker
      image: Dockerfile
    """
)


@pytest.fixture
def action_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "action.yml").write_text(ACTION_YML, encoding="utf-8")
        yield root


def test_action_yml_inputs() -> None:
    spec = parse_action_inputs(ACTION_YML)
    assert list(spec) == [
        "api-key",
        "api-url",
        "wait",
        "quoted",
        "my input",
        "job-index",
        "check-run-id",
        "repo",
    ]
    assert spec["api-key"].required
    assert spec["api-key"].default is None
    assert spec["api-url"].default == "https://api.certyn.io"
    assert spec["api-url"].description == "base url, folded\n"
    assert spec["wait"].default == "true"
    assert spec["quoted"].default == "it's"
    assert spec["my input"].default == ""
    assert spec["job-index"].default == "${{ strategy.job-index }}"


def test_parser_agrees_with_yaml_on_the_real_action_yml() -> None:
    yaml = pytest.importorskip("yaml")
    text = (REPO_ROOT / "action.yml").read_text(encoding="utf-8")
    expected = yaml.safe_load(text)["inputs"]
    spec = parse_action_inputs(text)
    assert list(spec) == list(expected)
    for name, item in expected.items():
        assert spec[name].description == item.get("description", "")
        assert spec[name].required == bool(item.get("required", False))
        assert spec[name].default == (str(item["default"]) if "default" in item else None)


def test_evaluate_default() -> None:
    ctx = {"strategy.job-index": "3", "github.repository": "o/r"}
    assert evaluate_default("${{ strategy.job-index }}", ctx) == "3"
    assert evaluate_default("${{github.repository}}-${{ strategy.job-index }}", ctx) == "o/r-3"
    assert evaluate_default("${{ job.check_run_id }}", ctx) == ""
    assert evaluate_default("plain", ctx) == "plain"


def test_input_env_names_keep_hyphens() -> None:
    assert input_env_name("api-key") == "INPUT_API-KEY"
    assert input_env_name("my input") == "INPUT_MY_INPUT"
    assert input_env_name("fail-on-blocked") == "INPUT_FAIL-ON-BLOCKED"


def _env(runner: FakeRunner, inputs: dict[str, str], **kwargs: object) -> tuple[dict[str, str], RunnerFiles]:
    files = RunnerFiles.create(runner.action_dir / f"runner-{uuid.uuid4().hex}")
    event = kwargs.pop("event", None) or Event.push()
    assert isinstance(event, Event)
    messages: list[str] = []
    env = runner.build_env(inputs, files, event=event, messages=messages, **kwargs)  # type: ignore[arg-type]
    env["_MESSAGES"] = json.dumps(messages)
    return env, files


def test_inputs_get_defaults_and_explicit_empty_stays_empty(action_dir: Path) -> None:
    runner = FakeRunner(action_dir)
    env, _ = _env(runner, {"api-key": "k", "wait": ""})
    assert env["INPUT_API-KEY"] == "k"
    assert env["INPUT_WAIT"] == ""  # given, even empty: no default
    assert env["INPUT_API-URL"] == "https://api.certyn.io"
    assert env["INPUT_QUOTED"] == "it's"
    assert env["INPUT_MY_INPUT"] == ""
    assert env["INPUT_JOB-INDEX"] == "0"
    assert env["INPUT_CHECK-RUN-ID"].isdigit()
    assert env["INPUT_REPO"] == "certyn-demo/shop@x"
    assert "INPUT_API_KEY" not in env


def test_missing_input_without_default_is_empty(action_dir: Path) -> None:
    env, _ = _env(FakeRunner(action_dir), {})
    assert env["INPUT_API-KEY"] == ""


def test_expression_context_overrides_and_given_inputs_win(action_dir: Path) -> None:
    runner = FakeRunner(action_dir, context={"job.check_run_id": "777"})
    env, _ = _env(runner, {}, context={"strategy.job-index": "2"})
    assert env["INPUT_JOB-INDEX"] == "2"
    assert env["INPUT_CHECK-RUN-ID"] == "777"
    env, _ = _env(runner, {"job-index": "5", "check-run-id": ""})
    assert env["INPUT_JOB-INDEX"] == "5"
    assert env["INPUT_CHECK-RUN-ID"] == ""


def test_unexpected_inputs_are_passed_with_a_warning(action_dir: Path) -> None:
    env, _ = _env(FakeRunner(action_dir), {"surprise": "x"})
    assert env["INPUT_SURPRISE"] == "x"
    assert "Unexpected input(s) 'surprise'" in json.loads(env["_MESSAGES"])[0]


def test_runner_files_and_paths(action_dir: Path) -> None:
    env, files = _env(FakeRunner(action_dir), {})
    assert env["GITHUB_ACTIONS"] == "true"
    assert env["CI"] == "true"
    output = Path(env["GITHUB_OUTPUT"])
    summary = Path(env["GITHUB_STEP_SUMMARY"])
    assert output.parent == summary.parent == files.file_commands
    assert output.name.startswith("set_output_")
    assert summary.name.startswith("step_summary_")
    assert output.name.removeprefix("set_output_") == summary.name.removeprefix("step_summary_")
    uuid.UUID(output.name.removeprefix("set_output_"))
    assert output.is_file()
    assert output.read_text() == ""
    assert env["GITHUB_EVENT_PATH"] == str(files.workflow / "event.json")
    assert env["HOME"] == str(files.home)
    assert env["GITHUB_WORKSPACE"] == str(files.workspace)
    assert env["RUNNER_TEMP"] == str(files.runner_temp)
    assert "GITHUB_TOKEN" not in env
    for name in (
        "REPOSITORY",
        "REPOSITORY_ID",
        "RUN_ID",
        "RUN_ATTEMPT",
        "RUN_NUMBER",
        "JOB",
        "ACTION",
        "SERVER_URL",
        "API_URL",
        "SHA",
        "REF",
        "REF_NAME",
        "REF_TYPE",
        "HEAD_REF",
        "BASE_REF",
        "EVENT_NAME",
        "WORKFLOW",
        "ACTOR",
    ):
        assert f"GITHUB_{name}" in env, name


def test_push_event(action_dir: Path) -> None:
    event = Event.push(branch="release/2", sha="a" * 40)
    env, _ = _env(FakeRunner(action_dir), {}, event=event)
    assert env["GITHUB_EVENT_NAME"] == "push"
    assert env["GITHUB_SHA"] == "a" * 40
    assert env["GITHUB_REF"] == "refs/heads/release/2"
    assert env["GITHUB_REF_NAME"] == "release/2"
    assert env["GITHUB_REF_TYPE"] == "branch"
    assert env["GITHUB_HEAD_REF"] == ""
    assert event.payload["after"] == "a" * 40


def test_pull_request_event_has_a_merge_sha_different_from_the_head(action_dir: Path) -> None:
    event = Event.pull_request(number=7, head_ref="feat", head_sha="b" * 40)
    env, _ = _env(FakeRunner(action_dir), {}, event=event)
    assert env["GITHUB_EVENT_NAME"] == "pull_request"
    assert env["GITHUB_REF"] == "refs/pull/7/merge"
    assert env["GITHUB_REF_NAME"] == "7/merge"
    assert env["GITHUB_HEAD_REF"] == "feat"
    assert env["GITHUB_BASE_REF"] == "main"
    head = event.payload["pull_request"]["head"]
    assert head["sha"] == "b" * 40
    assert env["GITHUB_SHA"] != head["sha"]


def test_tag_event(action_dir: Path) -> None:
    env, _ = _env(FakeRunner(action_dir), {}, event=Event.tag("v2.0.1"))
    assert env["GITHUB_REF"] == "refs/tags/v2.0.1"
    assert env["GITHUB_REF_NAME"] == "v2.0.1"
    assert env["GITHUB_REF_TYPE"] == "tag"


def test_env_overrides_set_and_remove(action_dir: Path) -> None:
    env, _ = _env(
        FakeRunner(action_dir, base_env={"GITHUB_RUN_ID": "1"}),
        {},
        env_overrides={"GITHUB_RUN_ATTEMPT": "3", "GITHUB_EVENT_PATH": None, "INPUT_WAIT": "false"},
    )
    assert env["GITHUB_RUN_ID"] == "1"
    assert env["GITHUB_RUN_ATTEMPT"] == "3"
    assert "GITHUB_EVENT_PATH" not in env
    assert env["INPUT_WAIT"] == "false"


def test_translate_env_maps_host_paths_into_the_container(action_dir: Path) -> None:
    env, files = _env(FakeRunner(action_dir), {"api-key": "x"})
    inside = translate_env(env, files)
    assert inside["GITHUB_OUTPUT"].startswith(CONTAINER_PATHS["file_commands"] + "/set_output_")
    assert inside["GITHUB_EVENT_PATH"] == "/github/workflow/event.json"
    assert inside["HOME"] == "/github/home"
    assert inside["GITHUB_WORKSPACE"] == "/github/workspace"
    assert inside["RUNNER_TEMP"] == "/github/runner_temp"
    assert inside["INPUT_API-KEY"] == "x"


def test_python_launcher_passes_only_the_runner_env(
    action_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOME_HOST_SECRET", "leak")
    env, files = _env(FakeRunner(action_dir), {})
    argv, proc_env = PythonLauncher(action_dir).command(env, files)
    assert argv[-1] == str(action_dir.resolve() / "entrypoint.py")
    assert "SOME_HOST_SECRET" not in proc_env
    assert proc_env["PATH"]
    assert proc_env["INPUT_API-URL"] == "https://api.certyn.io"
    assert proc_env["PYTHONUNBUFFERED"] == "1"


# Running an action -----------------------------------------------------------------------------------------

ENTRYPOINT = textwrap.dedent(
    r"""
    import json, os, signal, sys, time
    mode = os.environ.get("INPUT_QUOTED", "")
    def out(text):
        with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as f:
            f.write(text)
    if mode == "normal":
        print("::group::Hello")
        print("cwd=" + os.getcwd())
        print("::warning title=T::careful", file=sys.stderr)
        print("::endgroup::")
        out("result<<EOF\npassed\nEOF\nsha=" + os.environ["GITHUB_SHA"] + "\n")
        event = json.load(open(os.environ["GITHUB_EVENT_PATH"], encoding="utf-8"))
        out("event_ref=" + event["ref"] + "\n")
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as f:
            f.write("## Summary\n")
        sys.exit(3)
    if mode == "bad-output":
        out("oops no equals\n")
    if mode == "noisy":
        sys.stdout.write("o" * 300000 + "\n")
        sys.stderr.write("e" * 300000 + "\n")
        out("done=yes\n")
    if mode == "graceful":
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
        try:
            print("ready", flush=True)
            time.sleep(30)
        except KeyboardInterrupt:
            out("result=cancelled\n")
            print("cancelled cleanly", flush=True)
            sys.exit(1)
    if mode == "stubborn":
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready", flush=True)
        time.sleep(30)
    """
)


@pytest.fixture
def script_action(action_dir: Path) -> Path:
    (action_dir / "entrypoint.py").write_text(ENTRYPOINT, encoding="utf-8")
    return action_dir


def test_run_collects_exit_code_outputs_summary_and_commands(script_action: Path) -> None:
    run = FakeRunner(script_action).run({"quoted": "normal"}, event=Event.tag("v9"), timeout=30)
    assert run.exit_code == 3
    assert run.conclusion == "failure"
    assert run.outputs["result"] == "passed"
    assert run.outputs["sha"] == run.env["GITHUB_SHA"]
    assert run.outputs["event_ref"] == "refs/tags/v9"
    assert run.summary == "## Summary\n"
    # stdout and stderr are two pipes, read concurrently (as by the runner): order is kept per stream
    assert [c.name for c in run.commands if c.stream == "stdout"] == ["group", "endgroup"]
    assert sorted(c.name for c in run.commands) == ["endgroup", "group", "warning"]
    assert run.commands_named("warning")[0].stream == "stderr"
    assert run.commands_named("warning")[0].properties == {"title": "T"}
    assert "cwd=" in run.stdout
    cwd = next(line.text for line in run.lines if line.text.startswith("cwd="))
    assert cwd.endswith(os.path.join("work", "shop", "shop"))
    assert run.duration > 0
    assert "Process completed with exit code 3." in run.runner_messages
    assert run.files is None  # cleaned up
    assert not Path(cwd.removeprefix("cwd=")).exists()


def test_invalid_output_file_fails_the_step(script_action: Path) -> None:
    run = FakeRunner(script_action).run({"quoted": "bad-output"}, timeout=30)
    assert run.exit_code == 0
    assert run.conclusion == "failure"
    assert run.output_error is not None
    with pytest.raises(FileCommandError, match="Invalid format 'oops no equals'"):
        _ = run.outputs
    assert any("Unable to process file command 'output'" in m for m in run.runner_messages)


def test_large_output_on_both_streams_does_not_deadlock(script_action: Path) -> None:
    run = FakeRunner(script_action).run({"quoted": "noisy"}, timeout=30)
    assert run.exit_code == 0
    assert len(run.stdout) > 300000
    assert len(run.stderr) > 300000
    assert run.outputs == {"done": "yes"}


def test_keep_files(script_action: Path) -> None:
    run = FakeRunner(script_action, keep_files=True).run({"quoted": "normal"}, timeout=30)
    try:
        assert run.files is not None
        assert run.files.output_file.read_text(encoding="utf-8") == run.output_text
        assert json.loads(run.files.event_file.read_text(encoding="utf-8"))["ref"] == run.env["GITHUB_REF"]
    finally:
        if run.files is not None:
            shutil.rmtree(run.files.root)


def test_cancel_like_runner_stops_at_sigint_when_the_action_handles_it(script_action: Path) -> None:
    with FakeRunner(script_action).start({"quoted": "graceful"}) as running:
        running.wait_for_line(lambda line: line.text == "ready")
        run = running.cancel_like_runner(sigterm_after=5, sigkill_after=5)
    assert run.cancel is not None
    assert run.cancel.sigterm_at is None
    assert run.cancel.sigkill_at is None
    assert run.cancel.exit_after < 5
    assert run.exit_code == 1
    assert run.outputs == {"result": "cancelled"}
    assert "cancelled cleanly" in run.stdout


def test_cancel_like_runner_escalates_to_sigterm_then_sigkill(script_action: Path) -> None:
    with FakeRunner(script_action).start({"quoted": "stubborn"}) as running:
        running.wait_for_line(lambda line: line.text == "ready")
        run = running.cancel_like_runner(sigterm_after=0.2, sigkill_after=0.2)
    assert run.cancel is not None
    assert run.cancel.sigterm_at is not None
    assert run.cancel.sigkill_at is not None
    assert run.cancel.sigterm_at - run.cancel.sigint_at == pytest.approx(0.2, abs=0.15)
    assert run.cancel.sigkill_at - run.cancel.sigterm_at == pytest.approx(0.2, abs=0.15)
    assert run.exit_code == -signal.SIGKILL


def test_send_signal_and_timeout(script_action: Path) -> None:
    with FakeRunner(script_action).start({"quoted": "graceful"}) as running:
        running.wait_for_line(lambda line: line.text == "ready")
        running.send_signal(signal.SIGTERM)
        run = running.wait(timeout=10)
    assert run.exit_code == 143
    timed = FakeRunner(script_action).run({"quoted": "graceful"}, timeout=0.5)
    assert timed.timed_out
    assert timed.conclusion == "failure"
    assert timed.outputs == {"result": "cancelled"}
