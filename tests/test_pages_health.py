"""The admin page's health panel and its "Test connection" button, in a real browser against
a real worker (the site of tests/support/pages.py: MariaDB sandbox, PHP's web server,
a Celery worker on the site's queue, headless Chromium)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

import tests.support.pages as pages
from tests.support.pages import (
    ADDON_DIR,
    ADMIN,
    SCREENSHOTS,
    Browser,
    Site,
    post_from_page,
)
from tests.support.processes import free_port
from worker import clock
from worker.celery_app import app
from worker.own_schema import failed_jobs, job_runs, outbox
from worker.steps.health import beat_periods, record_run
from worker.steps.jobs import record_failed_job
from worker.version import VERSION

pytestmark = [pytest.mark.php, pytest.mark.mariadb, pytest.mark.clock]

# the page tests' fixtures: the site (its own for this module), the browser
php, chromium, smarty_installed = pages.php, pages.chromium, pages.smarty_installed
site, live, browser = pages.site, pages.live, pages.browser

JOBS = sorted(beat_periods(app.conf.beat_schedule))


@pytest.fixture
def health(live: Site) -> Iterator[Site]:
    """The live site with no job runs, failed jobs, outbox rows or dead letters, and none
    left behind."""

    def clear() -> None:
        with live.engine.begin() as conn:
            for table in (job_runs, failed_jobs, outbox):
                conn.execute(sa.delete(table))
        live.redis.delete(
            f"{live.queue}.dead",
            f"{live.dead_queue}.dead",
            f"{live.queue}.rejected",
            live.dead_queue,
        )

    clear()
    yield live
    clear()


def panel_rows(browser: Browser) -> dict[str, tuple[str, str]]:
    """{check: (state, text)} of the health panel's rows."""
    rows = browser.evaluate(
        "[...document.querySelectorAll('#prorata-health tr[data-check]')]"
        ".map(r => [r.dataset.check, r.dataset.state, r.innerText])"
    )
    return {str(check): (str(state), str(text)) for check, state, text in rows}


def test_the_panel_shows_what_needs_attention_and_the_worker_answers_a_test(
    health: Site, browser: Browser
) -> None:
    now = clock.now()
    for job in JOBS:
        record_run(health.engine, job, last_finished_at=now, last_outcome="idle")
    # relay_outbox runs every 30 s: ten minutes is stale
    record_run(health.engine, "relay_outbox", last_finished_at=now - timedelta(minutes=10))
    with health.engine.begin() as conn:
        record_failed_job(conn, "prorata.align_client", {"client_id": 1}, "f-1", "boom", now)
        conn.execute(
            sa.insert(outbox).values(
                event_id="o-1",
                task="prorata.invoice_paid",
                payload="{}",
                created_at=now - timedelta(minutes=10),
                attempts=1,
            )
        )
    health.redis.rpush(f"{health.queue}.dead", json.dumps({"event_id": "d-1"}))
    health.redis.rpush(f"{health.queue}.rejected", json.dumps({"reason": "not JSON"}))

    browser.goto(health.url + ADMIN)
    rows = panel_rows(browser)
    untested = 'Worker\tNot tested\tNot tested yet: use "Test connection".'
    assert rows["worker"] == ("unknown", untested)
    assert rows["beat-relay_outbox"][0] == "attention"
    assert "runs every 30 seconds" in rows["beat-relay_outbox"][1]
    assert rows["beat-reconcile_invoices"][0] == "ok"
    assert re.search(r"Last run \d s ago \(nothing to do\)", rows["beat-reconcile_invoices"][1])
    assert rows["failed-jobs"][0] == "attention" and "1 open" in rows["failed-jobs"][1]
    assert rows["outbox"][0] == "attention"
    assert "1 event waiting, since 10 min ago" in rows["outbox"][1]
    assert rows["dead-letters"] == (
        "attention",
        f"Dead letters\tAttention\t1 in the Redis list {health.queue}.dead.",
    )
    assert rows["rejected-messages"] == (
        "attention",
        f"Rejected messages\tAttention\t1 in the Redis list {health.queue}.rejected.",
    )
    assert browser.exists("#prorata-health.panel-warning")

    started = time.monotonic()
    browser.click("#prorata-test-connection")
    assert time.monotonic() - started < 5
    answer = browser.text("#prorata-test-result.alert-success")
    assert re.fullmatch(
        rf"The worker answered in \d+ ms: {re.escape(health.queue)}-\w+@test, "
        rf"version {re.escape(VERSION)}\.",
        answer,
    ), answer
    browser.screenshot(SCREENSHOTS / "admin-health.png")
    state, text = panel_rows(browser)["worker"]
    assert state == "ok" and re.search(r"Answered the last test \d s ago", text), text
    assert health.redis.llen(health.queue) == 0  # the worker took the ping

    # everything attended to: the panel is calm
    with health.engine.begin() as conn:
        conn.execute(sa.update(failed_jobs).values(resolved_at=now, resolution="succeeded"))
        conn.execute(sa.update(outbox).values(relayed_at=now))
    record_run(health.engine, "relay_outbox", last_finished_at=clock.now())
    health.redis.delete(f"{health.queue}.dead", f"{health.queue}.rejected")
    browser.goto(health.url + ADMIN)
    assert {state for state, _ in panel_rows(browser).values()} == {"ok"}
    assert browser.exists("#prorata-health.panel-default")


def test_the_test_without_a_worker_fails_clearly_and_a_forged_one_sends_nothing(
    health: Site, browser: Browser
) -> None:
    # the queue nobody reads: as far as WHMCS can tell, no worker runs
    health.configure(queue=health.dead_queue)
    browser.goto(health.url + ADMIN)
    page = post_from_page(browser, ADMIN, [("action", "test_connection"), ("token", "f" * 40)])
    assert "security token missing or invalid" in page
    assert health.redis.llen(health.dead_queue) == 0

    started = time.monotonic()
    browser.click("#prorata-test-connection")
    waited = time.monotonic() - started
    assert 2 <= waited < 5, waited
    assert browser.text("#prorata-test-result.alert-danger") == (
        f"No worker answered within 2 seconds on the queue {health.dead_queue}. "
        "Check that the worker runs, on this queue and this Redis."
    )
    [message] = health.redis.lrange(health.dead_queue, 0, -1)
    assert json.loads(message)["headers"]["task"] == "prorata.ping"
    state, text = panel_rows(browser)["worker"]
    assert state == "attention" and "Did not answer a preview or a test" in text

    # Redis away: the panel says so, the test sends nothing and says why
    health.configure(queue=health.dead_queue, redis_port=str(free_port()))
    browser.goto(health.url + ADMIN)
    rows = panel_rows(browser)
    assert rows["worker"][0] == rows["dead-letters"][0] == rows["rejected-messages"][0]
    assert rows["worker"][0] == "attention"
    assert "Redis cannot be reached" in rows["worker"][1]
    browser.click("#prorata-test-connection")
    assert "Nothing was sent, Redis cannot be reached" in browser.text("#prorata-test-result")


def test_the_panel_knows_the_beat_schedule() -> None:
    """The PHP panel's periods are the beat schedule's (a stale job is judged the same way)."""
    source = (ADDON_DIR / "lib" / "Admin" / "Controller" / "HealthController.php").read_text()
    block = re.search(r"JOB_PERIODS = \[(.*?)\];", source, re.S)
    assert block
    periods = {job: int(seconds) for job, seconds in re.findall(r"'(\w+)' => (\d+)", block[1])}
    assert periods == beat_periods(app.conf.beat_schedule)
