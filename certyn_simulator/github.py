"""A fake of the GitHub REST API an action writes results to, served under ``/github`` (and
``/github/api/v3``, like GitHub Enterprise Server): check runs, issue comments and the pull requests of a
commit. It has its own token; every check run and comment written is recorded for tests
(``Simulator.github``, ``GET /_sim/github``), and so is every request refused for its credentials."""

from __future__ import annotations

import copy
import hmac
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .payloads import Response, iso, json_response, query_params
from .records import RequestRecord
from .scenario import Scenario

DEFAULT_GITHUB_TOKEN = "ghs_certyn_sim_token"  # noqa: S105 - the simulator's throw-away token
DOCS = "https://docs.github.com/rest"
MAX_SUMMARY = 65535  # output.summary and output.text
MAX_COMMENT = 65536
MAX_ANNOTATIONS = 50
RATE_LIMIT = 5000
STATUSES = ("queued", "in_progress", "completed", "waiting", "requested", "pending")
CONCLUSIONS = ("success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required")
LEVELS = ("notice", "warning", "failure")
# endpoint -> (permission, access needed)
PERMISSIONS = {
    "github_check_run_create": ("checks", "write"),
    "github_check_run_update": ("checks", "write"),
    "github_comment_list": ("pull_requests", "read"),
    "github_comment_create": ("pull_requests", "write"),
    "github_comment_update": ("pull_requests", "write"),
    "github_commit_pulls": ("pull_requests", "read"),
}
_ACCESS = {"none": 0, "read": 1, "write": 2}
_SHA = re.compile(r"[0-9a-fA-F]{40}")
BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}


@dataclass
class CheckRunRecord:
    """A check run as it stands; ``requests`` are the bodies received (create, then each update) and
    ``annotations`` accumulate over them, as GitHub keeps them."""

    check_run_id: int
    repository: str
    name: str
    head_sha: str
    status: str = "queued"
    conclusion: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # details_url, external_id, started_at, completed_at
    output: dict[str, Any] = field(default_factory=dict)  # title, summary, text
    annotations: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Any] = field(default_factory=list)

    def payload(self, server_url: str) -> dict[str, Any]:
        return {
            "id": self.check_run_id,
            "node_id": f"CR_sim{self.check_run_id}",
            "name": self.name,
            "head_sha": self.head_sha,
            "status": self.status,
            "conclusion": self.conclusion,
            "html_url": f"{server_url}/{self.repository}/runs/{self.check_run_id}",
            "details_url": self.fields.get("details_url"),
            "external_id": self.fields.get("external_id"),
            "started_at": self.fields.get("started_at"),
            "completed_at": self.fields.get("completed_at"),
            "output": {
                "title": self.output.get("title"),
                "summary": self.output.get("summary"),
                "text": self.output.get("text"),
                "annotations_count": len(self.annotations),
            },
            "app": {"slug": "github-actions"},
            "pull_requests": [],
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.check_run_id,
            "repository": self.repository,
            "name": self.name,
            "headSha": self.head_sha,
            "status": self.status,
            "conclusion": self.conclusion,
            **{k: copy.deepcopy(v) for k, v in self.fields.items()},
            "output": copy.deepcopy(self.output),
            "annotations": copy.deepcopy(self.annotations),
            "requests": copy.deepcopy(self.requests),
        }


@dataclass
class CommentRecord:
    """An issue (pull-request) comment; ``history`` holds every body it had, the first one first."""

    comment_id: int
    repository: str | None  # None: a scenario comment, shown on every repository
    issue_number: int
    body: str
    user: dict[str, Any]
    created_wall: float
    updated_wall: float
    preexisting: bool = False
    history: list[str] = field(default_factory=list)

    def payload(self, server_url: str, repository: str) -> dict[str, Any]:
        return {
            "id": self.comment_id,
            "node_id": f"IC_sim{self.comment_id}",
            "html_url": f"{server_url}/{repository}/pull/{self.issue_number}#issuecomment-{self.comment_id}",
            "body": self.body,
            "user": self.user,
            "created_at": iso(self.created_wall),
            "updated_at": iso(self.updated_wall),
            "author_association": "NONE",
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.comment_id,
            "repository": self.repository,
            "issueNumber": self.issue_number,
            "body": self.body,
            "user": self.user.get("login"),
            "preexisting": self.preexisting,
            "history": list(self.history),
        }


