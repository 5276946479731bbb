"""Celery tasks: the worker's entry points (align, preview, payment events, beat jobs)."""
