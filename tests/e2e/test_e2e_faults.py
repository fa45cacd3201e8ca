"""End to end: entrypoint.py, run the way the runner runs it, against a misbehaving API.

Each test starts real simulators on 127.0.0.1 and runs the action as a subprocess through the fake
runner. Slow cases of one test run at the same time (``run_steps``) to keep the file quick.
The numbers asserted come from the code: first retry immediate, then 2, 4, 8 s (+ up to 1 s of
jitter); Retry-After capped at 60 s and never past the deadline; a 1 s poll floor during outages;
a 5 s cancel budget. docs/reliability.md names these tests next to the behaviour they prove.
"""

from __future__ import annotations

import copy
import dataclasses
import email.utils
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from certyn_action.render import words
from certyn_action.wait import NOT_FOUND_GRACE_POLLS, NOT_FOUND_GRACE_SECONDS
from certyn_simulator import Fault, Scenario, Simulator, snapshot
from certyn_simulator.runner import ActionRun, Event
from tests.e2e_support import (
    API_KEY,
    PROJECT,
    Certs,
    RecordingProxy,
    Step,
    explain,
    gaps,
    inputs,
    keys,
    make_certs,
    names,
    openssl_available,
    run_action,
    run_steps,
    serve_tls,
    simulators,
    titled,
)
from tests.rendered import read

CANCEL_BUDGET = 5.0  # certyn_action.resources.RELEASE_BUDGET_SECONDS
SLACK = 2.5  # interpreter start-up, process exit, a loaded machine
UNREACHABLE = "Certyn API unreachable"
REACHABLE = "Certyn API reachable again"
IN_PROGRESS = snapshot("in_progress", total=2, pending=2)
COMPLETED = snapshot("completed", conclusion="success", total=2, passed=2)


def done(**fields: Any) -> Scenario:
    """A run that has passed by the first poll."""
    return Scenario(snapshots=[COMPLETED], **fields)


def after(polls: int, **fields: Any) -> Scenario:
    """A run that is in progress for ``polls`` answered polls, then passes."""
    return Scenario(snapshots=[IN_PROGRESS] * polls + [COMPLETED], **fields)


def never(**fields: Any) -> Scenario:
    return Scenario(snapshots=[IN_PROGRESS], **fields)


def ok() -> Fault:
    """A queue entry that changes nothing: the request is answered normally."""
    return Fault.delay(0)


def transient(status: int, body: Any = None) -> Fault:
    """A transient error whose Retry-After: 0 keeps the test quick (the poll floor still applies)."""
    return Fault.http(status, body if body is not None else {"error": f"Simulated {status}"}, retry_after=0)


def assert_error_ending(run: ActionRun) -> None:
    """result=error, exit 1, outputs readable and the summary written, its heading naming the cause (only a
    bug in the action reads "Certyn action error")."""
    assert run.exit_code == 1, explain(run)
    assert run.outputs["result"] == "error", explain(run)
    causes = [title for title in words.CAUSE_TITLES.values() if title != words.ACTION_ERROR]
    heading = run.summary.splitlines()[0]
    assert any(f" {title}" in heading for title in causes), explain(run)


def assert_input_error(run: ActionRun) -> None:
    """An input error: exit 1, result=error, outputs and summary written (no run, no request)."""
    assert_error_ending(run)
    assert run.outputs["run-id"] == "", explain(run)


def assert_passed(run: ActionRun) -> None:
    assert run.exit_code == 0, explain(run)
    assert run.outputs["result"] == "passed", explain(run)
    assert not run.commands_named("error"), explain(run)


def outage_counts(run: ActionRun) -> tuple[int, int, int]:
    """(::warning "unreachable" annotations, "unreachable again" lines, "reachable again" lines)."""
    again = run.log.count(f"{UNREACHABLE} again (outage ")
    return (
        len(titled(run, "warning", UNREACHABLE)),
        again,
        run.log.count(f"{REACHABLE}: polling"),
    )  # the notice and the log lines


def served_faults(sim: Simulator, endpoint: str) -> list[str | None]:
    return [r.fault for r in sim.api_requests(endpoint)]


# =====================================================================================================
# 1. Create retries are safe
# =====================================================================================================


def test_create_retries_transient_failures_with_one_idempotency_key() -> None:
    # three failures per simulator: the backoff (0, 2, 4 s) keeps growing, whatever Retry-After says
    statuses, more_statuses = [408, 429, 500], [502, 503, 504]
    with simulators(
        done().with_faults(create=[transient(s) for s in statuses]),
        done().with_faults(create=[Fault.drop(), Fault.reset()]),
        done().with_faults(create=[Fault.stall(4), Fault.delay(4)]),  # both slower than the 1 s timeout
        done().with_faults(create=[transient(s) for s in more_statuses]),
    ) as (by_status, by_network, by_timeout, by_more_statuses):
        runs = run_steps(
            Step(inputs(by_status.base_url)),
            Step(inputs(by_network.base_url)),
            Step(inputs(by_timeout.base_url, request_timeout_seconds="1")),
            Step(inputs(by_more_statuses.base_url)),
        )
        sims = (by_status, by_network, by_timeout, by_more_statuses)
        for sim, run, attempts in zip(sims, runs, (4, 3, 3, 4), strict=True):
            assert_passed(run)
            creates = sim.api_requests("create")
            assert len(creates) == attempts, explain(run)
            sent = keys(creates)
            assert sent[0], sent
            assert len(set(sent)) == 1, sent  # the same Idempotency-Key every time
            assert len(sim.runs) == 1, "a retried create made a second run"
            assert len(re.findall(r"Create attempt \d+/\d+ failed", run.log)) == attempts - 1, explain(run)
        assert [r.response_status for r in by_status.api_requests("create")] == [*statuses, 201]
        assert [r.response_status for r in by_more_statuses.api_requests("create")] == [*more_statuses, 201]
        assert served_faults(by_network, "create") == ["drop", "reset", None]
        assert served_faults(by_timeout, "create") == ["stall", "delay", None]
        # backoff: the first retry at once, the second after 2 s plus up to 1 s of jitter
        first, second = gaps(by_network.api_requests("create"))
        assert first < 0.8
        assert 1.9 <= second < 3.6
        # timeouts: each attempt abandoned after request-timeout-seconds (1 s)
        first, second = gaps(by_timeout.api_requests("create"))
        assert 0.9 <= first < 1.8
        assert 2.9 <= second < 4.8
        # the stalled create had made the run: the last attempt is an idempotent replay of it
        assert runs[2].outputs["idempotency-replayed"] == "true"
        assert by_timeout.run().creates >= 2


def test_create_gives_up_after_http_max_attempts() -> None:
    with simulators(done().with_faults(create=[Fault.http(503, retry_after=0, times=20)])) as (sim,):
        run = run_action(sim.base_url, http_max_attempts="3")
        assert_error_ending(run)
        creates = sim.api_requests("create")
        assert len(creates) == 3
        assert len(set(keys(creates))) == 1
        assert sim.runs == {}
        (error,) = run.commands_named("error")
        assert "create failed after 3 attempts" in error.data
        assert "HTTP 503" in error.data


def test_a_single_attempt_is_said_in_the_singular() -> None:
    with simulators(done().with_faults(create=[Fault.http(503, retry_after=0, times=20)])) as (sim,):
        run = run_action(sim.base_url, http_max_attempts="1")
    assert_error_ending(run)
    (error,) = run.commands_named("error")
    assert "create failed after 1 attempt:" in error.data, explain(run)
    assert "1 attempts" not in run.stdout


def test_a_create_that_gives_up_on_gateway_errors_still_cancels_the_run_the_backend_made() -> None:
    # 504 from a gateway whose backend went on to make the run: after the last attempt the action replays
    # the create once with the same key, learns the run, and cancels it: no run is left orphaned.
    with simulators(done().with_faults(create=[Fault.http(504, process=True)])) as (sim,):
        run = run_action(sim.base_url, http_max_attempts="1")
        assert_error_ending(run)
        creates = sim.api_requests("create")
        assert [c.response_status for c in creates] == [504, 200], explain(run)
        assert len(set(keys(creates))) == 1
        assert len(sim.runs) == 1
        assert sim.run().cancel_reasons, explain(run)
        assert run.outputs["run-id"] == sim.run().run_id


def test_retry_after_is_honoured_in_seconds_and_as_an_http_date() -> None:
    date = email.utils.formatdate(time.time() + 5, usegmt=True)  # ~4 s after the action's first request
    with simulators(
        done().with_faults(create=[Fault.http(503, retry_after=2)]),
        done().with_faults(create=[Fault.http(429, retry_after=date)]),
        after(1).with_faults(status=[Fault.http(503, retry_after=3)]),
    ) as (seconds, http_date, polling):
        runs = run_steps(*(Step(inputs(sim.base_url)) for sim in (seconds, http_date, polling)))
        for run in runs:
            assert_passed(run)
        # without Retry-After the first retry is immediate (see the test above)
        (gap,) = gaps(seconds.api_requests("create"))
        assert 1.9 <= gap < 3.5
        (gap,) = gaps(http_date.api_requests("create"))
        assert 1.9 <= gap < 5.5
        # while polling too (the poll floor is 1 s)
        assert gaps(polling.api_requests("status"))[0] >= 2.9


def test_retry_after_beyond_the_deadline_does_not_hold_the_step() -> None:
    with simulators(
        done().with_faults(create=[Fault.http(503, retry_after=3600, times=10)]),
        never().with_faults(status=[Fault.http(429, retry_after=3600)]),
    ) as (on_create, on_poll):
        create_run, poll_run = run_steps(
            Step(inputs(on_create.base_url, timeout_seconds="5")),
            Step(inputs(on_poll.base_url, timeout_seconds="4")),
        )
        # create: waiting as asked would pass the deadline, so it waits what it can and tries once more,
        # then ends timed out within the deadline; the server answered 503 (no run made), so nothing is
        # replayed or cancelled
        assert create_run.exit_code == 1, explain(create_run)
        assert create_run.outputs["result"] == "timed-out", explain(create_run)
        assert create_run.duration < 5 + SLACK, explain(create_run)
        first, last = on_create.api_requests("create")
        assert 2.0 <= last.received_at - first.received_at < 3.5  # half the 5 s left, kept for the last try
        assert not on_create.runs
        (error,) = create_run.commands_named("error")
        assert "Certyn API unreachable (2 attempts, the last: HTTP 503 while creating the run" in error.data
        assert error.properties.get("title") == "Certyn API unreachable"
        # polling: it waits no longer than the deadline, then times out and cancels
        assert poll_run.outputs["result"] == "timed-out", explain(poll_run)
        assert poll_run.duration < 4 + SLACK, explain(poll_run)
        # after the 429 it sleeps until 2 s before the deadline (not 60 s), then polls to the end
        polls = on_poll.api_requests("status")
        assert polls[0].response_status == 429
        assert len(polls) >= 2
        assert 1.5 <= gaps(polls)[0] < 3.0
        assert len(on_poll.api_requests("cancel")) == 1


