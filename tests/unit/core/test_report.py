"""core/report.py: the redacted copy the outputs and the summary are written from."""

from __future__ import annotations

import pytest

from certyn_action.core.api import Created
from certyn_action.core.gate import Result, Verdict
from certyn_action.core.models import CreatedRun, RunStatus
from certyn_action.core.report import Report


def _report() -> Report:
    return Report(
        idempotency_key="key-1",
        created=Created(CreatedRun.model_validate({"runId": "r-1", "appUrl": "https://app/SECRET"}), False),
        status=RunStatus.model_validate(
            {"state": "completed", "appUrl": "https://app/SECRET/s", "passed": 1}
        ),
        verdict=Verdict(Result.FAILED, ("SECRET reason",), ("SECRET waived",)),
        notes=["SECRET note"],
        duration=12.5,
    )


def test_the_redacted_copy_cleans_every_text_and_keeps_every_other_field() -> None:
    report = _report()
    public = report.redacted(lambda text: text.replace("SECRET", "***"))
    assert public.created is not None
    assert public.status is not None
    assert public.created.run.app_url == "https://app/***"
    assert public.status.app_url == "https://app/***/s"
    assert public.verdict == Verdict(Result.FAILED, ("*** reason",), ("*** waived",))
    assert public.notes == ["*** note"]
    assert (public.idempotency_key, public.duration, public.run_id) == ("key-1", 12.5, "r-1")
    assert set(vars(public)) == set(vars(report))  # a field added later is carried, not dropped
    assert report.notes == ["SECRET note"]  # the original is untouched


def test_replace_changes_only_what_it_is_given_and_refuses_an_unknown_field() -> None:
    report = _report()
    later = report.replace(duration=30.0)
    assert (later.duration, report.duration) == (30.0, 12.5)
    assert later.created is report.created
    with pytest.raises(TypeError, match="no field 'durations'"):
        report.replace(durations=1.0)
