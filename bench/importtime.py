"""``python -X importtime`` output: parsed into a tree and summarised."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .common import BenchError

_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


@dataclass
class ImportNode:
    name: str
    self_us: int
    cumulative_us: int
    children: list[ImportNode] = field(default_factory=list)
    parent: ImportNode | None = None


def parse_importtime(stderr: str) -> tuple[list[ImportNode], list[ImportNode]]:
    """(top-level imports up to ``certyn_action.main``, each with its subtree; the imports after it, flat).

    Up to ``certyn_action.main`` one thread imports, so the tree is exact. Later imports may come from two
    threads at once (pydantic on the main thread, requests' lazy ``netrc`` on the create's worker), which
    garbles ``-X importtime``'s nesting; those are only summed (self times) and named."""
    roots: list[ImportNode] = []
    later: list[ImportNode] = []
    pending: dict[int, list[ImportNode]] = {}  # children waiting for their parent, by depth
    for line in stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if not match:
            continue
        depth = (len(match.group(3)) - 1) // 2
        node = ImportNode(match.group(4), int(match.group(1)), int(match.group(2)))
        if roots and roots[-1].name == "certyn_action.main":
            later.append(node)
            continue
        node.children = pending.pop(depth + 1, [])
        for child in node.children:
            child.parent = node
        if depth == 0:
            roots.append(node)
        else:
            pending.setdefault(depth, []).append(node)
    if not roots or roots[-1].name != "certyn_action.main":
        raise BenchError("no 'certyn_action.main' in the -X importtime output")
    return roots, later


def walk(nodes: Sequence[ImportNode]) -> Iterator[ImportNode]:
    for node in nodes:
        yield node
        yield from walk(node.children)


def import_profile(roots: list[ImportNode], later: list[ImportNode]) -> dict[str, Any]:
    """Split the imports into interpreter start-up, the path to the first request, and later (lazy)."""
    first_ours = next(i for i, r in enumerate(roots) if r.name.startswith("certyn_action"))
    startup, before = roots[:first_ours], roots[first_ours:]
    # External imports made directly by our modules, with what they cost (cumulative).
    external: dict[str, int] = {}
    importer: dict[str, str] = {}
    for node in walk(before):
        if node.name.startswith("certyn_action"):
            for child in node.children:
                if not child.name.startswith("certyn_action"):
                    external[child.name] = external.get(child.name, 0) + child.cumulative_us
                    importer.setdefault(child.name, node.name)
    packages: list[str] = []
    for node in later:
        top = node.name.split(".")[0]
        if top not in packages:
            packages.append(top)
    return {
        "interpreter_us": sum(r.cumulative_us for r in startup),
        "before_first_request_us": sum(r.cumulative_us for r in before),
        "lazy_us": sum(n.self_us for n in later),
        "lazy_packages": packages,
        "external": external,
        "importer": importer,
        "self": {n.name: n.self_us for n in walk(before)},
        "nodes": {n.name: n.cumulative_us for n in walk(before)},
    }
