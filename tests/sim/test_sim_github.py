"""The fake GitHub REST API (issue 21): check runs, issue comments and the pulls of a commit under
``/github`` and ``/github/api/v3``; its own token; permission and rate-limit switches; GitHub's limits;
everything written recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from certyn_simulator import ENDPOINTS, Fault, Scenario, Simulator

KEY = "certyn-key"
TOKEN = "ghs_test_token"
GH = {
    "Authorization": f"Bearer {TOKEN}",
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": "2022-11-28",
}
SHA = "a" * 40
REPO = "/repos/octo/shop"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(Scenario(projects=["shop"]), api_key=KEY, github_token=TOKEN) as s:
        yield s


def call(
    sim: Simulator,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    base: str | None = None,
) -> requests.Response:
    return requests.request(
        method,
        f"{base or sim.github_url}{path}",
        json=body,
        headers=GH if headers is None else headers,
        timeout=5,
    )


def annotation(i: int, level: str = "failure") -> dict[str, Any]:
    return {
        "path": ".github/workflows/e2e.yml",
        "start_line": 1,
        "end_line": 1,
        "annotation_level": level,
        "message": f"Test {i} failed",
        "title": f"Test {i}",
    }


def new_check_run(sim: Simulator, **extra: Any) -> requests.Response:
    body = {"name": "Certyn", "head_sha": SHA, "status": "in_progress", **extra}
    return call(sim, "POST", f"{REPO}/check-runs", body)


# Check runs ---------------------------------------------------------------------------------------------
def test_a_check_run_is_created_then_completed_with_accumulating_annotations(sim: Simulator) -> None:
    created = new_check_run(sim, details_url="https://app.test/runs/1", external_id="run-1")
    assert created.status_code == 201
    run = created.json()
    assert (run["name"], run["head_sha"], run["status"], run["conclusion"]) == (
        "Certyn",
        SHA,
        "in_progress",
        None,
    )
    assert run["html_url"] == f"https://github.com/octo/shop/runs/{run['id']}"
    assert isinstance(run["id"], int)
    first = {
        "status": "completed",
        "conclusion": "failure",
        "output": {"title": "2 failed", "summary": "## Results\n| a | b |", "annotations": [annotation(1)]},
    }
    done = call(sim, "PATCH", f"{REPO}/check-runs/{run['id']}", first)
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["conclusion"]) == ("completed", "failure")
    more = {
        "output": {"title": "2 failed", "summary": "## Results", "annotations": [annotation(2, "warning")]}
    }
    assert (
        call(sim, "PATCH", f"{REPO}/check-runs/{run['id']}", more).json()["output"]["annotations_count"] == 2
    )
    [recorded] = sim.github_check_runs
    assert recorded.repository == "octo/shop"
    assert recorded.output == {"title": "2 failed", "summary": "## Results"}
    assert [a["message"] for a in recorded.annotations] == ["Test 1 failed", "Test 2 failed"]
    assert len(recorded.requests) == 3
    assert recorded.requests[1] == first
    control = requests.get(f"{sim.base_url}/_sim/github", timeout=5).json()
    assert control["checkRuns"][0]["output"]["summary"] == "## Results"
    assert control["checkRuns"][0]["details_url"] == "https://app.test/runs/1"


def test_a_conclusion_completes_the_run_and_completed_needs_a_conclusion(sim: Simulator) -> None:
    assert new_check_run(sim, status="completed").status_code == 422
    done = new_check_run(sim, conclusion="success")
    assert (done.json()["status"], done.json()["conclusion"]) == ("completed", "success")


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"head_sha": SHA}, "name"),
        ({"name": "x"}, "head_sha"),
        ({"name": "x", "head_sha": "HEAD"}, "No commit found"),
        ({"name": "x", "head_sha": SHA, "status": "done"}, "status"),
        ({"name": "x", "head_sha": SHA, "conclusion": "failed"}, "conclusion"),
        ({"name": "x", "head_sha": SHA, "output": {"title": "t"}}, "output.summary"),
        ({"name": "x", "head_sha": SHA, "output": {"title": "t", "summary": "s" * 65536}}, "too long"),
        (
            {"name": "x", "head_sha": SHA, "output": {"title": "t", "summary": "s", "text": "s" * 65536}},
            "text",
        ),
        (
            {
                "name": "x",
                "head_sha": SHA,
                "output": {"title": "t", "summary": "s", "annotations": [annotation(0)] * 51},
            },
            "maximum is 50",
        ),
        (
            {
                "name": "x",
                "head_sha": SHA,
                "output": {"title": "t", "summary": "s", "annotations": [{"path": "a"}]},
            },
            "annotations[0]",
        ),
        (
            {
                "name": "x",
                "head_sha": SHA,
                "output": {"title": "t", "summary": "s", "annotations": [annotation(0, "error")]},
            },
            "annotation_level",
        ),
    ],
)
def test_invalid_check_runs_are_422_and_not_stored(sim: Simulator, body: dict[str, Any], needle: str) -> None:
    resp = call(sim, "POST", f"{REPO}/check-runs", body)
    assert resp.status_code == 422
    assert needle in resp.json()["message"]
    assert resp.json()["documentation_url"]
    assert sim.github_check_runs == []


def test_a_body_that_is_not_json_is_400_and_not_an_object_422(sim: Simulator) -> None:
    broken = requests.post(f"{sim.github_url}{REPO}/check-runs", data="{name:", headers=GH, timeout=5)
    assert broken.status_code == 400
    assert broken.json()["message"] == "Problems parsing JSON"
    assert call(sim, "POST", f"{REPO}/issues/7/comments", ["a body"]).status_code == 422


def test_the_limits_themselves_are_accepted(sim: Simulator) -> None:
    output = {"title": "t", "summary": "s" * 65535, "text": "t" * 65535, "annotations": [annotation(0)] * 50}
    run = new_check_run(sim, output=output)
    assert run.status_code == 201
    too_many = {"output": {"title": "t", "summary": "s", "annotations": [annotation(0)] * 51}}
    assert call(sim, "PATCH", f"{REPO}/check-runs/{run.json()['id']}", too_many).status_code == 422
    assert len(sim.github_check_runs[0].annotations) == 50


def test_updating_an_unknown_or_another_repository_check_run_is_404(sim: Simulator) -> None:
    run = new_check_run(sim).json()
    assert call(sim, "PATCH", f"{REPO}/check-runs/999", {"status": "in_progress"}).status_code == 404
    assert (
        call(sim, "PATCH", f"/repos/octo/other/check-runs/{run['id']}", {"status": "queued"}).status_code
        == 404
    )
    assert call(sim, "GET", f"{REPO}/check-runs/{run['id']}").status_code == 404  # only what the action uses


# Comments -----------------------------------------------------------------------------------------------
def test_comments_are_created_listed_and_edited_in_place(sim: Simulator) -> None:
    body = "<!-- certyn:e2e -->\n## Certyn\n2 failed"
    created = call(sim, "POST", f"{REPO}/issues/7/comments", {"body": body})
    assert created.status_code == 201
    comment = created.json()
    assert (comment["body"], comment["user"]["login"]) == (body, "github-actions[bot]")
    listed = call(sim, "GET", f"{REPO}/issues/7/comments", headers=GH)
    assert [c["id"] for c in listed.json()] == [comment["id"]]
    assert "Link" not in listed.headers
    assert call(sim, "GET", f"{REPO}/issues/8/comments").json() == []
    edited = call(sim, "PATCH", f"{REPO}/issues/comments/{comment['id']}", {"body": body + "\nnow green"})
    assert edited.status_code == 200
    assert edited.json()["body"].endswith("now green")
    [recorded] = sim.github_comments
    assert (recorded.issue_number, recorded.repository) == (7, "octo/shop")
    assert recorded.history == [body, body + "\nnow green"]
    assert call(sim, "PATCH", f"{REPO}/issues/comments/999", {"body": "x"}).status_code == 404


@pytest.mark.parametrize("body", [{}, {"body": ""}, {"body": 3}, {"body": "x" * 65537}])
def test_an_invalid_comment_is_422(sim: Simulator, body: dict[str, Any]) -> None:
    assert call(sim, "POST", f"{REPO}/issues/7/comments", body).status_code == 422
    assert sim.github_comments == []


def test_a_comment_of_the_maximum_length_is_accepted(sim: Simulator) -> None:
    assert call(sim, "POST", f"{REPO}/issues/7/comments", {"body": "x" * 65536}).status_code == 201


def test_comment_pages_have_a_link_header() -> None:
    comments = [{"issue": 7, "body": f"comment {i}", "user": "octocat"} for i in range(5)]
    with Simulator(Scenario(github={"comments": comments}), github_token=TOKEN) as s:
        first = requests.get(
            f"{s.github_url}{REPO}/issues/7/comments?per_page=2&page=1", headers=GH, timeout=5
        )
        assert [c["body"] for c in first.json()] == ["comment 0", "comment 1"]
        assert 'page=2>; rel="next"' in first.headers["Link"]
        assert 'page=3>; rel="last"' in first.headers["Link"]
        last = requests.get(
            f"{s.github_url}{REPO}/issues/7/comments?per_page=2&page=3", headers=GH, timeout=5
        )
        assert [c["body"] for c in last.json()] == ["comment 4"]
        assert 'rel="next"' not in last.headers["Link"]
        assert 'page=2>; rel="prev"' in last.headers["Link"]
        assert s.github_comments[0].preexisting


def test_the_pulls_of_a_commit_come_from_the_scenario() -> None:
    pulls = [
        {"number": 7, "head_sha": SHA},
        {"number": 8, "head_sha": SHA, "state": "closed"},
        {"number": 9, "head_sha": "b" * 40},
    ]
    with Simulator(Scenario(github={"pulls": pulls}), github_token=TOKEN) as s:
        found = call(s, "GET", f"{REPO}/commits/{SHA}/pulls").json()
        assert [(p["number"], p["state"], p["head"]["sha"]) for p in found] == [
            (7, "open", SHA),
            (8, "closed", SHA),
        ]
        assert call(s, "GET", f"{REPO}/commits/{'c' * 40}/pulls").json() == []


# Prefixes, tokens, switches ------------------------------------------------------------------------------
def test_the_enterprise_prefix_serves_the_same_api(sim: Simulator) -> None:
    assert sim.github_enterprise_url.endswith("/github/api/v3")
    run = new_check_run(sim).json()
    done = call(
        sim,
        "PATCH",
        f"{REPO}/check-runs/{run['id']}",
        {"conclusion": "success"},
        base=sim.github_enterprise_url,
    )
    assert done.status_code == 200
    assert call(sim, "GET", "/repos/octo/shop/nothing-here").json()["message"] == "Not Found"
    assert [r.endpoint for r in sim.requests][:2] == ["github_check_run_create", "github_check_run_update"]
    assert sim.requests[0].repository == "octo/shop"


@pytest.mark.parametrize(
    ("headers", "reason", "message"),
    [
        ({}, "missing-token", "Requires authentication"),
        ({"Authorization": "Bearer wrong"}, "bad-token", "Bad credentials"),
        ({"Authorization": f"Bearer {KEY}"}, "certyn-key", "Bad credentials"),
        ({**GH, "X-API-Key": KEY}, "certyn-key", "Bad credentials"),
    ],
)
def test_requests_without_the_github_token_or_with_the_certyn_key_are_refused_and_recorded(
    sim: Simulator, headers: dict[str, str], reason: str, message: str
) -> None:
    resp = call(sim, "POST", f"{REPO}/check-runs", {"name": "x", "head_sha": SHA}, headers=headers)
    assert resp.status_code == 401
    assert resp.json()["message"] == message
    assert sim.github_check_runs == []
    assert sim.github_refused == [
        {
            "seq": sim.requests[-1].seq,
            "method": "POST",
            "path": "/github/repos/octo/shop/check-runs",
            "reason": reason,
        }
    ]
    assert requests.get(f"{sim.base_url}/_sim/github", timeout=5).json()["refused"][0]["reason"] == reason
    assert sim.requests[-1].response_status == 401


def test_the_legacy_token_scheme_is_accepted(sim: Simulator) -> None:
    assert new_check_run(sim).status_code == 201
    resp = call(
        sim,
        "POST",
        f"{REPO}/check-runs",
        {"name": "x", "head_sha": SHA},
        headers={"Authorization": f"token {TOKEN}"},
    )
    assert resp.status_code == 201


def test_the_github_token_is_not_a_certyn_key(sim: Simulator) -> None:
    resp = requests.get(
        f"{sim.base_url}/api/projects/overview", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    assert resp.status_code == 401


def test_a_read_only_token_cannot_write_checks_or_comments() -> None:
    sc = Scenario(
        github={
            "permissions": {"checks": "read", "pull_requests": "read"},
            "pulls": [{"number": 7, "head_sha": SHA}],
        }
    )
    with Simulator(sc, github_token=TOKEN) as s:
        refused = new_check_run(s)
        assert refused.status_code == 403
        assert refused.json()["message"] == "Resource not accessible by integration"
        assert refused.headers["x-ratelimit-remaining"] != "0"  # not a rate limit
        assert call(s, "POST", f"{REPO}/issues/7/comments", {"body": "x"}).status_code == 403
        assert call(s, "GET", f"{REPO}/issues/7/comments").status_code == 200
        assert call(s, "GET", f"{REPO}/commits/{SHA}/pulls").status_code == 200
        assert [r["reason"] for r in s.github_refused] == ["permission", "permission"]
        assert s.github_check_runs == []
        assert s.github_comments == []
    with Simulator(Scenario(github={"permissions": {"pull_requests": "none"}}), github_token=TOKEN) as s:
        assert call(s, "GET", f"{REPO}/issues/7/comments").status_code == 403
        assert new_check_run(s).status_code == 201


def test_a_primary_rate_limit_is_403_with_no_requests_remaining() -> None:
    with Simulator(Scenario(github={"rate_limit": {"status": 403, "times": 1}}), github_token=TOKEN) as s:
        limited = new_check_run(s)
        assert limited.status_code == 403
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert int(limited.headers["x-ratelimit-reset"]) > 0
        assert "rate limit" in limited.json()["message"]
        assert "Retry-After" not in limited.headers
        assert new_check_run(s).status_code == 201  # times: 1


def test_a_secondary_rate_limit_is_429_with_retry_after_until_switched_off() -> None:
    with Simulator(
        Scenario(github={"rate_limit": {"status": 429, "retry_after": 2, "times": None}}), github_token=TOKEN
    ) as s:
        for _ in range(3):
            limited = call(s, "POST", f"{REPO}/issues/7/comments", {"body": "x"})
            assert limited.status_code == 429
            assert limited.headers["Retry-After"] == "2"
        s.set_scenario(Scenario())
        assert call(s, "POST", f"{REPO}/issues/7/comments", {"body": "x"}).status_code == 201


def test_github_endpoints_take_faults_like_the_certyn_ones(sim: Simulator) -> None:
    assert {"github_check_run_create", "github_comment_update", "github_commit_pulls"} <= set(ENDPOINTS)
    sim.add_faults("github_check_run_create", Fault.http(502), Fault.drop())
    assert new_check_run(sim).status_code == 502
    with pytest.raises(requests.ConnectionError):
        new_check_run(sim)
    assert new_check_run(sim).status_code == 201
    assert [r.fault for r in sim.api_requests("github_check_run_create")] == ["status", "drop", None]


@pytest.mark.parametrize(
    "bad",
    [
        {"github": {"tokens": []}},
        {"github": {"permissions": {"checks": "admin"}}},
        {"github": {"rate_limit": {"status": 500}}},
        {"github": {"pulls": [{"number": 1}]}},
        {"github": {"comments": [{"body": "no issue"}]}},
    ],
)
def test_bad_github_switches_are_refused(bad: dict[str, Any]) -> None:
    with Simulator() as s:
        assert requests.put(f"{s.base_url}/_sim/scenario", json=bad, timeout=5).status_code == 400


def test_github_switches_round_trip_and_reset_forgets_what_was_written(sim: Simulator) -> None:
    sc = Scenario(
        github={
            "permissions": {"checks": "none"},
            "rate_limit": {"status": 429, "retry_after": 1, "times": 2},
        }
    )
    assert Scenario.from_dict(json.loads(json.dumps(sc.to_dict()))) == sc
    new_check_run(sim)
    call(sim, "POST", f"{REPO}/issues/7/comments", {"body": "x"})
    call(sim, "POST", f"{REPO}/check-runs", {}, headers={})
    sim.reset()
    assert (sim.github_check_runs, sim.github_comments, sim.github_refused) == ([], [], [])
