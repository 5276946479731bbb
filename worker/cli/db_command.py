"""`prorata db`: the product's own tables, migrated by Alembic (worker/migrations): upgrade
(or print its DDL for review), downgrade where no money history goes, status."""

from __future__ import annotations

import argparse
import json

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from worker import migrations
from worker.cli.common import CliError
from worker.cli.database import database_error, engine_of


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    if args.start and not args.sql:
        raise CliError("--from goes with --sql (a database knows its own revision)")
    if args.sql:
        if not args.db:
            dialect = "mysql"  # WHMCS runs on MySQL or MariaDB
        else:
            try:
                dialect = sa.engine.make_url(args.db).get_backend_name()
            except sa.exc.ArgumentError as exc:
                raise CliError("the database URL cannot be read") from exc
        try:
            print(migrations.upgrade_sql(dialect, args.start, args.revision), end="")
        except migrations.CommandError as exc:
            raise CliError(str(exc)) from exc
        return 0
    engine = engine_of(args.db)
    try:
        done = migrations.upgrade(engine, args.revision)
        with engine.connect() as conn:
            now_at = migrations.current(conn)
    except migrations.CommandError as exc:
        raise CliError(f"{exc}; nothing changed") from exc
    except SQLAlchemyError as exc:
        raise database_error(engine, exc) from exc
    if done.taken_over is not None:
        print(f"took over the tables of version {done.taken_over} (mod_prorata_schema)")
    if done.applied:
        print(f"applied revisions {', '.join(done.applied)}; schema at revision {now_at}")
    else:
        print(f"schema already at revision {now_at}")
    return 0


def cmd_db_downgrade(args: argparse.Namespace) -> int:
    engine = engine_of(args.db)
    try:
        undone = migrations.downgrade(engine, args.revision)
        with engine.connect() as conn:
            now_at = migrations.current(conn)
    except (migrations.DowngradeRefused, migrations.CommandError) as exc:
        raise CliError(f"{exc}; nothing changed") from exc
    except SQLAlchemyError as exc:
        raise database_error(engine, exc) from exc
    if undone:
        print(f"undid revisions {', '.join(undone)}; schema at revision {now_at}")
    else:
        print(f"schema already at revision {now_at}")
    return 0


def cmd_db_status(args: argparse.Namespace) -> int:
    engine = engine_of(args.db)
    try:
        with engine.connect() as conn:
            now_at = migrations.current(conn)
            legacy = None if now_at else migrations.legacy_version(conn)
    except SQLAlchemyError as exc:
        raise database_error(engine, exc) from exc
    head = migrations.head()
    up_to_date = now_at == head
    if args.json:
        print(
            json.dumps(
                {
                    "current": now_at,
                    "head": head,
                    "legacy_version": legacy,
                    "up_to_date": up_to_date,
                },
                sort_keys=True,
            )
        )
        return 0 if up_to_date else 1
    if legacy:
        print(
            f"schema at version {legacy} of 1.0 (mod_prorata_schema), head {head}: "
            "run prorata db upgrade to take it over"
        )
        return 1
    print(f"schema at revision {now_at or 'none'}, head {head}", end="")
    print(": up to date" if up_to_date else ": run prorata db upgrade")
    return 0 if up_to_date else 1
