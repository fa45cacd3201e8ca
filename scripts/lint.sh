#!/usr/bin/env bash
# The one static-check command, for developers and CI:  bash scripts/lint.sh
#
# Runs every check even when an earlier one fails, prints one verdict line per check at the end and
# exits non-zero when any check failed. The tools are the exact pins of requirements-lint.txt,
# installed into the project's .venv (created when missing); the other requirements*.txt files at
# the root are installed too, because mypy type-checks the code against its dependencies.
# A file that does not exist yet (Dockerfile, workflows) is skipped with a message; once it exists,
# any finding fails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

venv="$root/.venv"
python="${PYTHON:-python3}"

say() { printf 'lint: %s\n' "$*"; }

# --- tools -----------------------------------------------------------------------------------------

install_tools() {
  if [[ ! -x "$venv/bin/python" ]]; then
    say "creating .venv with $python"
    "$python" -m venv "$venv"
  fi

  # requirements-lint.txt goes last so that its pins win; each file gets its own pip call because
  # a hash-locked file (requirements.txt) puts pip into hash-checking mode for that whole call.
  local files=() f
  for f in requirements*.txt; do
    if [[ -f "$f" && "$f" != requirements-lint.txt ]]; then
      files+=("$f")
    fi
  done
  files+=(requirements-lint.txt)

  local stamp="$venv/.lint-requirements.sha256" want have=""
  want="$(cat "${files[@]}" | sha256sum | cut -d' ' -f1) $("$venv/bin/python" -V 2>&1)"
  if [[ -f "$stamp" ]]; then
    have="$(<"$stamp")"
  fi
  if [[ "$want" == "$have" ]]; then
    return 0
  fi
  for f in "${files[@]}"; do
    say "installing $f into .venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$f"
  done
  printf '%s\n' "$want" >"$stamp"
}

install_shellcheck() {
  if command -v shellcheck >/dev/null 2>&1; then
    return 0
  fi
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing shellcheck with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq shellcheck >/dev/null 2>&1; then
      apt-get update -qq >/dev/null 2>&1 || true
      apt-get install -y -qq shellcheck >/dev/null 2>&1 || true
    fi
  fi
}

if ! install_tools; then
  say "FAIL: could not install requirements-lint.txt into .venv"
  exit 2
fi
install_shellcheck
export PATH="$venv/bin:$PATH"

# --- check runner ----------------------------------------------------------------------------------

verdicts=()
failed=0
ran=0

group_start() {
  if [[ "${GITHUB_ACTIONS:-}" == "true" ]]; then
    printf '::group::%s\n' "$1"
  else
    printf '\n==> %s\n' "$1"
  fi
}

group_end() {
  if [[ "${GITHUB_ACTIONS:-}" == "true" ]]; then
    printf '::endgroup::\n'
  fi
}

# check NAME COMMAND [ARG...]: run one check and record its verdict.
check() {
  local name="$1"
  shift
  group_start "$name: $*"
  ran=$((ran + 1))
  if "$@"; then
    verdicts+=("ok    $name")
  else
    verdicts+=("FAIL  $name (exit $?)")
    failed=$((failed + 1))
  fi
  group_end
}

# fail NAME WHY: a check that cannot run counts as failed.
fail() {
  ran=$((ran + 1))
  verdicts+=("FAIL  $1 ($2)")
  failed=$((failed + 1))
}

# skip NAME WHY: nothing to check yet.
skip() {
  verdicts+=("skip  $1 ($2)")
}

# Files of the project: tracked and untracked, minus what .gitignore ignores (.venv and caches).
project_files() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files --cached --others --exclude-standard
  else
    find . -path ./.venv -prune -o -path ./.git -prune -o -type f -print | sed 's|^\./||'
  fi
}

# --- Python ----------------------------------------------------------------------------------------

check ruff ruff check .

# mypy's targets are [tool.mypy].files of pyproject.toml; entries with no Python file yet are left
# out (mypy fails on a directory without .py files), the rest of the configuration applies as is.
mypy_targets=()
while IFS= read -r target; do
  mypy_targets+=("$target")
done < <(python - <<'PY'
import pathlib
import tomllib

config = tomllib.loads(pathlib.Path("pyproject.toml").read_text(encoding="utf-8"))
for entry in config.get("tool", {}).get("mypy", {}).get("files", []):
    path = pathlib.Path(entry)
    if path.is_file() or (path.is_dir() and any(path.rglob("*.py"))):
        print(entry)
PY
)
if ((${#mypy_targets[@]} > 0)); then
  check mypy mypy "${mypy_targets[@]}"
else
  skip mypy "no Python files yet"
fi

# --- shell -----------------------------------------------------------------------------------------

shell_files=()
while IFS= read -r f; do
  [[ -f "$f" ]] || continue
  if [[ "$f" == *.sh || "$f" == .ci/run ]] || head -n1 "$f" | grep -Eq '^#!.*[/ ](ba)?sh( |$)'; then
    shell_files+=("$f")
  fi
done < <(project_files | sort -u)
if ! command -v shellcheck >/dev/null 2>&1; then
  fail shellcheck "not installed: apt-get install shellcheck"
elif ((${#shell_files[@]} > 0)); then
  check shellcheck shellcheck --external-sources "${shell_files[@]}"
else
  skip shellcheck "no shell scripts yet"
fi

# --- GitHub Actions --------------------------------------------------------------------------------

workflows=()
for f in .github/workflows/*.yml .github/workflows/*.yaml; do
  if [[ -f "$f" ]]; then
    workflows+=("$f")
  fi
done

if ((${#workflows[@]} > 0)); then
  # actionlint runs shellcheck on every run: block when shellcheck is on PATH.
  check actionlint actionlint "${workflows[@]}"
  check "check-jsonschema workflows" \
    check-jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}"
else
  skip actionlint "no workflows yet"
  skip "check-jsonschema workflows" "no workflows yet"
fi

check "check-jsonschema action.yml" check-jsonschema --builtin-schema vendor.github-actions action.yml

if [[ -f .github/dependabot.yml ]]; then
  check "check-jsonschema dependabot.yml" \
    check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
else
  skip "check-jsonschema dependabot.yml" "no .github/dependabot.yml yet"
fi

# zizmor skips a file that fails its own schema unless --strict-collection is given.
check zizmor zizmor --offline --no-progress --strict-collection --min-severity medium .

# --- Dockerfile ------------------------------------------------------------------------------------

if [[ -f Dockerfile ]]; then
  check hadolint hadolint Dockerfile
else
  skip hadolint "no Dockerfile yet"
fi

# --- verdict ---------------------------------------------------------------------------------------

printf '\n'
for verdict in "${verdicts[@]}"; do
  say "$verdict"
done
if ((failed > 0)); then
  say "$failed of $ran checks failed"
  exit 1
fi
say "all $ran checks passed"
