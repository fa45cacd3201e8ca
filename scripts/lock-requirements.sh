#!/usr/bin/env bash
# Lock requirements.in into the hash-pinned requirements.txt that the Dockerfile installs.
# Hashes cover every file the index publishes for each pinned version (all platforms and Python versions),
# so the lock works for the official python image on GitHub as well as for a local stand-in base.
# pip-tools runs in a throw-away virtualenv; only the machine's index URL and CA settings are used
# (local find-links and constraint files are ignored so they cannot leak into the lock).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check pip-tools

# Keep only the index and certificate settings of the machine's pip configuration.
index_url="${PIP_INDEX_URL:-$("$work/venv/bin/pip" config get global.index-url 2>/dev/null || true)}"
cert="${PIP_CERT:-$("$work/venv/bin/pip" config get global.cert 2>/dev/null || true)}"
cd "$root"
env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_CONSTRAINT \
  PIP_CONFIG_FILE=/dev/null \
  ${index_url:+PIP_INDEX_URL="$index_url"} \
  ${cert:+PIP_CERT="$cert"} \
  CUSTOM_COMPILE_COMMAND="scripts/lock-requirements.sh" \
  "$work/venv/bin/pip-compile" --quiet --generate-hashes --no-emit-index-url --no-emit-find-links \
  --strip-extras --resolver=backtracking --output-file requirements.txt requirements.in
