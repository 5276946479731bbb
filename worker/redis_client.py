"""A Redis client for the jobs and the health checks (the broker's own connection is
Celery's)."""

from __future__ import annotations

from typing import Any

from worker.config import redis_timeouts


def open_redis(url: str) -> Any:
    """A Redis client that gives up within seconds (the caller has a fallback or a report)."""
    import redis

    timeouts = redis_timeouts()
    return redis.Redis.from_url(
        url, socket_timeout=timeouts.reply, socket_connect_timeout=timeouts.connect
    )
