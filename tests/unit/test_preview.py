"""preview.py against mocked HTTP (responses): `runner-pool` resolved before anything is created, `variables`
set in order on the temporary environment (a failure deletes it and names the variable, never its value), and
the whole step in-process: every value masked before anything else is printed."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import responses
from responses import matchers

from certyn_action.api.client import ApiError, AuthError, CertynClient, GaveUp, NotFound
from certyn_action.api.http import Transport
from certyn_action.gate import Cause, verdict_for
from certyn_action.main import main
from certyn_action.preview import Preview
from certyn_action.resources import TemporaryEnvironment
from certyn_action.runner.signals import SignalGuard
from certyn_action.runner.workflow import WorkflowLog
from certyn_action.settings import InputErrors, Settings, read_settings
from certyn_action.step import Step
from certyn_simulator.runner.filecommands import decode_file_command, parse_outputs
from tests.fakes import FakeClock

BASE = "https://api.certyn.test"
KEY = "sk-live-very-secret"
OVERVIEW = f"{BASE}/api/projects/overview"
ENVS = f"{BASE}/api/projects/p-1/environments"
VARS = f"{ENVS}/e-1/variables"
POOLS = f"{BASE}/api/self-hosted/pools"
PREVIEW = "https://pr-1.example.com"
PASSWORD = "s3cret-Pa55word-value"


def settings(**inputs: str) -> Settings:
    env = {
        "INPUT_API-KEY": KEY,
        "INPUT_PROJECT-SLUG": "my-app",
        "INPUT_PROCESS-SLUG": "smoke",
        "INPUT_API-URL": BASE,
        "INPUT_BASE-URL": PREVIEW,
    }
    env.update({f"INPUT_{name.upper().replace('_', '-')}": value for name, value in inputs.items()})
    return read_settings(env, {})


class Held:
    def __init__(self, **inputs: str) -> None:
        responses.get(OVERVIEW, json={"projects": [{"id": "p-1", "slug": "my-app"}]})
        self.out = io.StringIO()
        self.clock = FakeClock()
        self.client = CertynClient(
            Transport(BASE, KEY, env={}),
            self.clock,
            request_timeout_seconds=5,
            max_attempts=2,
            project_slug="my-app",
        )
        self.reporter = Step({}, WorkflowLog(self.out), self.clock, SignalGuard(), None)  # type: ignore[arg-type]
        self.settings = settings(**inputs)
        self.preview = Preview(self.client, self.reporter, self.settings, self.clock)

    def environment(self) -> TemporaryEnvironment:
        responses.post(ENVS, status=201, json={"id": "e-1", "key": "k-1"})
        environment = TemporaryEnvironment(
            self.client, self.reporter, {"key": "k-1", "label": "l", "baseUrl": PREVIEW}
        )
        environment.create(deadline=self.clock.at(2000))
        return environment


# -- runner-pool ------------------------------------------------------------------------------------


def pools(*extra: dict[str, object]) -> None:
    listed = [
        {"id": "pool-lab", "name": "office-lab", "poolKind": "self_hosted", "isActive": True},
        {"id": "pool-old", "name": "retired", "isActive": False},
        *extra,
    ]
    responses.get(POOLS, json=listed, match=[matchers.header_matcher({"X-API-Key": KEY})])


@responses.activate
@pytest.mark.parametrize("wanted", ["pool-lab", "office-lab", " Office-Lab "])
def test_a_pool_is_found_by_id_or_by_name_ignoring_case_and_goes_into_the_create_body(wanted: str) -> None:
    pools()
    held = Held(runner_pool=wanted)
    held.preview.resolve_pool(deadline=held.clock.at(2000))
    assert held.preview.environment_fields() == {"executionTarget": "self_hosted", "runnerPoolId": "pool-lab"}
    assert "office-lab" in held.out.getvalue()


@responses.activate
def test_without_runner_pool_nothing_is_asked_and_the_environment_is_cloud_managed() -> None:
    held = Held()
    held.preview.resolve_pool(deadline=held.clock.at(2000))
    assert held.preview.environment_fields() == {}
    assert len(responses.calls) == 0


@responses.activate
@pytest.mark.parametrize(
    ("wanted", "said"),
    [
        ("nowhere", "no self-hosted runner pool has the id or name `nowhere`"),
        ("retired", "is not active"),
        ("twin", "several self-hosted runner pools are named `twin`"),
    ],
)
def test_an_unknown_inactive_or_ambiguous_pool_is_an_input_error(wanted: str, said: str) -> None:
    pools({"id": "t-1", "name": "twin"}, {"id": "t-2", "name": "Twin"})
    held = Held(runner_pool=wanted)
    with pytest.raises(InputErrors) as raised:  # the step says it, as any input error (nothing was created)
        held.preview.resolve_pool(deadline=held.clock.at(2000))
    assert [error.name for error in raised.value.errors] == ["runner-pool"]
    verdict = verdict_for(raised.value, 0, seen=False, run_known=False, redact=str)
    assert verdict.cause is Cause.INPUT_ERROR
    assert verdict.reasons[0].startswith("Input 'runner-pool': ")
    assert said in verdict.reasons[0]
    if wanted == "nowhere":  # the active pools, to pick from; the retired one is not offered
        assert "`office-lab` (pool-lab)" in verdict.reasons[0]
        assert "retired" not in verdict.reasons[0]


@responses.activate
def test_a_key_that_may_not_read_the_pools_is_told_so() -> None:
    responses.get(POOLS, status=403, json={"error": "forbidden"})
    held = Held(runner_pool="lab")
    with pytest.raises(AuthError, match="may not read the self-hosted runner pools"):
        held.preview.resolve_pool(deadline=held.clock.at(2000))


@responses.activate
def test_an_api_without_runner_pools_is_an_api_error_not_a_missing_project() -> None:
    responses.get(POOLS, status=404, json={"error": "not found"})
    held = Held(runner_pool="lab")
    with pytest.raises(ApiError, match="has no self-hosted runner pools") as raised:
        held.preview.resolve_pool(deadline=held.clock.at(2000))
    assert not isinstance(raised.value, NotFound)


@responses.activate
def test_a_pools_answer_that_is_not_an_array_is_retried_then_an_error() -> None:
    responses.get(POOLS, json={"items": []})
    held = Held(runner_pool="lab")
    with pytest.raises(ApiError, match="not a JSON array"):
        held.preview.resolve_pool(deadline=held.clock.at(2000))
    assert len([c for c in responses.calls if c.request.url == POOLS]) == 2  # http-max-attempts


def test_with_a_pool_an_unreachable_deployment_is_a_warning_without_it_the_end() -> None:
    out = io.StringIO()
    reporter = Step({}, WorkflowLog(out), FakeClock(), SignalGuard(), None)  # type: ignore[arg-type]

    def preview(**inputs: str) -> Preview:
        return Preview(None, reporter, settings(**inputs), FakeClock())  # type: ignore[arg-type]

    assert not preview().deployment_unreachable("connection refused")
    assert out.getvalue() == ""
    assert preview(runner_pool="lab").deployment_unreachable("connection refused")
    assert "::warning title=Deployment not reachable from this runner::" in out.getvalue()
    assert "goes ahead" in reporter.report.notes[0]


# -- variables -----------------------------------------------------------------------------------------


@responses.activate
def test_variables_are_posted_in_order_with_their_exact_values_and_the_names_logged() -> None:
    held = Held(variables=f"# login\nUSER=qa@example.com\r\nPASSWORD={PASSWORD}\nEMPTY=\nEQ= a=b \n")
    environment = held.environment()
    responses.post(VARS, status=201, json={})
    held.preview.set_variables(environment, deadline=held.clock.at(2000))
    posted = [json.loads(c.request.body or b"") for c in responses.calls if c.request.url == VARS]
    assert [(p["name"], p["value"]) for p in posted] == [
        ("USER", "qa@example.com"),
        ("PASSWORD", PASSWORD),
        ("EMPTY", ""),
        ("EQ", " a=b "),
    ]
    assert environment.variables == ("USER", "PASSWORD", "EMPTY", "EQ")
    log = held.out.getvalue()
    assert "Set 4 variables on the temporary Certyn environment `k-1` (values masked)" in log
    assert PASSWORD not in log


@responses.activate
def test_a_variable_already_there_after_a_lost_answer_counts_as_set() -> None:
    held = Held(variables="A=1\nB=2")
    environment = held.environment()
    responses.post(VARS, status=409, json={"error": "exists"})
    held.preview.set_variables(environment, deadline=held.clock.at(2000))
    assert environment.variables == ("A", "B")


@responses.activate
@pytest.mark.parametrize(
    ("status", "kind"), [(400, ApiError), (404, ApiError), (403, AuthError), (500, GaveUp)]
)
def test_a_variable_not_set_deletes_the_environment_and_names_it_never_its_value(
    status: int, kind: type[ApiError]
) -> None:
    held = Held(variables=f"USER=qa\nPASSWORD={PASSWORD}\nLATER=x")
    environment = held.environment()
    responses.post(VARS, status=201, json={})  # USER
    responses.post(VARS, status=status, json={"error": f"bad value {PASSWORD}"})
    responses.delete(f"{ENVS}/e-1", status=204)
    with pytest.raises(kind) as raised:
        held.preview.set_variables(environment, deadline=held.clock.at(2000))
    error = raised.value
    assert type(error) is kind  # a 404 is not "project not found"
    assert not isinstance(error, NotFound)
    assert "`PASSWORD`" in error.message
    assert PASSWORD not in error.message
    assert PASSWORD not in error.last
    assert "No run was created" in error.message
    assert [c.request.method for c in responses.calls][-1] == "DELETE"  # deleted at once
    names = [json.loads(c.request.body or b"")["name"] for c in responses.calls if c.request.url == VARS]
    assert "LATER" not in names  # nothing after the one that failed
    assert environment.environment is None  # nothing left to release or keep
    assert PASSWORD not in held.out.getvalue()


# -- the whole step: masks first --------------------------------------------------------------------------


@responses.activate
def test_every_value_is_masked_before_anything_else_and_a_short_one_rewrites_no_output(
    tmp_path: Path,
) -> None:
    output, summary = tmp_path / "output", tmp_path / "summary"
    env = {
        "INPUT_API-KEY": KEY,
        "INPUT_PROJECT-SLUG": "my-app",
        "INPUT_PROCESS-SLUG": "smoke",
        "INPUT_API-URL": BASE,
        "INPUT_BASE-URL": PREVIEW,
        "INPUT_BASE-URL-WAIT-SECONDS": "0",
        "INPUT_VARIABLES": f"PASSWORD={PASSWORD}\nCOUNT=1\nnot a variable line\n",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    out = io.StringIO()
    assert main(env, out, FakeClock(), guard=SignalGuard()) == 1  # the third line is an input error
    lines = out.getvalue().splitlines()
    assert lines[:4] == [
        f"::add-mask::{KEY}",
        f"::add-mask::{PASSWORD}",
        "::add-mask::1",
        "::add-mask::not a variable line",  # maybe the next line of a multi-line secret
    ]
    assert len(responses.calls) == 0  # an input error: nothing sent
    rest = "\n".join(lines[4:]) + summary.read_text(encoding="utf-8")
    assert PASSWORD not in rest
    assert "not a variable line" not in rest
    outputs = parse_outputs(decode_file_command(output.read_bytes()))
    assert outputs["result"] == "error"
    assert "***" not in "".join(outputs.values())  # "1" is masked by the runner, not redacted from outputs
