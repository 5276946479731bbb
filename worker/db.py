"""Database engines for a WHMCS database, MySQL/MariaDB through PyMySQL or SQLite."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any

import pymysql
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError

from worker.config import database_timeouts


class DatabaseUrlError(ValueError):
    """A database URL the product cannot use."""


SUPPORTED = ("sqlite", "mysql", "mariadb")


def make_engine(url: str, **options: Any) -> Engine:
    """An engine for a SQLAlchemy URL (`sqlite:///path`, `mysql+pymysql://user@host/db`)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is no number
        # the text itself is not shown: it may hold the password
        raise DatabaseUrlError(
            "not a database URL: write it as mysql+pymysql://USER:PASSWORD@HOST:PORT/DB, "
            "with @ : / % of the password written %40 %3A %2F %25"
        ) from exc
    if parsed.host and "@" in parsed.host:
        # an '@' of the password read as the end of it: the rest would show as the host
        raise DatabaseUrlError(
            "the database URL holds more than one '@': write an '@' of the password as %40"
        )
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED:
        raise DatabaseUrlError(
            f"unsupported database {backend!r}: use sqlite:///PATH or mysql+pymysql://USER@HOST/DB"
        )
    if backend in ("mysql", "mariadb"):
        if parsed.drivername in ("mysql", "mariadb"):
            parsed = parsed.set(drivername=f"{backend}+pymysql")
        query = dict(parsed.query)
        query.setdefault("charset", "utf8mb4")
        parsed = parsed.set(query=query)
        options.setdefault("pool_pre_ping", True)
        options.setdefault("pool_recycle", 3600)
        # a server that accepts the connection and then never answers must fail the
        # statement (a retry, exit 3) rather than hang it: PyMySQL waits forever by default
        timeouts = database_timeouts()
        options.setdefault(
            "connect_args",
            {
                "connect_timeout": timeouts.connect,
                "read_timeout": timeouts.read,
                "write_timeout": timeouts.write,
                "conv": _conversions(),
            },
        )
        # once a row lock is granted a transaction must see what the lock holder committed
        # (worker.transactions); set once per connection rather than at every checkout
        options.setdefault("isolation_level", "READ COMMITTED")
    engine = sa.create_engine(parsed, **options)
    if backend == "sqlite":
        _sqlite_pragmas(engine)
    else:
        _allow_zero_dates(engine)
    return engine


@lru_cache(maxsize=65536)
def _date_literal(value: date) -> str:
    literal: str = pymysql.converters.escape_date(value)
    return literal


@lru_cache(maxsize=65536)
def _datetime_literal(value: datetime) -> str:
    literal: str = pymysql.converters.escape_datetime(value)
    return literal


def _conversions() -> dict[Any, Any]:
    """PyMySQL's conversions with dates written through a cache: PyMySQL formats every
    date of a multi-row INSERT anew, while a few dates recur on all its rows (the time of
    the alignment, the new due dates)."""
    conversions = dict(pymysql.converters.conversions)
    conversions[date] = lambda value, _mapping=None: _date_literal(value)
    conversions[datetime] = lambda value, _mapping=None: _datetime_literal(value)
    return conversions


# WHMCS's schema is built on zero dates ('0000-00-00' defaults, "no date" written as zero);
# a server whose sql_mode forbids them (MySQL 8's default) would refuse the dates the worker
# puts back. Only these two modes go: strict mode, if set, stays.
ZERO_DATE_MODES = ("NO_ZERO_DATE", "NO_ZERO_IN_DATE")


def _allow_zero_dates(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT @@SESSION.sql_mode")
            modes = [mode for mode in str(cursor.fetchone()[0] or "").split(",") if mode]
            kept = [mode for mode in modes if mode.upper() not in ZERO_DATE_MODES]
            if kept != modes:
                cursor.execute("SET SESSION sql_mode = %s", (",".join(kept),))
        finally:
            cursor.close()


def _sqlite_pragmas(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy, not pysqlite, decides when a transaction begins (see _on_begin)
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # wait for a writer instead of failing at once when two processes share the file
        cursor.execute("PRAGMA busy_timeout = 10000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # take the write lock at the start: two transactions never read-then-write across
        # each other, as row locks guarantee on MariaDB
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def describe(engine: Engine) -> str:
    """The URL without its password, for messages and logs."""
    return engine.url.render_as_string(hide_password=True)
