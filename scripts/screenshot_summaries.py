"""Render the demo's job summaries as GitHub shows them, and screenshot them with headless Chromium.

    make screenshots            (= .venv/bin/python scripts/screenshot_summaries.py)

Each demo scenario of the bundled simulator is run through the stand-in GitHub runner, exactly as
``make demo`` does; the job summary the action wrote is rendered with cmark-gfm (GitHub's own Markdown
parser, the one the tests use) into a page with GitHub-like styles, and Chromium takes a picture of it.

Writes build/summaries/summary-<scenario>.html and .png for review, and docs/images/summary-failed.png,
the picture of a failing run that the README shows. Needs the dev requirements (``make .venv/.installed``)
and Chromium with an emoji font (on Debian: ``apt-get install -y chromium fonts-noto-color-emoji``); it
installs nothing itself. Not part of
``make test``: the tests check the same rendering without a browser (tests/unit/test_summary_rendered.py).
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from certyn_simulator.catalogue import load_scenario  # noqa: E402
from certyn_simulator.demo import DEMO_KEY, demo_inputs  # noqa: E402 - after the path is set
from certyn_simulator.runner import Event, FakeRunner, PythonLauncher  # noqa: E402
from certyn_simulator.server import Simulator  # noqa: E402
from tests.rendered import render_gfm  # noqa: E402

# Scenario → (file name, extra inputs). "never" gets a short timeout-seconds, so it times out quickly.
SCENARIOS = {
    "fail": ("summary-failed", {}),
    "pass": ("summary-passed", {}),
    "blocked": ("summary-blocked", {}),
    "aborted": ("summary-aborted", {}),
    "empty": ("summary-empty", {}),
    "cancelled": ("summary-cancelled-in-certyn", {}),
    "never": ("summary-timed-out", {"timeout-seconds": "4"}),
    "flaky": ("summary-flaky-api", {}),
}
README_PICTURE = "summary-failed"
WIDTH = 900

# GitHub's light theme, reduced to what a job summary of ours contains.
CSS = """
body { margin: 0; padding: 16px; background: #f6f8fa; color: #1f2328;
  font: 14px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; }
.box { background: #fff; border: 1px solid #d1d9e0; border-radius: 6px; }
.box-title { padding: 12px 16px; border-bottom: 1px solid #d1d9e0; font-weight: 600; font-size: 14px; }
.markdown-body { padding: 16px 24px 8px; }
h2 { font-size: 1.5em; font-weight: 600; margin: 0 0 16px; padding-bottom: .3em; border-bottom: 1px solid #d1d9e0; }
p, ul, table, blockquote { margin: 0 0 16px; }
ul { padding-left: 2em; }
li + li { margin-top: .25em; }
table { border-collapse: collapse; display: block; width: max-content; max-width: 100%; overflow: auto; }
th, td { padding: 6px 13px; border: 1px solid #d1d9e0; }
th { font-weight: 600; }
tr { background: #fff; border-top: 1px solid #d1d9e0; }
tr:nth-child(2n) { background: #f6f8fa; }
code { padding: .2em .4em; font-size: 85%; background: rgba(129, 139, 152, .12); border-radius: 6px;
  font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; }
a { color: #0969da; text-decoration: none; }
blockquote { padding: 0 1em; color: #59636e; border-left: .25em solid #d1d9e0; }
"""
# Writes the page's height into the DOM, so that --dump-dom tells how tall the screenshot must be.
MEASURE = (
    "<script>addEventListener('load', () => { document.body.dataset.height ="
    " Math.ceil(document.documentElement.getBoundingClientRect().height); });</script>"
)


def run_scenario(name: str, extra: dict[str, str]) -> str:
    """The job summary the action writes for the demo scenario ``name``."""
    scenario = load_scenario(name)
    scenario.retry_after_seconds = 1
    with Simulator(scenario, api_key=DEMO_KEY) as sim:
        inputs = demo_inputs(sim.base_url, **extra)
        runner = FakeRunner(ROOT, PythonLauncher(ROOT))
        with runner.start(inputs, event=Event.push()) as running:
            run = running.wait(timeout=180)
    return run.summary


def page(title: str, markdown: str) -> str:
    """The summary as on the run page: a box titled "<job> summary" (the stand-in runner's job is certyn)."""
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>\n<body>"
        "<div class='box'><div class='box-title'>certyn summary</div>"
        f"<div class='markdown-body'>\n{render_gfm(markdown)}</div></div>{MEASURE}</body></html>\n"
    )


class Chromium:
    def __init__(self, binary: str) -> None:
        self.binary = binary

    def _run(self, *args: str) -> str:
        with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
            argv = [
                self.binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                *args,
            ]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"chromium exited with {done.returncode}: {done.stderr.strip()[-2000:]}")
        return done.stdout

    def height(self, page_file: Path) -> int:
        dom = self._run(f"--window-size={WIDTH},600", "--dump-dom", page_file.as_uri())
        found = re.search(r'data-height="(\d+)"', dom)
        if found is None:
            raise RuntimeError("chromium did not report the page's height")
        return int(found.group(1))

    def screenshot(self, page_file: Path, png: Path) -> None:
        height = self.height(page_file)
        self._run(
            f"--window-size={WIDTH},{height}",
            "--force-device-scale-factor=2",
            f"--screenshot={png}",
            page_file.as_uri(),
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "summaries", help="review folder")
    parser.add_argument("--images", type=Path, default=ROOT / "docs" / "images", help="the README's pictures")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "", help="Chromium binary")
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="scenarios (default: all)")
    args = parser.parse_args()
    if not args.chromium:
        print(
            "screenshots: Chromium not found; install it (Debian: apt-get install -y chromium fonts-noto-color-emoji)",
            file=sys.stderr,
        )
        return 2
    browser = Chromium(args.chromium)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only or SCENARIOS:
        stem, extra = SCENARIOS[name]
        summary = run_scenario(name, extra)
        if not summary.strip():
            print(f"screenshots: scenario {name!r} wrote no job summary", file=sys.stderr)
            return 1
        page_file = args.out / f"{stem}.html"
        page_file.write_text(page(f"Job summary, demo scenario {name!r}", summary), encoding="utf-8")
        png = args.out / f"{stem}.png"
        browser.screenshot(page_file, png)
        print(f"{png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}")
        if stem == README_PICTURE:
            args.images.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(png, args.images / f"{stem}.png")
            print(f"{(args.images / f'{stem}.png').relative_to(ROOT)} (the README's picture)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
