"""Unsuspension after payment, through a real worker: once the payment event has committed,
the worker calls WHMCS's API ModuleUnsuspend for the suspended service; a failing API is
retried after a back-off and the call succeeds once in total; a repeated event or a second
run of the task sends nothing; the beat pass re-offers a row the worker never sent."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.clients import suspended_client
from tests.support.processes import wait_until
from tests.support.whmcs_api import fake_whmcs_api
from worker import clock
from worker.commands import AlignCommand
from worker.handlers.align import align_client
from worker.own_schema import unsuspensions
from worker.sandbox import build as sandbox
from worker.sandbox.whmcs_sim import pay_invoice
from worker.whmcs.schema import tblactivitylog, tblhosting

pytestmark = [pytest.mark.celery, pytest.mark.mariadb, pytest.mark.clock]


def test_paid_alignment_unsuspends_once_through_the_api(
    sandbox_db: Any, producer: Any, start_worker: Any
) -> None:
    url, engine = sandbox_db
    today = clock.today()
    overdue = today - timedelta(days=3)
    with engine.begin() as conn:
        ids = suspended_client(conn, overdue)
        # a second suspended service whose row the worker never sent (it died first)
        other = sandbox.add_service(
            conn, ids["client"], ids["product"], amount="9.00", cycle="Monthly",
            next_due=None, status="Suspended",
        )  # fmt: skip
    day = 28 if overdue.day != 28 else 27
    command = AlignCommand(
        event_id="align-1", client_id=ids["client"], requested_by="admin", today=today, day=day
    )
    [invoice] = [int(i["id"]) for i in align_client(engine, command, clock.now).invoices]
    pay_invoice(engine, invoice, clock.now())

    def module_unsuspended(form: dict[str, str]) -> None:
        # what WHMCS does when the module's Unsuspend succeeds
        with engine.begin() as conn:
            conn.execute(
                sa.update(tblhosting)
                .where(tblhosting.c.id == int(form["serviceid"]))
                .values(domainstatus="Active", suspendreason="")
            )

    with fake_whmcs_api([500, 200], module_unsuspended) as api:
        start_worker(
            url,
            app=producer,
            env={
                "PRORATA_WHMCS_API_URL": api.url,
                "PRORATA_WHMCS_API_IDENTIFIER": "api-identifier",
                "PRORATA_WHMCS_API_SECRET": "api-secret",
                # longer than the first back-off (10 s): the retry is not handed out twice
                "PRORATA_VISIBILITY_TIMEOUT": "120",
            },
        )
        paid = {"event_id": f"paid-{uuid.uuid4()}", "invoice_id": invoice}
        assert (
            producer.send_task("prorata.invoice_paid", kwargs=paid).get(timeout=30)["outcome"]
            == "applied"
        )

        wait_until(lambda: len(api.snapshot()) >= 2, timeout=40, interval=0.2, what="the retry")
        time.sleep(1.0)  # nothing more comes
        calls = api.snapshot()
        assert len(calls) == 2, calls
        for call in calls:
            assert call == {
                "identifier": "api-identifier",
                "secret": "api-secret",
                "action": "ModuleUnsuspend",
                "responsetype": "json",
                "serviceid": str(ids["web"]),
            }
        with engine.connect() as conn:
            [row] = conn.execute(sa.select(unsuspensions)).all()
            log = [line for (line,) in conn.execute(sa.select(tblactivitylog.c.description))]
            status = conn.execute(
                sa.select(tblhosting.c.domainstatus).where(tblhosting.c.id == ids["web"])
            ).scalar()
        assert (row.service_id, row.invoice_id) == (ids["web"], invoice)
        assert (row.state, row.attempts, row.last_error) == ("done", 2, None)
        assert status == "Active"
        assert [line for line in log if "through WHMCS's API" in line] == [
            f"Prorated Next Due Date: service #{ids['web']} unsuspended through WHMCS's API "
            f"(ModuleUnsuspend), invoice #{invoice} paid"
        ]

        # the payment event again (another event id), and the task run a second time
        again = {"event_id": f"paid-{uuid.uuid4()}", "invoice_id": invoice}
        producer.send_task("prorata.invoice_paid", kwargs=again).get(timeout=30)
        rerun = producer.send_task("prorata.unsuspend_service", kwargs={"unsuspension_id": row.id})
        assert rerun.get(timeout=30)["outcome"] == "nothing"

        # the beat pass: a row left waiting for 20 minutes is offered again
        stamp = clock.now() - timedelta(minutes=20)
        with engine.begin() as conn:
            conn.execute(
                sa.insert(unsuspensions).values(
                    service_id=other, client_id=ids["client"], invoice_id=invoice,
                    state="waiting", attempts=0, created_at=stamp, updated_at=stamp,
                )
            )  # fmt: skip
        offered = producer.send_task("prorata.reoffer_unsuspensions").get(timeout=30)
        assert offered == {"released": 0, "offered": 1}
        wait_until(lambda: len(api.snapshot()) >= 3, timeout=20, what="the re-offered call")
        time.sleep(1.0)
        calls = api.snapshot()
        assert len(calls) == 3, calls
        assert calls[2]["serviceid"] == str(other)
