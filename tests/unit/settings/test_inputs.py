"""settings.py: every input of action.yml as the runner passes it: its default, how it is read, and each way a value
can be wrong (an input error that names the input and the fix)."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from certyn_action.settings import (
    DEFAULT_API_URL,
    MAX_INSTRUCTION,
    MAX_VARIABLES,
    GateSwitches,
    GitHubContext,
    InputError,
    InputErrors,
    Settings,
    api_origin,
    base_url_secrets,
    missing_key_hint,
    normalize_api_url,
    parse_base_url,
    parse_base_url_wait_seconds,
    parse_bool,
    parse_instruction,
    parse_junit_report,
    parse_run_id,
    parse_tags,
    parse_variables,
    raw_input,
    read_settings,
    variable_secrets,
)
from certyn_simulator.runner.actionyml import InputSpec, load_action_inputs
from tests.unit.settings.support import (
    KEY,
    SETTINGS,
    input_env,
    input_error,
    input_errors,
    input_name,
    messages,
    read,
    refusal,
)

ACTION_DIR = Path(__file__).resolve().parents[3]


def _action_inputs() -> dict[str, InputSpec]:
    return load_action_inputs(ACTION_DIR)


DERIVED = "derived from the GitHub context"  # the idempotency key when `idempotency-key` is unset
METADATA = ("repository", "ref", "commit_sha", "event", "external_url")  # inputs that override the metadata


def _field(inputs: Settings, name: str) -> object:
    attr = name.replace("-", "_")
    if attr.startswith("fail_on_"):
        return getattr(inputs.gate, attr)
    if attr in METADATA:  # outside Actions there is no context: the metadata is the input or ""
        return getattr(inputs.metadata, attr)
    if attr == "idempotency_key" and re.fullmatch("certyn-run-action:[0-9a-f]{32}", inputs.idempotency_key):
        return DERIVED
    return getattr(inputs, attr)


EXPECTED_DEFAULTS: dict[str, object] = {
    "environment-key": "",
    "process-slug": "",
    "tags": (),
    "api-url": DEFAULT_API_URL,
    "repository": "",
    "ref": "",
    "commit-sha": "",
    "event": "",
    "external-url": "",
    "idempotency-key": DERIVED,
    "wait": True,
    "timeout-seconds": 1800.0,
    "poll-interval-seconds": 10.0,
    "max-poll-interval-seconds": 30.0,
    "fail-on-failed": True,
    "fail-on-blocked": True,
    "fail-on-cancelled": True,
    "fail-on-aborted": True,
    "fail-on-empty": True,
    "fail-on-incomplete": True,
    "cancel-on-timeout": True,
    "cancel-on-job-cancel": True,
    "cancel-reason": "",
    "request-timeout-seconds": 30.0,
    "http-max-attempts": 5,
    "job-index": "",
    "check-run-id": "",
    "base-url": "",
    "base-url-wait-seconds": 30.0,
    "keep-environment": False,
    "variables": (),
    "runner-pool": "",
    "run-id": "",
    "test-results": True,
    "junit-report": "",
    "instruction": "",
    "conversation-timeout-seconds": 120.0,
    "diagnose": True,
    "github-token": "",  # action.yml's default is ${{ github.token }}, given by the runner
    "check-run": False,
    "pr-comment": "off",
}


# -- defaults ----------------------------------------------------------------------------------


def test_every_declared_input_has_a_known_default() -> None:
    declared = set(_action_inputs())
    assert declared == {*EXPECTED_DEFAULTS, "api-key", "project-slug"}


def test_required_inputs_are_declared_required_without_default() -> None:
    spec = _action_inputs()
    for name in ("api-key", "project-slug"):
        assert spec[name].required is True
        assert spec[name].default is None


@pytest.mark.parametrize("name", sorted(EXPECTED_DEFAULTS))
def test_input_unset_gives_documented_default(name: str) -> None:
    env = {input_name("api-key"): KEY, input_name("project-slug"): "shop", input_name("tags"): "smoke"}
    inputs = read_settings(env)
    expected = EXPECTED_DEFAULTS[name]
    if name == "tags":
        expected = ("smoke",)  # one of process-slug/tags must be given
    assert _field(inputs, name) == expected


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED_DEFAULTS if n not in ("process-slug", "tags")))
@pytest.mark.parametrize("empty", ["", "   ", "\n"])
def test_input_empty_gives_documented_default(name: str, empty: str) -> None:
    inputs = read_settings(input_env(**{name.replace("-", "_"): empty}))
    assert _field(inputs, name) == EXPECTED_DEFAULTS[name]


def test_action_yml_defaults_as_the_runner_passes_them_parse_to_the_defaults() -> None:
    # The runner applies `default:`; expression defaults arrive evaluated on a runner and unevaluated
    # when someone runs the container by hand. Both must read as the documented defaults.
    env = {input_name("api-key"): KEY, input_name("project-slug"): "shop"}
    for name, spec in _action_inputs().items():
        if spec.default is not None:
            env[input_name(name)] = spec.default
    env[input_name("process-slug")] = "smoke"
    inputs = read_settings(env)
    for name, expected in EXPECTED_DEFAULTS.items():
        if name != "process-slug":
            assert _field(inputs, name) == expected, name


def test_action_yml_expression_defaults_evaluated_by_runner() -> None:
    inputs = read_settings(input_env(job_index="3", check_run_id="4242424242"))
    assert inputs.job_index == "3"
    assert inputs.check_run_id == "4242424242"


def test_all_values_read_and_stripped() -> None:
    inputs = read_settings(
        input_env(
            environment_key=" staging ",
            repository="o/r",
            ref="main",
            commit_sha="abc",
            event="push",
            external_url="https://ci.example/job/1",
            idempotency_key="my-key",
            wait="false",
            timeout_seconds="60",
            poll_interval_seconds="2",
            max_poll_interval_seconds="5",
            fail_on_failed="false",
            fail_on_blocked="false",
            fail_on_cancelled="false",
            fail_on_aborted="false",
            fail_on_empty="false",
            fail_on_incomplete="false",
            cancel_on_timeout="false",
            cancel_on_job_cancel="false",
            cancel_reason="because",
            request_timeout_seconds="7.5",
            http_max_attempts="1",
        )
    )
    assert inputs.environment_key == "staging"
    assert (
        inputs.metadata.repository,
        inputs.metadata.ref,
        inputs.metadata.commit_sha,
        inputs.metadata.event,
    ) == ("o/r", "main", "abc", "push")
    assert inputs.metadata.external_url == "https://ci.example/job/1"
    assert inputs.idempotency_key == "my-key"
    assert inputs.wait is False
    assert (inputs.timeout_seconds, inputs.poll_interval_seconds) == (60.0, 2.0)
    assert inputs.max_poll_interval_seconds == 5.0
    assert inputs.gate == GateSwitches(False, False, False, False, False, False)
    assert (inputs.cancel_on_timeout, inputs.cancel_on_job_cancel) == (False, False)
    assert inputs.cancel_reason == "because"
    assert inputs.request_timeout_seconds == 7.5
    assert inputs.http_max_attempts == 1


def test_cancel_reason_is_cut_to_500_characters() -> None:
    assert len(read_settings(input_env(cancel_reason="x" * 5000)).cancel_reason) == 500


# -- names as the runner and a shell pass them ------------------------------------------------------


def test_hyphenated_name_as_the_runner_passes_it() -> None:
    env = {"INPUT_API-KEY": KEY, "INPUT_PROJECT-SLUG": "shop", "INPUT_PROCESS-SLUG": "smoke"}
    inputs = read_settings(env)
    assert (inputs.api_key, inputs.project_slug, inputs.process_slug) == (KEY, "shop", "smoke")


def test_underscore_fallback_for_shells() -> None:
    env = {"INPUT_API_KEY": KEY, "INPUT_PROJECT_SLUG": "shop", "INPUT_PROCESS_SLUG": "smoke"}
    inputs = read_settings(env)
    assert (inputs.api_key, inputs.project_slug, inputs.process_slug) == (KEY, "shop", "smoke")


def test_hyphenated_name_wins_over_underscore() -> None:
    assert raw_input({"INPUT_API-KEY": "a", "INPUT_API_KEY": "b"}, "api-key") == "a"
    assert raw_input({"INPUT_API_KEY": "b"}, "api-key") == "b"
    assert raw_input({}, "api-key") is None


# -- required -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "  "])
def test_api_key_required(value: str | None) -> None:
    env = input_env()
    if value is None:
        del env[input_name("api-key")]
    else:
        env[input_name("api-key")] = value
    err = input_error(env, "api-key")
    assert "secrets." in err.message
    assert "api-key" in str(err)


DEPENDABOT = {"GITHUB_ACTOR": "dependabot[bot]"}


def test_missing_key_hint_replaces_the_generic_message() -> None:
    env = input_env(api_key="") | DEPENDABOT
    err = next(e for e in input_errors(env) if e.name == "api-key")
    assert err.message == missing_key_hint(GitHubContext.from_env(DEPENDABOT, {}))
    assert "Dependabot" in err.message


def test_missing_key_hint_not_used_when_key_present() -> None:
    assert read_settings(input_env() | DEPENDABOT).api_key == KEY


def test_project_slug_required() -> None:
    err = input_error(input_env(project_slug=""), "project-slug")
    assert "required" in err.message


@pytest.mark.parametrize(
    "bad",
    [
        "ck live",
        "ck\nlive",
        "ck\tlive",
        "ck\rlive",
        "ck\x00live",
        "ck\u200blive",
        "ck\u00a0live",
        "ck\x1blive",
    ],
)
def test_api_key_with_whitespace_or_controls_refused_without_echoing_it(bad: str) -> None:
    with pytest.raises(InputErrors) as info:
        read_settings(input_env(api_key=bad))
    assert [e.name for e in info.value.errors] == ["api-key"]
    assert "re-save the secret" in info.value.errors[0].message
    for text in (str(info.value), repr(info.value), *(str(e) for e in info.value.errors)):
        assert "live" not in text
        assert bad not in text


def test_api_key_surrounding_whitespace_is_stripped() -> None:
    # A secret saved with a trailing newline is the common case; only inner whitespace is an error.
    assert read_settings(input_env(api_key=f"  {KEY}\n")).api_key == KEY


def test_api_key_value_never_in_any_error_even_with_everything_wrong() -> None:
    secret = "ck_SUPER secret_0123"
    env = input_env(
        api_key=secret,
        wait="maybe",
        api_url="http://example.com",
        tags="a",
        timeout_seconds="x",
    )
    errors = input_errors(env)
    text = "\n".join([*(str(e) for e in errors), *(e.message for e in errors)])
    assert "SUPER" not in text
    assert "secret_0123" not in text


# -- process-slug / tags --------------------------------------------------------------------------


def test_both_process_slug_and_tags_refused() -> None:
    err = input_error(input_env(tags="a"), "tags")
    assert "process-slug" in err.message
    assert "not both" in err.message


def test_neither_process_slug_nor_tags_refused() -> None:
    env = input_env()
    del env[input_name("process-slug")]
    err = input_error(env, "process-slug")
    assert "tags" in err.message


def test_an_empty_run_id_is_named_with_the_other_two_ways_and_why_it_may_be_empty() -> None:
    # `${{ needs.start.outputs.run-id }}` is "" when the job `start` maps no `outputs:`; the runner passes ""
    # for an absent input too, so the one error must offer all three ways and say why run-id may be empty.
    env = input_env(process_slug="", run_id="")
    [error] = input_errors(env)
    for name in ("`process-slug`", "`tags`", "`run-id`"):
        assert name in error.message
    assert "`outputs:`" in error.message


def test_tags_alone_accepted() -> None:
    inputs = read_settings(input_env(process_slug="", tags="smoke, api"))
    assert inputs.process_slug == ""
    assert inputs.tags == ("smoke", "api")


def test_invalid_tags_reported_once_without_a_neither_error() -> None:
    errors = input_errors(input_env(process_slug="", tags="[oops"))
    assert [e.name for e in errors] == ["tags"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("smoke", ("smoke",)),
        ("smoke,api", ("smoke", "api")),
        (" smoke , api ,", ("smoke", "api")),
        ("smoke\napi", ("smoke", "api")),
        ("smoke\r\napi\r\n", ("smoke", "api")),
        ("smoke\rapi", ("smoke", "api")),
        ("b,a,c", ("b", "a", "c")),
        ("a,b,a,b", ("a", "b")),
        ("Smoke,smoke", ("Smoke", "smoke")),
        ('["smoke", "api"]', ("smoke", "api")),
        ('  ["b", "a", "b", " c "]  ', ("b", "a", "c")),
        ('["with,comma"]', ("with,comma",)),
        ("a,\n,b", ("a", "b")),
    ],
)
def test_parse_tags(raw: str, expected: tuple[str, ...]) -> None:
    assert parse_tags(raw) == expected


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("[smoke, api]", "not valid JSON"),
        ('["a", 1]', "only strings"),
        ('["a", null]', "only strings"),
        ('[["a"]]', "only strings"),
        ("[]", "no tag"),
        ('["", "  "]', "no tag"),
        (",,,", "no tag"),
        ("\n\r\n", "no tag"),
    ],
)
def test_parse_tags_refuses(raw: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_tags(raw)


def test_bad_tags_input_names_tags() -> None:
    err = input_error(input_env(process_slug="", tags='["a", 1]'), "tags")
    assert str(err).startswith("Input 'tags':")


# -- api-url --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://api.certyn.io", "https://api.certyn.io"),
        ("https://api.certyn.io/", "https://api.certyn.io"),
        ("https://api.certyn.io/api", "https://api.certyn.io"),
        ("https://api.certyn.io/api/", "https://api.certyn.io"),
        ("https://api.certyn.io/API", "https://api.certyn.io"),
        ("  https://api.certyn.io/api/  ", "https://api.certyn.io"),
        ("https://gw.example.com/certyn", "https://gw.example.com/certyn"),
        ("https://gw.example.com/certyn/api/", "https://gw.example.com/certyn"),
        ("https://gw.example.com/api/v2", "https://gw.example.com/api/v2"),
        ("https://gw.example.com:8443/x/", "https://gw.example.com:8443/x"),
        ("HTTPS://API.Certyn.IO", "https://api.certyn.io"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://localhost:8080/api", "http://localhost:8080"),
        ("http://127.0.0.1:9", "http://127.0.0.1:9"),
        ("http://127.1.2.3", "http://127.1.2.3"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
    ],
)
def test_normalize_api_url(raw: str, expected: str) -> None:
    assert normalize_api_url(raw) == expected
    assert normalize_api_url(expected) == expected


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("http://api.certyn.io", "https"),
        ("http://10.0.0.1:8080", "https"),
        ("http://localhost.evil.example", "https"),
        ("http://sim.localhost", "https"),
        ("https://api.certyn.io:0", "port 0"),
        ("http://127.0.0.1:0", "port 0"),  # a resolver may send *.localhost to DNS
        ("http://attacker.example.localhost:8080", "https"),
        ("https://user:pw@api.certyn.io", "credentials"),
        ("https://user@api.certyn.io", "credentials"),
        ("https://api.certyn.io?x=1", "query"),
        ("https://api.certyn.io/#frag", "fragment"),
        ("https://api.certyn.io:99999", "not a valid URL"),
        ("https://api.certyn.io:port", "not a valid URL"),
        ("https://[::1", "not a valid URL"),
        ("ftp://api.certyn.io", "absolute https URL"),
        ("api.certyn.io", "absolute https URL"),
        ("/api", "absolute https URL"),
        ("https://", "absolute https URL"),
    ],
)
def test_normalize_api_url_refuses(raw: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        normalize_api_url(raw)


def test_bad_api_url_names_the_input_and_never_echoes_credentials() -> None:
    err = input_error(input_env(api_url="https://me:hunter2@api.certyn.io"), "api-url")
    assert str(err).startswith("Input 'api-url':")
    assert "hunter2" not in str(err)


# -- booleans -------------------------------------------------------------------------------------

BOOLEANS = [
    "wait",
    "fail-on-failed",
    "fail-on-blocked",
    "fail-on-cancelled",
    "fail-on-aborted",
    "fail-on-empty",
    "fail-on-incomplete",
    "cancel-on-timeout",
    "cancel-on-job-cancel",
    "diagnose",
]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False), ("FALSE", False)],
)
def test_parse_bool(raw: str, expected: bool) -> None:
    assert parse_bool(raw) is expected


@pytest.mark.parametrize("name", BOOLEANS)
@pytest.mark.parametrize("raw", ["false", "FALSE", " False "])
def test_boolean_inputs_read_false(name: str, raw: str) -> None:
    assert _field(read_settings(input_env(**{name.replace("-", "_"): raw})), name) is False


@pytest.mark.parametrize("name", BOOLEANS)
@pytest.mark.parametrize("raw", ["yes", "1", "on", "ture"])
def test_bad_boolean_names_the_input(name: str, raw: str) -> None:
    err = input_error(input_env(**{name.replace("-", "_"): raw}), name)
    assert str(err).startswith(f"Input '{name}':")
    assert "`true` or `false`" in err.message
    assert raw in err.message


# -- numbers --------------------------------------------------------------------------------------

SECONDS = ["timeout-seconds", "poll-interval-seconds", "max-poll-interval-seconds", "request-timeout-seconds"]


@pytest.mark.parametrize("name", SECONDS)
@pytest.mark.parametrize("raw", ["0", "0.5", "-1", "nan", "NaN", "inf", "-inf", "1e999"])
def test_seconds_below_minimum_or_not_finite_refused(name: str, raw: str) -> None:
    err = input_error(input_env(**{name.replace("-", "_"): raw}), name)
    assert "must be between 1 and" in err.message


@pytest.mark.parametrize(
    ("name", "too_long"),
    [
        ("timeout-seconds", "1e10"),
        ("request-timeout-seconds", "601"),
        ("poll-interval-seconds", "3601"),
        ("max-poll-interval-seconds", "1e9"),
    ],
)
def test_seconds_above_maximum_refused(name: str, too_long: str) -> None:
    # Such values would overflow the clocks of waits and sleeps after the run was created.
    err = input_error(input_env(**{name.replace("-", "_"): too_long}), name)
    assert "must be between 1 and" in err.message


@pytest.mark.parametrize("name", SECONDS)
@pytest.mark.parametrize("raw", ["ten", "10s", "1,5", "0x10"])
def test_seconds_not_a_number_refused(name: str, raw: str) -> None:
    err = input_error(input_env(**{name.replace("-", "_"): raw}), name)
    assert "number" in err.message


@pytest.mark.parametrize("name", SECONDS)
@pytest.mark.parametrize(("raw", "expected"), [("1", 1.0), ("2.5", 2.5), ("1e2", 100.0), (" 90 ", 90.0)])
def test_seconds_accepted(name: str, raw: str, expected: float) -> None:
    # The floor is lowered with the ceiling so that max-poll is not raised to the default floor.
    env = input_env(**{"poll_interval_seconds": "1", name.replace("-", "_"): raw})
    assert _field(read_settings(env), name) == expected


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("0", "between 1 and 20"),
        ("21", "between 1 and 20"),
        ("2.5", "whole number"),
        ("five", "whole number"),
    ],
)
def test_http_max_attempts_refused(raw: str, words: str) -> None:
    err = input_error(input_env(http_max_attempts=raw), "http-max-attempts")
    assert words in err.message


def test_http_max_attempts_bounds_accepted() -> None:
    assert read_settings(input_env(http_max_attempts="1")).http_max_attempts == 1
    assert read_settings(input_env(http_max_attempts="20")).http_max_attempts == 20


def test_max_poll_below_floor_is_raised_to_the_floor() -> None:
    inputs = read_settings(input_env(poll_interval_seconds="20", max_poll_interval_seconds="5"))
    assert inputs.poll_interval_seconds == 20.0
    assert inputs.max_poll_interval_seconds == 20.0


def test_max_poll_above_floor_is_kept() -> None:
    inputs = read_settings(input_env(poll_interval_seconds="2", max_poll_interval_seconds="45"))
    assert (inputs.poll_interval_seconds, inputs.max_poll_interval_seconds) == (2.0, 45.0)


def test_default_max_poll_raised_to_a_larger_floor() -> None:
    inputs = read_settings(input_env(poll_interval_seconds="60"))
    assert inputs.max_poll_interval_seconds == 60.0


# -- idempotency-key, external-url, hidden inputs ------------------------------------------------


@pytest.mark.parametrize("value", ["k", "a" * 200, "run:1/attempt~2 with spaces"])
def test_idempotency_key_override_accepted(value: str) -> None:
    assert read_settings(input_env(idempotency_key=value)).idempotency_key == value


@pytest.mark.parametrize("value", ["a" * 201, "clé", "tab\tinside", "nul\x00", "emoji😀"])
def test_idempotency_key_override_refused(value: str) -> None:
    err = input_error(input_env(idempotency_key=value), "idempotency-key")
    assert "printable ASCII" in err.message
    assert "200" in err.message


@pytest.mark.parametrize("value", ["javascript:alert(1)", "ci.example/job", "ftp://x/y", "https://"])
def test_external_url_must_be_http(value: str) -> None:
    assert "http(s) URL" in input_error(input_env(external_url=value), "external-url").message


@pytest.mark.parametrize("name", ["job-index", "check-run-id"])
@pytest.mark.parametrize("value", ["${{ strategy.job-index }}", "${{ job.check_run_id }}", "${{"])
def test_hidden_inputs_unevaluated_expression_is_unset(name: str, value: str) -> None:
    assert _field(read_settings(input_env(**{name.replace("-", "_"): value})), name) == ""


@pytest.mark.parametrize("name", ["job-index", "check-run-id"])
@pytest.mark.parametrize("value", ["0", "7", "123456789012"])
def test_hidden_inputs_digits_kept(name: str, value: str) -> None:
    assert _field(read_settings(input_env(**{name.replace("-", "_"): value})), name) == value


@pytest.mark.parametrize("name", ["job-index", "check-run-id"])
@pytest.mark.parametrize("value", ["-1", "1.0", "abc", "1 2", "{{ x }}"])
def test_hidden_inputs_refuse_other_values(name: str, value: str) -> None:
    assert "internal" in input_error(input_env(**{name.replace("-", "_"): value}), name).message


# -- all errors at once ---------------------------------------------------------------------------


def test_all_errors_collected_and_each_names_its_input() -> None:
    env = {
        input_name("api-key"): "",
        input_name("project-slug"): "",
        input_name("process-slug"): "p",
        input_name("tags"): "t",
        input_name("api-url"): "http://example.com",
        input_name("wait"): "perhaps",
        input_name("timeout-seconds"): "0",
        input_name("http-max-attempts"): "99",
        input_name("idempotency-key"): "ü",
        input_name("job-index"): "x",
        input_name("external-url"): "nope",
        input_name("fail-on-empty"): "nah",
    }
    errors = input_errors(env)
    names = [e.name for e in errors]
    assert sorted(names) == sorted(
        [
            "api-key",
            "project-slug",
            "tags",
            "api-url",
            "wait",
            "timeout-seconds",
            "http-max-attempts",
            "idempotency-key",
            "job-index",
            "external-url",
            "fail-on-empty",
        ]
    )
    for err in errors:
        assert str(err).startswith(f"Input '{err.name}': ")
        assert err.message
    joined = str(InputErrors(errors))
    for name in names:
        assert f"Input '{name}'" in joined


def test_input_error_is_a_value_error_with_name_and_message() -> None:
    err = InputError("wait", "must be `true` or `false`")
    assert isinstance(err, ValueError)
    assert (err.name, err.message, str(err)) == (
        "wait",
        "must be `true` or `false`",
        "Input 'wait': must be `true` or `false`",
    )


def test_long_bad_value_is_shortened_and_control_characters_hidden() -> None:
    err = input_error(input_env(wait="x" * 100 + "\x1b[31m"), "wait")
    assert "x" * 41 not in err.message
    assert "\x1b" not in err.message


def test_a_poll_ceiling_below_the_floor_is_raised_and_said() -> None:
    inputs = read_settings(input_env(poll_interval_seconds="10", max_poll_interval_seconds="5"))
    assert (inputs.poll_interval_seconds, inputs.max_poll_interval_seconds) == (10, 10)
    (adjusted,) = inputs.adjustments
    assert adjusted.name == "max-poll-interval-seconds"
    assert str(adjusted).startswith(
        "Input 'max-poll-interval-seconds': 5 is below `poll-interval-seconds` (10)"
    )


def test_a_slow_floor_alone_raises_the_default_ceiling_silently() -> None:
    inputs = read_settings(input_env(poll_interval_seconds="60"))
    assert inputs.max_poll_interval_seconds == 60
    assert inputs.adjustments == ()


# -- exact messages, boundaries and the rarer spellings (each pinned by a mutation survivor) ---------

API_KEY_MISSING = (
    "required and empty: pass your Certyn API key from a secret, "
    "e.g. `api-key: ${{ secrets.CERTYN_API_KEY }}`, and check the secret exists in this repository"
)
NOTHING_TO_RUN = (
    "set `process-slug` (the suite to run), `tags` (tests to select) or `run-id` (an existing run to wait "
    "for). A `run-id` from another job (`${{ needs.<job>.outputs.run-id }}`) is empty when that job has no "
    "`outputs:` mapping: add `outputs: { run-id: ${{ steps.<step>.outputs.run-id }} }` to that job"
)
API_KEY_UNPRINTABLE = (
    "contains spaces, line breaks, control or non-ASCII characters: re-save the secret as the bare key"
)


def test_required_inputs_missing_name_each_input_and_the_fix_exactly() -> None:
    errors = input_errors({input_name("api-key"): "", input_name("project-slug"): " "})
    assert [(e.name, e.message) for e in errors] == [
        ("api-key", API_KEY_MISSING),
        ("project-slug", "required: set it to the slug of your Certyn project, e.g. `my-app`"),
        ("process-slug", NOTHING_TO_RUN),
    ]


def test_all_errors_are_joined_into_one_message_with_semicolons() -> None:
    with pytest.raises(InputErrors) as info:
        read_settings(input_env(api_key="a b", tags="smoke"))
    assert str(info.value) == (
        f"Input 'api-key': {API_KEY_UNPRINTABLE}; Input 'tags': give either `process-slug` or `tags`, not both"
    )


@pytest.mark.parametrize("key", ["!", "~", "ck_!live~", "!" + "a" * 30 + "~"])
def test_api_key_may_hold_any_visible_ascii_including_the_ends_of_the_range(key: str) -> None:
    assert read_settings(input_env(api_key=key)).api_key == key


@pytest.mark.parametrize("key", ["ck live", "ck\x7fkey", "ck\x1fkey", "ckéy"])
def test_api_key_outside_visible_ascii_is_refused_with_the_fix(key: str) -> None:
    assert input_error(input_env(api_key=key), "api-key").message == API_KEY_UNPRINTABLE


@pytest.mark.parametrize(
    ("name", "maximum"),
    [
        ("poll-interval-seconds", 3600),
        ("max-poll-interval-seconds", 3600),
        ("request-timeout-seconds", 600),
        ("timeout-seconds", 604800),
    ],
)
def test_seconds_inputs_accept_their_documented_maximum_and_refuse_one_more(name: str, maximum: int) -> None:
    field = name.replace("-", "_")
    env = input_env(**{field: str(maximum)})
    if name == "max-poll-interval-seconds":
        env[input_name("poll-interval-seconds")] = "1"
    assert getattr(read_settings(env), field) == float(maximum)
    message = input_error(input_env(**{field: str(maximum + 1)}), name).message
    assert message == f"must be between 1 and {maximum} seconds, got `{maximum + 1}`"


def test_max_poll_interval_equal_to_the_floor_is_no_adjustment() -> None:
    inputs = read_settings(input_env(poll_interval_seconds="20", max_poll_interval_seconds="20"))
    assert (inputs.poll_interval_seconds, inputs.max_poll_interval_seconds) == (20.0, 20.0)
    assert inputs.adjustments == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[1, 2]", 'a JSON array must hold only strings, e.g. `["smoke", "api"]`'),
        ("[smoke", 'looks like a JSON array but is not valid JSON: write e.g. `["smoke", "api"]`'),
        (", ,\n", "holds no tag: list tags separated by commas or newlines, or a JSON array"),
    ],
)
def test_tags_errors_say_how_to_write_them(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        parse_tags(value)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("x" * 40, "x" * 40),  # up to 40 characters shown whole
        ("x" * 41, "x" * 39 + "…"),
        ("tr\x01ue", "tr?ue"),  # unprintable characters shown as '?'
        ("`yes`", "'yes'"),  # a backtick cannot end the quoted value
    ],
)
def test_a_bad_value_is_quoted_short_and_printable_in_the_message(value: str, shown: str) -> None:
    message = f"must be `true` or `false`, got `{shown}`"
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        parse_bool(value)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://localhost.:8080", "https://localhost.:8080"),
        ("https://LOCALHOST.:8080/api", "https://localhost.:8080"),
        ("https://certyn.example/x//api", "https://certyn.example/x"),
        ("https://certyn.example/x//api//", "https://certyn.example/x"),
        ("https://certyn.example/X/", "https://certyn.example/X"),
        ("https://certyn.example/apiX", "https://certyn.example/apiX"),
    ],
)
def test_api_url_rarer_spellings(value: str, expected: str) -> None:
    assert normalize_api_url(value) == expected


@pytest.mark.parametrize(
    ("value", "says", "fix"),
    [
        ("https://user:pass@certyn.example", "must not contain", "pass the key in `api-key`"),
        (
            "http://certyn.example",
            "must use https",
            "(http is only allowed for localhost/127.0.0.1, e.g. a local simulator)",
        ),
    ],
)
def test_api_url_refusals_say_the_fix(value: str, says: str, fix: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(says)) as info:
        normalize_api_url(value)
    assert str(info.value).endswith(fix)


def test_external_url_may_be_plain_http() -> None:
    assert (
        read_settings(input_env(external_url="http://ci.example/job/1")).metadata.external_url
        == "http://ci.example/job/1"
    )


@pytest.mark.parametrize("name", ["job-index", "check-run-id"])
def test_internal_inputs_set_by_hand_say_to_remove_them(name: str) -> None:
    message = input_error(input_env(**{name.replace("-", "_"): "abc"}), name).message
    assert message == "is internal and filled in by the runner: remove it from `with:`"


def test_an_input_name_with_spaces_is_read_as_the_runner_writes_it() -> None:
    assert raw_input({"INPUT_MY_INPUT": "x"}, "my input") == "x"
    assert raw_input({"INPUT_MY_INPUT-NAME": "y"}, "my input-name") == "y"


def test_gate_switches_are_looked_up_by_their_workflow_names() -> None:
    switches = GateSwitches(fail_on_empty=False, fail_on_aborted=False)
    assert {
        name: switches.enabled(name) for name in ("fail-on-failed", "fail-on-empty", "fail-on-aborted")
    } == {
        "fail-on-failed": True,
        "fail-on-empty": False,
        "fail-on-aborted": False,
    }


NOT_UTF8 = "holds bytes that are not valid UTF-8 text: write it as UTF-8"


@pytest.mark.parametrize(
    "name",
    [
        "api-key",
        "process-slug",
        "environment-key",
        "repository",
        "ref",
        "commit-sha",
        "event",
        "cancel-reason",
        "wait",
        "timeout-seconds",
        "base-url",
        "base-url-wait-seconds",
        "keep-environment",
    ],
)
def test_an_input_that_is_not_utf8_gets_that_one_error_and_no_other(name: str) -> None:
    # Bytes that are not UTF-8 arrive as \udcXX escapes: the input is reported once, for what it is,
    # and not again as empty, unparsable or missing.
    errors = input_errors(input_env(**{name.replace("-", "_"): "ab\udcffc"}))
    assert [(e.name, e.message) for e in errors] == [(name, NOT_UTF8)]


API_URL_EXAMPLE = f"use e.g. `{DEFAULT_API_URL}`"
API_URL_NOT_PLAIN = (
    "must be a plain URL: scheme, host name or IP address, optional port and path, written in "
    "ASCII letters, digits and `.-_/:` only (no backslash, `%`-escape, non-ASCII or other "
    f"characters; write an international domain name in its `xn--` form): {API_URL_EXAMPLE}"
)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "https://certyn.example/a b",
            f"contains spaces, line breaks or control characters: {API_URL_EXAMPLE}",
        ),
        (
            "https://certyn.example/a\x7f",
            f"contains spaces, line breaks or control characters: {API_URL_EXAMPLE}",
        ),
        ("https://certyn.\u212aexample", API_URL_NOT_PLAIN),  # the Kelvin sign, which IGNORECASE reads as k
        ("https://certyn.example\\x", API_URL_NOT_PLAIN),
        ("https://certyn.example/%41", API_URL_NOT_PLAIN),
    ],
)
def test_api_url_that_is_not_plain_is_refused_with_the_whole_message(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        normalize_api_url(value)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "misread",
    [
        {"host": "attacker.example"},
        {"port": 8443},
        {"scheme": "http"},
    ],
)
def test_an_api_url_the_http_stack_would_read_differently_is_refused(
    monkeypatch: pytest.MonkeyPatch, misread: dict[str, Any]
) -> None:
    # Defence in depth: the plain spelling leaves no URL known to be read differently by urlsplit and by
    # urllib3 (which connects). Should a urllib3 release ever read one to another host, port or scheme, the
    # input is refused with the reason, before the key could follow that reading.
    import urllib3.util  # noqa: PLC0415

    real = urllib3.util.parse_url
    patched = "certyn_action.settings.parse_url"  # where api_origin looks it up
    monkeypatch.setattr(patched, lambda url: real(url)._replace(**misread))
    with pytest.raises(ValueError, match="read differently") as info:
        normalize_api_url("https://certyn.example/x")
    assert str(info.value) == f"is read differently by URL parsers: {API_URL_EXAMPLE}"
    monkeypatch.undo()
    assert normalize_api_url("https://certyn.example/x") == "https://certyn.example/x"


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Certyn.Example/api", ("https", "certyn.example", 443)),
        ("http://[::1]:8080/x", ("http", "::1", 8080)),
        ("//certyn.example/x", ("", "certyn.example", 80)),  # no scheme: read as empty, never invented
        ("https://", ("https", "", 443)),  # no host: read as empty
    ],
)
def test_api_origin_is_what_the_http_stack_connects_to(url: str, origin: tuple[str, str, int]) -> None:
    assert api_origin(url) == origin


def test_api_origin_of_an_unparsable_url_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"^cannot be parsed$"):
        api_origin("http://[")


# -- base-url and run-id read with the other inputs (parsers below, conflicts: test_conflicts.py) ----------------


def test_base_url_and_its_switches_are_read() -> None:
    env = {
        input_name("api-key"): KEY,
        input_name("project-slug"): "shop",
        input_name("tags"): "smoke",
        input_name("base-url"): " https://pr-42.preview.example.com ",
        input_name("base-url-wait-seconds"): "0",
        input_name("keep-environment"): "TRUE",
    }
    inputs = read_settings(env)
    assert inputs.base_url == "https://pr-42.preview.example.com"
    assert inputs.base_url_wait_seconds == 0.0
    assert inputs.keep_environment is True


# -- api-url spellings that parsers may read differently; tags; input bytes that are not UTF-8 ---------------


@pytest.mark.parametrize(
    "url",
    [
        "http://attacker.example\\.localhost:8080",
        "http://localhost:81\\@127.0.0.1:8080",
        "http://attacker.example%5c.localhost:8080",
        "http://attacker.example%2e.localhost",
        "http://attacker.example\t.localhost",
        "http://a b.localhost",
        "http://user@localhost",
        "http://localhost:81#@127.0.0.1",
        "http://localhost?x=@127.0.0.1",
        "http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54:1",  # fullwidth
        "http://127\u30020\u30020\u30021:1",  # ideographic full stops
        "http://[::1%25lo]:1",
        "http://[::1%lo]:1",
        "http://[::ffff:zz]:1",
        "http://127.0.0.1\u200b.localhost:1",
        "https://api.certyn.io\\/",
        "https://api.certyn.io/\\\\evil",
        "https://api.certyn.io/%2e%2e",
        "https://api.certyn.io:443:80",
        "https://api.certyn.io\x00.evil",
        "http://localhost:1/\u0130",  # matches [a-z] under IGNORECASE
        "https://api.certyn.io/\u212a",  # the Kelvin sign, likewise
        "https://api.certyn.\u0131o",
        "https://api..certyn.io",  # requests refuses an empty label: say so as an input error
        "https://.",
    ],
)
def test_an_api_url_spelling_that_parsers_may_read_differently_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"e\.g\.|api-key|https"):
        normalize_api_url(url)


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("https://api.certyn.io", "https://api.certyn.io"),
        ("HTTPS://API.Certyn.io:8443/prefix/api/", "https://api.certyn.io:8443/prefix"),
        ("http://LocalHost:8080/", "http://localhost:8080"),
        ("http://[::1]:9", "http://[::1]:9"),
        ("http://127.0.0.1:1/a_b/c-d/~e", "http://127.0.0.1:1/a_b/c-d/~e"),
        ("https://xn--bcher-kva.example", "https://xn--bcher-kva.example"),
    ],
)
def test_a_plain_api_url_is_accepted(url: str, normal: str) -> None:
    assert normalize_api_url(url) == normal


def test_tags_keep_order_and_drop_duplicates() -> None:
    assert parse_tags("b, a, b,c,a") == ("b", "a", "c")
    many = ",".join(str(i % 5000) for i in range(20000))
    assert parse_tags(many) == tuple(str(i) for i in range(5000))


@pytest.mark.parametrize(
    "name", ["project-slug", "process-slug", "ref", "repository", "cancel-reason", "tags"]
)
def test_input_bytes_that_are_not_utf8_are_an_input_error(name: str) -> None:
    env = {"INPUT_API-KEY": KEY, "INPUT_PROJECT-SLUG": "p", "INPUT_PROCESS-SLUG": "s"}
    env[f"INPUT_{name.upper()}"] = "caf\udce9"
    with pytest.raises(InputErrors) as caught:
        read_settings(env)
    assert [e.name for e in caught.value.errors] == [name]
    assert "UTF-8" in caught.value.errors[0].message


# == base-url, base-url-wait-seconds, keep-environment, run-id ===============================================

# -- base-url --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://pr-42.preview.example.com",
        "https://pr-42.preview.example.com/",
        "http://preview.example.com:8080/app/",  # a preview may be plain http
        "https://example.com/base?ref=pr-42",
        "http://127.0.0.1:3000",
        "http://[::1]:3000/",
        "HTTPS://Example.COM",
        "https://xn--bcher-kva.example",
    ],
)
def test_good_base_urls_are_kept_as_written(url: str) -> None:
    assert parse_base_url(url) == url


def test_surrounding_whitespace_is_dropped() -> None:
    assert parse_base_url("  https://example.com \n") == "https://example.com"


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        ("", "URL of your deployment"),
        ("example.com", "absolute http(s) URL"),
        ("/relative/path", "absolute http(s) URL"),
        ("ftp://example.com", "absolute http(s) URL"),
        ("javascript:alert(1)", "absolute http(s) URL"),
        ("https://", "absolute http(s) URL"),
        ("https:///path", "absolute http(s) URL"),
        ("https://user:pass@example.com", "credentials"),
        ("https://token@example.com", "credentials"),
        ("https://@example.com", "credentials"),
        ("https://example.com:80@evil.test", "credentials"),
        ("https://a.test\\@evil.test/", "backslash"),  # urllib3 and Python's parser disagree on the host
        ("https://example.com\\path", "backslash"),
        ("https://exa mple.com", "space"),
        ("https://example.com/a b", "space"),
        ("https://example.com/\tx", "space"),
        ("https://example.com/\x00", "control"),
        ("https://example.com/\x7f", "control"),
        ("https://example.com\r\nX-API-Key: x", "line break"),
        ("https://example.com/\u2028x", "line break"),
        ("https://ex\u00e4mple.com", "xn--"),
        ("https://example.com:99999", "not a valid URL"),
        ("https://example.com:port", "not a valid URL"),
        ("https://exa%6dple.com", "percent-encoded host"),
        ("https://example.com/#/route", "fragment"),
        ("https://example.com#", "fragment"),
        ("https://" + "a" * 2048 + ".com", "longer than"),
    ],
)
def test_bad_base_urls_are_refused_with_the_fix(url: str, fix: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fix)):
        parse_base_url(url)


_HOST = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){1,2}", fullmatch=True)


@SETTINGS
@given(
    scheme=st.sampled_from(["http", "https"]),
    host=_HOST,
    port=st.none() | st.integers(min_value=1, max_value=65535),
    tail=st.text(alphabet=st.characters(codec="ascii"), max_size=40),
)
def test_an_accepted_base_url_is_reached_where_it_was_checked(
    scheme: str, host: str, port: int | None, tail: str
) -> None:
    url = f"{scheme}://{host}{'' if port is None else f':{port}'}/{tail}"
    try:
        accepted = parse_base_url(url)
    except ValueError:
        return
    # What requests will connect to is the host we checked, and nothing is sent as credentials.
    prepared = requests.Request("GET", accepted).prepare()
    assert prepared.url is not None
    sent = urlsplit(prepared.url)
    assert sent.hostname == host
    assert sent.port == port
    assert sent.username is None
    assert "Authorization" not in prepared.headers


@SETTINGS
@given(st.text(max_size=80))
def test_any_text_is_refused_or_an_http_url_without_credentials(text: str) -> None:
    try:
        url = parse_base_url(text)
    except ValueError as err:
        message = str(err)
        assert message  # every refusal says something
        return
    parts = urlsplit(url)
    assert parts.scheme.lower() in ("http", "https")
    assert parts.hostname
    assert parts.username is None
    assert not any(ch.isspace() or ch == "\\" for ch in url)


# -- base-url-wait-seconds, keep-environment -------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [("0", 0.0), ("30", 30.0), ("2.5", 2.5), ("3600", 3600.0)])
def test_wait_seconds(text: str, seconds: float) -> None:
    assert parse_base_url_wait_seconds(text) == seconds


@pytest.mark.parametrize("text", ["-1", "3601", "nan", "inf", "soon", "1e9", "30s"])
def test_bad_wait_seconds_say_the_range(text: str) -> None:
    with pytest.raises(ValueError, match=r"0 .*3600"):
        parse_base_url_wait_seconds(text)


@pytest.mark.parametrize(("text", "keep"), [("true", True), ("FALSE", False), (" True ", True)])
def test_keep_environment(text: str, keep: bool) -> None:
    assert parse_bool(text) is keep


@pytest.mark.parametrize("text", ["yes", "1", "keep"])
def test_keep_environment_must_be_a_boolean(text: str) -> None:
    with pytest.raises(ValueError, match="`true` or `false`"):
        parse_bool(text)


# -- run-id ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "run_id",
    ["run_123", "01J9ZK3T4N5ABCDEF", "3f2b8c1e-6a4d-4f3e-9b2a-1c2d3e4f5a6b", "1.2", "a.b.c", "x" * 200],
)
def test_plain_run_ids(run_id: str) -> None:
    assert parse_run_id(run_id) == run_id


def test_run_id_surrounding_whitespace_is_dropped() -> None:
    assert parse_run_id(" run_1\n") == "run_1"


@pytest.mark.parametrize(
    ("run_id", "why"),
    [
        ("", "empty"),
        ("a/b", "`/`"),
        ("../runs", "`/`"),
        ("a?x=1", "`?`"),
        ("a#b", "`#`"),
        ("a%2Fb", "`%`"),
        ("a\\b", "`\\`"),
        ("..", "dots"),
        (".", "dots"),
        ("...", "dots"),
        ("a..b", "`..`"),
        ("a b", "spaces"),
        ("a\tb", "spaces"),
        ("a\nb", "line breaks"),
        ("a\x00b", "control"),
        ("a\u200bb", "control"),  # zero-width space: invisible, not printable
        ("x" * 201, "longer than 200"),
    ],
)
def test_bad_run_ids_are_refused_with_the_fix(run_id: str, why: str) -> None:
    with pytest.raises(ValueError, match="run-id") as caught:
        parse_run_id(run_id)
    assert why in str(caught.value)


@SETTINGS
@given(st.text(max_size=220))
def test_an_accepted_run_id_is_one_plain_path_segment(text: str) -> None:
    try:
        run_id = parse_run_id(text)
    except ValueError:
        return
    assert 0 < len(run_id) <= 200
    assert not set(run_id) & set("/\\?#% \t\r\n")
    assert ".." not in run_id
    assert run_id.strip(".")
    assert run_id.isprintable()


# -- conflicts -------------------------------------------------------------------------------------


# == variables and runner-pool ===============================================================================

PREVIEW = "https://pr-1.example.com"  # variables and runner-pool go with base-url


def _previewed(**inputs: str) -> dict[str, str]:
    """The minimal environment with a base-url and ``inputs``."""
    return input_env(**({"base_url": PREVIEW} | inputs))


SECRET = "Zq81-mN3r=T7"


def test_lines_are_name_value_pairs_kept_exactly_in_order() -> None:
    text = (
        f"# the test login\n\n  USER=qa@example.com\r\nPASSWORD={SECRET}\nEMPTY=\nSPACES=  a b  \n   \n# end"
    )
    assert parse_variables(text) == (
        ("USER", "qa@example.com"),
        ("PASSWORD", SECRET),  # everything after the first `=`
        ("EMPTY", ""),
        ("SPACES", "  a b  "),
    )


def test_an_indented_comment_line_is_a_comment() -> None:
    assert parse_variables("A=1\n   # the login, from the vault\nB=2") == (("A", "1"), ("B", "2"))
    assert variable_secrets("A=1\n   # the login, from the vault\nB=2") == ["1", "2"]


def test_the_input_is_read_unstripped_so_the_last_value_keeps_its_spaces() -> None:
    settings = read_settings(_previewed(variables="A=1\nB=two  "), {})
    assert settings.variables == (("A", "1"), ("B", "two  "))


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (f"PEM=line one\n{SECRET}", "line 2 is not `NAME=value`"),
        (f"1ABC={SECRET}", "line 1 is not `NAME=value`"),
        (f"MY-VAR={SECRET}", "line 1 is not `NAME=value`"),
        (f"A={SECRET}\rmore", "the value of `A` holds a line break"),
        (f"A={SECRET}\u2028more", "the value of `A` holds a line break"),
        (f"token=1\nTOKEN={SECRET}", "`TOKEN` is given twice"),
    ],
)
def test_a_bad_line_is_an_error_that_names_the_line_or_variable_never_the_value(text: str, said: str) -> None:
    with pytest.raises(ValueError) as raised:  # noqa: PT011 - the message is checked below
        parse_variables(text)
    message = str(raised.value)
    assert said in message
    assert SECRET not in message
    assert "more" not in message


def test_a_multi_line_value_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="multi-line secret cannot be masked line by line"):
        parse_variables("KEY=-----BEGIN KEY-----\nMIIEvQIBADANBg\n-----END KEY-----")


def test_at_most_fifty_variables() -> None:
    parse_variables("\n".join(f"V{n}=x" for n in range(MAX_VARIABLES)))
    with pytest.raises(ValueError, match="at most 50"):
        parse_variables("\n".join(f"V{n}=x" for n in range(MAX_VARIABLES + 1)))


def test_what_is_masked_is_every_value_and_every_line_that_is_not_a_variable() -> None:
    text = f"# comment\nA={SECRET}\nEMPTY=\nnext line of a secret\n1BAD=also-secret\n"
    assert variable_secrets(text) == [SECRET, "next line of a secret", "1BAD=also-secret"]


def test_variables_and_runner_pool_need_base_url() -> None:
    found = messages(_previewed(base_url="", variables="A=b", runner_pool="lab"))
    assert "only for `base-url`" in found["variables"]
    assert "only for `base-url`" in found["runner-pool"]


def test_runner_pool_is_one_printable_line() -> None:
    assert read_settings(_previewed(runner_pool="office-lab"), {}).runner_pool == "office-lab"
    assert "runner-pool" in messages(_previewed(runner_pool="lab\x07"))
    assert "runner-pool" in messages(_previewed(runner_pool="x" * 201))


def test_a_variables_error_is_reported_with_the_others() -> None:
    found = messages(_previewed(variables="not a pair", timeout_seconds="soon"))
    assert set(found) == {"variables", "timeout-seconds"}


# == test-results, junit-report, instruction, conversation-timeout-seconds ===================================


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("report.xml", "report.xml"),
        ("reports/certyn.xml", "reports/certyn.xml"),
        ("./reports//certyn.xml", "reports/certyn.xml"),
        ("a/b/../c.xml", "a/c.xml"),
        ("a/../report.xml", "report.xml"),
        ("  spaced name.xml", "  spaced name.xml"),
        ("ünïcode/レポート.xml", "ünïcode/レポート.xml"),
    ],
)
def test_a_relative_path_is_normalised(value: str, expected: str) -> None:
    assert parse_junit_report(value) == expected


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("/tmp/report.xml", "relative to the workspace"),
        ("//server/share.xml", "relative to the workspace"),
        ("../report.xml", "inside the workspace"),
        ("a/../../report.xml", "inside the workspace"),
        ("./..", "inside the workspace"),
        ("report\x00.xml", "NUL"),
        ("reports/", "must name a file"),
        ("reports/.", "must name a file"),
        ("reports/..", "must name a file"),
        (".", "must name a file"),
        ("./", "must name a file"),
        ("a" * 5000, "longer than"),
    ],
)
def test_a_path_outside_the_workspace_or_without_a_file_is_refused(value: str, words: str) -> None:
    with pytest.raises(ValueError, match=r"reports/certyn\.xml") as caught:
        parse_junit_report(value)
    message = str(caught.value)
    assert words in message
    assert "reports/certyn.xml" in message  # the fix, by example
    assert "\x00" not in message


@SETTINGS
@given(
    st.lists(st.sampled_from(["a", "b.xml", "..", ".", "", "c d", "é"]), min_size=1, max_size=6).map("/".join)
)
def test_a_path_is_accepted_exactly_when_it_names_a_file_inside_the_workspace(value: str) -> None:
    # The oracle: the standard library's lexical normalisation.
    norm = posixpath.normpath(value)
    last = value.rsplit("/", 1)[-1]
    inside = not value.startswith("/") and norm != ".." and not norm.startswith("../")
    if inside and norm != "." and last not in ("", ".", ".."):
        assert parse_junit_report(value) == norm
        assert posixpath.normpath(posixpath.join("/workspace", norm)).startswith("/workspace/")
    else:
        with pytest.raises(ValueError, match=r"junit-report: reports/certyn\.xml"):
            parse_junit_report(value)


def test_an_instruction_up_to_the_limit_is_kept_whole() -> None:
    text = "Explain the failures <b>`x`</b>\n" * 10
    assert parse_instruction(text) == text
    assert parse_instruction("x" * MAX_INSTRUCTION) == "x" * MAX_INSTRUCTION


def test_a_longer_instruction_is_refused_naming_the_input() -> None:
    with pytest.raises(ValueError, match=r"is 10,001 characters long.*at most 10,000.*shorten"):
        parse_instruction("x" * (MAX_INSTRUCTION + 1))


def _refusal(name: str, value: str) -> str:
    return refusal(name, **{name: value})


def test_the_defaults() -> None:
    inputs = read()
    assert inputs.test_results is True
    assert inputs.junit_report == ""
    assert inputs.instruction == ""
    assert inputs.conversation_timeout_seconds == 120.0


def test_the_inputs_are_read_by_their_names() -> None:
    inputs = read(
        **{
            "test-results": "TRUE",
            "junit-report": "./out//certyn.xml",
            "instruction": "Why did it fail?",
            "conversation-timeout-seconds": "0",
        }
    )
    assert inputs.test_results is True
    assert inputs.junit_report == "out/certyn.xml"
    assert read(**{"test-results": "FALSE"}).test_results is False
    assert inputs.instruction == "Why did it fail?"
    assert inputs.conversation_timeout_seconds == 0.0


@pytest.mark.parametrize(("value", "expected"), [("0", 0.0), ("120", 120.0), ("3600", 3600.0), ("2.5", 2.5)])
def test_the_conversation_timeout_is_0_to_3600_seconds(value: str, expected: float) -> None:
    assert read(**{"conversation-timeout-seconds": value}).conversation_timeout_seconds == expected


@pytest.mark.parametrize("value", ["-1", "3601", "nan", "inf", "1e9"])
def test_a_conversation_timeout_out_of_range_is_refused(value: str) -> None:
    message = _refusal("conversation-timeout-seconds", value)
    assert "must be between 0 and 3600 seconds" in message


def test_a_conversation_timeout_that_is_not_a_number_is_refused() -> None:
    assert "must be a number of seconds" in _refusal("conversation-timeout-seconds", "two minutes")


@pytest.mark.parametrize("value", ["yes", "1", "off"])
def test_test_results_refuses_anything_but_true_or_false(value: str) -> None:
    assert "must be `true` or `false`" in _refusal("test-results", value)


def test_an_instruction_over_the_limit_and_a_bad_path_are_input_errors() -> None:
    assert "10,001 characters" in _refusal("instruction", "x" * (MAX_INSTRUCTION + 1))
    assert "inside the workspace" in _refusal("junit-report", "../report.xml")
    assert "relative to the workspace" in _refusal("junit-report", "/etc/report.xml")


# == check-run, pr-comment, github-token =====================================================================


def test_nothing_is_published_by_default() -> None:
    settings = read(github_token="ghs_x")
    assert (settings.check_run, settings.pr_comment, settings.publishes) == (False, "off", False)
    assert settings.github_api_url == "https://api.github.com"


def test_the_inputs_and_github_enterprise_server_api_url() -> None:
    env = {"GITHUB_API_URL": "https://ghe.example.com/api/v3/"}
    settings = read(env, github_token="ghs_x", check_run="TRUE", pr_comment="On-Failure")
    assert (settings.check_run, settings.pr_comment, settings.publishes) == (True, "on-failure", True)
    assert settings.github_api_url == "https://ghe.example.com/api/v3"


def test_only_trailing_slashes_are_dropped_from_the_github_api_url() -> None:
    settings = read({"GITHUB_API_URL": "https://API.CODE.ACME.BOX//"}, github_token="ghs_x")
    assert settings.github_api_url == "https://API.CODE.ACME.BOX"  # a host in capitals: to its last letter


def test_a_pr_comment_mode_must_be_one_of_three() -> None:
    assert "`off`, `always` or `on-failure`" in messages(github_token="ghs_x", pr_comment="yes")["pr-comment"]


def test_publishing_without_a_token_is_an_input_error() -> None:
    message = messages(pr_comment="always")["github-token"]
    assert "${{ github.token }}" in message


def test_the_token_goes_only_to_a_plain_https_github_api_url() -> None:
    env = {"GITHUB_API_URL": "http://github.example.com"}
    assert "GITHUB_API_URL" in messages(env, github_token="ghs_x", check_run="true")["github-token"]
    assert read(env, github_token="ghs_x").publishes is False  # unused unless publishing: no error


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://x.test/" + "a" * 2034, "is longer than 2048 characters: pass the deployment's base URL"),
        (
            "https://x.test/a b",
            "contains a space, line break, control character or backslash: pass the URL alone, "
            "percent-encoded where needed, e.g. `https://pr-42.preview.example.com`",
        ),
        (
            "https://b\u00fccher.test/",
            "contains non-ASCII characters: write the host in its ASCII (xn--) form and percent-encode the path",
        ),
        ("https://x.test:99999/", "is not a valid URL: use e.g. `https://pr-42.preview.example.com`"),
        (
            "https://user:pw@x.test/",
            "must not contain credentials (`user:password@`): they would be stored in the Certyn "
            "environment and sent to the deployment; protect the preview another way or pass the bare URL",
        ),
        # Python's parser reads it, urllib3 (which connects) does not: a `%` not followed by two hex digits
        ("https://pr-42%.x.test/", "is not a valid URL: use e.g. `https://pr-42.preview.example.com`"),
        (
            "https://pr%2D42.x.test/",
            "has a percent-encoded host: write the host plainly, e.g. `pr-42.example.com`",
        ),
        ("https://x.test/#/route", "must not have a `#` fragment: pass the deployment's base URL"),
    ],
    ids=[
        "2049 characters",
        "a space",
        "non-ASCII",
        "no port",
        "credentials",
        "unreadable",
        "percent",
        "fragment",
    ],
)
def test_a_base_url_refused_says_why_and_what_to_pass(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_base_url(url)


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        (" https://qa:pa55@pr-42.x.test/?token=t0k#sig=s1g \n", ["token=t0k", "sig=s1g", "qa", "pa55"]),
        ("https://pr-42.x.test/app", []),
        ("https://[pr-42.x.test/?token=t0k", []),  # unreadable: refused as an input, nothing to mask
    ],
)
def test_what_a_base_url_may_carry_a_token_in_is_masked(url: str, secrets: list[str]) -> None:
    assert base_url_secrets(url) == secrets


def test_a_base_url_of_2048_characters_is_accepted() -> None:
    url = "https://x.test/" + "a" * 2033
    assert parse_base_url(url) == url


def test_a_runner_pool_is_one_line_of_at_most_200_printable_characters() -> None:
    pool = "p" * 200
    assert read_settings(input_env(base_url="https://x.test", runner_pool=pool)).runner_pool == pool
    assert messages(base_url="https://x.test", runner_pool="p" * 201)["runner-pool"] == (
        "must be the id or name of a Certyn self-hosted runner pool: one line of at most 200 printable characters"
    )


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            "A" * 101 + "=1",
            "line 1 is not `NAME=value` (not shown: it may be part of a secret). A name is letters, digits and `_`, "
            "not starting with a digit, at most 100 characters; a value must fit on one line: a multi-line secret "
            "cannot be masked line by line, so it is refused; e.g. `TEST_USER_PASSWORD=${{ secrets.TEST_USER_PASSWORD }}`",
        ),
        (
            "TOKEN=a\x0bb",
            "the value of `TOKEN` holds a line break or control character: a multi-line value cannot be masked line "
            "by line, so it is refused. Pass a one-line value (e.g. base64-encode it)",
        ),
    ],
    ids=["a name too long", "a control character"],
)
def test_a_variable_refused_says_why_without_its_value(variables: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_variables(variables)


def test_a_variable_name_of_100_characters_is_accepted() -> None:
    assert parse_variables("A" * 100 + "=1") == (("A" * 100, "1"),)


def test_a_run_id_with_capitals_and_inner_dots_is_plain() -> None:
    assert parse_run_id("X.X") == "X.X"


def test_a_run_id_that_is_not_plain_names_every_character_and_the_output_to_pass() -> None:
    message = (
        "is not a plain run id (contains `/` `?`): pass the `run-id` output of the step that created the run, "
        "e.g. `${{ needs.start.outputs.run-id }}`"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_run_id("a/b?c")


def test_a_junit_report_path_of_4096_characters_is_the_longest() -> None:
    longest = "a" * 4092 + ".xml"
    assert parse_junit_report(longest) == longest
    message = (
        "is longer than 4096 characters: use a short relative path, e.g. `junit-report: reports/certyn.xml`"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_junit_report("a" + longest)


@pytest.mark.parametrize(
    ("given", "name", "message"),
    [
        ({"http_max_attempts": "x"}, "http-max-attempts", "must be a whole number, got `x`"),
        ({"http_max_attempts": "21"}, "http-max-attempts", "must be between 1 and 20, got 21"),
        ({"timeout_seconds": "x"}, "timeout-seconds", "must be a number of seconds, got `x`"),
        ({"timeout_seconds": "0"}, "timeout-seconds", "must be between 1 and 604800 seconds, got `0`"),
        (
            {"base_url": "https://x.test", "base_url_wait_seconds": "x"},
            "base-url-wait-seconds",
            "must be a number of seconds from 0 to 3600, got `x`",
        ),
    ],
    ids=["not whole", "too many", "not a number", "too short", "not a number, with its range"],
)
def test_a_number_input_says_what_it_must_be(given: dict[str, str], name: str, message: str) -> None:
    assert messages(**given) == {name: message}


def test_an_api_url_python_cannot_read_shows_the_default_as_the_example() -> None:
    assert messages(api_url="https://x.test:99999") == {
        "api-url": "is not a valid URL: use e.g. `https://api.certyn.io`"
    }
