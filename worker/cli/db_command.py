"""`prorata db upgrade`: the product's own tables created or brought up to date."""

from __future__ import annotations

import argparse

from sqlalchemy.exc import SQLAlchemyError

from worker import clock
from worker.cli.database import database_error, engine_of
from worker.own_schema import LATEST, upgrade


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    engine = engine_of(args.db)
    try:
        applied = upgrade(engine, clock.now)
    except SQLAlchemyError as exc:
        raise database_error(engine, exc) from exc
    if applied:
        print(f"applied migrations {', '.join(map(str, applied))}; schema at version {LATEST}")
    else:
        print(f"schema already at version {LATEST}")
    return 0
