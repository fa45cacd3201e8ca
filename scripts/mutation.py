"""Mutation testing, module by module:  python scripts/mutation.py [MODULE ...]  (or: make mutation)

Each module of ``[tool.mutation.modules]`` in pyproject.toml is mutated with mutmut on its own, and each
mutant is tested with that module's own test files only, so a survivor means "the tests written for this
module do not notice". Every module gets its own working folder (``.mutation/<module>/``, git-ignored):
mutmut reads its settings from the pyproject.toml of the folder it runs in, so the script writes one there
from ``[tool.mutmut]`` and ``[tool.pytest.ini_options]`` of the project, plus the module and its tests.
The folder is made afresh on every run (mutmut would keep old verdicts when only the tests changed) and
kept afterwards, to look at a survivor with ``mutmut show``.

Survivors recorded as equivalent in scripts/mutation-equivalents.toml (a mutant that no test can tell apart
from the original, with the reason) are reported as such; see docs/mutation.md. Per module it prints
mutants, killed, survived, equivalent and the score, killed / (mutants - equivalent), then every survivor
not recorded as equivalent with its diff. Exit 1 when a module's score is below its ``min-score``.

Workers: ``--max-children`` (default 2, the ``MUTATION_WORKERS`` environment variable): mutmut's own
default is every CPU. ``--only PATTERN`` (repeatable) mutates only the functions whose mutant names match
(fnmatch, e.g. ``'*x_parse_*'`` or ``'*ǁSettingsǁ*'``) and scores only those: for a module too slow to run
whole.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
EQUIVALENTS = ROOT / "scripts" / "mutation-equivalents.toml"
KILLED = {"killed", "timeout", "caught by type check"}
# "  certyn_action.gate.x__total__mutmut_3: survived"
RESULT_LINE = re.compile(r"^\s*(?P<name>\S+): (?P<status>.+)$")


@dataclass(frozen=True)
class Module:
    path: str  # certyn_action/gate.py
    tests: tuple[str, ...]
    min_score: float

    @property
    def name(self) -> str:
        return Path(self.path).stem


@dataclass(frozen=True)
class Equivalent:
    module: str
    function: str
    before: str
    after: str
    reason: str


@dataclass
class Score:
    module: Module
    statuses: dict[str, str] = field(default_factory=dict)
    equivalent: dict[str, Equivalent] = field(default_factory=dict)
    survivors: dict[str, str] = field(default_factory=dict)  # not equivalent: name -> diff

    @property
    def killed(self) -> int:
        return sum(status in KILLED for status in self.statuses.values())

    @property
    def survived(self) -> int:
        return len(self.statuses) - self.killed

    @property
    def percent(self) -> float:
        relevant = len(self.statuses) - len(self.equivalent)
        return 100.0 if relevant <= 0 else 100.0 * self.killed / relevant


def load_config() -> tuple[dict[str, Any], list[Module]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    tool = config["tool"]
    modules = [
        Module(path, tuple(spec["tests"]), float(spec.get("min-score", 100)))
        for path, spec in tool["mutation"]["modules"].items()
    ]
    return config, modules


def load_equivalents() -> list[Equivalent]:
    data = tomllib.loads(EQUIVALENTS.read_text(encoding="utf-8"))
    return [
        Equivalent(e["module"], e["function"], e["before"].strip(), e["after"].strip(), e["reason"])
        for e in data.get("equivalent", [])
    ]


def toml_table(name: str, table: dict[str, object]) -> str:
    # The values used here (strings, numbers, booleans, lists of strings) are written alike in JSON and TOML.
    lines = [f"[{name}]"]
    lines += [f"{json.dumps(key)} = {json.dumps(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


def prepare(module: Module, config: dict[str, Any]) -> Path:
    # A fresh folder every run: mutmut 3.8 keeps the verdict of a mutant whose function did not change,
    # even when the tests did, so a kept folder would report last week's survivors and kills.
    work = WORK / module.name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    tool = config["tool"]
    settings = dict(tool.get("mutmut", {}))
    # What mutmut copies into its mutants/ folder must first be in the working folder.
    for name in [*settings.get("source_paths", []), *settings.get("also_copy", []), "tests"]:
        source, target = ROOT / name, work / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target)
    settings["only_mutate"] = [module.path]
    settings["pytest_add_cli_args_test_selection"] = list(module.tests)
    text = toml_table("tool.pytest.ini_options", dict(tool["pytest"]["ini_options"]))
    text += "\n" + toml_table("tool.mutmut", settings)
    (work / "pyproject.toml").write_text(text, encoding="utf-8")
    return work


def mutmut(work: Path, *args: str, capture: bool = False) -> str:
    command = [str(Path(sys.executable).parent / "mutmut"), *args]
    done = subprocess.run(command, cwd=work, check=True, text=True, capture_output=capture)
    return done.stdout if capture else ""


def function_of(mutant: str) -> str:
    """``certyn_action.gate.x__total__mutmut_3`` -> ``_total``; methods: ``RetryPolicy.create``."""
    last = mutant.rsplit(".", 1)[-1]
    last = re.sub(r"__mutmut_\d+$", "", last)
    if last.startswith("x\u01c1"):  # mutmut names methods xǁClassǁmethod
        return ".".join(part for part in last[2:].split("\u01c1") if part)
    return last.removeprefix("x_")


def changed_lines(diff: str) -> tuple[str, str]:
    before = [
        line[1:].strip() for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")
    ]
    after = [
        line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")
    ]
    return "\n".join(before), "\n".join(after)


def score(module: Module, work: Path, equivalents: list[Equivalent], only: list[str]) -> Score:
    result = Score(module)
    for line in mutmut(work, "results", "--all", "true", capture=True).splitlines():
        match = RESULT_LINE.match(line)
        if match and (not only or any(fnmatch.fnmatch(match["name"], pattern) for pattern in only)):
            result.statuses[match["name"]] = match["status"].strip()
    for name, status in result.statuses.items():
        if status in KILLED:
            continue
        diff = mutmut(work, "show", name, capture=True).split("\n", 1)[-1]
        before, after = changed_lines(diff)
        function = function_of(name)
        for eq in equivalents:
            if (eq.module, eq.function, eq.before, eq.after) == (module.name, function, before, after):
                result.equivalent[name] = eq
                break
        else:
            result.survivors[name] = f"({status})\n{diff.rstrip()}"
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("modules", nargs="*", help="module names (gate, escape, ...); default: all")
    parser.add_argument(
        "--max-children",
        type=int,
        default=int(os.environ.get("MUTATION_WORKERS", "2")),
        help="mutmut workers",
    )
    parser.add_argument("--only", action="append", default=[], help="mutant name pattern (fnmatch)")
    args = parser.parse_args()
    config, modules = load_config()
    unknown = set(args.modules) - {m.name for m in modules}
    if unknown:
        parser.error(f"unknown module(s) {sorted(unknown)}; known: {[m.name for m in modules]}")
    chosen = [m for m in modules if not args.modules or m.name in args.modules]
    equivalents = load_equivalents()

    scores: list[Score] = []
    for module in chosen:
        print(f"\n=== {module.path} with {' '.join(module.tests)}", flush=True)
        work = prepare(module, config)
        try:
            mutmut(work, "run", "--max-children", str(args.max_children), *args.only)
        except subprocess.CalledProcessError as error:
            print(f"mutation: mutmut failed on {module.path} (exit {error.returncode}); see its output above")
            return 2
        scores.append(score(module, work, equivalents, args.only))

    failed = 0
    for s in scores:
        for name, diff in s.survivors.items():
            print(f"\n--- survivor {name} {diff}")
    print(
        f"\n{'module':<14}{'mutants':>8}{'killed':>8}{'survived':>10}{'equivalent':>12}{'score':>9}  minimum"
    )
    for s in scores:
        low = s.percent < s.module.min_score
        failed += low
        print(
            f"{s.module.name:<14}{len(s.statuses):>8}{s.killed:>8}{s.survived:>10}{len(s.equivalent):>12}"
            f"{s.percent:>8.1f}%  {s.module.min_score:g}%{'  BELOW' if low else ''}"
        )
    matched = {id(eq) for s in scores for eq in s.equivalent.values()}
    names = {s.module.name for s in scores}
    for eq in equivalents:
        if eq.module in names and id(eq) not in matched and not args.only:
            print(
                f"note: recorded equivalent no longer survives (remove it?): {eq.module} {eq.function}: {eq.after}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
