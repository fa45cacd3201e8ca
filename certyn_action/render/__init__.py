"""Rendering: escaping, the words a user reads, the job summary, the JUnit report. Pure."""
