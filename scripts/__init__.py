"""Helper scripts of the project (benchmarks, checks, packaging)."""
