"""Per-process resources of the worker: the configuration and the database engine.

Engines are made lazily in the process that uses them (never inherited across a fork).
"""

from __future__ import annotations

import os
import threading

from sqlalchemy.engine import Engine

from worker.config import WorkerConfig, load_config
from worker.db import make_engine

_lock = threading.Lock()
_engine: Engine | None = None
_engine_pid: int | None = None
_database_url: str | None = None


def config() -> WorkerConfig:
    return load_config()


def use_database(url: str) -> None:
    """Point this process at a database (the command line does; the worker reads the env)."""
    global _database_url
    with _lock:
        _database_url = url
        _reset()


def _reset() -> None:
    global _engine, _engine_pid
    if _engine is not None and _engine_pid == os.getpid():
        _engine.dispose()
    _engine = None
    _engine_pid = None


def engine() -> Engine:
    global _engine, _engine_pid
    with _lock:
        if _engine is None or _engine_pid != os.getpid():
            url = _database_url or config().database_url
            if not url:
                raise RuntimeError("no database configured: set PRORATA_DATABASE_URL")
            _engine = make_engine(url)
            _engine_pid = os.getpid()
        return _engine


def after_fork() -> None:
    """A forked child drops the parent's pool without closing the parent's sockets."""
    global _engine, _engine_pid
    with _lock:
        if _engine is not None and _engine_pid != os.getpid():
            _engine.dispose(close=False)
        _engine = None
        _engine_pid = None
