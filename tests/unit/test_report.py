"""report.py: what the report derives from what the step learnt (the run of another commit), and the
redacted copy the outputs and the summary are written from."""

from __future__ import annotations

import pytest

from certyn_action.api.models import Created, CreatedRun, RunStatus
from certyn_action.gate import Result, Verdict
from certyn_action.report import Report
from certyn_action.settings import RunMetadata, read_settings
from tests.fakes import with_metadata

INPUTS = read_settings(
    {
        "INPUT_API-KEY": "k",
        "INPUT_PROJECT-SLUG": "p",
        "INPUT_PROCESS-SLUG": "s",
        "INPUT_IDEMPOTENCY-KEY": "key-1",
    }
)

SENT = "0123456789abcdef0123456789abcdef01234567"


def _report(run_commit: object, *, created: bool = True) -> Report:
    meta = RunMetadata(
        repository="acme/shop",
        ref="main",
        commit_sha=SENT,
        event="push",
        external_url="",
        job_url="",
        run_url="",
    )
    return Report(
        inputs=with_metadata(INPUTS, meta),
        created=Created(CreatedRun.model_validate({"runId": "r1"}), replayed=True) if created else None,
        attached_run_id="" if created else "r1",
        status=RunStatus.model_validate({"state": "completed", "commitSha": run_commit}),
    )


@pytest.mark.parametrize(
    ("run_commit", "other"),
    [
        ("fedcba9876543210fedcba9876543210fedcba98", "fedcba9876543210fedcba9876543210fedcba98"),
        (SENT, ""),
        (SENT.upper(), ""),  # the same commit, spelt in capitals
        (SENT[:7], ""),  # a short SHA of the same commit
        ("", ""),  # not reported: nothing to compare
        (None, ""),
    ],
)
def test_a_created_run_of_another_commit_is_named(run_commit: object, other: str) -> None:
    assert _report(run_commit).other_commit == other


def test_an_attached_run_may_test_any_commit() -> None:
    # `run-id` attaches to a run made elsewhere, on purpose: its commit is not this step's to check.
    assert _report("fedcba9876543210fedcba9876543210fedcba98", created=False).other_commit == ""


def _full_report() -> Report:
    return Report(
        inputs=INPUTS,
        created=Created(CreatedRun.model_validate({"runId": "r-1", "appUrl": "https://app/SECRET"}), False),
        status=RunStatus.model_validate(
            {"state": "completed", "appUrl": "https://app/SECRET/s", "passed": 1}
        ),
        verdict=Verdict(Result.FAILED, ("SECRET reason",), ("SECRET waived",)),
        notes=["SECRET note"],
        duration=12.5,
    )


def test_the_redacted_copy_cleans_every_text_and_keeps_every_other_field() -> None:
    report = _full_report()
    public = report.redacted(lambda text: text.replace("SECRET", "***"))
    assert public.created is not None
    assert public.status is not None
    assert public.created.run.app_url == "https://app/***"
    assert public.status.app_url == "https://app/***/s"
    assert public.verdict == Verdict(Result.FAILED, ("*** reason",), ("*** waived",))
    assert public.notes == ["*** note"]
    assert (public.inputs, public.duration, public.run_id) == (INPUTS, 12.5, "r-1")
    assert report.notes == ["SECRET note"]  # the original is untouched
