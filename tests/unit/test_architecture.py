"""The layout is the architecture: no import cycles, a core that imports nothing that does I/O."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "certyn_action"


def _modules() -> dict[str, Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return mods


def _imports() -> dict[str, set[str]]:
    """Module -> the package's modules it imports, wherever (top level, TYPE_CHECKING, inside functions,
    or by name in a string, as the helper thread that loads the models does)."""
    mods = _modules()
    graph: dict[str, set[str]] = {name: set() for name in mods}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = (
                    package.split(".")[: len(package.split(".")) - max(node.level - 1, 0)]
                    if node.level
                    else []
                )
                module = ".".join([*base, *([node.module] if node.module else [])])
                targets = [f"{module}.{alias.name}" for alias in node.names] + [module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                targets = [node.value]
            for target in targets:
                if target in mods and target != name and not name.startswith(target + "."):
                    if target.count(".") == 1 and mods[target].name == "__init__.py":
                        continue  # a sub-package's own __init__ (e.g. `from .. import __version__`)
                    graph[name].add(target)
    return graph


def test_there_are_no_import_cycles() -> None:
    graph = _imports()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_the_pure_side_imports_only_the_pure_side() -> None:
    pure = (  # all read without I/O
        "certyn_action.report",
        "certyn_action.diagnosis",
        "certyn_action.render",
        "certyn_action.settings",
        "certyn_action.api.vocabulary",
        "certyn_action.api.models",
    )
    outside = {
        # gate.py: its verdict types are what the pure side renders (verdict_for names the I/O side's errors)
        name: sorted(
            t for t in targets if not t.startswith(pure) and t not in ("certyn_action", "certyn_action.gate")
        )
        for name, targets in _imports().items()
        if name.startswith(pure)
    }
    assert {name: targets for name, targets in outside.items() if targets} == {}


def test_only_the_runner_side_and_the_step_touch_the_runner() -> None:
    users = {
        name
        for name, targets in _imports().items()
        if any(t.startswith("certyn_action.runner") for t in targets)
        and not name.startswith("certyn_action.runner")
    }
    # the wiring (preview: variables and runner-pool of base-url), the waiter (it logs progress) and GitHub's
    # client (its release budget starts at the first signal); the Certyn client itself never does
    allowed = {"main", "step", "gate", "resources", "preview", "findings", "wait", "deployment", "publish"}
    allowed |= {"github_api"}
    assert users <= {f"certyn_action.{name}" for name in allowed}


def test_every_module_of_the_mutation_table_and_its_tests_exist() -> None:
    # The one table that ties a module to its own tests (docs/mutation.md): a move must update it.
    import tomllib  # noqa: PLC0415

    root = PACKAGE.parent
    table = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutation"][
        "modules"
    ]
    missing = [
        path for path, spec in table.items() for path in [path, *spec["tests"]] if not (root / path).is_file()
    ]
    assert table
    assert missing == []
