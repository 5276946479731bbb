"""Benchmarks: each prints figures, none passes or fails."""
