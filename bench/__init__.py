"""Benchmarks anyone can run; their figures live in docs/benchmarks.md."""
