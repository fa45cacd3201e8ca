"""Hostile probes of the check run and the sticky pull-request comment. Each asserts the safe behaviour; each
fails today."""

from __future__ import annotations

import re
from dataclasses import replace

import responses

from certyn_action.api.models import Conversation, ProcessRun
from certyn_action.core.report import Findings
from certyn_action.publish import marker
from certyn_action.render.summary import cut_for_github, render_comment, render_summary
from tests.rendered import read
from tests.unit.test_publish import REPO, bodies, item, publisher, report, settings


@responses.activate
def test_a_comment_someone_else_starts_with_our_marker_is_not_edited() -> None:
    # The marker is public (workflow file, job, suite, leg): anyone who may comment on the pull request can
    # post it first. The action then edits that person's comment (write access edits any comment) and never
    # finds its own.
    sign = marker(settings())
    planted = {"id": 9, "body": f"{sign}\nplanted", "user": {"login": "mallory", "type": "User"}}
    responses.get(f"{REPO}/issues/7/comments", json=[planted])
    responses.patch(f"{REPO}/issues/comments/9", json={"id": 9})
    responses.post(f"{REPO}/issues/7/comments", json={"id": 10}, status=201)
    pub, _ = publisher()
    pub.finish(report(inputs=settings(check_run="false")))
    assert bodies("PATCH", "/comments/9") == []


def test_the_cut_note_of_a_long_check_run_summary_is_not_swallowed_by_a_code_block() -> None:
    # Certyn's findings (each "'" written as seven characters) push the summary past GitHub's limit, and the
    # cut falls inside the AI answer's code block: it is not closed, so the note saying the summary was cut
    # is shown as a line of the answer's code.
    items = tuple(item("failed", f"t{i} " + "'" * 190, "'" * 300) for i in range(17))
    answer = "```\n" + "\n".join(f"line {i}" for i in range(3000)) + "\n```\n"
    conversation = Conversation.model_validate(
        {"status": "idle", "messages": [{"role": "assistant", "content": answer}]}
    )
    results = ProcessRun.model_validate({}).model_copy(update={"items": items})
    findings = Findings(results=results, asked=True, instruction="why?", conversation=conversation)
    shown = read(cut_for_github(render_summary(replace(report(failing=17), findings=findings))))
    assert "<em>Cut here" in shown.html, shown.html[-300:]


def test_the_cut_note_of_a_long_comment_is_not_hidden_in_the_collapsed_answer() -> None:
    # Ten failing tests of "'" (seven characters each, escaped) and an answer of nested ordered items (our
    # indentation grows by eleven spaces a level) pass 65,536: the cut falls inside "<details>", which is
    # never closed, so the note that the comment was cut is folded away with the answer.
    items = tuple(item("failed", f"t{i} " + "'" * 190, "'" * 300) for i in range(10))
    answer = "\n".join(" " * k + "999999999. '" for k in range(300))[:5000]
    conversation = Conversation.model_validate(
        {"status": "idle", "messages": [{"role": "assistant", "content": answer}]}
    )
    results = ProcessRun.model_validate({}).model_copy(update={"items": items})
    findings = Findings(results=results, asked=True, instruction="why?", conversation=conversation)
    html = read(render_comment(replace(report(failing=10), findings=findings), marker(settings()))).html
    assert html.count("<details>") == html.count("</details>"), html[-300:]


def test_an_issue_number_in_a_test_name_does_not_link_or_notify_from_the_comment() -> None:
    # ``formatted`` breaks "#1" with a WORD JOINER (GitHub links and notifies "\#1" too); ``markdown``, which
    # writes the test names (and reasons, notes) into the comment, does not.
    items = (item("failed", "checkout regression #1", "it broke"),)
    results = ProcessRun.model_validate({}).model_copy(update={"items": items})
    comment = render_comment(replace(report(), findings=Findings(results=results)), marker(settings()))
    assert not re.search(r"#\d", read(comment).text), read(comment).text
