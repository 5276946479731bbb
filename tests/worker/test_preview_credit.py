"""The preview says what the client's credit will pay, as the alignment then applies it: each
new invoice in order, up to its total, none with NoAutoApplyCredit; `balance` is what is left
to pay on it, and it equals the invoice the alignment makes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.support.db_rows import row, seed
from tests.support.pinned_time import NOW
from worker import runtime
from worker.commands import AlignCommand
from worker.handlers.align import align_client
from worker.sandbox import build as sandbox
from worker.whmcs.schema import tblclients, tblinvoices

pytestmark = pytest.mark.usefixtures("pinned_clock", "captured_logs")

TODAY = "2024-06-01"


def client_with_credit(engine: Engine, credit: str) -> dict[str, int]:
    def build(conn: sa.Connection) -> dict[str, int]:
        c = sandbox.add_client(conn, "Cora", "Credit")
        web = sandbox.add_product(conn, "Web Hosting", taxed=False)
        ids = {"client": c}
        # two payment methods: two invoices, the credit goes to the first one first
        for name, gateway in (("bank", "banktransfer"), ("paypal", "paypal")):
            ids[name] = sandbox.add_service(
                conn,
                c,
                web,
                amount="30.00",
                cycle="Monthly",
                next_due="2024-06-16",
                gateway=gateway,
            )
        conn.execute(sa.update(tblclients).where(tblclients.c.id == c).values(credit=credit))
        return ids

    return seed(engine, build)


@pytest.mark.parametrize(
    ("credit", "no_auto_apply"), [("5.00", ""), ("20.00", ""), ("5.00", "on"), ("0.00", "")]
)
def test_the_preview_shows_the_credit_the_alignment_applies(
    engine: Engine, db_url: str, credit: str, no_auto_apply: str
) -> None:
    from tasks.align import preview_client_task

    ids = client_with_credit(engine, credit)
    with engine.begin() as conn:
        sandbox.set_configuration(conn, {"NoAutoApplyCredit": no_auto_apply})
    runtime.use_database(db_url)
    plan = preview_client_task.apply(kwargs={"client_id": ids["client"], "today": TODAY}).get()
    shown = [(Decimal(i["credit"]), Decimal(i["balance"])) for i in plan["invoices"]]
    assert len(shown) == 2

    result = align_client(
        engine,
        AlignCommand(
            event_id="credit-1",
            client_id=ids["client"],
            requested_by="admin:1",
            today=date.fromisoformat(TODAY),
        ),
        lambda: NOW,
    )
    made = [row(engine, tblinvoices, int(invoice["id"])) for invoice in result.invoices]
    assert shown == [(invoice["credit"], invoice["total"]) for invoice in made]
    expected = Decimal("0") if no_auto_apply else Decimal(credit)
    assert sum(credit for credit, _ in shown) == min(
        expected, sum(Decimal(i["total"]) for i in plan["invoices"])
    )
