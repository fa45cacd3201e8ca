"""certyn/run-action: create a Certyn CI run, wait for it, gate the job on it."""

__version__ = "1.0.0"
