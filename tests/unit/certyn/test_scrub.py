"""scrub.py: the API key is gone from a reply however the server spelled it."""

from __future__ import annotations

import json
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from certyn_action.certyn.scrub import SCRUBBED, Scrubber

KEY = "abc+def/ghi=jkl0"


def test_json_escapes_cannot_hide_the_key() -> None:
    # ASP.NET writes '+' as \\u002B; other servers write '/' as \\/
    body = b'{"error": "key abc\\u002Bdef\\/ghi=jkl0 refused", "x": ["abc+def/ghi=jkl0"]}'
    data = Scrubber(KEY).data(json.loads(body))
    assert data == {"error": f"key {SCRUBBED} refused", "x": [SCRUBBED]}


def test_percent_encoded_forms_in_either_case() -> None:
    scrub = Scrubber(KEY)
    for url in (f"https://x/?k={quote(KEY, safe='')}", f"https://x/?k={quote(KEY, safe='').lower()}"):
        assert scrub.text(url) == f"https://x/?k={SCRUBBED}"
    assert scrub.text("https://x/?k=abc%2Bdef%2Fghi%3Djkl0") == f"https://x/?k={SCRUBBED}"
    assert scrub.text("abc%2Bdef%2Fghi%3Djkl0") == SCRUBBED


def test_object_keys_and_nested_values() -> None:
    scrub = Scrubber(KEY)
    assert scrub.data({KEY: {"nested": [1, True, None, KEY]}}) == {
        SCRUBBED: {"nested": [1, True, None, SCRUBBED]}
    }


def test_a_short_key_is_left_alone_so_field_names_survive() -> None:
    scrub = Scrubber("ock")
    assert scrub.data({"blocked": 2}) == {"blocked": 2}
    assert scrub.text("blocked") == "blocked"


@given(
    key=st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF), min_size=8, max_size=40),
    before=st.text(max_size=30),
    after=st.text(max_size=30),
    ascii_only=st.booleans(),
)
def test_no_spelling_of_the_key_in_json_survives(key: str, before: str, after: str, ascii_only: bool) -> None:
    body = json.dumps({"error": before + key + after, key: 1}, ensure_ascii=ascii_only).encode()
    scrub = Scrubber(key)
    data = scrub.data(json.loads(body))
    assert key not in json.dumps(data, ensure_ascii=False)
