"""The create request's Idempotency-Key.

Identical for every retry of the create inside one step execution (it is computed once, from the
environment); different between re-run attempts, matrix legs, jobs and steps. Printable ASCII, at most
200 characters.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from .context import GitHubContext

MAX_LENGTH = 200
_UNSAFE = re.compile(r"[^A-Za-z0-9._~:/@+=-]")


def derive_key(ctx: GitHubContext, job_index: str, check_run_id: str) -> str:
    """``gha:<repo>:<run>:<attempt>:<job>:<leg>:<check run>:<step>`` or, outside Actions, a random key."""
    if not ctx.run_id:
        # Not on a runner: nothing ties retries of this process to another process, so be unique.
        return f"certyn-run-action:{secrets.token_hex(16)}"
    raw = ":".join(["gha", *ctx.step_parts(job_index, check_run_id)])
    safe = _UNSAFE.sub("_", raw)
    if safe != raw or len(safe) > MAX_LENGTH:
        # Keep it readable but make it exact again: a digest of the raw parts tells apart values that
        # sanitising or truncating made equal.
        digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]
        safe = f"{safe[: MAX_LENGTH - len(digest) - 1]}~{digest}"
    return safe
