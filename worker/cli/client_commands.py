"""`prorata plan`, `align` and `events`: one client or one invoice, in this process."""

from __future__ import annotations

import argparse
import json
import uuid
from typing import Any

from domain.model import AlignRequest
from worker import clock
from worker.cli.common import CliError
from worker.cli.database import guarded, ready_engine
from worker.commands import AlignCommand, calendar_days_of
from worker.db import describe
from worker.handlers.align import align_client
from worker.handlers.invoice import EventOutcome, invoice_cancelled, invoice_paid
from worker.handlers.planning import PlannedClient, plan_client
from worker.render import render_align_result, render_plan
from worker.steps.billing_day import show_day


def _plan_request(args: argparse.Namespace) -> AlignRequest:
    return AlignRequest(
        today=args.today or clock.today(),
        day=args.day,
        cycles=args.cycles,
        calendar_days=calendar_days_of(args.mode),
    )


def cmd_plan(args: argparse.Namespace) -> int:
    engine = ready_engine(args.db)
    request = _plan_request(args)

    def plan() -> tuple[PlannedClient, dict[str, Any]]:
        with engine.connect() as conn:
            planned = plan_client(conn, args.client, request)
            return planned, show_day(conn, args.client).to_dict()

    planned, client_day = guarded(engine, plan)
    if args.json:
        # the client's billing day and its history beside the plan
        print(json.dumps({**planned.to_dict(), "client_day": client_day}, indent=2))
    else:
        print(
            render_plan(
                planned.plan, planned.state.profile.name, planned.withdraw, planned.credits()
            )
        )
    return 0


def cmd_align(args: argparse.Namespace) -> int:
    engine = ready_engine(args.db)
    request = _plan_request(args)
    command = AlignCommand(
        event_id=args.event_id or f"cli-{uuid.uuid4()}",
        client_id=args.client,
        requested_by=args.requested_by,
        today=request.today,
        day=request.day,
        cycles=request.cycles,
        calendar_days=request.calendar_days,
    )
    result = guarded(engine, lambda: align_client(engine, command, clock.now))
    if result.status == "rejected":
        raise CliError(result.message)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(render_align_result(result))
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    """Deliver an invoice event to the consumer the Celery task calls, in this process."""
    engine = ready_engine(args.db)
    kind = args.events_command
    event_id = args.event_id or f"manual:{kind}:{args.invoice}"
    handler = invoice_paid if kind == "paid" else invoice_cancelled
    outcome: EventOutcome = guarded(
        engine, lambda: handler(engine, event_id, args.invoice, clock.now)
    )
    if outcome.outcome == "unknown-invoice":
        raise CliError(f"invoice {args.invoice} does not exist in {describe(engine)}")
    if args.json:
        print(json.dumps({"event": f"invoice-{kind}", **outcome.to_dict()}))
    else:
        records_text = ", ".join(map(str, outcome.records)) or "none"
        print(
            f"invoice #{args.invoice} {kind} event {event_id}: {outcome.outcome} "
            f"(records: {records_text})"
        )
    return 0
