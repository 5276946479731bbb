"""The record of each beat job's last run (migration 7), on SQLite and MariaDB: `prorata
cron` writes one row per job, a later run updates it in place, a failure keeps its reason;
and the beat schedule's periods that staleness is measured against."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from celery.schedules import crontab, schedule
from sqlalchemy.engine import Engine

from tests.support.pinned_time import NOW
from tests.support.processes import free_port
from worker import clock, runtime
from worker.celery_app import app
from worker.cli.main import main
from worker.own_schema import job_runs
from worker.steps.health import (
    BEAT_JOB,
    beat_checks,
    beat_periods,
    outcome_of,
    record_idle,
    record_run,
    schedule_seconds,
)
from worker.steps.jobs import JobReport


def runs(engine: Engine) -> dict[str, sa.Row[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {row.job: row for row in conn.execute(sa.select(job_runs))}


def test_cron_records_each_job_it_runs(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)
    monkeypatch.setenv("PRORATA_QUEUE", f"prorata-test-{uuid.uuid4().hex[:10]}")
    for name in ("_database_url", "_engine", "_engine_pid"):
        monkeypatch.setattr(runtime, name, getattr(runtime, name))
    # Redis unreachable: the dead-letter job fails, the others succeed
    monkeypatch.setenv("PRORATA_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")
    assert main(["cron", "--db", db_url, "--today", "2024-06-01"]) == 1
    found = runs(engine)
    # apart from beat's rows: a manual run never stands for beat's
    assert sorted(found) == [
        "cron:find_off_day",
        "cron:reconcile_invoices",
        "cron:record_dead_letters",
        "cron:relay_outbox",
        "cron:reoffer_failed",
        "cron:reoffer_unsuspensions",
        "cron:watch_bulk_runs",
    ]
    assert {job: row.last_outcome for job, row in found.items()} == {
        "cron:find_off_day": "ok",
        "cron:reconcile_invoices": "ok",
        "cron:record_dead_letters": "failed",
        "cron:relay_outbox": "ok",
        "cron:reoffer_failed": "ok",
        "cron:reoffer_unsuspensions": "ok",
        "cron:watch_bulk_runs": "ok",
    }
    assert found["cron:record_dead_letters"].last_error.startswith("job: ConnectionError")
    assert {row.last_finished_at for row in found.values()} == {NOW}

    later = NOW + timedelta(minutes=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert main(["cron", "--db", db_url, "--today", "2024-06-01"]) == 1
    record_idle(engine, "relay_outbox", later)
    again = runs(engine)
    assert len(again) == len(found) + 1  # updated in place, one row per job
    assert (again["relay_outbox"].last_outcome, again["relay_outbox"].last_finished_at) == (
        "idle",
        later,
    )
    assert again["cron:relay_outbox"].last_finished_at == later


def test_a_job_is_stale_after_twice_its_schedule_and_attention_when_it_failed(
    engine: Engine,
) -> None:
    periods = {"relay_outbox": 30.0, "reconcile_invoices": 3600.0, "reoffer_failed": 600.0}
    record_run(engine, "relay_outbox", last_finished_at=NOW - timedelta(seconds=59))
    record_run(engine, "reconcile_invoices", last_finished_at=NOW - timedelta(hours=2, seconds=1))
    record_run(engine, "reoffer_failed", last_started_at=NOW, last_finished_at=NOW)
    record_run(engine, "reoffer_failed", last_outcome="failed", last_error="e-1: boom")
    checks = {check.name: check for check in beat_checks(engine, periods, NOW)}
    assert checks["beat relay_outbox"].ok
    assert not checks["beat reconcile_invoices"].ok
    assert "stale: runs every 3600 s" in checks["beat reconcile_invoices"].figure
    assert not checks["beat reoffer_failed"].ok
    assert checks["beat reoffer_failed"].figure == "last run 0 s ago (failed: e-1: boom)"


def test_jobs_wait_for_their_first_run_for_twice_their_schedule_after_beat_started(
    engine: Engine,
) -> None:
    periods = {"relay_outbox": 30.0, "reconcile_invoices": 3600.0, "reoffer_failed": 600.0}
    # reconcile ran before this beat started; the others never ran
    record_run(engine, "reconcile_invoices", last_finished_at=NOW - timedelta(hours=5))
    record_run(engine, BEAT_JOB, last_started_at=NOW - timedelta(seconds=50))
    checks = {check.name: check for check in beat_checks(engine, periods, NOW)}
    assert all(check.ok for check in checks.values()), checks
    assert checks["beat reconcile_invoices"].figure == (
        "waiting for first run (beat started 50 s ago, runs every 3600 s)"
    )
    # twice its schedule after beat started, a job that never ran needs attention
    assert checks["beat relay_outbox"].ok
    later = {c.name: c for c in beat_checks(engine, periods, NOW + timedelta(seconds=11))}
    assert not later["beat relay_outbox"].ok
    assert later["beat relay_outbox"].figure == "never ran (every 30 s)"
    assert later["beat reoffer_failed"].ok and later["beat reconcile_invoices"].ok
    # a run since beat started is shown as such
    record_run(engine, "relay_outbox", last_finished_at=NOW - timedelta(seconds=5))
    now_ran = {c.name: c for c in beat_checks(engine, periods, NOW)}
    assert now_ran["beat relay_outbox"].figure == "last run 5 s ago (running)"


def test_the_periods_come_from_the_beat_schedule() -> None:
    assert schedule_seconds(30.0) == 30
    assert schedule_seconds(schedule(timedelta(minutes=5))) == 300
    assert schedule_seconds(crontab(minute=7)) == 3600
    assert schedule_seconds(crontab(minute=0, hour=3)) == 86400
    assert beat_periods(app.conf.beat_schedule) == {
        "relay_outbox": 30,
        "reoffer_failed": 600,
        "reoffer_unsuspensions": 300,
        "record_dead_letters": 60,
        "reconcile_invoices": 3600,
        "watch_bulk_runs": 60,
        "find_off_day": 86400,
    }


def test_outcome_of_each_kind_of_result() -> None:
    assert outcome_of({"relayed": 3, "failed": 0}) == ("ok", None)
    assert outcome_of({"relayed": 1, "failed": 2}) == ("failed", "2 failed")
    assert outcome_of({"offered": [], "failed": {"e-1": "boom"}}) == ("failed", "e-1: boom")
    assert outcome_of(JobReport("outbox", failures={"e-2": "gone"})) == ("failed", "e-2: gone")
    assert outcome_of(ValueError("bad\nsecond line")) == ("failed", "ValueError: bad")
