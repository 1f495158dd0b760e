"""Benchmarks: scripts that print figures (run from the repository root with `python -m benchmarks.NAME`)."""
