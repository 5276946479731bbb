"""Operations through the command line, on SQLite and on MariaDB: `prorata cron` (failed
jobs offered again only while no later request of the client exists, every job in its own
process with one failure reported and the rest going on), `prorata events` (an invoice event
delivered by hand), and the start-up checks of `prorata worker` and `prorata beat`.

(Over 400 lines: the operations commands share one set-up (clock, logs, dead-letter list); a
case each.)
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.support.clients import two_services
from tests.support.command_line import run_cli
from tests.support.db_rows import dump, dump_diff, execute, row, rows, seed
from tests.support.pinned_time import LATER, NOW, d
from tests.support.processes import free_port, run_prorata, start_prorata
from worker import clock, migrations, runtime
from worker.config import load_config
from worker.db import make_engine
from worker.own_schema import (
    LATEST,
    events,
    failed_jobs,
    job_runs,
    outbox,
    records,
    requests,
)
from worker.own_schema import upgrade as upgrade_schema
from worker.sandbox import build as sandbox
from worker.sandbox.build import init_sandbox
from worker.sandbox.whmcs_sim import cancel_invoice, pay_invoice
from worker.steps.jobs import open_redis, push_dead_letter
from worker.whmcs.schema import tblhosting, tblinvoices

pytestmark = pytest.mark.usefixtures("pinned_clock", "captured_logs")

P = d("2024-07-01")


def only_log_lines(err: str) -> bool:
    """stderr holds nothing but the structured (JSON) log lines of the work done."""
    return all(line.startswith("{") and json.loads(line) for line in err.splitlines())


def fail_an_alignment(
    engine: Engine, db_url: str, client: int, event_id: str, **extra: Any
) -> None:
    """An alignment that fails for real: the module setting "Days month" is broken while the
    align task runs (in this process, as the worker runs it); recorded as a failed job."""
    from tasks.align import align_client_task

    seed(engine, lambda conn: sandbox.set_module_settings(conn, {"days_month": "abc"}))
    runtime.use_database(db_url)
    kwargs = {"event_id": event_id, "client_id": client, "day": 1, "today": "2024-06-01", **extra}
    result = align_client_task.apply(kwargs=kwargs)
    assert result.failed() and "days_month" in str(result.result)
    seed(engine, lambda conn: sandbox.set_module_settings(conn, {"days_month": "30"}))
    [job] = rows(engine, failed_jobs)
    assert (job["event_id"], job["resolved_at"], job["offers"]) == (event_id, None, 0)
    assert json.loads(job["payload"]) == kwargs


def aligned_client(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> tuple[dict[str, int], int]:
    """A client with two services aligned by `prorata align`: (ids, its one invoice)."""
    ids: dict[str, int] = seed(engine, two_services)
    code, out, err = run_cli(
        capsys, "align", "--db", db_url, "--client", str(ids["client"]),
        "--today", "2024-06-01", "--json",
    )  # fmt: skip
    assert code == 0, err
    return ids, int(json.loads(out)["invoices"][0]["id"])


def test_stale_failed_alignment_is_superseded_by_a_later_request(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    ids: dict[str, int] = seed(engine, two_services)
    fail_an_alignment(engine, db_url, ids["client"], "stale-day-1")

    # the admin aligns the client again, to day 20, once the setting is repaired
    monkeypatch.setattr(clock, "now", lambda: LATER)
    code, out, err = run_cli(
        capsys, "align", "--db", db_url, "--client", str(ids["client"]), "--day", "20",
        "--today", "2024-06-01", "--json",
    )  # fmt: skip
    assert code == 0, err
    [newer] = json.loads(out)["invoices"]
    before = dump(engine)

    code, out, err = run_cli(capsys, "cron", "--db", db_url, "--today", "2024-06-01", "--json")
    assert code == 0 and only_log_lines(err), err
    report = json.loads(out)
    assert report["failed jobs"] == {
        "job": "failed jobs",
        "offered": [],
        "succeeded": [],
        "superseded": ["stale-day-1"],
        "failed": {},
    }
    assert report["open failed jobs"] == []
    # the newer alignment is untouched: its invoice, its records, the services' dates (the
    # run itself is recorded in job_runs)
    assert set(dump_diff(before, dump(engine))) == {failed_jobs.name, job_runs.name}
    assert row(engine, tblinvoices, newer["id"])["status"] == "Unpaid"
    assert {r["new_due"] for r in rows(engine, records)} == {d("2024-06-20")}
    [job] = rows(engine, failed_jobs)
    assert (job["resolution"], job["resolved_at"], job["offers"]) == ("superseded", LATER, 0)

    # the readable output names the resolution
    code, out, _ = run_cli(capsys, "cron", "--db", db_url, "--today", "2024-06-01")
    assert code == 0
    assert out.splitlines()[-1] == "open failed jobs: 0"


def align_by_task(db_url: str, client: int, event_id: str, **extra: Any) -> dict[str, Any]:
    """An alignment to day 20 through the align task (in this process), as the page sends it."""
    from tasks.align import align_client_task

    runtime.use_database(db_url)
    kwargs = {"event_id": event_id, "client_id": client, "day": 20, "today": "2024-06-01"}
    result = align_client_task.apply(kwargs={**kwargs, **extra})
    assert result.successful(), result.result
    document: dict[str, Any] = result.result
    return document


def at(clock_time: str) -> datetime:
    return datetime.fromisoformat(f"2024-06-01 {clock_time}")


@pytest.mark.parametrize(
    ("newer_asked_at", "stale_is"),
    [
        # asked for while the stale one was still being retried: it is the newer request
        (None, "superseded"),
        ("10:05:00", "superseded"),
        # asked for before the failed one, only handled after it: the failed one is newer
        ("09:50:00", "offered"),
    ],
)
def test_a_failed_alignment_is_measured_from_when_it_was_asked_for(
    engine: Engine,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: Any,
    newer_asked_at: str | None,
    stale_is: str,
) -> None:
    ids: dict[str, int] = seed(engine, two_services)
    # asked for at 10:00, failed after its last try at 10:30 (NOW)
    fail_an_alignment(
        engine, db_url, ids["client"], "asked-10-00", requested_at="2024-06-01 10:00:00"
    )
    # another alignment of the client, handled at 10:15, between the two
    monkeypatch.setattr(clock, "now", lambda: at("10:15:00"))
    extra = {} if newer_asked_at is None else {"requested_at": f"2024-06-01 {newer_asked_at}"}
    handled = align_by_task(db_url, ids["client"], "the-other", **extra)
    assert handled["status"] == "aligned"
    [other] = rows(engine, requests)
    assert other["created_at"] == at("10:15:00")
    assert json.loads(other["params"]).get("requested_at") == extra.get("requested_at")

    monkeypatch.setattr(clock, "now", lambda: LATER)
    code, out, err = run_cli(capsys, "cron", "--db", db_url, "--today", "2024-06-01", "--json")
    assert code == 0 and only_log_lines(err), err
    report = json.loads(out)["failed jobs"]
    assert (report["offered"], report["superseded"]) == (
        (["asked-10-00"], []) if stale_is == "offered" else ([], ["asked-10-00"])
    )
    if stale_is == "superseded":
        # the newer alignment stands: day 20, and nothing was aligned again
        assert [r["event_id"] for r in rows(engine, requests)] == ["the-other"]
        assert {r["new_due"] for r in rows(engine, records)} == {d("2024-06-20")}
    else:
        # the newest request (day 1) went through, as the client last asked
        assert [r["event_id"] for r in rows(engine, requests)] == ["the-other", "asked-10-00"]


def test_an_align_event_with_a_malformed_request_time_is_refused(
    engine: Engine, db_url: str
) -> None:
    from tasks.align import align_client_task

    ids: dict[str, int] = seed(engine, two_services)
    runtime.use_database(db_url)
    kwargs = {"event_id": "bad-time", "client_id": ids["client"], "requested_at": "yesterday"}
    result = align_client_task.apply(kwargs=kwargs)
    assert result.failed()
    assert "requested_at must be YYYY-MM-DD HH:MM:SS, not 'yesterday'" in str(result.result)
    # bad input is not offered again
    assert rows(engine, failed_jobs) == [] and rows(engine, requests) == []


def test_failed_alignment_is_superseded_by_a_later_outbox_event(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    ids: dict[str, int] = seed(engine, two_services)
    fail_an_alignment(engine, db_url, ids["client"], "stale")
    # Redis was away when the admin asked again: the newer request waits in the outbox,
    # relayed by the same cron run (into this process) before failed jobs are looked at
    kwargs = {"event_id": "newer", "client_id": str(ids["client"]), "day": 20}
    execute(
        engine,
        sa.insert(outbox).values(
            event_id="newer",
            task="prorata.align_client",
            payload=json.dumps({**kwargs, "today": "2024-06-01"}),
            created_at=LATER,
            attempts=0,
        ),
    )
    code, out, err = run_cli(capsys, "cron", "--db", db_url, "--today", "2024-06-01")
    assert code == 0 and only_log_lines(err), out + err
    assert "outbox: relayed 1, failed 0" in out.splitlines()
    assert "failed jobs: offered 0, succeeded 0, superseded 1, failed 0" in out.splitlines()
    assert [r["event_id"] for r in rows(engine, requests)] == ["newer"]
    assert {r["new_due"] for r in rows(engine, records)} == {d("2024-06-20")}


@pytest.mark.clock  # its own process stamps and offers by the machine's clock
def test_cron_offers_a_failed_alignment_in_its_own_process(engine: Engine, db_url: str) -> None:
    ids: dict[str, int] = seed(engine, two_services)
    fail_an_alignment(engine, db_url, ids["client"], "failed-once")
    queue = f"prorata-test-{uuid.uuid4().hex[:10]}"

    code, out, err = run_prorata(
        "cron", "--db", db_url, "--today", "2024-06-01", env={"PRORATA_QUEUE": queue}
    )
    assert code == 0 and only_log_lines(err), out + err
    lines = out.splitlines()
    assert "failed jobs: offered 1, succeeded 0, superseded 0, failed 0" in lines, out
    assert lines[-1] == "open failed jobs: 0"
    [request] = rows(engine, requests)
    assert (request["event_id"], request["state"]) == ("failed-once", "done")
    [job] = rows(engine, failed_jobs)
    assert (job["resolution"], job["offers"]) == ("succeeded", 1)
    assert job["resolved_at"] is not None
    assert {r["state"] for r in rows(engine, records)} == {"pending"}

    # next run: nothing to offer, nothing failed
    code, out, err = run_prorata(
        "cron", "--db", db_url, "--today", "2024-06-01", env={"PRORATA_QUEUE": queue}
    )
    assert code == 0 and only_log_lines(err), out + err
    assert "failed jobs: offered 0, succeeded 0, superseded 0, failed 0" in out.splitlines()


def test_cron_reports_each_failure_and_goes_on(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    invoices = [aligned_client(engine, db_url, capsys)[1] for _ in range(2)]
    for invoice in invoices:
        cancel_invoice(engine, invoice, NOW)  # no event reached the worker
    # one invoice's put-back breaks; the other's must still be done
    from worker.handlers import reconcile as reconcile_module

    real_put_back = reconcile_module.put_back

    def put_back(conn: Any, invoice_id: int, *args: Any, **kwargs: Any) -> list[int]:
        if invoice_id == invoices[0]:
            raise RuntimeError(f"disk full\nwhile cancelling {invoice_id}")
        return real_put_back(conn, invoice_id, *args, **kwargs)

    monkeypatch.setattr(reconcile_module, "put_back", put_back)
    # an outbox event of an unknown task beside one that goes through
    for event_id, task in (("bad-task", "prorata.no_such_task"), ("good", "prorata.invoice_paid")):
        execute(
            engine,
            sa.insert(outbox).values(
                event_id=event_id,
                task=task,
                payload=json.dumps({"event_id": event_id, "invoice_id": invoices[1]}),
                created_at=NOW,
                attempts=0,
            ),
        )

    code, out, err = run_cli(capsys, "cron", "--db", db_url, "--today", "2024-06-01")
    assert code == 1, out
    assert only_log_lines(err), err
    lines = out.splitlines()
    assert lines[0] == (
        f"reconcile: expired 0, cancelled 1, deleted 0, paid 0, renewals_recomputed 0, "
        f"renewals_deleted 0, renewals_cancelled 0, renewals_blocked 0, withdrawn 0, "
        f"moved_meanwhile 0, late_paid 0, reversed 0, credited 0, failed 1 "
        f"(invoice {invoices[0]}: RuntimeError: disk full)"
    )
    assert lines[1] == (
        "outbox: relayed 1, failed 1 (bad-task: NotRegistered: 'prorata.no_such_task')"
    )
    assert lines[2:] == [
        "dead letters: recorded 0, failed 0",
        "failed jobs: offered 0, succeeded 0, superseded 0, failed 0",
        "unsuspensions: released 0, sent 0, waiting 0, failed 0",
        "bulk runs: resent 0, stopped 0, failed 0",
        "off the day: listed 0, waiting 0, aligned 0, failed 0",
        "open failed jobs: 0",
    ]
    states = {r["invoice_id"]: r["state"] for r in rows(engine, records)}
    assert states == {invoices[0]: "pending", invoices[1]: "cancelled"}
    relayed = {r["event_id"]: r["relayed_at"] for r in rows(engine, outbox)}
    assert relayed == {"bad-task": None, "good": NOW}


@pytest.fixture
def dead_letters(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    """(a client of the Redis the worker uses as broker, the name of this test's dead-letter
    list); the list is removed afterwards."""
    url = os.environ.get("PRORATA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("PRORATA_BROKER_URL", url)
    redis = open_redis(url)
    try:
        redis.ping()
    except Exception as exc:
        pytest.skip(f"no Redis to keep dead letters in: {exc}")
    name = load_config().dead_letter_list
    yield redis, name
    redis.delete(name)
    redis.close()


def test_cron_records_dead_letters_once_then_offers_them(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str], dead_letters: Any
) -> None:
    """Events a worker kept in Redis while the database was away: `prorata cron` records
    each once (a duplicate entry is recognised by its event id), removes them from the list,
    and offers them; a broken entry stays and is reported."""
    redis, name = dead_letters
    ids: dict[str, int] = seed(engine, two_services)
    kwargs = {"event_id": "lost-1", "client_id": ids["client"], "day": 1, "today": "2024-06-01"}
    for _ in range(2):  # the worker's push was retried
        push_dead_letter(redis, name, "prorata.align_client", kwargs, "OperationalError", NOW)
    redis.rpush(name, "not json")

    code, out, err = run_cli(capsys, "cron", "--db", db_url, "--today", "2024-06-01")
    assert code == 1, out + err
    lines = out.splitlines()
    assert lines[2].startswith("dead letters: recorded 2, failed 1 (entry 2: JSONDecodeError")
    assert lines[3] == "failed jobs: offered 1, succeeded 0, superseded 0, failed 0"
    assert redis.lrange(name, 0, -1) == [b"not json"]
    [job] = rows(engine, failed_jobs)
    assert (job["event_id"], job["failed_at"], job["resolution"]) == (
        "lost-1",
        NOW,
        "succeeded",
    )
    [request] = rows(engine, requests)
    assert (request["event_id"], request["state"]) == ("lost-1", "done")


def test_payment_event_failing_without_a_database_is_kept_then_applied(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str], dead_letters: Any
) -> None:
    """The invoice-paid task, run as the worker runs it, with its database unreachable past
    every retry: the event goes to the dead-letter list, and `prorata cron` records it,
    offers it, and resolves it once applied."""
    from tasks.invoices import invoice_paid_task
    from worker.celery_app import TASK_MODULES

    for module in TASK_MODULES:  # as the worker does: every task module, with its signals
        importlib.import_module(module)
    redis, name = dead_letters
    _, invoice = aligned_client(engine, db_url, capsys)
    pay_invoice(engine, invoice, NOW)
    runtime.use_database(f"mysql+pymysql://root@127.0.0.1:{free_port()}/whmcs")
    kwargs = {"event_id": "paid-while-down", "invoice_id": invoice}
    result = invoice_paid_task.apply(kwargs=kwargs)
    assert result.failed()
    [raw] = redis.lrange(name, 0, -1)
    entry = json.loads(raw)
    assert (entry["task"], entry["kwargs"]) == ("prorata.invoice_paid", kwargs)
    assert {r["state"] for r in rows(engine, records)} == {"pending"}

    code, out, err = run_cli(capsys, "cron", "--db", db_url, "--today", "2024-06-01")
    assert code == 0 and only_log_lines(err), out + err
    assert "dead letters: recorded 1, failed 0" in out.splitlines()
    assert "failed jobs: offered 1, succeeded 0, superseded 0, failed 0" in out.splitlines()
    assert redis.llen(name) == 0
    assert {r["state"] for r in rows(engine, records)} == {"paid"}

    code, out, err = run_cli(capsys, "cron", "--db", db_url, "--today", "2024-06-01")
    assert code == 0, out + err
    assert "failed jobs: offered 0, succeeded 1, superseded 0, failed 0" in out.splitlines()
    [job] = rows(engine, failed_jobs)
    assert (job["event_id"], job["resolution"], job["offers"]) == (
        "paid-while-down",
        "succeeded",
        1,
    )


def test_migration_5_adds_the_resolution_of_failed_jobs(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An install from before migration 5: its failed jobs table has no resolution column;
    a job already resolved then had succeeded."""
    execute(engine, sa.text("ALTER TABLE mod_prorata_failed_jobs DROP COLUMN resolution"))
    migrations.stamp(engine, "0004")
    for event_id, resolved in (("done-before", NOW), ("still-open", None)):
        execute(
            engine,
            sa.text(
                "INSERT INTO mod_prorata_failed_jobs (event_id, task, payload, error, offers, "
                "failed_at, resolved_at) VALUES (:e, 'prorata.align_client', '{}', 'x', 1, "
                ":at, :resolved)"
            ).bindparams(e=event_id, at=NOW, resolved=resolved),
        )
    code, out, err = run_cli(capsys, "db", "upgrade", "--db", db_url)
    assert (code, err) == (0, "")
    later = ", ".join(f"{number:04d}" for number in range(5, LATEST + 1))
    assert out == f"applied revisions {later}; schema at revision {LATEST:04d}\n"
    found = {r["event_id"]: r["resolution"] for r in rows(engine, failed_jobs)}
    assert found == {"done-before": "succeeded", "still-open": None}


