"""Pure decision and rendering: no I/O, no clock, no network. Everything here is a function of its arguments."""
