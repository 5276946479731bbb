"""The database as the commands use it: an engine from --db, its errors as one line, and
the product's tables checked before a command relies on them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from domain.settings import SettingsError
from domain.tax import TaxRateError
from worker.cli.common import DB_ENV, EXIT_DATABASE, CliError
from worker.db import DatabaseUrlError, describe, make_engine
from worker.own_schema import LATEST, current_version
from worker.whmcs.loader import ClientNotFound
from worker.whmcs.types import ValueRefused

T = TypeVar("T")


def engine_of(url: str | None) -> Engine:
    if not url:
        raise CliError(f"no database given: use --db URL or set {DB_ENV}")
    try:
        return make_engine(url)
    except DatabaseUrlError as exc:
        raise CliError(str(exc)) from exc
    except ModuleNotFoundError as exc:
        raise CliError(f"database driver missing: {exc.name}") from exc


def database_error(engine: Engine, exc: SQLAlchemyError) -> CliError:
    detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return CliError(f"database {describe(engine)} cannot be used: {detail}", EXIT_DATABASE)


def schema_hint(engine: Engine, version: int) -> str:
    """The one line every command gives for a database without the product's tables."""
    return (
        f"database {describe(engine)} has the product's tables at version {version}, "
        f"this worker needs {LATEST}: run prorata db upgrade"
    )


def schema_version_of(engine: Engine) -> int:
    """The version of the product's tables (0: none)."""
    with engine.connect() as conn:
        return current_version(conn)


def check_schema(engine: Engine) -> None:
    """The database answers, and holds the product's tables at the version this code needs."""
    try:
        version = schema_version_of(engine)
    except SQLAlchemyError as exc:
        raise database_error(engine, exc) from exc
    if version < LATEST:
        raise CliError(schema_hint(engine, version), EXIT_DATABASE)


def ready_engine(url: str | None) -> Engine:
    """The engine of --db, its database checked to hold the product's tables."""
    engine = engine_of(url)
    check_schema(engine)
    return engine


def guarded(engine: Engine, action: Callable[[], T], *more: type[Exception]) -> T:
    """The action's refusals (and `more`) as one line, exit 2; the database's, exit 3."""
    try:
        return action()
    except ClientNotFound as exc:
        raise CliError(str(exc)) from exc
    except SettingsError as exc:
        raise CliError(f"the module settings are invalid: {exc}") from exc
    except ValueRefused as exc:
        raise CliError(str(exc)) from exc
    except TaxRateError as exc:
        raise CliError(f"the tax rules are invalid: {exc}") from exc
    except SQLAlchemyError as exc:
        raise database_error(engine, exc) from exc
    except more as exc:
        raise CliError(str(exc)) from exc
