"""Every secret a Certyn reply may echo (the API key, a ``variables`` value) is removed as the reply arrives,
before any of it is cut, escaped or shown: so no destination's escaping (Markdown's ``\\-``, XML's ``&amp;``)
can hide it from the scrubber."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import replace

import responses

from certyn_action.api.client import CertynClient
from certyn_action.api.http import Transport
from certyn_action.main import default_transport
from certyn_action.render.junit import render_junit
from certyn_action.render.summary import render_summary
from certyn_action.report import Findings
from certyn_action.runner.workflow import WorkflowLog
from tests.fakes import FakeClock, far
from tests.rendered import read
from tests.unit.api.test_client import BASE, KEY
from tests.unit.api.test_findings import OVERVIEW, PROJECTS, RESULTS
from tests.unit.test_publish import report, settings


def _results_echoing(value: str) -> Findings:
    """The per-test results of a run whose failing test's finding quotes ``value``, read as the action reads
    them: through the transport ``main`` makes, with ``value`` masked as a ``variables`` value is."""
    log = WorkflowLog(io.StringIO())
    log.add_mask(KEY)
    log.add_mask(value, redact="exact")  # as main() does for each `variables` value
    responses.get(OVERVIEW, json=PROJECTS)
    finding = f"logged in with password {value} and got a 500"
    item = {"testCaseName": f"login as {value}", "testOutcome": "failed", "summaryMarkdown": finding}
    responses.get(RESULTS, json={"items": [item]})
    inputs = replace(settings(), api_url=BASE, api_key=KEY)
    transport = default_transport(inputs, {}, log)
    assert isinstance(transport, Transport)
    client = CertynClient(
        transport, FakeClock(), request_timeout_seconds=5, max_attempts=1, project_slug="my-app"
    )
    return Findings(results=client.process_run("r 1", deadline=far()))


@responses.activate
def test_a_variables_secret_echoed_in_a_finding_is_not_shown_in_the_summary() -> None:
    # Escaped for Markdown ("\-", "\!") the value no longer matched the exact redaction of the summary as written.
    value = "s3cr3t-Pa55.word!"
    summary = render_summary(replace(report(), findings=_results_echoing(value)))
    assert value not in read(summary).text
    assert "login as ***" in read(summary).text  # the test is still listed, its name without the value


@responses.activate
def test_a_variables_secret_echoed_in_a_finding_is_not_in_the_junit_report() -> None:
    # XML-escaped ("&amp;", "&lt;") the value no longer matched the exact redaction of the file as written.
    value = "s3cr3t&Pa55<word>"
    findings = _results_echoing(value)
    assert findings.results is not None
    written = render_junit(list(findings.results.items))
    assert value not in "".join(ET.fromstring(written.encode()).itertext())  # noqa: S314 - our own output
    assert "***" in written
