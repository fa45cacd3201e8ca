"""Benchmark of the action: start-up, memory, requests per scenario, reaction time, image size, imports.

    make bench                          # = .venv/bin/python -m bench --start-docker
    .venv/bin/python -m bench --runs 15 --docker-runs 5 [--no-docker | --require-docker] [--json]

Everything runs against the bundled simulator on 127.0.0.1, in this process, so the simulator's request
log (``received_at``, ``terminal_served_at``: ``time.monotonic()``) and the process start and exit times
measured here share one clock. The action is started with the environment and files of
``certyn_simulator.runner.FakeRunner``: through ``PythonLauncher`` (``python -s entrypoint.py``) and through
``DockerLauncher`` (the runner's own ``docker run`` flags and mounts, plus ``--network host``).

Cold start is timed to the same kind of point for the action and its baselines: the action to the moment the
simulator receives its first request, each baseline (``python -c '<imports>; connect'``) to the moment a listener
of this process accepts the TCP connection the baseline opens to 127.0.0.1 right after its imports. The
baselines are also timed to process exit (for ``docker run --rm``: including the container's teardown), next to
the action's whole run to exit.

Figures are medians with min-max over the runs; start -> create against the requests floor is the median of
ratios of runs paired back to back, on the wall clock and in CPU time (``floor.py``). Docker figures need an engine that answers
(``bash scripts/docker-engine.sh start``, or ``--start-docker``); without one they are reported as
unavailable, unless ``--require-docker``. The image is built from the repository's Dockerfile
(``scripts/base-image.sh`` first) unless ``--image`` names one.
"""
