"""Unit tests for the holes a hostile probe found (issue 8); tests/e2e/test_e2e_hostile.py proves each end to end."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import responses

from certyn_action.api.client import ApiError, AuthError, CertynClient, classify
from certyn_action.api.http import Deadline, DuplicateKey, Reply, Request, Transport, UnsafeUrl
from certyn_action.api.models import RunStatus
from certyn_action.gate import Result, evaluate
from certyn_action.render.escape import Scrubber, markdown, one_line, visible
from certyn_action.settings import (
    GateSwitches,
    InputErrors,
    normalize_api_url,
    parse_tags,
    read_settings,
)
from tests.fakes import FakeClock

BASE = "https://api.certyn.test"
KEY = "sk-live-very-secret"
RUN = f"{BASE}/api/ci/runs/r-1"


def _client(base: str = BASE) -> CertynClient:
    return CertynClient(
        Transport(base, KEY, env={}), FakeClock(), request_timeout=5, max_attempts=3, project_slug="my-app"
    )


# -- api-url ---------------------------------------------------------------------------------------


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


@responses.activate
def test_the_transport_refuses_a_url_that_would_reach_another_host_and_sends_nothing() -> None:
    transport = Transport("http://localhost:81\\@127.0.0.1:8080", KEY, env={})
    with pytest.raises(UnsafeUrl, match="nothing was sent"):
        transport.send(Request("POST", "/api/ci/runs", {}), Deadline(1e9, FakeClock()))
    assert len(responses.calls) == 0


@responses.activate
def test_the_client_treats_a_refused_url_as_a_final_error_not_a_retry() -> None:
    client = _client("https://api.certyn.io\\@evil.example")
    with pytest.raises(ApiError) as caught:
        client.create({"projectSlug": "p"}, "k", deadline=1e9)
    assert not classify(caught.value)
    assert "api-url" in caught.value.message
    assert len(responses.calls) == 0


# -- missing counters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ({"state": "completed", "total": 3}, ("failed", "blocked")),
        ({"state": "completed", "total": 3, "passed": 3, "failed": None, "blocked": 0}, ("failed",)),
        ({"state": "completed", "total": 3, "passed": 3, "failed": 0, "Blocked": 0}, ("blocked",)),
        ({"state": "cancelled", "total": 3, "passed": 3, "failed": 0}, ("blocked",)),
    ],
)
def test_a_finished_status_without_failed_or_blocked_fails_naming_it(
    body: dict[str, Any], missing: tuple[str, ...]
) -> None:
    status = RunStatus.model_validate(body)
    verdict = evaluate(status, GateSwitches(fail_on_cancelled=False))
    assert verdict.result is Result.FAILED
    assert [r for r in verdict.reasons if "did not report" in r] == [
        f"the run's status did not report `{name}` (missing or null): nothing proves the tests passed"
        for name in missing
    ]
    waived = evaluate(status, GateSwitches(fail_on_cancelled=False, fail_on_incomplete=False))
    assert waived.result is Result.PASSED
    assert sum("fail-on-incomplete: false" in w for w in waived.waived) == len(missing)


def test_the_server_cannot_say_which_counters_were_absent() -> None:
    status = RunStatus.model_validate({"state": "completed", "total": 1, "passed": 1, "absent": []})
    assert {"failed", "blocked"} <= status.absent
    sent = RunStatus.model_validate(
        {"state": "completed", "total": 1, "passed": 1, "failed": 0, "blocked": 0, "absent": ["failed"]}
    )
    assert evaluate(sent, GateSwitches()).result is Result.PASSED


# -- a status for another run, duplicate keys -------------------------------------------------------


@responses.activate
@pytest.mark.parametrize("other", ["r-2", "R-1", "", 1, ["r-1"], True])
def test_a_status_naming_another_run_is_a_transient_invalid_answer(other: object) -> None:
    responses.get(RUN, json={"runId": other, "state": "completed", "failed": 0, "blocked": 0})
    with pytest.raises(ApiError) as caught:
        _client().status("r-1", deadline=1e9)
    assert classify(caught.value)
    assert "not run r-1" in caught.value.message


@responses.activate
@pytest.mark.parametrize("said", [{"runId": "r-1"}, {}, {"runId": None}])
def test_a_status_with_its_own_run_id_or_none_is_believed(said: dict[str, Any]) -> None:
    responses.get(
        RUN, json={**said, "state": "completed", "total": 1, "passed": 1, "failed": 0, "blocked": 0}
    )
    assert _client().status("r-1", deadline=1e9).state == "completed"


@responses.activate
def test_a_numeric_run_id_matches_its_text() -> None:
    responses.get(f"{BASE}/api/ci/runs/42", json={"runId": 42, "state": "queued"})
    assert _client().status("42", deadline=1e9).state == "queued"


@pytest.mark.parametrize(
    "body",
    [
        b'{"failed": 1, "failed": 0}',
        b'{"a": [{"x": 1}, {"x": 1, "x": 1}]}',
        b'{"a": {"b": {"c": {"d": 1, "d": 2}}}}',
        b'{"runId": "r", "run\\u0049d": "s", "runId": "t"}',
    ],
)
def test_a_json_object_with_a_repeated_key_is_invalid_at_any_depth(body: bytes) -> None:
    with pytest.raises(DuplicateKey, match="appears twice"):
        Reply(200, {}, body).json()


def test_keys_that_only_look_alike_are_not_duplicates() -> None:
    # The same name in another object, or with a space or another letter, is another key. The same name in
    # another case is not (test_probe_units.py): the backend binds names ignoring case.
    assert Reply(200, {}, b'{"failed": 1, "failed ": 0, "fai1ed": 3, "a": {"failed": 2}}').json() == {
        "failed": 1,
        "failed ": 0,
        "fai1ed": 3,
        "a": {"failed": 2},
    }


@responses.activate
def test_a_status_with_a_repeated_key_is_transient_never_gated_on() -> None:
    responses.get(RUN, body=b'{"state": "completed", "failed": 1, "blocked": 0, "failed": 0}')
    with pytest.raises(ApiError, match="ambiguous") as caught:
        _client().status("r-1", deadline=1e9)
    assert classify(caught.value)


# -- should-fix ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "char", ["\u202e", "\u2066", "\u2069", "\u200b", "\u200f", "\ufeff", "\u2060", "\u061c"]
)
def test_bidi_and_invisible_characters_never_reach_shown_text(char: str) -> None:
    text = f"ok{char}exe.txt"
    assert char not in one_line(text)
    assert char not in markdown(text)
    assert char not in visible(text)
    assert visible(text) == "ok exe.txt"


def test_visible_keeps_ordinary_text() -> None:
    text = "Café ✅ 测试 — ok ⏱️"
    assert visible(text) == text


def _partial_escapes(key: str) -> list[str]:
    forms = []
    for mask in itertools.product([0, 1, 2], repeat=4):
        chars = list(key)
        for position, how in zip((0, 3, 7, len(key) - 1), mask, strict=True):
            if how:
                code = f"%{ord(chars[position]):02X}"
                chars[position] = code if how == 1 else code.lower()
        forms.append("".join(chars))
    return forms


def test_every_partial_percent_escaping_of_the_key_is_scrubbed() -> None:
    scrub = Scrubber(KEY)
    for form in _partial_escapes(KEY):
        assert scrub.text(f"x {form} y") == "x *** y", form


def test_the_key_with_invisible_characters_between_its_letters_is_scrubbed() -> None:
    spread = "\u200b".join(KEY[:5]) + "\u2066" + KEY[5:-1] + "\ufeff\u00ad" + KEY[-1]
    assert Scrubber(KEY).text(f"x {spread} y") == "x *** y"


def test_a_near_miss_of_the_key_is_left_alone() -> None:
    assert Scrubber(KEY).text(KEY[:-1] + "%41") == KEY[:-1] + "%41"


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


@responses.activate
def test_a_refused_key_after_a_lost_create_says_a_run_may_exist() -> None:
    import requests  # noqa: PLC0415

    responses.post(f"{BASE}/api/ci/runs", body=requests.ConnectionError("reset"))
    responses.post(f"{BASE}/api/ci/runs", status=401, json={"error": "revoked"})
    client = _client()
    with pytest.raises(AuthError):
        client.create({"projectSlug": "p"}, "k", deadline=1e9)
    assert client.create_may_have_made_a_run


@responses.activate
def test_a_refused_key_alone_made_no_run() -> None:
    responses.post(f"{BASE}/api/ci/runs", status=401, json={"error": "revoked"})
    client = _client()
    with pytest.raises(AuthError):
        client.create({"projectSlug": "p"}, "k", deadline=1e9)
    assert not client.create_may_have_made_a_run


def test_context_text_that_is_not_utf8_is_never_sent_as_escapes() -> None:
    env = {"GITHUB_REF_NAME": "caf\udce9", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_SHA": "a" * 40}
    payload = {"pull_request": {"head": {"sha": "b\ud800", "ref": "x"}}}
    settings = read_settings(
        env | {"INPUT_API-KEY": KEY, "INPUT_PROJECT-SLUG": "p", "INPUT_PROCESS-SLUG": "s"}, payload
    )
    ctx, meta = settings.context, settings.metadata
    for value in (ctx.ref_name, meta.commit_sha, meta.ref):
        value.encode("utf-8")  # raises on a lone surrogate
    assert meta.commit_sha == "b?"
