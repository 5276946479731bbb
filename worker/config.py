"""The worker's own settings, from the environment (the module's settings live in WHMCS).

Every PRORATA_* variable is checked here (but the tests' clock offset, which worker.clock
reads); a bad value raises ConfigError, whose message is one line naming the variable.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """An environment variable with a value the worker cannot use."""


def _text(name: str, default: str) -> str:
    """An unset or empty variable takes the default (compose files pass empty strings)."""
    return os.environ.get(name, "").strip() or default


def _int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise ConfigError(
            f"environment variable {name} must be a whole number of at least {minimum}, not {raw!r}"
        )
    return int(raw)


def _url(name: str, default: str, schemes: tuple[str, ...]) -> str:
    value = _text(name, default)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError as exc:
        raise ConfigError(f"environment variable {name} is not a valid URL: {exc}") from None
    if parts.scheme not in schemes:
        raise ConfigError(
            f"environment variable {name} must be a {' or '.join(schemes)} URL, "
            f"not {_hide_password(value)!r}"
        )
    if not parts.hostname and parts.scheme not in ("sqlite",):
        raise ConfigError(f"environment variable {name} has no host: {_hide_password(value)!r}")
    return value


def _hide_password(url: str) -> str:
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


def _database_url(name: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from worker.db import SUPPORTED

    value = _text(name, "")
    if not value:
        return value
    try:
        backend = make_url(value).get_backend_name()
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"environment variable {name} is not a database URL: {_hide_password(value)!r}"
        ) from None
    if backend not in SUPPORTED:
        raise ConfigError(
            f"environment variable {name} must be a sqlite:// or mysql+pymysql:// URL, "
            f"not {_hide_password(value)!r}"
        )
    return value


def _queue(name: str) -> str:
    value = _text(name, "prorata")
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,100}", value):
        raise ConfigError(
            f"environment variable {name} must be 1 to 100 letters, digits or _.:-, not {value!r}"
        )
    return value


REDIS_SCHEMES = ("redis", "rediss")


def write_batch_rows() -> int:
    """Rows per multi-row INSERT or grouped UPDATE (1: one statement per row written)."""
    return _int("PRORATA_WRITE_BATCH_ROWS", 2000)


def settings_cache_seconds() -> int:
    """How long the module settings, tax rules, currencies and client groups read from the
    database are kept (0: read them for every client)."""
    return _int("PRORATA_SETTINGS_CACHE_SECONDS", 10, minimum=0)


@dataclass(frozen=True)
class DatabaseTimeouts:
    """Seconds PyMySQL waits on the database: for the TCP connection, for each answer (the
    greeting while connecting too), and for the server to take what is sent."""

    connect: int = 10
    # above InnoDB's lock wait (innodb_lock_wait_timeout, 50 s by default): an alignment
    # waiting for a row lock gets the server's lock wait error, retried, instead of being
    # cut; and above the longest statement (a bulk dry run over every client)
    read: int = 120
    write: int = 60


def database_timeouts() -> DatabaseTimeouts:
    defaults = DatabaseTimeouts()
    return DatabaseTimeouts(
        connect=_int("PRORATA_DB_CONNECT_TIMEOUT", defaults.connect),
        read=_int("PRORATA_DB_READ_TIMEOUT", defaults.read),
        write=_int("PRORATA_DB_WRITE_TIMEOUT", defaults.write),
    )


@dataclass(frozen=True)
class RedisTimeouts:
    """Seconds every Redis client (broker, result backend, the product's own) waits: for the
    TCP connection, and for each reply or write."""

    connect: int = 5
    reply: int = 10


def redis_timeouts() -> RedisTimeouts:
    defaults = RedisTimeouts()
    return RedisTimeouts(
        connect=_int("PRORATA_REDIS_CONNECT_TIMEOUT", defaults.connect),
        # kombu waits up to 1 s for a message (BRPOP): a reply timeout must outlast that
        reply=_int("PRORATA_REDIS_TIMEOUT", defaults.reply, minimum=2),
    )


@dataclass(frozen=True)
class WorkerConfig:
    database_url: str
    broker_url: str
    result_backend: str
    queue: str
    visibility_timeout: int
    task_time_limit: int
    align_max_retries: int
    max_reoffers: int
    bulk_chunk_size: int
    whmcs_api_url: str
    whmcs_api_identifier: str
    whmcs_api_secret: str
    write_batch_rows: int = 2000
    settings_cache_seconds: int = 10
    bulk_stall_seconds: int = 600
    bulk_max_resends: int = 3
    # how long beat's lock outlives a beat that died without releasing it (worker.beat)
    beat_lock_seconds: int = 60
    # worker.db.make_engine reads these itself; kept here so a bad value stops the start
    database_timeouts: DatabaseTimeouts = DatabaseTimeouts()
    redis_timeouts: RedisTimeouts = RedisTimeouts()

    @property
    def email_enabled(self) -> bool:
        return bool(self.whmcs_api_url and self.whmcs_api_identifier and self.whmcs_api_secret)

    @property
    def dead_letter_list(self) -> str:
        """The Redis list that keeps events the database could not take."""
        return f"{self.queue}.dead"

    @property
    def rejected_list(self) -> str:
        """The Redis list that keeps messages the worker could not read or run."""
        return rejected_list_for(self.queue)


def rejected_list_for(queue: str) -> str:
    return f"{queue}.rejected"


def load_config() -> WorkerConfig:
    broker = _url("PRORATA_BROKER_URL", "redis://127.0.0.1:6379/0", REDIS_SCHEMES)
    api_url = _text("PRORATA_WHMCS_API_URL", "")
    if api_url:
        api_url = _url("PRORATA_WHMCS_API_URL", "", ("http", "https"))
    return WorkerConfig(
        database_url=_database_url("PRORATA_DATABASE_URL"),
        broker_url=broker,
        result_backend=_url("PRORATA_RESULT_BACKEND", broker, REDIS_SCHEMES),
        queue=_queue("PRORATA_QUEUE"),
        visibility_timeout=_int("PRORATA_VISIBILITY_TIMEOUT", 3600),
        # Celery's soft limit is 30 s before the hard one, at least 10 s
        task_time_limit=_int("PRORATA_TASK_TIME_LIMIT", 300, minimum=15),
        align_max_retries=_int("PRORATA_ALIGN_MAX_RETRIES", 5, minimum=0),
        max_reoffers=_int("PRORATA_MAX_REOFFERS", 5, minimum=0),
        # clients per task of a bulk run: each keeps its own transaction and event id
        bulk_chunk_size=_int("PRORATA_BULK_CHUNK_SIZE", 50),
        whmcs_api_url=api_url,
        whmcs_api_identifier=_text("PRORATA_WHMCS_API_IDENTIFIER", ""),
        whmcs_api_secret=_text("PRORATA_WHMCS_API_SECRET", ""),
        write_batch_rows=write_batch_rows(),
        settings_cache_seconds=settings_cache_seconds(),
        # a bulk run with clients queued and none of them handled for this long has lost its
        # chunks (or no worker takes them): longer than a chunk may run (the time limit)
        bulk_stall_seconds=_int("PRORATA_BULK_STALL_SECONDS", 600),
        bulk_max_resends=_int("PRORATA_BULK_MAX_RESENDS", 3, minimum=0),
        beat_lock_seconds=_int("PRORATA_BEAT_LOCK_SECONDS", 60, minimum=3),
        database_timeouts=database_timeouts(),
        redis_timeouts=redis_timeouts(),
    )
