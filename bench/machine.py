"""The machine, the Docker engine and the image: descriptions and sizes."""

from __future__ import annotations

import gzip
import json
import os
import platform
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from .common import ROOT, STAND_IN_LABEL, BenchError


def cpu_model() -> str:
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = ""
    with suppress(OSError):
        match = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(encoding="ascii"), re.M)
        if match:
            mem = f"{int(match.group(1)) / 1024 / 1024:.0f} GiB"
    load = ""
    with suppress(OSError):
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "load_average_at_start": load,
    }


# Docker -------------------------------------------------------------------------------------------


def _run(argv: Sequence[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT)


def docker_version() -> str | None:
    if shutil.which("docker") is None:
        return None
    try:
        proc = _run(
            ["docker", "version", "--format", "client {{.Client.Version}}, engine {{.Server.Version}}"],
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = proc.stdout.strip()
    return text if proc.returncode == 0 and not text.endswith("engine") else None


def base_image_name() -> str:
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.strip().upper().startswith("FROM "):
            return line.split()[1]
    raise BenchError("no FROM line in the Dockerfile")


def build_image(tag: str) -> float:
    started = time.monotonic()
    for argv in (
        ["bash", "scripts/base-image.sh"],
        ["docker", "build", "--network", "host", "--pull=false", "--force-rm", "-q", "-t", tag, "."],
    ):
        proc = _run(argv, timeout=900)
        if proc.returncode != 0:
            raise BenchError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()[-1500:]}")
    return time.monotonic() - started


def image_size(image: str) -> int:
    proc = _run(["docker", "image", "inspect", "--format", "{{.Size}}", image])
    if proc.returncode != 0:
        raise BenchError(f"docker image inspect {image}: {proc.stderr.strip()}")
    return int(proc.stdout.strip())


def history(image: str) -> list[tuple[int, str]]:
    proc = _run(
        ["docker", "history", "--no-trunc", "--human=false", "--format", "{{.Size}}\t{{.CreatedBy}}", image]
    )
    if proc.returncode != 0:
        raise BenchError(f"docker history {image}: {proc.stderr.strip()}")
    rows = []
    for line in proc.stdout.splitlines():
        size, _, created_by = line.partition("\t")
        rows.append((int(size or 0), created_by))
    return rows


def _short_layer(created_by: str) -> str:
    text = re.sub(r"^/bin/sh -c (#\(nop\) )?", "", created_by).strip()
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= 70 else text[:67] + "..."


def compressed_sizes(image: str) -> tuple[int, int, int]:
    """(number of layers, their gzip-compressed bytes, the whole ``docker save`` archive gzip-compressed bytes).

    The layers are what a runner pulls in full (a registry serves each layer gzipped; gzip -6 is the level a
    push uses); the whole archive is ``docker save IMAGE | gzip``."""
    with tempfile.TemporaryDirectory(prefix="certyn-save-") as tmp:
        archive = Path(tmp) / "image.tar"
        proc = _run(["docker", "save", "-o", str(archive), image], timeout=300)
        if proc.returncode != 0:
            raise BenchError(f"docker save {image}: {proc.stderr.strip()[-500:]}")
        whole = len(gzip.compress(archive.read_bytes(), compresslevel=6, mtime=0))
        with tarfile.open(archive) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
            paths = manifest[0]["Layers"]
            total = 0
            for path in paths:
                layer = tar.extractfile(path)
                if layer is None:
                    raise BenchError(f"docker save {image}: no layer {path}")
                data = layer.read()
                total += len(
                    data if data[:2] == b"\x1f\x8b" else gzip.compress(data, compresslevel=6, mtime=0)
                )
    return len(paths), total, whole


def image_figures(image: str) -> dict[str, Any]:
    base = base_image_name()
    stand_in = _run(
        ["docker", "image", "inspect", "--format", f'{{{{index .Config.Labels "{STAND_IN_LABEL}"}}}}', base]
    )
    python_v = _run(
        ["docker", "run", "--rm", "--network", "host", "--entrypoint", "/usr/local/bin/python", image, "-V"]
    )
    layers, pulled, whole = compressed_sizes(image)
    return {
        "image": image,
        "size_bytes": image_size(image),
        "base": base,
        "base_is_local_stand_in": stand_in.stdout.strip() not in ("", "<no value>"),
        "saved_gzip_bytes": whole,
        "pulled": {"layers": layers, "gzip_bytes": pulled},
        "layers": [
            {"bytes": size, "created_by": _short_layer(cmd)} for size, cmd in history(image) if size > 0
        ],
        "python": (python_v.stdout or python_v.stderr).strip(),
    }


def remove_labelled(label: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ids = _run(["docker", "ps", "-a", "-q", "--filter", f"label={label}"]).stdout.split()
        if not ids:
            return
        time.sleep(0.2)
    _run(["docker", "rm", "-f", *ids])