def test_a_lost_create_response_ends_in_one_run_marked_replayed() -> None:
    with simulators(done().with_faults(create=[Fault.drop_after()])) as (sim,):
        run = run_action(sim.base_url)
        assert_passed(run)
        assert len(sim.runs) == 1
        record = sim.run()
        assert record.creates == 2  # the lost one made it, the retry found it
        creates = sim.api_requests("create")
        assert len(creates) == 2
        assert keys(creates)[0] == keys(creates)[1]
        assert run.outputs["run-id"] == record.run_id
        assert run.outputs["idempotency-replayed"] == "true"
        assert "idempotent replay" in run.log
        assert "replayed" in run.summary


# =====================================================================================================
# 2. Polling outlives outages
# =====================================================================================================


def _refuse_connections_for(sim: Simulator, seconds: float) -> threading.Thread:
    """After the first answered poll, stop the simulator (connection refused) and restart it later."""

    def outage() -> None:
        sim.wait_until(
            lambda: any(r.endpoint == "status" and r.finished_at is not None for r in sim.requests),
            timeout=20,
        )
        sim.stop()
        time.sleep(seconds)
        sim.start()  # the same port again

    thread = threading.Thread(target=outage, daemon=True)
    thread.start()
    return thread


def test_polling_rides_out_every_transient_failure_with_one_warning_per_outage() -> None:
    # Outages back off exponentially (0, 2, 4 s ...; Retry-After: 0 does not shorten that), so each
    # simulator serves short outages and the fault kinds are spread over several simulators.
    html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    http_errors = [*(transient(s) for s in (503, 500, 502)), ok(), Fault.http(503), Fault.http(502, html)]
    more_http_errors = [*(transient(s) for s in (504, 429, 408)), ok(), Fault.http(503)]
    bad_bodies = [Fault.html(), Fault.not_json(), ok(), Fault.reset(), Fault.drop()]
    cut_or_slow = [Fault.truncated(), Fault.truncated(short_read=True), ok(), Fault.delay(3), Fault.stall(3)]
    with simulators(
        after(1).with_faults(status=http_errors),
        after(1).with_faults(status=bad_bodies),
        after(5).with_faults(status=cut_or_slow),
        Scenario(snapshots=[IN_PROGRESS, COMPLETED], step_seconds=6),
        after(1).with_faults(status=more_http_errors),
    ) as sims:
        refusing = _refuse_connections_for(sims[3], 2.5)
        runs = run_steps(*(Step(inputs(sim.base_url, request_timeout_seconds="1")) for sim in sims))
        refusing.join(timeout=5)
        for run, outages in zip(runs, (2, 2, 2, 1, 2), strict=True):
            assert_passed(run)
            # one annotation for the first outage; each later one, and each recovery, is a log line
            assert outage_counts(run) == (1, outages - 1, outages), explain(run)
            assert len(run.commands_named("warning")) == 1, explain(run)
            # the first outage's end (it had a warning) and the verdict's
            assert [c.properties.get("title") for c in run.commands_named("notice")] == [
                REACHABLE,
                "Certyn tests passed",
            ], explain(run)
        # every planned fault was served
        assert served_faults(sims[0], "status")[:6] == ["status"] * 3 + ["delay", "status", "status"]
        assert [r.response_status for r in sims[4].api_requests("status")][:3] == [504, 429, 408]
        assert served_faults(sims[1], "status")[:5] == ["html", "not_json", "delay", "reset", "drop"]
        assert served_faults(sims[2], "status")[:5] == ["truncated", "truncated", "delay", "delay", "stall"]
        (warning,) = runs[3].commands_named("warning")
        assert "refused" in warning.data.lower(), explain(runs[3])
        assert "keeps polling with backoff until the deadline" in warning.data


def test_a_new_run_that_is_not_visible_yet_is_waited_out() -> None:
    with simulators(done(not_found_polls=3), done(not_found_polls=1000)) as (
        brief,
        lasting,
    ):
        waited, gave_up = run_steps(Step(inputs(brief.base_url)), Step(inputs(lasting.base_url)))
        assert_passed(waited)
        assert waited.log.count("is not visible yet (HTTP 404") == 3, explain(waited)
        assert not waited.commands_named("warning")
        assert len(brief.api_requests("status")) == 4
        # past the grace (polls AND seconds) the 404 is an error, named as such, and the run is cancelled
        assert_error_ending(gave_up)
        assert len(lasting.api_requests("status")) > NOT_FOUND_GRACE_POLLS
        assert gave_up.duration >= NOT_FOUND_GRACE_SECONDS, explain(gave_up)
        assert len(lasting.api_requests("cancel")) == 1
        (error,) = gave_up.commands_named("error")
        assert "HTTP 404" in error.data
        assert "not found" in error.data


# =====================================================================================================
# 3. Fatal errors fail fast and say why
# =====================================================================================================


def test_a_rejected_key_fails_at_once_naming_the_input_and_project() -> None:
    with (
        Simulator(done(), api_key="a-different-key") as wrong_key,
        Simulator(
            done().with_faults(create=[Fault.http(403, {"error": "This key has no access to the project."})]),
            api_key=API_KEY,
        ) as forbidden,
    ):
        runs = run_steps(Step(inputs(wrong_key.base_url)), Step(inputs(forbidden.base_url)))
        for sim, run, status in zip((wrong_key, forbidden), runs, (401, 403), strict=True):
            assert_error_ending(run)
            assert len(sim.requests) == 1, "an auth failure was retried"
            (error,) = titled(run, "error", "Certyn API key rejected")
            assert f"HTTP {status}" in error.data
            assert "api-key" in error.data  # an annotation: no Markdown
            assert f"project {PROJECT}" in error.data
            assert f"HTTP {status}" in run.summary
            assert run.outputs["run-id"] == ""
        assert "no access to the project" in runs[1].commands_named("error")[0].data


