"""The worker: Celery app, database access, settings and logging wiring."""
