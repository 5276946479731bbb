"""Bad input is refused once, at the door: a value the columns or the date arithmetic cannot
take, an unknown keyword, non-ASCII digits. Each task is run here as the worker runs it
(Celery's tracer, in this process), the command line in this process too; on SQLite and on
MariaDB in both session modes. Nothing is written, retried, or kept to be offered again."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.support.clients import two_services
from tests.support.db_rows import dump, dump_diff, execute, rows, seed
from tests.support.pinned_time import NOW
from worker import runtime
from worker.inputs import BadTaskArguments
from worker.own_schema import failed_jobs, requests

pytestmark = pytest.mark.usefixtures("pinned_clock", "captured_logs")

TODAY = "2024-06-01"
MEGABYTE = "x" * 1_000_000
# digits str.isdigit() takes: int() refuses the first, reads the others as 1 and 3
SQUARED, ONE, THREE = "\u00b2", "\u0661", "\u0663"


def refused(task: Any, kwargs: dict[str, Any]) -> str:
    """Run the task as the worker does; it must fail at once with BadTaskArguments (a retry
    would run it again here: Celery's eager retry). Returns the reason."""
    result = task.apply(kwargs=kwargs)
    assert result.failed(), (kwargs, result.result)
    assert isinstance(result.result, BadTaskArguments), repr(result.result)[:300]
    assert result.traceback is not None and result.traceback.count("Retry") == 0
    reason = str(result.result)
    assert "\n" not in reason and len(reason) < 300, reason
    return reason


def align_kwargs(client: Any, event_id: str = "bad-event", **extra: Any) -> dict[str, Any]:
    return {"event_id": event_id, "client_id": client, "today": TODAY, **extra}


# (what is wrong, the kwargs of prorata.align_client but the client's, the reason's words)
ALIGN_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("a superscript digit", {"client_id": SQUARED}, "client_id must be a positive whole number"),
    ("an Arabic-Indic one", {"client_id": ONE}, "client_id must be a positive whole number"),
    ("beyond int(10)", {"client_id": 10**30}, "(at most 2147483647)"),
    ("just beyond", {"client_id": 2_147_483_648}, "(at most 2147483647)"),
    ("today past the dates", {"today": "9999-12-31"}, "today must be from 1000-01-01 to"),
    (
        "today in other digits",
        {"today": "\u0662\u0660\u0662\u0664-\u0660\u0666-\u0660\u0661"},
        "today must be YYYY-MM-DD",
    ),
    ("an unknown keyword", {"colour": "red"}, "unexpected keyword argument 'colour'"),
    ("a day in other digits", {"day": ONE}, "from 1 to 31"),
    ("cycles that are not names", {"cycles": [1]}, "unknown billing cycle '1'"),
    (
        "50,000 services",
        {"services": [f"service:{n}" for n in range(1, 50_001)]},
        "more than the 65535 the product's tables hold",
    ),
    ("a 70-character event id", {"event_id": "e" * 70}, "event_id must be 1 to 64 printable"),
    ("an event id with a space", {"event_id": "evt "}, "event_id must be 1 to 64 printable"),
    ("a megabyte of who", {"requested_by": MEGABYTE}, "requested_by must be at most 64"),
    ("who outside utf8", {"requested_by": "admin \U0001f600"}, "requested_by must be at most"),
]


def test_bad_align_events_are_refused_once_and_change_nothing(engine: Engine, db_url: str) -> None:
    from tasks.align import align_client_task

    ids: dict[str, int] = seed(engine, two_services)
    assert ids["client"] == 1  # the Arabic-Indic one above once aligned this client
    runtime.use_database(db_url)
    before = dump(engine)
    for what, values, words in ALIGN_CASES:
        kwargs = {**align_kwargs(ids["client"], event_id=f"bad-{len(what)}"), **values}
        reason = refused(align_client_task, kwargs)
        assert words in reason, (what, reason)
        after = dump(engine)
        assert after == before, (what, dump_diff(before, after))
    # the same client aligns with good input, and only then
    good = align_client_task.apply(kwargs=align_kwargs(ids["client"], event_id="good"))
    assert good.result["status"] == "aligned"
    assert [r["event_id"] for r in rows(engine, requests)] == ["good"]


