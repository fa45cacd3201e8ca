"""Hostile probes of the check run and the sticky pull-request comment. Each asserts the safe behaviour; each
fails today."""

from __future__ import annotations

import responses

from certyn_action.publish import marker
from tests.unit.test_publish import REPO, bodies, publisher, report, settings


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
