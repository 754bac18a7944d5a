"""Metrics and benchmark runners that write docs/benchmarks.md."""
