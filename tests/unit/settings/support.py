"""What the settings tests share: the environment the runner sets for a valid minimal set of inputs, and what
reading it gives (the settings, or the input errors)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import settings

from certyn_action.settings import InputError, InputErrors, Settings, read_settings

KEY = "ck_live_Secr3tKeyValue"
SETTINGS = settings(max_examples=300, deadline=None)  # hypothesis: examples per property


def input_name(name: str) -> str:
    """The environment variable the runner sets for an input (hyphens kept)."""
    return "INPUT_" + name.replace(" ", "_").upper()


def input_env(**inputs: str) -> dict[str, str]:
    """A valid minimal environment plus ``inputs``; keyword names use ``_`` for ``-`` (``project_slug=``)."""
    values = {"api-key": KEY, "project-slug": "shop", "process-slug": "smoke"}
    values.update({name.replace("_", "-"): value for name, value in inputs.items()})
    return {input_name(name): value for name, value in values.items()}


def read(env: Mapping[str, str] | None = None, /, **inputs: str) -> Settings:
    """The settings read from the minimal environment with ``inputs``, then ``env`` on top."""
    return read_settings({**input_env(**inputs), **(env or {})})


def input_errors(env: Mapping[str, str]) -> list[InputError]:
    """The input errors of reading ``env``, which must have some."""
    with pytest.raises(InputErrors) as info:
        read_settings(env)
    return info.value.errors


def input_error(env: Mapping[str, str], name: str) -> InputError:
    """The one input error of reading ``env`` that names input ``name``."""
    errors = [e for e in input_errors(env) if e.name == name]
    assert len(errors) == 1, errors
    return errors[0]


def messages(env: Mapping[str, str] | None = None, /, **inputs: str) -> dict[str, str]:
    """Input name -> its error message, for the minimal environment with ``inputs`` and ``env`` on top."""
    return {error.name: error.message for error in input_errors({**input_env(**inputs), **(env or {})})}


def refusal(name: str, env: Mapping[str, str] | None = None, /, **inputs: str) -> str:
    """The text of the only input error of reading ``inputs`` (and ``env``), which must name input ``name``."""
    [error] = input_errors({**input_env(**inputs), **(env or {})})
    assert error.name == name
    return str(error)
