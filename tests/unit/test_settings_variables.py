"""settings.py: the `variables` and `runner-pool` inputs. A value is kept exactly, is never part of an error,
and what must be masked is found even in input that is not valid."""

from __future__ import annotations

import pytest

from certyn_action.settings import (
    MAX_VARIABLES,
    InputErrors,
    parse_variables,
    read_settings,
    variable_secrets,
)

SECRET = "Zq81-mN3r=T7"


def env(**inputs: str) -> dict[str, str]:
    values = {
        "INPUT_API-KEY": "k-123",
        "INPUT_PROJECT-SLUG": "my-app",
        "INPUT_PROCESS-SLUG": "smoke",
        "INPUT_BASE-URL": "https://pr-1.example.com",
    }
    values.update({f"INPUT_{name.upper().replace('_', '-')}": value for name, value in inputs.items()})
    return values


def errors(**inputs: str) -> dict[str, str]:
    with pytest.raises(InputErrors) as raised:
        read_settings(env(**inputs), {})
    return {error.name: error.message for error in raised.value.errors}


def test_lines_are_name_value_pairs_kept_exactly_in_order() -> None:
    text = (
        f"# the test login\n\n  USER=qa@example.com\r\nPASSWORD={SECRET}\nEMPTY=\nSPACES=  a b  \n   \n# end"
    )
    assert parse_variables(text) == (
        ("USER", "qa@example.com"),
        ("PASSWORD", SECRET),  # everything after the first `=`
        ("EMPTY", ""),
        ("SPACES", "  a b  "),
    )


def test_the_input_is_read_unstripped_so_the_last_value_keeps_its_spaces() -> None:
    settings = read_settings(env(variables="A=1\nB=two  "), {})
    assert settings.variables == (("A", "1"), ("B", "two  "))


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (f"PEM=line one\n{SECRET}", "line 2 is not `NAME=value`"),
        (f"1ABC={SECRET}", "line 1 is not `NAME=value`"),
        (f"MY-VAR={SECRET}", "line 1 is not `NAME=value`"),
        (f"A={SECRET}\rmore", "the value of `A` holds a line break"),
        (f"A={SECRET}\u2028more", "the value of `A` holds a line break"),
        (f"token=1\nTOKEN={SECRET}", "`TOKEN` is given twice"),
    ],
)
def test_a_bad_line_is_an_error_that_names_the_line_or_variable_never_the_value(text: str, said: str) -> None:
    with pytest.raises(ValueError) as raised:  # noqa: PT011 - the message is checked below
        parse_variables(text)
    message = str(raised.value)
    assert said in message
    assert SECRET not in message
    assert "more" not in message


def test_a_multi_line_value_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="multi-line secret cannot be masked line by line"):
        parse_variables("KEY=-----BEGIN KEY-----\nMIIEvQIBADANBg\n-----END KEY-----")


def test_at_most_fifty_variables() -> None:
    parse_variables("\n".join(f"V{n}=x" for n in range(MAX_VARIABLES)))
    with pytest.raises(ValueError, match="at most 50"):
        parse_variables("\n".join(f"V{n}=x" for n in range(MAX_VARIABLES + 1)))


def test_what_is_masked_is_every_value_and_every_line_that_is_not_a_variable() -> None:
    text = f"# comment\nA={SECRET}\nEMPTY=\nnext line of a secret\n1BAD=also-secret\n"
    assert variable_secrets(text) == [SECRET, "next line of a secret", "1BAD=also-secret"]


def test_variables_and_runner_pool_need_base_url() -> None:
    found = errors(base_url="", variables="A=b", runner_pool="lab")
    assert "only for `base-url`" in found["variables"]
    assert "only for `base-url`" in found["runner-pool"]


def test_runner_pool_is_one_printable_line() -> None:
    assert read_settings(env(runner_pool="office-lab"), {}).runner_pool == "office-lab"
    assert "runner-pool" in errors(runner_pool="lab\x07")
    assert "runner-pool" in errors(runner_pool="x" * 201)


def test_a_variables_error_is_reported_with_the_others() -> None:
    found = errors(variables="not a pair", timeout_seconds="soon")
    assert set(found) == {"variables", "timeout-seconds"}
