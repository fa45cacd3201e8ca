"""Talking to the GitHub runner: workflow commands, output and summary files, the event payload, signals."""