def test_bad_invoice_and_cancellation_events_are_refused(engine: Engine, db_url: str) -> None:
    from tasks.invoices import (
        invoice_cancelled_task,
        invoice_paid_task,
        service_cancellation_requested_task,
    )

    seed(engine, two_services)
    runtime.use_database(db_url)
    before = dump(engine)
    cases: list[tuple[Any, dict[str, Any], str]] = []
    for task, key in (
        (invoice_paid_task, "invoice_id"),
        (invoice_cancelled_task, "invoice_id"),
        (service_cancellation_requested_task, "service_id"),
    ):
        cases += [
            (task, {"event_id": "e" * 200, key: 1}, "event_id must be 1 to 64 printable"),
            (task, {"event_id": "evt-1", key: SQUARED}, f"{key} must be a positive whole number"),
            (task, {"event_id": "evt-1", key: THREE}, f"{key} must be a positive whole number"),
            (task, {"event_id": "evt-1", key: 10**30}, "(at most 2147483647)"),
            (task, {"event_id": "evt-1", key: 1, "extra": 1}, "unexpected keyword argument"),
            (task, {"event_id": "evt-1"}, f"missing a required argument: '{key}'"),
        ]
    for task, kwargs, words in cases:
        reason = refused(task, kwargs)
        assert words in reason, (task.name, kwargs, reason)
    after = dump(engine)
    assert after == before, dump_diff(before, after)


def test_bad_dates_before_payment_are_refused(engine: Engine, db_url: str) -> None:
    """The dates the addon keeps before WHMCS processes a paid invoice's lines."""
    from tasks.invoices import invoice_paid_task

    seed(engine, two_services)
    runtime.use_database(db_url)
    before = dump(engine)
    good = {"kind": "service", "id": 1, "nextduedate": "2024-07-10", "nextinvoicedate": None}
    cases: list[tuple[Any, str]] = [
        ({"service": 1}, "dates_before_payment must be a list"),
        (["service:1"], "entries must be {kind, id, nextduedate, nextinvoicedate}"),
        ([{**good, "colour": "red"}], "entries must be {kind, id, nextduedate"),
        ([{k: v for k, v in good.items() if k != "id"}], "entries must be {kind, id,"),
        ([{**good, "kind": "domain"}], "kind must be service or addon, not 'domain'"),
        ([{**good, "id": SQUARED}], "dates_before_payment id must be a positive whole number"),
        ([{**good, "id": 10**30}], "(at most 2147483647)"),
        ([{**good, "nextduedate": "2024-13-01"}], "nextduedate must be YYYY-MM-DD"),
        ([{**good, "nextduedate": "9999-12-31"}], "nextduedate must be from 1000-01-01"),
        ([{**good, "nextinvoicedate": 20240710}], "nextinvoicedate must be YYYY-MM-DD"),
        ([good] * 1000, "more than the 65535 the product's tables hold"),
    ]
    for value, words in cases:
        kwargs = {"event_id": "evt-1", "invoice_id": 1, "dates_before_payment": value}
        reason = refused(invoice_paid_task, kwargs)
        assert words in reason, (value, reason)
    after = dump(engine)
    assert after == before, dump_diff(before, after)


def test_bad_previews_bulk_runs_and_unsuspensions_are_refused(engine: Engine, db_url: str) -> None:
    from tasks.align import preview_client_task
    from tasks.bulk import bulk_align_chunk_task, bulk_dry_run_task, bulk_start_task
    from tasks.unsuspend import unsuspend_service_task

    ids: dict[str, int] = seed(engine, two_services)
    runtime.use_database(db_url)
    before = dump(engine)
    client = ids["client"]
    cases: list[tuple[Any, dict[str, Any], str]] = [
        (preview_client_task, {"client_id": client, "today": "9999-12-31"}, "today must be"),
        (preview_client_task, {"client_id": client, "today": "0999-12-31"}, "today must be"),
        (preview_client_task, {"client_id": SQUARED}, "client_id must be a positive whole"),
        (preview_client_task, {"client_id": client, "event_id": "x"}, "unexpected keyword"),
        (bulk_dry_run_task, {"day": 1, "filters": {"client_group": THREE}}, "client_group must"),
        (bulk_dry_run_task, {"day": 1, "today": "9999-12-31"}, "today must be from"),
        (bulk_start_task, {"event_id": "run", "day": 1, "requested_by": MEGABYTE}, "requested_by"),
        (bulk_start_task, {"event_id": "r" * 49, "day": 1}, "event_id must be 1 to 48"),
        (bulk_start_task, {"event_id": "run", "day": 1, "dry": True}, "unexpected keyword"),
        (bulk_align_chunk_task, {"run_id": 1, "client_ids": [10**30]}, "client_id must be"),
        (unsuspend_service_task, {"unsuspension_id": SQUARED}, "unsuspension_id must be"),
    ]
    for task, kwargs, words in cases:
        reason = refused(task, kwargs)
        assert words in reason, (task.name, kwargs, reason)
    after = dump(engine)
    assert after == before, dump_diff(before, after)


def test_a_stored_malformed_failed_job_does_not_stop_the_others(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Kept before such input was refused: a failed alignment whose client id is '²'. The
    others are still offered (and go through); it is offered, refused, and closed."""
    from worker.cli.main import main

    ids: dict[str, int] = seed(engine, two_services)
    for event_id, client in (("malformed", SQUARED), ("sound", ids["client"])):
        execute(
            engine,
            sa.insert(failed_jobs).values(
                event_id=event_id,
                task="prorata.align_client",
                payload=json.dumps(align_kwargs(client, event_id=event_id)),
                error="OperationalError: gone away",
                offers=0,
                failed_at=NOW,
            ),
        )
    code = main(["cron", "--db", db_url, "--today", TODAY, "--json"])
    report = json.loads(capsys.readouterr().out)["failed jobs"]
    assert code == 1  # the malformed one's offer failed, and says why
    assert report["offered"] == ["sound"]
    assert list(report["failed"]) == ["malformed"]
    assert "client_id must be a positive whole number, not '²'" in report["failed"]["malformed"]
    jobs = {job["event_id"]: job for job in rows(engine, failed_jobs)}
    assert jobs["sound"]["resolution"] == "succeeded"
    assert jobs["malformed"]["resolution"] == "rejected"
    assert "not '²'" in jobs["malformed"]["error"]
    assert [r["event_id"] for r in rows(engine, requests)] == ["sound"]

    # closed: the next run neither offers it nor fails
    code = main(["cron", "--db", db_url, "--today", TODAY, "--json"])
    report = json.loads(capsys.readouterr().out)["failed jobs"]
    assert (code, report["offered"], report["failed"]) == (0, [], {})


# (the command line's arguments after --db URL, the words of its one line)
CLI_CASES: list[tuple[list[str], str]] = [
    (["plan", "--client", "1", "--today", "9999-12-31"], "from 1000-01-01 to 9989-12-31"),
    (["plan", "--client", "1", "--today", "0999-01-01"], "from 1000-01-01 to 9989-12-31"),
    (["plan", "--client", ONE], f"an id must be a positive whole number, not '{ONE}'"),
    (["plan", "--client", str(10**30)], "(at most 2147483647)"),
    (["align", "--client", "1", "--event-id", "e" * 200], "an event id must be 1 to 64"),
    (["align", "--client", "1", "--event-id", "e" * 70], "an event id must be 1 to 64"),
    (["align", "--client", "1", "--requested-by", MEGABYTE], "requested_by must be at most 64"),
    (["align", "--client", SQUARED], "an id must be a positive whole number, not '²'"),
    (["events", "paid", "--invoice", THREE], "an id must be a positive whole number"),
    (["events", "paid", "--invoice", "1", "--event-id", "a b"], "an event id must be"),
    (["cron", "--today", "9999-12-31"], "from 1000-01-01 to 9989-12-31"),
    (["bulk", "--day", "1", "--dry-run", "--requested-by", MEGABYTE], "requested_by must"),
    (["bulk", "--day", "1", "--dry-run", "--client-group", THREE], "an id must be a positive"),
    (["bulk", "--day", ONE, "--dry-run"], "from 1 to 31"),
]


def test_bad_command_lines_exit_2_with_one_line(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from worker.cli.main import main

    seed(engine, two_services)
    before = dump(engine)
    for words, message in CLI_CASES:
        command = [*words[:2], "--db", db_url, *words[2:]]
        if words[0] != "events":
            command = [words[0], "--db", db_url, *words[1:]]
        try:
            code = main(command)
        except SystemExit as exc:  # argparse refuses the option itself
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        assert (code, out) == (2, ""), (words[:4], code, err[-500:])
        assert err.startswith("prorata: error: ") and err.count("\n") == 1, err[:500]
        assert len(err) < 400 and message in err, (words[:4], err[:500])
    after = dump(engine)
    assert after == before, dump_diff(before, after)
