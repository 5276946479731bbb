"""`prorata sandbox init|seed|pay|cancel` and `prorata demo`: a WHMCS-shaped database for
development, and the whole story played on one."""

from __future__ import annotations

import argparse
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from worker import clock
from worker.cli.common import CliError
from worker.cli.database import check_schema, database_error, engine_of, guarded
from worker.db import describe
from worker.handlers.invoice import invoice_cancelled, invoice_paid
from worker.own_schema import upgrade
from worker.sandbox.build import SandboxRefused, init_sandbox, require_sandbox
from worker.sandbox.whmcs_sim import InvoiceStateError, cancel_invoice, pay_invoice


def cmd_sandbox_init(args: argparse.Namespace) -> int:
    engine = engine_of(args.db)
    try:
        init_sandbox(engine)
        upgrade(engine, clock.now)
    except SandboxRefused as exc:
        raise CliError(str(exc)) from exc
    except SQLAlchemyError as exc:
        raise database_error(engine, exc) from exc
    print(f"sandbox created in {describe(engine)}")
    return 0


def _sandbox_engine(url: str | None) -> Engine:
    """The engine of a database `sandbox init` made; any other is refused, nothing written."""
    engine = engine_of(url)
    try:
        require_sandbox(engine)
    except SandboxRefused as exc:
        raise CliError(str(exc)) from exc
    except SQLAlchemyError as exc:
        raise database_error(engine, exc) from exc
    return engine


def _moment(day: date | None) -> datetime:
    return datetime.combine(day, clock.now().time()) if day else clock.now()


def cmd_sandbox_pay(args: argparse.Namespace) -> int:
    engine = _sandbox_engine(args.db)
    check_schema(engine)
    when = _moment(args.date)
    amount = guarded(engine, lambda: pay_invoice(engine, args.invoice, when), InvoiceStateError)
    outcome = guarded(
        engine,
        lambda: invoice_paid(engine, f"sandbox-paid-{uuid.uuid4()}", args.invoice, lambda: when),
    )
    print(f"invoice #{args.invoice} paid ({amount}); event: {outcome.outcome}")
    return 0


def cmd_sandbox_cancel(args: argparse.Namespace) -> int:
    engine = _sandbox_engine(args.db)
    check_schema(engine)
    guarded(engine, lambda: cancel_invoice(engine, args.invoice, clock.now()), InvoiceStateError)
    outcome = guarded(
        engine,
        lambda: invoice_cancelled(
            engine, f"sandbox-cancelled-{uuid.uuid4()}", args.invoice, clock.now
        ),
    )
    print(f"invoice #{args.invoice} cancelled; event: {outcome.outcome}")
    return 0


def cmd_sandbox_seed(args: argparse.Namespace) -> int:
    from worker.sandbox.seed import seed_demo

    engine = _sandbox_engine(args.db)
    today = args.today or clock.today()

    def seed() -> Any:
        with engine.begin() as conn:
            return seed_demo(conn, today)

    clients = guarded(engine, seed)
    print(f"demo customers added: clients {clients.agency}, {clients.shop}, {clients.freelancer}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from worker.sandbox.demo import run_demo

    print(run_demo(args.path, args.today or clock.today()))
    return 0