class GitHub:
    """The fake's state and answers; thread-safe under ``lock``."""

    def __init__(self, lock: threading.RLock | threading.Condition, token: str) -> None:
        self._lock = lock
        self.token = token
        self.check_runs: dict[int, CheckRunRecord] = {}
        self.comments: dict[int, CommentRecord] = {}
        self.refused: list[dict[str, Any]] = []
        self._next_id = 1
        self._served = 0
        self._rate_limited_left: int | None = 0

    def clear(self) -> None:
        with self._lock:
            self.check_runs.clear()
            self.comments.clear()
            self.refused.clear()
            self._served = 0

    def load(self, sc: Scenario) -> None:
        """Take the scenario's comments (replacing earlier scenario ones) and rate-limit switch."""
        now = time.time()
        with self._lock:
            self.comments = {k: c for k, c in self.comments.items() if not c.preexisting}
            for given in sc.github.get("comments") or []:
                cid = self._new_id()
                user = given.get("user") or "octocat"
                self.comments[cid] = CommentRecord(
                    comment_id=cid,
                    repository=given.get("repository"),
                    issue_number=int(given.get("issue", 0)),
                    body=str(given.get("body", "")),
                    user={"login": user, "id": 583231, "type": "Bot" if user.endswith("[bot]") else "User"},
                    created_wall=now,
                    updated_wall=now,
                    preexisting=True,
                    history=[str(given.get("body", ""))],
                )
            limit = sc.github.get("rate_limit")
            times = limit.get("times") if isinstance(limit, dict) else 0
            self._rate_limited_left = None if times is None else int(times)

    def _new_id(self) -> int:
        cid = self._next_id
        self._next_id += 1
        return 1_000_000 + cid

    # Requests ------------------------------------------------------------------------------------------
    def process(self, rec: RequestRecord, sc: Scenario, certyn_key: str) -> Response:
        with self._lock:
            self._served += 1
            denied = self._check_token(rec, certyn_key)
            if denied is None:
                denied = self._rate_limited(sc) or self._check_permission(rec, sc)
            answer = denied if denied is not None else self._answer(rec, sc)
            own = {k.lower() for k, _ in answer.headers}
            headers = self._limit_headers(remaining=max(0, RATE_LIMIT - self._served))
            answer.headers = [*(h for h in headers if h[0] not in own), *answer.headers]
            return answer

    def _answer(self, rec: RequestRecord, sc: Scenario) -> Response:  # noqa: PLR0911 - a router
        server = str(sc.github.get("server_url") or "https://github.com").rstrip("/")
        endpoint = rec.endpoint
        if endpoint == "github_commit_pulls":
            return json_response(200, _pulls(sc, rec.repository or "", rec.item_id or "", server))
        if endpoint == "github_comment_list":
            return self._list_comments(rec, server)
        if endpoint == "github_user":  # as GitHub answers an installation token (GITHUB_TOKEN)
            return _message(403, "Resource not accessible by integration")
        body = rec.json
        if body is None and rec.body_text.strip():
            return _message(400, "Problems parsing JSON")
        if not isinstance(body, dict):
            return _invalid(["the body must be a JSON object"])
        if endpoint == "github_check_run_create":
            return self._create_check_run(rec, body, server)
        if endpoint == "github_check_run_update":
            return self._update_check_run(rec, body, server)
        return self._write_comment(rec, body, server)

    def _check_token(self, rec: RequestRecord, certyn_key: str) -> Response | None:
        auth = (rec.header("Authorization") or "").strip()
        scheme, _, given = auth.partition(" ")
        given = given.strip() if scheme.lower() in ("bearer", "token") else ""
        if rec.header("X-API-Key") is not None or (given and _same(given, certyn_key)):
            reason = "certyn-key"
        elif not given:
            reason = "missing-token"
        elif not _same(given, self.token):
            reason = "bad-token"
        else:
            return None
        self.refused.append({"seq": rec.seq, "method": rec.method, "path": rec.path, "reason": reason})
        message = "Requires authentication" if reason == "missing-token" else "Bad credentials"
        return _message(401, message)

    def _rate_limited(self, sc: Scenario) -> Response | None:
        limit = sc.github.get("rate_limit")
        if not isinstance(limit, dict) or self._rate_limited_left == 0:
            return None
        if self._rate_limited_left is not None:
            self._rate_limited_left -= 1
        status = int(limit.get("status", 403))
        retry_after = limit.get("retry_after")
        if retry_after is None:  # the primary limit: nothing left until the reset
            resp = _message(status, "API rate limit exceeded for installation.")
            resp.headers = self._limit_headers(remaining=0)
        else:  # a secondary limit: wait Retry-After seconds
            resp = _message(status, "You have exceeded a secondary rate limit. Please wait a few minutes.")
            resp.headers = [("Retry-After", str(retry_after))]
        return resp

    def _check_permission(self, rec: RequestRecord, sc: Scenario) -> Response | None:
        if rec.endpoint not in PERMISSIONS:  # GET /user: any token may ask
            return None
        permission, needed = PERMISSIONS[rec.endpoint]
        granted = (sc.github.get("permissions") or {}).get(permission, "write")
        if _ACCESS.get(granted, 0) >= _ACCESS[needed]:
            return None
        self.refused.append({"seq": rec.seq, "method": rec.method, "path": rec.path, "reason": "permission"})
        return _message(403, "Resource not accessible by integration")

    def _limit_headers(self, remaining: int) -> list[tuple[str, str]]:
        return [
            ("x-ratelimit-limit", str(RATE_LIMIT)),
            ("x-ratelimit-remaining", str(remaining)),
            ("x-ratelimit-reset", str(int(time.time()) + 3600)),
            ("x-ratelimit-used", str(RATE_LIMIT - remaining)),
            ("x-ratelimit-resource", "core"),
        ]

    # Check runs ------------------------------------------------------------------------------------------
    def _create_check_run(self, rec: RequestRecord, body: dict[str, Any], server: str) -> Response:
        errors = validate_check_run(body, create=True)
        if errors:
            return _invalid(errors)
        run = CheckRunRecord(self._new_id(), rec.repository or "", body["name"], body["head_sha"])
        self._apply(run, body)
        self.check_runs[run.check_run_id] = run
        return json_response(201, run.payload(server))

    def _update_check_run(self, rec: RequestRecord, body: dict[str, Any], server: str) -> Response:
        run = self.check_runs.get(_int(rec.item_id))
        if run is None or run.repository != rec.repository:
            return _message(404, "Not Found")
        errors = validate_check_run(body, create=False)
        if errors:
            return _invalid(errors)
        self._apply(run, body)
        return json_response(200, run.payload(server))

    def _apply(self, run: CheckRunRecord, body: dict[str, Any]) -> None:
        run.requests.append(copy.deepcopy(body))
        run.name = body.get("name", run.name)
        for name in ("details_url", "external_id", "started_at", "completed_at"):
            if name in body:
                run.fields[name] = body[name]
        if "status" in body:
            run.status = body["status"]
        if "conclusion" in body:  # GitHub: a conclusion completes the run, whatever the status said
            run.conclusion = body["conclusion"]
            run.status = "completed"
        output = body.get("output")
        if isinstance(output, dict):
            run.output.update({k: output[k] for k in ("title", "summary", "text") if k in output})
            run.annotations.extend(copy.deepcopy(output.get("annotations") or []))

    # Comments --------------------------------------------------------------------------------------------
    def _visible(self, repository: str, number: int) -> list[CommentRecord]:
        return [
            c
            for c in self.comments.values()
            if c.issue_number == number and c.repository in (None, repository)
        ]

    def _list_comments(self, rec: RequestRecord, server: str) -> Response:
        params = query_params(rec.query)
        try:
            per_page = min(int(params.get("per_page", "30")), 100)
            page = int(params.get("page", "1"))
        except ValueError:
            per_page, page = 30, 1
        per_page, page = max(per_page, 1), max(page, 1)
        repository = rec.repository or ""
        comments = self._visible(repository, _int(rec.item_id))
        last = max(1, -(-len(comments) // per_page))
        shown = comments[(page - 1) * per_page : page * per_page]
        link = _link(rec, per_page, page, last)
        return json_response(
            200, [c.payload(server, repository) for c in shown], [("Link", link)] if link else []
        )

    def _write_comment(self, rec: RequestRecord, body: dict[str, Any], server: str) -> Response:
        text = body.get("body")
        if not isinstance(text, str) or not text:
            return _invalid(["body is missing or not a string"])
        if len(text) > MAX_COMMENT:
            return _invalid([f"body is too long (maximum is {MAX_COMMENT} characters)"])
        repository = rec.repository or ""
        now = time.time()
        if rec.endpoint == "github_comment_update":
            comment = self.comments.get(_int(rec.item_id))
            if comment is None or comment.repository not in (None, repository):
                return _message(404, "Not Found")
            comment.body, comment.updated_wall = text, now
            comment.history.append(text)
            return json_response(200, comment.payload(server, repository))
        cid = self._new_id()
        comment = CommentRecord(cid, repository, _int(rec.item_id), text, BOT, now, now, history=[text])
        self.comments[cid] = comment
        return json_response(201, comment.payload(server, repository))


def validate_check_run(body: Mapping[str, Any], *, create: bool) -> list[str]:
    """What GitHub would refuse with 422, as messages (empty: valid)."""
    errors: list[str] = []
    for name in ("name", "head_sha"):
        if (create or name in body) and (not isinstance(body.get(name), str) or not body[name]):
            errors.append(f"{name} is missing or not a string")
    if create and isinstance(body.get("head_sha"), str) and not _SHA.fullmatch(body["head_sha"]):
        errors.append("No commit found for SHA: " + body["head_sha"])
    if "status" in body and body["status"] not in STATUSES:
        errors.append(f"status is not one of {', '.join(STATUSES)}")
    if "conclusion" in body and body["conclusion"] not in CONCLUSIONS:
        errors.append(f"conclusion is not one of {', '.join(CONCLUSIONS)}")
    if (body.get("status") == "completed" or body.get("completed_at")) and not body.get("conclusion"):
        errors.append("conclusion is required when status is completed")
    if "output" in body:
        errors.extend(_validate_output(body["output"]))
    return errors


def _validate_output(output: Any) -> list[str]:
    if not isinstance(output, dict):
        return ["output is not an object"]
    errors = [
        f"output.{k} is missing or not a string"
        for k in ("title", "summary")
        if not isinstance(output.get(k), str)
    ]
    for name in ("summary", "text"):
        value = output.get(name)
        if isinstance(value, str) and len(value) > MAX_SUMMARY:
            errors.append(f"output.{name} is too long (maximum is {MAX_SUMMARY} characters)")
    annotations = output.get("annotations", [])
    if not isinstance(annotations, list):
        return [*errors, "output.annotations is not an array"]
    if len(annotations) > MAX_ANNOTATIONS:
        errors.append(
            f"output.annotations has {len(annotations)} items (maximum is {MAX_ANNOTATIONS} per request)"
        )
    for i, note in enumerate(annotations):
        errors.extend(f"output.annotations[{i}]: {e}" for e in _validate_annotation(note))
    return errors


def _validate_annotation(note: Any) -> list[str]:
    if not isinstance(note, dict):
        return ["not an object"]
    errors = [
        f"{k} is missing or not a string"
        for k in ("path", "message")
        if not isinstance(note.get(k), str) or not note[k]
    ]
    start, end = note.get("start_line"), note.get("end_line")
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in (start, end)):
        errors.append("start_line and end_line must be positive integers")
    elif isinstance(start, int) and isinstance(end, int) and end < start:
        errors.append("end_line is before start_line")
    if note.get("annotation_level") not in LEVELS:
        errors.append(f"annotation_level is not one of {', '.join(LEVELS)}")
    if ("start_column" in note or "end_column" in note) and note.get("start_line") != note.get("end_line"):
        errors.append("start_column and end_column need start_line equal to end_line")
    return errors


def _pulls(sc: Scenario, repository: str, sha: str, server: str) -> list[dict[str, Any]]:
    """The scenario's pull requests whose head is ``sha``."""
    out = []
    for pr in sc.github.get("pulls") or []:
        if str(pr.get("head_sha", "")).lower() != sha.lower():
            continue
        number = int(pr.get("number", 0))
        out.append(
            {
                "number": number,
                "state": pr.get("state", "open"),
                "title": pr.get("title", f"Pull request {number}"),
                "draft": bool(pr.get("draft", False)),
                "html_url": f"{server}/{repository}/pull/{number}",
                "head": {"sha": pr["head_sha"], "ref": pr.get("head_ref", f"feature-{number}")},
                "base": {"ref": pr.get("base_ref", "main")},
            }
        )
    return out


def _link(rec: RequestRecord, per_page: int, page: int, last: int) -> str:
    """The ``Link`` header GitHub sends with a page of a longer list (empty for a single page)."""
    base = f"http://{rec.header('Host') or 'localhost'}{rec.path}"
    rels = [("prev", page - 1), ("first", 1)] if page > 1 else []
    if page < last:
        rels += [("next", page + 1), ("last", last)]
    return ", ".join(f'<{base}?per_page={per_page}&page={n}>; rel="{rel}"' for rel, n in rels)


def github_not_found() -> Response:
    return _message(404, "Not Found")


def _message(status: int, message: str) -> Response:
    return json_response(status, {"message": message, "documentation_url": DOCS})


def _invalid(errors: list[str]) -> Response:
    payload = {
        "message": "Invalid request.\n\n" + "\n".join(errors),
        "errors": errors,
        "documentation_url": DOCS,
        "status": "422",
    }
    return json_response(422, payload)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _int(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        return -1