def test_a_key_rejected_while_polling_says_the_run_may_still_be_running_and_links_it() -> None:
    # The run exists; the key is refused on the second poll (revoked mid-run). The refused key cannot cancel
    # it, so the step says where it is, in the log and the summary, instead of leaving it silently.
    scenario = never().with_faults(status=[ok(), Fault.http(401, {"error": "API key revoked."})])
    with simulators(scenario) as (sim,):
        run = run_action(sim.base_url)
        [run_id] = sim.runs
        assert sim.api_requests("cancel") == []
    assert_error_ending(run)
    app_url = run.outputs["app-url"]
    assert run_id in app_url, explain(run)
    (error,) = titled(run, "error", "Certyn API key rejected")
    note = [item for item in read(run.summary).items if "may still be running" in item]
    for text in (error.data, *note):
        assert f"Certyn run {run_id} ({app_url}) may still be running" in text.replace("`", ""), explain(run)
        assert "cannot cancel it with a refused key" in text


def test_an_unknown_project_fails_at_once_naming_project_and_process() -> None:
    with simulators(done(projects=["another-app"])) as (sim,):
        run = run_action(sim.base_url)
        assert_error_ending(run)
        assert len(sim.requests) == 1
        (error,) = titled(run, "error", "Certyn project or process not found")
        # an annotation: the names without Markdown backticks
        for part in (
            f"project {PROJECT},",
            "check project-slug",
            "process-slug",
            f"Project '{PROJECT}' not found",
        ):
            assert part in error.data, error.data


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        pytest.param(
            400,
            {
                "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                "title": "One or more validation errors occurred.",
                "detail": "See the errors property.",
                "errors": {"processSlug": ["Unknown process 'smoke-suite'."]},
            },
            [
                "One or more validation errors occurred.",
                "See the errors property.",
                "processSlug: Unknown process 'smoke-suite'.",
            ],
            id="400-problem-details",
        ),
        pytest.param(
            409,
            {"error": "Idempotency-Key reused with another body."},
            ["Idempotency-Key reused with another body."],
            id="409-error",
        ),
        pytest.param(
            422,
            {"message": "Environment 'staging' is locked."},
            ["Environment 'staging' is locked."],
            id="422-message",
        ),
    ],
)
def test_a_refused_create_shows_the_server_message(status: int, body: Any, expected: list[str]) -> None:
    with simulators(done().with_faults(create=[Fault("status", status=status, body=body)])) as (sim,):
        run = run_action(sim.base_url)
        assert_error_ending(run)
        assert len(sim.requests) == 1, "a client error was retried"
        (error,) = run.commands_named("error")
        assert f"HTTP {status} while creating the run" in error.data
        for part in expected:
            assert part in error.data, error.data
        assert f"HTTP {status}" in run.summary


def test_server_error_text_is_shown_as_data_sanitised_and_cut() -> None:
    body = {
        "error": "bad\n::error::injected\r::warning::y ##[error]z %0A::notice::n "
        "<img src=x onerror=alert(1)> [link](javascript:alert(1)) | a | b |\n# heading",
        "detail": "A" * 5000,
    }
    with simulators(done().with_faults(create=[Fault.http(422, body)])) as (sim,):
        run = run_action(sim.base_url)
        assert_error_ending(run)
        assert names(run) == ["add-mask", "group", "endgroup", "error"], explain(run)
        error = run.commands[-1]
        assert "bad" in error.data
        assert "injected" in error.data
        assert "\n" not in error.data
        assert "\r" not in error.data
        assert "A" * 400 not in error.data
        assert len(error.data) < 700
        assert "img" in run.summary
        assert "javascript" in run.summary
        assert_summary_is_inert(run.summary)


def test_a_create_response_without_run_id_is_a_clear_error() -> None:
    with simulators(done().with_faults(create=[Fault.missing_run_id()])) as (sim,):
        run = run_action(sim.base_url)
        assert_error_ending(run)
        assert not sim.api_requests("status")
        (error,) = run.commands_named("error")
        assert "no runId" in error.data
        # a 2xx made a run the action cannot follow: one replay with the same key finds it, to cancel it
        creates = sim.api_requests("create")
        assert len(creates) == 2, explain(run)
        assert len(set(keys(creates))) == 1
        assert len(sim.runs) == 1
        assert sim.run().cancel_reasons, explain(run)
        assert run.outputs["run-id"] == sim.run().run_id


@pytest.mark.parametrize("run_id", ["..", "x" * 201])
def test_a_run_id_the_model_refuses_is_never_polled(run_id: str) -> None:
    # A run id the model refuses is never put into a URL.
    with simulators(done(create_response={"runId": run_id})) as (sim,):
        run = run_action(sim.base_url)
        assert_error_ending(run)
        # nothing but creates (the first, and the replay that looks for the run it may have made)
        assert {r.method for r in sim.requests} == {"POST"}, explain(run)
        assert {r.endpoint for r in sim.requests} == {"create"}, explain(run)
        (error,) = run.commands_named("error")
        assert "the create response is invalid" in error.data


# =====================================================================================================
# 4. Time is bounded
# =====================================================================================================


