"""core/report.py: what the report derives from what the step learnt (here: the run of another commit)."""

from __future__ import annotations

import pytest

from certyn_action.core.api import Created
from certyn_action.core.context import RunMetadata
from certyn_action.core.models import CreatedRun, RunStatus
from certyn_action.core.report import Report

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
        metadata=meta,
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
