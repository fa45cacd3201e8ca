"""resources.py's TemporaryEnvironment: how the temporary environment of base-url is released or kept, with
the environment endpoints faked (their HTTP is tested in unit/certyn/test_environments.py)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from certyn_action.api.client import NO_ANSWER, ApiError, Ask, AuthError, Creating
from certyn_action.api.http import Request
from certyn_action.api.models import Environment
from certyn_action.core.endings import Rule
from certyn_action.github.reporter import Reporter
from certyn_action.github.workflow import WorkflowLog
from certyn_action.resources import TemporaryEnvironment

BODY = {"key": "gha-shop-1-1-test-0-abc", "label": "GitHub Actions", "baseUrl": "https://pr-1.example.com"}
MADE = Environment(id="e-1", key=BODY["key"])


class _BeforeSending(BaseException):
    """A signal while the project overview was read: no create went out."""


class FakeApi:
    def __init__(
        self, *, create: Any = MADE, listed: Environment | None = None, delete: Any = "deleted"
    ) -> None:
        self.created, self.listed, self.deleted_outcome = create, listed, delete
        self.calls: list[tuple[str, str]] = []
        self.creating = Creating(Ask(Request("POST", "/api/projects/p/environments"), "creating"))
        self.key, self.taken_key = BODY["key"], ""  # as EnvironmentsApi: the key in use, one taken
        self.create_sent = False

    def create(self, body: dict[str, str], deadline: float) -> Environment:
        self.calls.append(("create", body["key"]))
        if isinstance(self.created, _BeforeSending):
            raise self.created
        self.create_sent = True
        if isinstance(self.created, BaseException):
            raise self.created
        return self.created  # type: ignore[no-any-return]

    def find(self, key: str, deadline: float) -> Environment | None:
        self.calls.append(("find", key))
        return self.listed

    def delete(self, environment_id: str, deadline: float) -> str:
        self.calls.append(("delete", environment_id))
        if isinstance(self.deleted_outcome, BaseException):
            raise self.deleted_outcome
        return str(self.deleted_outcome)


def held(api: FakeApi) -> tuple[TemporaryEnvironment, Reporter, io.StringIO]:
    out = io.StringIO()
    reporter = Reporter({}, WorkflowLog(out))
    environment = TemporaryEnvironment(None, reporter, BODY)  # type: ignore[arg-type]
    environment.api = api  # type: ignore[assignment]
    return environment, reporter, out


def test_a_created_environment_is_deleted_by_its_id_and_noted() -> None:
    api = FakeApi()
    environment, reporter, _ = held(api)
    environment.create(deadline=10)
    assert reporter.report.environment_key == BODY["key"]  # the output, once the step writes it
    environment.release("the step ended (passed)", deadline=10)
    assert api.calls == [("create", BODY["key"]), ("delete", "e-1")]
    assert any("deleted" in note for note in reporter.report.notes)


def test_an_interrupted_create_is_found_by_key_and_deleted() -> None:
    api = FakeApi(create=KeyboardInterrupt(), listed=MADE)  # e.g. a signal while the create was on the wire
    environment, _, _ = held(api)
    with pytest.raises(KeyboardInterrupt):
        environment.create(deadline=10)
    environment.release("the step ended (job cancelled)", deadline=10)
    assert api.calls[1:] == [("find", BODY["key"]), ("delete", "e-1")]


def test_a_create_the_server_refused_made_nothing_to_delete() -> None:
    api = FakeApi(create=AuthError("lacks environment rights", status=403))
    environment, _, _ = held(api)
    with pytest.raises(AuthError):
        environment.create(deadline=10)
    environment.release("the step ended (key rejected)", deadline=10)
    assert api.calls == [("create", BODY["key"])]


def test_a_refusal_after_an_attempt_that_got_no_answer_is_looked_for_and_deleted() -> None:
    api = FakeApi(create=AuthError("lacks environment rights", status=403), listed=MADE)
    api.creating.may_have_made = True  # the first attempt went out and its answer was lost
    environment, reporter, _ = held(api)
    with pytest.raises(AuthError):
        environment.create(deadline=10)
    environment.release("the step ended (key rejected)", deadline=10)
    assert api.calls[1:] == [("find", BODY["key"]), ("delete", "e-1")]
    assert any("deleted" in note for note in reporter.report.notes)


def test_a_create_that_got_no_answer_may_have_made_one_so_it_is_looked_for() -> None:
    api = FakeApi(create=ApiError("no answer", kind=NO_ANSWER), listed=None)
    environment, _, _ = held(api)
    with pytest.raises(ApiError):
        environment.create(deadline=10)
    environment.release("the step ended (API error)", deadline=10)
    assert api.calls == [("create", BODY["key"]), ("find", BODY["key"])]


def test_a_failed_delete_is_a_warning_naming_the_environment() -> None:
    api = FakeApi(delete=ApiError("HTTP 500 while deleting", status=500))
    environment, reporter, out = held(api)
    environment.create(deadline=10)
    environment.release("the step ended (passed)", deadline=10)
    warnings = [line for line in out.getvalue().splitlines() if line.startswith("::warning")]
    assert len(warnings) == 1
    assert BODY["key"] in warnings[0]
    assert "Certyn environment not deleted" in warnings[0]
    assert reporter.report.verdict.result.value == "error"  # untouched: still the report's default


def test_keeping_says_so_only_when_it_exists() -> None:
    rule = Rule("keep-environment", "the step ended (passed)", release_when=False)
    environment, reporter, _ = held(FakeApi())
    environment.keep(rule)
    assert reporter.report.notes == []
    environment.create(deadline=10)
    environment.keep(rule)
    assert any("kept (keep-environment is true)" in note for note in reporter.report.notes)


def test_a_signal_before_any_create_was_sent_says_nothing_may_exist_and_reads_nothing() -> None:
    api = FakeApi(create=_BeforeSending())
    environment, reporter, out = held(api)
    with pytest.raises(_BeforeSending):
        environment.create(deadline=10)
    environment.release("the GitHub workflow job was cancelled", deadline=10)
    assert api.calls == [("create", BODY["key"])]  # no look-up: the overview is not read again
    assert reporter.report.notes == []
    assert "may exist" not in out.getvalue()