def test_a_status_body_that_drips_or_stalls_cannot_hold_the_action() -> None:
    with simulators(
        after(1).with_faults(status=[Fault.drip(0.3)]),  # a ~600 byte body: minutes
        after(1).with_faults(status=[Fault.stall(60)]),  # headers, then nothing
    ) as sims:
        runs = run_steps(*(Step(inputs(sim.base_url, request_timeout_seconds="1")) for sim in sims))
        for sim, run, kind in zip(sims, runs, ("drip", "stall"), strict=True):
            assert_passed(run)
            polls = sim.api_requests("status")
            assert polls[0].fault == kind
            # abandoned after the 1 s request timeout, next poll after the 1 s floor
            assert 1.9 <= gaps(polls)[0] < 3.5, explain(run)
            assert run.duration < 7, explain(run)
            (warning,) = titled(run, "warning", UNREACHABLE)
            assert "no complete response within 1s" in warning.data


def test_an_oversized_response_body_is_refused() -> None:
    huge = {**IN_PROGRESS, "conclusion": "x" * (1024 * 1024 + 100)}
    with simulators(Scenario(snapshots=[huge, COMPLETED])) as (sim,):
        run = run_action(sim.base_url)
        assert_passed(run)
        assert sim.api_requests("status")[0].fault is None  # the server sent it whole: the cap refused it
        (warning,) = titled(run, "warning", UNREACHABLE)
        assert "larger than 1024 KiB" in warning.data
        assert len(run.output_text) < 10_000


def test_the_step_ends_within_timeout_plus_cancel_budget_whatever_the_server_does() -> None:
    stall_all = {"status": [Fault.stall(60, times=100)], "cancel": [Fault.stall(60, times=100)]}
    timeout = 3.0
    with simulators(
        never().with_faults(**stall_all),
        never().with_faults(**stall_all),
        never().with_faults(create=[Fault.stall(60, times=100)], **stall_all),
    ) as (cancelling, leaving, nothing_works):
        short = {"timeout_seconds": f"{timeout:g}", "request_timeout_seconds": "2"}
        cancelled, left, failed = run_steps(
            Step(inputs(cancelling.base_url, **short)),
            Step(inputs(leaving.base_url, cancel_on_timeout="false", **short)),
            Step(inputs(nothing_works.base_url, **short)),
        )
        # every poll stalls: timed out at the deadline, the cancel tried within its budget
        assert cancelled.outputs["result"] == "timed-out", explain(cancelled)
        assert cancelled.exit_code == 1
        assert cancelled.duration < timeout + CANCEL_BUDGET + SLACK, explain(cancelled)
        assert cancelling.api_requests("cancel"), "no cancel was attempted"
        assert cancelled.outputs["run-id"] == cancelling.run().run_id
        assert "Certyn API unreachable" in cancelled.summary.splitlines()[0]  # every poll failed
        # cancel-on-timeout: false leaves the run and ends at the deadline
        assert left.outputs["result"] == "timed-out", explain(left)
        assert left.duration < timeout + SLACK, explain(left)
        assert not leaving.api_requests("cancel")
        assert "left running" in left.summary
        # even the create stalls: still bounded, outputs and summary written
        assert failed.exit_code == 1, explain(failed)
        assert failed.outputs["result"] == "timed-out", explain(failed)
        assert failed.duration < timeout + CANCEL_BUDGET + SLACK, explain(failed)
        assert failed.summary.startswith("## ")


def test_a_create_cut_off_by_the_deadline_is_timed_out_and_its_run_cancelled() -> None:
    with simulators(done().with_faults(create=[Fault.stall(10)])) as (sim,):  # the stalled create made a run
        run = run_action(sim.base_url, timeout_seconds="3", request_timeout_seconds="5")
        assert run.duration < 3 + CANCEL_BUDGET + SLACK, explain(run)
        assert run.outputs["result"] == "timed-out", explain(run)
        assert sim.run().cancel_requests, "the run the create made was left running"


# =====================================================================================================
# 6. The key stays ours
# =====================================================================================================


def assert_key_printed_once_as_mask(run: ActionRun) -> None:
    assert run.lines[0].text == f"::add-mask::{API_KEY}", explain(run)
    assert (run.stdout + run.stderr).count(API_KEY) == 1, explain(run)
    assert API_KEY not in run.output_text


def test_the_key_is_masked_first_and_never_printed_again() -> None:
    echo = {"error": f"key {API_KEY} is throttled", "detail": API_KEY}
    with simulators(
        after(1).with_faults(create=[transient(503, echo)], status=[transient(503, echo)]),
        done().with_faults(create=[Fault.http(400, {"error": f"key {API_KEY} is not valid here"})]),
        done().with_faults(create=[Fault.http(401, {"error": f"Invalid API key {API_KEY}"})]),
    ) as sims:
        debug = {"RUNNER_DEBUG": "1"}
        runs = run_steps(*(Step(inputs(sim.base_url), env=debug) for sim in sims))
        for run, shown in zip(
            runs, ("key *** is throttled", "key *** is not valid", "API key ***"), strict=True
        ):
            assert_key_printed_once_as_mask(run)
            assert run.commands_named("debug"), "RUNNER_DEBUG=1 did not turn on debug lines"
            assert shown in run.log, explain(run)  # the echoed key reached the log redacted
        assert_passed(runs[0])
        assert API_KEY not in runs[0].summary
        assert_error_ending(runs[1])
        assert_error_ending(runs[2])


