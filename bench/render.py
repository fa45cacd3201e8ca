"""The text report of the figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .common import STEADY_POLLS
from .diagnosis import render_diagnosis
from .results import render_results


def _ms(d: Mapping[str, Any]) -> str:
    if not d.get("n"):
        return "n/a"
    return f"{d['median'] * 1000:6.0f} ms  ({d['min'] * 1000:.0f}-{d['max'] * 1000:.0f}, n={d['n']})"


def _mib(d: Mapping[str, Any]) -> str:
    if not d.get("n"):
        return "n/a"
    return f"{d['median'] / 1024:6.1f} MiB ({d['min'] / 1024:.1f}-{d['max'] / 1024:.1f}, n={d['n']})"


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


W = 64  # label column of the text report


def _row(label: str, value: str) -> str:
    return f"  {label:<{W}}{value}"


def _docker_ok(f: Mapping[str, Any]) -> bool:
    return "unavailable" not in f["docker"]


def render_header(f: Mapping[str, Any]) -> list[str]:
    m, dk = f["machine"], f["docker"]
    docker = (
        f"unavailable ({dk['unavailable']})"
        if not _docker_ok(f)
        else f"{dk['version']}; image {f['image']['image']} runs {f['image']['python']}"
    )
    return [
        "certyn/run-action benchmark: median (min-max, n runs); all times on one monotonic clock",
        f"machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['memory']} RAM, {m['os']}, "
        f"load average at start {m['load_average_at_start']}",
        f"python:  {m['python']} (runs entrypoint.py and the simulator)",
        f"docker:  {docker}",
    ]


def render_start(f: Mapping[str, Any]) -> list[str]:
    py, dk = f["python"], f["docker"]
    lines = [
        "",
        "Cold start: process start -> first contact with 127.0.0.1",
        "  (action: its create request received by the simulator; baselines: `-c '<imports>; connect'`, the",
        "  connection accepted by a listener here; python: bytecode of everything cached in a private tree,",
        "  like the image's compileall)",
    ]
    lines += [_row(f"{name} -> connect", _ms(d)) for name, d in py["baselines_to_connect_s"].items()]
    lines.append(
        _row(
            "requests floor: python -c (requests, the create) -> create received",
            _ms(py["floor_to_create_s"]),
        )
    )
    lines.append(_row("python entrypoint.py -> create received", _ms(py["cold_start_s"])))
    lines.append(
        _row(
            "  same, action bytecode not cached (PythonLauncher default)",
            _ms(py["cold_start_action_bytecode_not_cached_s"]),
        )
    )
    cpu = py["cpu_to_create_s"]
    lines.append(_row("CPU time by the create received: requests floor", _ms(cpu["floor"])))
    lines.append(_row("CPU time by the create received: python entrypoint.py", _ms(cpu["action"])))
    ratios, goal = py["action_to_floor"], py["floor_goal"]
    lines.append(
        f"  action / requests floor: median of {ratios['cpu']['n']} ratios of runs paired back to back (ABBA)"
    )
    for clock, label in (("wall", "wall clock (swings with the machine's other jobs)"), ("cpu", "CPU time")):
        r = ratios[clock]
        lines.append(_row(f"    {label}", f"{r['median']:6.2f}x (IQR {r['q1']:.2f}-{r['q3']:.2f})"))
    met = ratios["cpu"]["median"] <= goal
    lines.append(_row("    goal: CPU time at most", f"{goal:6g}x the floor: {'met' if met else 'NOT met'}"))
    if _docker_ok(f):
        lines += [_row(f"{name} -> connect", _ms(d)) for name, d in dk["baselines_to_connect_s"].items()]
        lines.append(_row("docker run <image> (DockerLauncher) -> create received", _ms(dk["cold_start_s"])))
    lines += ["", "Start to exit (docker run --rm: including the container's teardown)"]
    lines += [_row(f"{name} -> exit", _ms(d)) for name, d in py["baselines_to_exit_s"].items()]
    lines.append(
        _row("python entrypoint.py, whole run (create + 1 poll) -> exit", _ms(py["instant_run_to_exit_s"]))
    )
    if _docker_ok(f):
        lines += [_row(f"{name} -> exit", _ms(d)) for name, d in dk["baselines_to_exit_s"].items()]
        lines.append(
            _row("docker run <image>, whole run (create + 1 poll) -> exit", _ms(dk["instant_run_to_exit_s"]))
        )
    lines += ["", "Peak memory (RSS) of the action"]
    lines.append(_row("python entrypoint.py: ru_maxrss of the process (wait4)", _mib(py["peak_rss_kib"])))
    if _docker_ok(f):
        lines.append(
            _row("docker: VmHWM of the container's PID 1, read until it exits", _mib(dk["peak_rss_kib"]))
        )
    return lines


def render_requests(f: Mapping[str, Any]) -> list[str]:
    lines = [
        "",
        f"Requests per scenario (completes on poll {STEADY_POLLS}; retryAfterSeconds 1, poll-interval 1)",
    ]
    for name, r in f["requests"].items():
        lines.append(
            f"  {name:<12} {r['requests']:>2} requests ({r['creates']} create + {r['polls']} polls), "
            f"minimum {r['minimum']}, extra {r['extra']}; {r['duration_s']:.2f} s; runs created {r['runs_created']}"
        )
        if r["fault"] != "none":
            lines.append(f"  {'':<12} fault: {r['fault']}")
        if r["extra"]:
            lines.append(f"  {'':<12} why: {r['why']}")
    return lines


def render_reaction(f: Mapping[str, Any]) -> list[str]:
    py, dk = f["python"], f["docker"]
    lines = ["", "Reaction time: terminal state served -> process exit (poll-interval 1 s)"]
    lines.append(_row("python entrypoint.py", _ms(py["reaction_s"])))
    if _docker_ok(f):
        lines.append(_row("docker run <image> (until the docker client exits)", _ms(dk["reaction_s"])))
    lines.append(_row("spacing of polls, python (hint 1 s)", _ms(py["poll_spacing_s"])))
    if _docker_ok(f):
        lines.append(_row("spacing of polls, docker", _ms(dk["poll_spacing_s"])))
    return lines


def render_image(f: Mapping[str, Any]) -> list[str]:
    if "image" not in f:
        return []
    im = f["image"]
    stand_in = " (the local stand-in)" if im["base_is_local_stand_in"] else ""
    pulled = im["pulled"]
    lines = [
        "",
        f"Image {im['image']} (built from {im['base']}{stand_in}): {_mb(im['size_bytes'])} unpacked; "
        f"docker save | gzip {_mb(im['saved_gzip_bytes'])}",
        f"  a runner pulls {pulled['layers']} layers, {_mb(pulled['gzip_bytes'])} compressed (gzip -6)",
    ]
    lines += [f"  {_mb(layer['bytes']):>9}  {layer['created_by']}" for layer in im["layers"]]
    return lines


def render_imports(f: Mapping[str, Any]) -> list[str]:
    imp = f["imports"]
    lines = [
        "",
        "Imports: python -X importtime -s entrypoint.py (medians; the profiler inflates them)",
        _row(
            "interpreter start-up (site, encodings) + entrypoint's own imports",
            f"{imp['interpreter_s'] * 1000:6.0f} ms",
        ),
        _row(
            "entrypoint -> certyn_action.main (before the first request)",
            f"{imp['before_first_request_s'] * 1000:6.0f} ms",
        ),
        _row("imported later, while/after the create is on the wire", f"{imp['lazy_s'] * 1000:6.0f} ms"),
    ]
    lines.append(f"    packages: {', '.join(imp['lazy_packages'])}")
    lines.append("  on the path to the first request, imported by our modules (cumulative):")
    lines += [
        _row(f"  {name} <- {d['imported_by']}", f"{d['s'] * 1000:6.0f} ms")
        for name, d in imp["external"].items()
        if d["s"] >= 0.001
    ]
    lines.append("  selected modules (cumulative):")
    lines += [_row(f"  {name}", f"{s * 1000:6.0f} ms") for name, s in imp["cumulative"].items()]
    lines.append("  largest self times before the first request:")
    lines += [_row(f"  {name}", f"{s * 1000:6.1f} ms") for name, s in imp["top_self"].items()]
    return lines


def render(f: Mapping[str, Any]) -> str:
    parts = (
        render_header,
        render_start,
        render_requests,
        render_results,
        render_diagnosis,
        render_reaction,
        render_image,
        render_imports,
    )
    return "\n".join(line for part in parts for line in part(f))
