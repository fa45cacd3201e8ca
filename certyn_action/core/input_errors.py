"""The errors of reading the inputs: one per bad input, naming it and the fix, and all of them at once. Pure."""

from __future__ import annotations


class InputError(ValueError):
    """One bad input: ``name`` is the input as written in the workflow, ``message`` says what to do."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"Input '{name}': {message}")
        self.name = name
        self.message = message


class InputErrors(ValueError):
    """Every bad input found, so the user can fix them all at once."""

    def __init__(self, errors: list[InputError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors

