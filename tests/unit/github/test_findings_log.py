"""findings_log.py: the AI's answer in the log, one line per line of the answer."""

from __future__ import annotations

import io

from certyn_action.api.models import Conversation
from certyn_action.github.findings_log import answer
from certyn_action.github.workflow import WorkflowLog

SECRET = "ck_live_SECRETSECRET123"


def _conversation(text: str) -> Conversation:
    return Conversation.model_validate(
        {"status": "idle", "messages": [{"role": "assistant", "content": text}]}
    )


def test_only_real_line_breaks_split_the_answer_so_no_key_is_split_past_the_scrubber() -> None:
    stream = io.StringIO()
    log = WorkflowLog(stream)
    log.add_mask(SECRET)
    text = f"key {SECRET[:8]}\x0c{SECRET[8:]} and\u2028{SECRET[:4]}\x0b{SECRET[4:]}\r\nnext\rlast\n"
    answer(log, _conversation(text))
    lines = stream.getvalue().splitlines()[1:]
    assert lines == ["::group::Certyn AI answer (idle)", "key *** and ***", "next", "last", "::endgroup::"]
