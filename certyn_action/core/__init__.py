"""Pure decision and rendering: no I/O."""