def test_cron_needs_its_database_at_the_latest_schema(
    db_engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    init_sandbox(db_engine)  # WHMCS's tables, the product's not yet made
    code, out, err = run_cli(capsys, "cron", "--db", db_url)
    assert (code, out) == (3, "")
    _one_error_line(err, f"at version 0, this worker needs {LATEST}", "prorata db upgrade")

    gone = f"mysql+pymysql://root@127.0.0.1:{free_port()}/whmcs"
    code, out, err = run_cli(capsys, "cron", "--db", gone)
    assert (code, out) == (3, "")
    _one_error_line(err, "cannot be used", "Can't connect")


def test_events_paid_by_hand_is_idempotent(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids, invoice = aligned_client(engine, db_url, capsys)
    pay_invoice(engine, invoice, NOW)  # paid in WHMCS; the hook's event was lost
    assert {r["state"] for r in rows(engine, records)} == {"pending"}
    record_ids = [r["id"] for r in rows(engine, records)]

    code, out, err = run_cli(capsys, "events", "paid", "--db", db_url, "--invoice", str(invoice))
    assert (code, err) == (0, "")
    expected = ", ".join(map(str, record_ids))
    assert (
        out
        == f"invoice #{invoice} paid event manual:paid:{invoice}: applied (records: {expected})\n"
    )
    for service in (ids["web"], ids["mail"]):
        found = row(engine, tblhosting, service)
        assert (found["nextduedate"], found["nextinvoicedate"]) == (P, P)
    assert {r["state"] for r in rows(engine, records)} == {"paid"}

    before = dump(engine)
    code, out, err = run_cli(
        capsys, "events", "paid", "--db", db_url, "--invoice", str(invoice), "--json"
    )
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "event": "invoice-paid",
        "event_id": f"manual:paid:{invoice}",
        "invoice_id": invoice,
        "outcome": "repeat",
        "records": [],
    }
    assert len(out.splitlines()) == 1
    assert dump_diff(before, dump(engine)) == {}


def test_events_cancelled_by_hand_with_an_event_id(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids, invoice = aligned_client(engine, db_url, capsys)
    cancel_invoice(engine, invoice, NOW)
    args = ["events", "cancelled", "--db", db_url, "--invoice", str(invoice)]

    code, out, err = run_cli(capsys, *args, "--event-id", "incident-42", "--json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert (document["event_id"], document["outcome"]) == ("incident-42", "applied")
    assert row(engine, tblhosting, ids["web"])["nextinvoicedate"] == d("2024-06-12")
    assert {r["state"] for r in rows(engine, records)} == {"cancelled"}

    before = dump(engine)
    code, out, err = run_cli(capsys, *args, "--event-id", "incident-42")
    assert (code, err) == (0, "")
    assert out == f"invoice #{invoice} cancelled event incident-42: repeat (records: none)\n"
    assert dump_diff(before, dump(engine)) == {}


@pytest.mark.parametrize("kind", ["paid", "cancelled"])
def test_events_for_an_unknown_invoice_are_refused(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    code, out, err = run_cli(capsys, "events", kind, "--db", db_url, "--invoice", "999999")
    assert (code, out) == (2, "")
    _one_error_line(err, "invoice 999999 does not exist")
    assert rows(engine, events) == []


@pytest.mark.parametrize(
    ("kind", "early", "settle"),
    [("paid", "not-paid", pay_invoice), ("cancelled", "not-cancelled", cancel_invoice)],
)
def test_events_tried_too_early_work_once_the_invoice_is_there(
    engine: Engine,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    early: str,
    settle: Any,
) -> None:
    _, invoice = aligned_client(engine, db_url, capsys)
    args = ["events", kind, "--db", db_url, "--invoice", str(invoice), "--json"]

    code, out, err = run_cli(capsys, *args)  # before WHMCS marked the invoice
    assert (code, err) == (0, "")
    assert json.loads(out)["outcome"] == early
    assert rows(engine, events) == []  # nothing settled: the same event id may come again

    settle(engine, invoice, NOW)
    code, out, err = run_cli(capsys, *args)
    assert (code, err) == (0, "")
    assert json.loads(out)["outcome"] == "applied"
    assert {r["state"] for r in rows(engine, records)} == {kind}
    assert [(e["event_id"], e["outcome"]) for e in rows(engine, events)] == [
        (f"manual:{kind}:{invoice}", "applied")
    ]


# ---- start-up checks -----------------------------------------------------------------------


def _one_error_line(err: str, *words: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("prorata: error: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], err


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PRORATA_BROKER_URL", "http://127.0.0.1:6379/0"),
        ("PRORATA_RESULT_BACKEND", "amqp://127.0.0.1/"),
        ("PRORATA_BROKER_URL", "redis://127.0.0.1:port/0"),
        ("PRORATA_TASK_TIME_LIMIT", "abc"),
        ("PRORATA_VISIBILITY_TIMEOUT", "0"),
        ("PRORATA_ALIGN_MAX_RETRIES", "-1"),
        ("PRORATA_MAX_REOFFERS", "2.5"),
        ("PRORATA_DB_READ_TIMEOUT", "0"),
        ("PRORATA_DB_CONNECT_TIMEOUT", "ten"),
        ("PRORATA_REDIS_TIMEOUT", "1"),
        ("PRORATA_QUEUE", "two words"),
        ("PRORATA_DATABASE_URL", "postgresql://whmcs@db/whmcs"),
        ("PRORATA_DATABASE_URL", "not a url"),
        ("PRORATA_WHMCS_API_URL", "ftp://whmcs.example/includes/api.php"),
    ],
)
def test_worker_refuses_a_bad_environment_value(variable: str, value: str) -> None:
    env = {"PRORATA_DATABASE_URL": "sqlite:///unused.db", variable: value}
    code, out, err = run_prorata("worker", env=env)
    assert (code, out) == (2, "")
    _one_error_line(err, variable)


def test_beat_and_cron_refuse_a_bad_environment_value() -> None:
    env = {"PRORATA_DATABASE_URL": "sqlite:///unused.db", "PRORATA_TASK_TIME_LIMIT": "abc"}
    for args in (["beat"], ["cron", "--db", "sqlite:///unused.db"]):
        code, out, err = run_prorata(*args, env=env)
        assert (code, out) == (2, "")
        _one_error_line(err, "PRORATA_TASK_TIME_LIMIT", "'abc'")


def test_worker_and_beat_refuse_to_start_without_their_database(db_url: str) -> None:
    broker = {"PRORATA_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"}
    for command in ("worker", "beat"):
        code, _, err = run_prorata(command, env=broker)
        assert code == 3
        _one_error_line(err, "PRORATA_DATABASE_URL")

    # a database nobody answers at
    gone = f"mysql+pymysql://root@127.0.0.1:{free_port()}/whmcs"
    code, _, err = run_prorata("worker", env={**broker, "PRORATA_DATABASE_URL": gone})
    assert code == 3
    _one_error_line(err, "cannot be used")

    # WHMCS's tables, but the product's not yet made, then one migration behind
    engine = make_engine(db_url)
    init_sandbox(engine)
    env = {**broker, "PRORATA_DATABASE_URL": db_url}
    for command in ("worker", "beat"):
        code, _, err = run_prorata(command, env=env)
        assert code == 3
        _one_error_line(err, f"at version 0, this worker needs {LATEST}", "prorata db upgrade")
    upgrade_schema(engine, lambda: NOW)
    migrations.stamp(engine, f"{LATEST - 1:04d}")
    code, _, err = run_prorata("worker", env=env)
    assert code == 3
    _one_error_line(err, f"at version {LATEST - 1},", "prorata db upgrade")

    # the database right, the broker unreachable
    upgrade_schema(engine, lambda: NOW)
    for command in ("worker", "beat"):
        code, _, err = run_prorata(command, env=env)
        assert code == 4, err
        _one_error_line(err, "broker", broker["PRORATA_BROKER_URL"].split("/")[2])
    engine.dispose()


@pytest.mark.parametrize(
    "args",
    [["status"], ["plan", "--client", "1"], ["cron"], ["db", "upgrade"], ["bulk", "--day", "1"]],
    ids=["status", "plan", "cron", "db-upgrade", "bulk"],
)
@pytest.mark.parametrize("password", ["Sekr1t@pa:ss", "Sekr1t:pa@ss", "Sekr1t%40pa:ss@"])
def test_a_database_url_never_shows_its_password(
    capsys: pytest.CaptureFixture[str], args: list[str], password: str
) -> None:
    url = f"mysql+pymysql://prorata:{password}@127.0.0.1:{free_port()}/whmcs"
    code, out, err = run_cli(capsys, *args, "--db", url)
    assert (code, out) == (2, "")
    _one_error_line(err, "%40")
    assert "Sekr1t" not in err and "pa:ss" not in err and "pa@ss" not in err


@pytest.mark.parametrize(
    "args",
    [["status", "--db", "sqlite:///{tmp}/whmcs.db"], ["demo", "--path", "{tmp}/demo.db"]],
    ids=["status", "demo"],
)
def test_a_closed_pipe_ends_quietly(tmp_path: Any, args: list[str]) -> None:
    """`prorata status | head -1`: the reader gone, the command ends without a traceback."""
    if args[0] == "status":  # its checks to print (without the product's tables: one line)
        engine = make_engine(f"sqlite:///{tmp_path}/whmcs.db")
        init_sandbox(engine)
        upgrade_schema(engine, lambda: NOW)
        engine.dispose()
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader already left: every write meets a closed pipe
    process = start_prorata(
        *[arg.format(tmp=tmp_path) for arg in args],
        "--today" if args[0] == "demo" else "--json",
        *(["2024-06-01"] if args[0] == "demo" else []),
        env={"PRORATA_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"},
        stdout=write_end,
        stderr=subprocess.PIPE,
    )
    os.close(write_end)
    _, err = process.communicate(timeout=60)
    assert (process.returncode, err.decode()) == (141, "")
