# Developer commands. On a fresh machine (Python 3.11+, make):
#   make demo   run the action end to end against the bundled Certyn simulator
#               (make demo DEMO_ARGS="--preview": a preview deployment with a test login in `variables`)
#   make test   install what the tests need and run all of them (CI runs this too)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast test-container test-act lint mutation bench screenshots image release-rehearsal lock docker-stop clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m certyn_simulator demo $(DEMO_ARGS)

# Every test: unit, end to end against the simulator, the container as the runner runs it, and act.
# Container and act tests start dockerd themselves; without a Docker engine they skip, except in CI.
test: $(STAMP)
	$(PY) -m pytest

# Unit and end-to-end tests only (no Docker).
test-fast: $(STAMP)
	$(PY) -m pytest -m "not container and not act"

test-container: $(STAMP)
	$(PY) -m pytest -m container

test-act: $(STAMP)
	$(PY) -m pytest -m act

lint:
	bash scripts/lint.sh

# Mutation testing of the pure modules, one module at a time with its own tests (docs/mutation.md).
# CPU-heavy: MUTATION_WORKERS (default 2) sets mutmut's workers; name modules with MODULES="gate text".
mutation: $(STAMP)
	$(PY) scripts/mutation.py $(MODULES)

# Starts a Docker engine when none answers (and stops it afterwards), so the Docker figures are printed too.
bench: $(STAMP)
	$(PY) -m bench --start-docker

# The demo's job summaries rendered as GitHub shows them and screenshotted (build/summaries/, and the README's
# docs/images/summary-failed.png). Needs Chromium; on Debian: apt-get install -y chromium fonts-noto-color-emoji
screenshots: $(STAMP)
	$(PY) scripts/screenshot_summaries.py

image:
	bash scripts/docker-engine.sh start
	bash scripts/base-image.sh
	docker build --network host --pull=false --force-rm -t certyn-run-action:dev .

# The release, rehearsed end to end against a local registry and run by a consumer workflow under act
# (docs/releasing.md). Starts a Docker engine and the registry when needed and stops what it started.
release-rehearsal: $(STAMP)
	bash scripts/release-rehearsal.sh

lock:
	bash scripts/lock-requirements.sh

docker-stop:
	bash scripts/docker-engine.sh stop

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .mutation mutants
