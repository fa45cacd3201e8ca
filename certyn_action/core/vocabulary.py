"""The API's words for a run, shared by the models, the gate and the rendering. Pure constants."""

TERMINAL_STATES = frozenset({"completed", "cancelled"})
COUNTERS = ("total", "passed", "failed", "blocked", "pending", "aborted", "skipped")
OUTCOMES = ("passed", "failed", "blocked", "aborted", "skipped")  # the counters that are a test's result
# The counters the API promises: a finished run that lacks one (missing or null) proves nothing.
REQUIRED_COUNTERS = ("failed", "blocked")
MAX_RUN_ID = 200  # characters of a run id the action follows
