"""settings.py: base-url, base-url-wait-seconds, keep-environment, run-id, and the inputs they
cannot be combined with. Each bad value is a ValueError whose message says the fix."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from certyn_action.settings import (
    InputErrors,
    parse_base_url,
    parse_base_url_wait_seconds,
    parse_bool,
    parse_run_id,
    read_settings,
)

SETTINGS = settings(max_examples=300, deadline=None)

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


def _conflicts(**given: Any) -> list[tuple[str, str]]:
    """The errors of reading these inputs (given by field name, as read) with an API key and a project."""
    values = {"api-key": "k", "project-slug": "shop"}
    for field, value in given.items():
        shown = ",".join(value) if isinstance(value, tuple) else str(value).lower()
        values[field.replace("_", "-")] = value if isinstance(value, str) else shown
    try:
        read_settings({"INPUT_" + name.upper(): value for name, value in values.items()})
    except InputErrors as errors:
        return [(error.name, error.message) for error in errors.errors]
    return []


def test_base_url_without_waiting_needs_keep_environment() -> None:
    # The environment is deleted when the step ends: a run nobody waits for would lose it mid-run.
    [(name, message)] = _conflicts(process_slug="smoke", base_url="https://x.test", wait=False)
    assert name == "wait"
    assert "keep-environment: true" in message
    assert "base-url" in message


def test_no_conflict_for_ordinary_uses() -> None:
    assert _conflicts(process_slug="smoke") == []
    assert _conflicts(process_slug="smoke", base_url="https://x.test") == []
    assert (
        _conflicts(process_slug="smoke", base_url="https://x.test", wait=False, keep_environment=True) == []
    )
    assert _conflicts(tags=("a",), environment_key="staging", instruction="why?") == []
    assert _conflicts(run_id="run_1") == []


@pytest.mark.parametrize(
    ("given", "name"),
    [
        ({"process_slug": "smoke"}, "process-slug"),
        ({"tags": ("smoke",)}, "tags"),
        ({"base_url": "https://x.test"}, "base-url"),
        ({"environment_key": "staging"}, "environment-key"),
        ({"instruction": "explain"}, "instruction"),
        ({"wait": False}, "wait"),
        ({"keep_environment": True}, "keep-environment"),
        ({"idempotency_key": "deploy-42"}, "idempotency-key"),
    ],
)
def test_run_id_conflicts(given: dict[str, Any], name: str) -> None:
    conflicts = _conflicts(run_id="run_1", **given)
    assert [found for found, _ in conflicts] == [name]
    message = conflicts[0][1]
    assert "`run-id`" in message
    shown = "`wait: false`" if name == "wait" else f"`{name}`"
    assert shown in message
    assert "Remove" in message  # and says what to do


def test_base_url_conflicts_with_environment_key() -> None:
    conflicts = _conflicts(base_url="https://x.test", environment_key="staging", process_slug="smoke")
    assert len(conflicts) == 1
    name, message = conflicts[0]
    assert name == "environment-key"
    assert "`base-url`" in message
    assert "`environment-key`" in message
    assert "either" in message


def test_every_conflict_is_reported_at_once_one_error_per_input() -> None:
    conflicts = _conflicts(
        run_id="run_1",
        process_slug="smoke",
        base_url="https://x.test",
        environment_key="staging",
        instruction="explain",
        wait=False,
        keep_environment=True,
        idempotency_key="deploy-42",
    )
    assert [name for name, _ in conflicts] == [
        "process-slug",
        "base-url",
        "environment-key",  # with `run-id`; its conflict with `base-url` is not said twice
        "instruction",
        "keep-environment",
        "idempotency-key",
        "wait",
    ]