def test_a_key_echoed_where_server_text_is_cut_short_leaves_no_prefix() -> None:
    # Server text is cut to 300 characters; the key straddles the cut. Redacting the printed line could
    # no longer match a cut key, so the reply is scrubbed before anything reads it.
    long = {"error": "x" * 285 + f" {API_KEY} is not allowed"}
    with simulators(done().with_faults(create=[Fault.http(400, long)])) as (sim,):
        run = run_action(sim.base_url)
        assert_error_ending(run)
        assert_key_printed_once_as_mask(run)
        log = "\n".join(line for line in run.log.splitlines() if not line.startswith("::add-mask::"))
        outputs = "\n".join(run.outputs.values())
        for where, text in (("log", log), ("summary", run.summary), ("outputs", outputs)):
            leaked = [n for n in range(8, len(API_KEY) + 1) if API_KEY[:n] in text.replace("\\", "")]
            assert not leaked, f"{where} shows the key's first {leaked[-1]} characters"
        assert "xxx ***" in run.log


def test_a_key_echoed_in_a_fatal_error_stays_out_of_the_summary() -> None:
    with simulators(
        done().with_faults(create=[Fault.http(400, {"error": f"key {API_KEY} is not valid here"})]),
        done().with_faults(create=[Fault.http(401, {"error": f"Invalid API key {API_KEY}"})]),
    ) as sims:
        runs = run_steps(*(Step(inputs(sim.base_url)) for sim in sims))
        for run in runs:
            assert run.exit_code == 1
            assert API_KEY not in run.summary.replace("\\", ""), run.summary


def test_a_redirect_to_another_host_is_never_followed() -> None:
    with simulators(None) as (other,):
        elsewhere = f"127.0.0.1:{other.port}"
        with simulators(
            done().with_faults(create=[Fault.redirect(f"{other.base_url}/api/ci/runs", status=307)]),
            done(run_ids=["run-1"]).with_faults(
                status=[Fault.redirect(f"{other.base_url}/api/ci/runs/run-1", status=302)]
            ),
        ) as (on_create, on_poll):
            created, polled = run_steps(Step(inputs(on_create.base_url)), Step(inputs(on_poll.base_url)))
            # on create: an error that says where to point api-url
            assert_error_ending(created)
            (error,) = created.commands_named("error")
            assert "redirect" in error.data, error.data
            assert elsewhere in error.data, error.data
            assert len(on_create.api_requests("create")) == 1
            # while polling (the create reached this base URL): never followed; a passing one (a proxy's
            # mood) is waited out for a grace, said in the log (a lasting one: test_waiter.py)
            assert_passed(polled)
            (line,) = [line for line in polled.log.splitlines() if "redirect" in line]
            assert elsewhere in line, line
            assert "polling on for a while" in line, line
            assert on_poll.api_requests("status")[0].response_status == 302
        assert other.requests == [], "the redirect target received a request"


def test_server_supplied_urls_are_never_requested() -> None:
    with simulators(None) as (other,):
        elsewhere = other.base_url + "/api/ci/runs/r1"
        scenario = never(
            status_base_url=other.base_url,
            app_base_url=other.base_url,
            create_response={"statusPath": elsewhere, "cancelPath": elsewhere + "/cancel"},
        )
        with simulators(scenario) as (sim,):
            run = run_action(sim.base_url, timeout_seconds="3")
            assert run.outputs["result"] == "timed-out", explain(run)
            record = sim.run()
            assert sim.api_requests("status", record.run_id)
            assert len(record.cancel_requests) == 1  # the cancel went to api-url
            assert run.outputs["status-url"] == f"{sim.base_url}/api/ci/runs/{record.run_id}"
        assert other.requests == [], "a server-supplied URL was requested"


@pytest.mark.parametrize(
    "api_url", ["http://certyn-api.internal:8080", "http://10.20.30.40:8080", "http://[fd00::1]:8080"]
)
def test_plain_http_to_a_non_loopback_host_is_refused_before_any_request(api_url: str) -> None:
    with RecordingProxy() as proxy:  # any request the action made would go through it
        env: dict[str, str | None] = {"HTTP_PROXY": proxy.url, "HTTPS_PROXY": proxy.url}
        run = run_action(api_url, env=env)
        assert_input_error(run)
        (error,) = titled(run, "error", "Certyn: invalid input 'api-url'")
        assert "https" in error.data
        assert proxy.seen() == []
        # the control: over https the same host is tried, through the proxy
        https = run_action(api_url.replace("http://", "https://"), env=env, http_max_attempts="1")
        assert https.exit_code == 1
        assert proxy.seen(), "the proxy control saw nothing"
        assert proxy.seen()[0].startswith("CONNECT "), proxy.seen()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    if not openssl_available():
        pytest.skip("the openssl CLI is needed to make a test CA")
    return make_certs(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_sims(certs: Certs) -> Iterator[tuple[list[Simulator], list[str]]]:
    with simulators(done(), done()) as sims:
        yield sims, [serve_tls(sim, certs) for sim in sims]


def test_tls_is_always_verified_and_a_private_ca_works(
    certs: Certs, tls_sims: tuple[list[Simulator], list[str]]
) -> None:
    (untrusted, trusted), (untrusted_url, trusted_url) = tls_sims
    no_ca, bundle, cert_file = run_steps(
        Step(inputs(untrusted_url, http_max_attempts="2")),
        Step(inputs(trusted_url), env={"REQUESTS_CA_BUNDLE": str(certs.ca)}),
        Step(inputs(trusted_url), env={"SSL_CERT_FILE": str(certs.ca)}),
    )
    assert_error_ending(no_ca)
    (error,) = no_ca.commands_named("error")
    assert "TLS certificate did not verify" in error.data, error.data
    assert "CERTIFICATE_VERIFY_FAILED" in error.data, error.data
    assert untrusted.requests == [], "a request got through an unverified connection"
    assert_passed(bundle)
    assert_passed(cert_file)
    assert len(trusted.runs) == 2


def test_https_proxy_is_used_and_no_proxy_bypasses_it(
    certs: Certs, tls_sims: tuple[list[Simulator], list[str]]
) -> None:
    (sim, _), (url, _) = tls_sims
    ca = str(certs.ca)
    with RecordingProxy() as used, RecordingProxy() as bypassed:
        via_proxy, direct = run_steps(
            Step(inputs(url), env={"REQUESTS_CA_BUNDLE": ca, "HTTPS_PROXY": used.url}),
            Step(
                inputs(url),
                env={"REQUESTS_CA_BUNDLE": ca, "HTTPS_PROXY": bypassed.url, "NO_PROXY": "127.0.0.1"},
            ),
        )
        assert_passed(via_proxy)
        assert_passed(direct)
        # a loopback api-url is NOT exempt by itself: only NO_PROXY keeps it off the proxy
        assert used.seen()
        assert all(line.startswith(f"CONNECT 127.0.0.1:{sim.port} ") for line in used.seen())
        assert bypassed.seen() == []
    assert len(sim.runs) == 2


# =====================================================================================================
# 7. Server text is data, never commands
# =====================================================================================================

EVIL = (
    "failure\n::error::x\r::warning::y\r\n##[error]z %0A ::notice::n\n"
    "<img src=x onerror=alert(1)> [link](javascript:alert(1)) | a | b |\n# heading\n"
    "ghadelimiter_0123456789abcdef\n"
)


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def assert_summary_is_inert(summary: str) -> None:
    assert "<img" not in summary, summary
    assert "](javascript:" not in summary, summary
    assert not any(line.startswith(("# ", "::")) for line in summary.splitlines()), summary
    # tables keep their shape: every row of a table has as many cell borders as its header
    table: list[int] = []
    for line in [*summary.splitlines(), ""]:
        if line.startswith("|"):
            table.append(_unescaped_pipes(line))
        elif table:
            assert len(set(table)) == 1, summary
            table = []


def test_server_text_never_becomes_a_command_an_output_or_markup() -> None:
    app_url = "javascript:alert(1)//\n::error::app"
    scenario = Scenario(
        snapshots=[
            {**IN_PROGRESS, "state": "running\n::error::s", "conclusion": "\r::warning::c"},
            {**COMPLETED, "conclusion": EVIL, "appUrl": app_url},
        ],
        create_response={"appUrl": "[x](javascript:alert(1))", "message": "::error::created"},
    ).with_faults(status=[transient(503, {"error": EVIL, "title": EVIL})])
    with simulators(scenario) as (sim,):
        run = run_action(sim.base_url)
        assert_passed(run)
        # the only commands are the action's own: mask, group, one outage warning, its end, the verdict
        assert names(run) == ["add-mask", "group", "endgroup", "warning", "notice", "notice"], explain(run)
        for command in run.commands:
            assert "\n" not in command.data
            assert "\r" not in command.data
        outputs = run.outputs  # parsed with the runner's rules
        assert outputs["conclusion"] == EVIL  # data, kept exactly
        assert outputs["app-url"] == ""  # not an http(s) URL: never offered as a link
        assert outputs["result"] == "passed"
        assert_summary_is_inert(run.summary)


def test_huge_server_strings_keep_the_summary_under_1_mib() -> None:
    huge = "<img src=x onerror=alert(1)> | # " * 28_000  # ~900 KB
    scenario = Scenario(
        snapshots=[{**COMPLETED, "failed": 1, "passed": 1, "conclusion": huge}],
        create_response={"appUrl": "https://app.certyn-sim.invalid/" + "a" * 900_000},
    )
    with simulators(scenario) as (sim,):
        run = run_action(sim.base_url)
        assert run.exit_code == 1, explain(run)
        assert run.outputs["result"] == "failed", explain(run)
        assert len(run.summary.encode()) < 1024 * 1024
        assert_summary_is_inert(run.summary)
        # kept as data, but cut: a job's outputs share 1 MiB; the 900 KB app URL is no link at all (the
        # status's own link is used)
        assert run.outputs["conclusion"] == huge[:199] + "…"
        assert run.outputs["app-url"].endswith(f"/runs/{sim.run().run_id}")
        assert sum(len(value) for value in run.outputs.values()) < 4096
        assert all(len(c.data) <= 4096 for c in run.commands)


# =====================================================================================================
# 8. Fork pull requests
# =====================================================================================================


def fork_pull_request() -> Event:
    event = Event.pull_request(number=7)
    payload = copy.deepcopy(dict(event.payload))
    payload["pull_request"]["head"]["repo"] = {
        **payload["pull_request"]["head"]["repo"],
        "full_name": "someone/shop",
        "fork": True,
    }
    return dataclasses.replace(event, payload=payload)


def test_a_fork_pull_request_without_the_key_explains_and_sends_nothing() -> None:
    with simulators(done()) as (sim,):
        fork, own = run_steps(
            Step(inputs(sim.base_url, api_key=""), event=fork_pull_request()),
            Step(inputs(sim.base_url, api_key=""), event=Event.pull_request(number=8)),
        )
        assert sim.requests == []
        for run in (fork, own):
            assert_input_error(run)
            assert "add-mask" not in names(run)
        (error,) = titled(fork, "error", "Certyn: invalid input 'api-key'")
        assert "fork" in error.data
        assert "if: github.event.pull_request.head.repo.full_name == github.repository" in error.data
        assert "fork" in fork.summary
        # the hint is about forks only: a same-repository PR with an empty key gets the plain message
        (plain,) = titled(own, "error", "Certyn: invalid input 'api-key'")
        assert "fork" not in plain.data
        assert "secrets.CERTYN_API_KEY" in plain.data


# -- a lost create whose run cannot be learned; redirects that cannot be followed ----------------------------


def test_a_lost_create_then_a_refused_key_names_the_run_that_may_exist() -> None:
    scenario = Scenario(snapshots=[COMPLETED]).with_faults(create=[Fault.drop_after(), Fault.http(401)])
    with simulators(scenario) as (sim,):
        run = run_action(sim.base_url, idempotency_key="orphan-key-42")
        created = len(sim.runs)
    assert created == 1, "the lost create made a run"
    assert run.exit_code == 1
    assert run.outputs["result"] == "error"
    errors = [c.data for c in run.commands_named("error")]
    assert any("may exist in Certyn" in e and "orphan-key-42" in e for e in errors), explain(run)
    summary = run.summary.replace("\\", "")
    assert "may exist in Certyn" in summary
    assert "orphan-key-42" in summary


def test_a_lost_create_then_a_refusal_that_hides_the_run_says_it_may_exist() -> None:
    # The lost create made a run; the retry and the recovery replay are refused: nobody learns its id.
    refused = Fault.http(422, {"error": "invalid request"})
    scenario = Scenario(snapshots=[COMPLETED]).with_faults(create=[Fault.drop_after(), refused, refused])
    with simulators(scenario) as (sim,):
        run = run_action(sim.base_url, idempotency_key="orphan-key-43")
        creates = len(sim.api_requests("create"))
    assert creates == 3, explain(run)
    assert run.exit_code == 1
    summary = run.summary.replace("\\", "")
    assert "may exist in Certyn" in summary, explain(run)
    assert "orphan-key-43" in summary
    assert "may exist in Certyn" in run.log


def test_a_redirect_whose_location_is_not_utf8_is_the_redirect_error_not_a_retry() -> None:
    scenario = Scenario(snapshots=[COMPLETED]).with_faults(
        create=[Fault.redirect(location="https://elsewhere.example/caf\xe9")]
    )
    with simulators(scenario) as (sim,):
        run = run_action(sim.base_url)
        creates = sim.api_requests("create")
    assert run.exit_code == 1, explain(run)
    assert len(creates) == 1, "a redirect is never retried"
    errors = [c.data for c in run.commands_named("error")]
    assert any("redirect" in e and "elsewhere.example" in e for e in errors), explain(run)


# -- a junk testCaseCount, a redirect to an unparsable location ----------------------------------------------


@pytest.mark.parametrize("count", ["1e999", "-1e999", "NaN"])
def test_a_create_answer_with_a_non_finite_test_case_count_still_follows_the_run(count: str) -> None:
    # testCaseCount is shown, never relied on: Python's JSON reads 1e999 as infinity and NaN as NaN. Before,
    # infinity crashed the reader (OverflowError: an internal error, and the run it made was left running)
    # and NaN made the create "invalid" (an error, and the replay could not learn the run either).
    run_id = "run-count-1"
    body = f'{{"runId": "{run_id}", "testCaseCount": {count}}}'
    created = Fault("status", status=201, body=body, content_type="application/json", process=True)
    passing = Scenario(snapshots=[COMPLETED], run_ids=[run_id]).with_faults(create=[created])
    never = Scenario(snapshots=[snapshot("in_progress", total=2, pending=2)], run_ids=[run_id]).with_faults(
        create=[created]
    )
    with simulators(passing, never) as (sim1, sim2):
        passed, timed_out = run_steps(
            Step(inputs(sim1.base_url)), Step(inputs(sim2.base_url, timeout_seconds="4"))
        )
        left = sim2.run()
    assert passed.exit_code == 0, explain(passed)
    assert passed.outputs["result"] == "passed"
    assert passed.outputs["run-id"] == run_id
    assert passed.outputs["test-case-count"] == ""  # unknown, not a crash
    assert "Internal error" not in passed.log
    assert timed_out.outputs["result"] == "timed-out", explain(timed_out)
    assert left.cancel_requests, "the run the create made must be cancelled: " + explain(timed_out)


def test_a_redirect_with_an_unparsable_location_is_the_redirect_error_and_the_lost_run_is_cancelled() -> None:
    # "http://[::1" makes urlsplit raise ValueError. Before, that escaped the error reader: an internal error,
    # and while releasing, the same crash stopped the replay, so the run the lost first attempt made was left
    # running with no word about it. While polling, the redirect was an internal error instead of the grace.
    bad = "http://[::1"
    lost_then_redirected = Scenario(snapshots=[COMPLETED]).with_faults(
        create=[Fault.drop_after(), Fault.redirect(bad)]  # the replay is answered
    )
    polled = Scenario(snapshots=[COMPLETED]).with_faults(status=[Fault.redirect(bad, times=2)])
    with simulators(lost_then_redirected, polled) as (sim1, sim2):
        created, polling = run_steps(
            Step(inputs(sim1.base_url, http_max_attempts="2")), Step(inputs(sim2.base_url))
        )
        runs = list(sim1.runs.values())
    for run in (created, polling):
        assert "Internal error" not in run.log, explain(run)
        assert "redirect (HTTP 302" in run.log, explain(run)
    assert created.outputs["result"] == "error"
    assert len(runs) == 1
    assert runs[0].cancel_requests, "the run the lost create made must be cancelled: " + explain(created)
    assert polling.exit_code == 0, explain(polling)  # a passing redirect is waited out like a 404
    assert polling.outputs["result"] == "passed"
