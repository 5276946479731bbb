"""WHMCS 8's recurring invoice run (cron task CreateInvoices), for services and addons, as a
model the tests apply to a sandbox database to see what WHMCS would invoice.

(Over 400 lines: the model follows WHMCS's invoice run step by step, in its order; split, the
steps would lose the order they run in.)

It follows whmcs/whmcs8-billing.md section 4, in its order (4.1):
  1. thresholds: today + CreateInvoiceDaysBefore, or the cycle's own override when truthy;
  2. generation (4.2, 4.3, 4.5): services by domain, each followed by its addons, then the
     other addons; one line each, with invoiceid 0, unless the duplicate guard finds a line
     of that type, relid and due date on any invoice or none (no status condition);
  3. the AfterInvoicingGenerateInvoiceItems hook: `after_generate`, which the tests make
     the addon's real PHP hook;
  4. grouping (4.1 step 5, 3.2): one Unpaid invoice per (client, due date, payment method)
     over every line still at invoiceid 0, totals recomputed, the activity log line; in
     continuous mode each invoiced line moves its next invoice date one cycle on (4.4).
The match date is `nextinvoicedate` with ContinuousInvoiceGeneration on, `nextduedate` off.

Left out, because the sandbox has no tables for them (none concerns the old period):
domains, billable items, promotions (PromoHosting lines), the recurring-cycle limit,
clients with separate invoices, group discounts, credit, e-mails and hooks other than
AfterInvoicingGenerateInvoiceItems, and the prorata first period of a new service.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain.money import ZERO
from domain.tax import Totals
from worker.whmcs.activity import log_activity
from worker.whmcs.invoices import create_invoice, recomputed_totals, write_totals
from worker.whmcs.schema import (
    tbladdons,
    tblclients,
    tblconfiguration,
    tblhosting,
    tblhostingaddons,
    tblinvoiceitems,
    tblproducts,
    tbltax,
)

CYCLE_MONTHS = {
    "Monthly": 1,
    "Quarterly": 3,
    "Semi-Annually": 6,
    "Annually": 12,
    "Biennially": 24,
    "Triennially": 36,
}
ONE_TIME = "One Time"
FREE_CYCLES = ("Free", "Free Account")
SELECTED_STATUSES = ("Pending", "Active", "Suspended")
# the per-cycle override of CreateInvoiceDaysBefore, as tblconfiguration spells it
DAYS_BEFORE_SETTING = {
    cycle: "CreateInvoiceDaysBefore" + cycle.replace("-", "") for cycle in CYCLE_MONTHS
}
ZERO_DATE = "0000-00-00"


def truthy(value: str | None) -> bool:
    """PHP's truthiness of a setting: "" and "0" are off, anything else on."""
    return value not in (None, "", "0")


def add_months(day: date, months: int) -> date:
    """PHP mktime() month arithmetic: the day is kept and overflows into the next month
    (2024-01-31 + 1 month = 2024-03-02)."""
    index = day.year * 12 + day.month - 1 + months
    first = date(index // 12, index % 12 + 1, 1)
    return first + timedelta(days=day.day - 1)


@dataclass(frozen=True)
class RunConfig:
    continuous: bool
    days_before: int
    per_cycle: Mapping[str, int]
    tax_enabled: bool

    def threshold(self, today: date, cycle: str) -> date:
        return today + timedelta(days=self.per_cycle.get(cycle) or self.days_before)


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def read_config(conn: Connection) -> RunConfig:
    settings = {
        setting: value or ""
        for setting, value in conn.execute(
            sa.select(tblconfiguration.c.setting, tblconfiguration.c.value)
        )
    }
    return RunConfig(
        continuous=truthy(settings.get("ContinuousInvoiceGeneration")),
        days_before=_int(settings.get("CreateInvoiceDaysBefore")),
        per_cycle={
            cycle: _int(settings.get(name))
            for cycle, name in DAYS_BEFORE_SETTING.items()
            if truthy(settings.get(name))
        },
        tax_enabled=truthy(settings.get("TaxEnabled")),
    )


@dataclass(frozen=True)
class Line:
    id: int
    invoiceid: int
    userid: int
    type: str
    relid: int
    duedate: date | None
    amount: Decimal


@dataclass
class RunResult:
    generated: list[Line] = field(default_factory=list)  # staged by generation
    invoices: list[int] = field(default_factory=list)  # created by grouping
    invoiced: list[Line] = field(default_factory=list)  # the lines those invoices hold

    def billed(self, item_type: str, relid: int) -> list[date | None]:
        """The due dates this run invoiced for one service (addon) and line type."""
        return [ln.duedate for ln in self.invoiced if (ln.type, ln.relid) == (item_type, relid)]


def _lines(conn: Connection, *where: Any) -> list[Line]:
    query = sa.select(tblinvoiceitems).where(*where).order_by(tblinvoiceitems.c.id)
    return [
        Line(
            id=int(r.id),
            invoiceid=int(r.invoiceid),
            userid=int(r.userid),
            type=str(r.type),
            relid=int(r.relid),
            duedate=r.duedate,
            amount=r.amount,
        )
        for r in conn.execute(query)
    ]


def _cancel_requested(conn: Connection) -> set[int]:
    """Services with any cancellation request (tblcancelrequests.relid), where the table exists."""
    if not sa.inspect(conn).has_table("tblcancelrequests"):
        return set()
    requests = sa.table("tblcancelrequests", sa.column("relid"))
    return {int(relid) for (relid,) in conn.execute(sa.select(requests.c.relid))}


def _due_for_run(row: Any, match: date | None, today: date, config: RunConfig) -> bool:
    """4.2: both dates set, and (a recurring cycle due by its threshold, or One Time)."""
    if row.nextduedate is None or row.nextinvoicedate is None or match is None:
        return False
    cycle = str(row.billingcycle)
    if cycle == ONE_TIME:
        return True
    return cycle in CYCLE_MONTHS and match <= config.threshold(today, cycle)


def _already_billed(conn: Connection, userid: int, item_type: str, relid: int, due: date) -> bool:
    """4.3, the only guard: any line of that type, relid and due date, whatever its invoice."""
    query = sa.select(sa.func.count()).where(
        tblinvoiceitems.c.userid == userid,
        tblinvoiceitems.c.type == item_type,
        tblinvoiceitems.c.relid == relid,
        tblinvoiceitems.c.duedate == due,
    )
    return bool(conn.execute(query).scalar())


def _any_hosting_line(conn: Connection, userid: int, relid: int) -> bool:
    query = sa.select(tblinvoiceitems.c.id).where(
        tblinvoiceitems.c.userid == userid,
        tblinvoiceitems.c.type == "Hosting",
        tblinvoiceitems.c.relid == relid,
    )
    return conn.execute(query).first() is not None


def _next_invoice_after(table: sa.Table, relid: int, cycle: str, due: date) -> Any:
    value: date | str = ZERO_DATE if cycle == ONE_TIME else add_months(due, CYCLE_MONTHS[cycle])
    return sa.update(table).where(table.c.id == relid).values(nextinvoicedate=value)


def _period(start: date, cycle: str) -> str:
    if cycle not in CYCLE_MONTHS:
        return ""
    end = add_months(start, CYCLE_MONTHS[cycle]) - timedelta(days=1)
    return f" ({start:%d/%m/%Y} - {end:%d/%m/%Y})"


def stage_line(
    conn: Connection,
    *,
    userid: int,
    item_type: str,
    relid: int,
    description: str,
    amount: Decimal,
    taxed: bool,
    due: date,
    gateway: str = "banktransfer",
    invoice: int = 0,
) -> int:
    """A line as the run writes it: staged (invoiceid 0) unless `invoice` is given."""
    inserted = conn.execute(
        sa.insert(tblinvoiceitems).values(
            invoiceid=invoice,
            userid=userid,
            type=item_type,
            relid=relid,
            description=description,
            amount=amount,
            taxed=1 if taxed else 0,
            duedate=due,
            paymentmethod=gateway,
            notes="",
        )
    )
    assert inserted.inserted_primary_key is not None
    return int(inserted.inserted_primary_key[0])


def _service_line(conn: Connection, row: Any, today: date, config: RunConfig) -> None:
    match = row.nextinvoicedate if config.continuous else row.nextduedate
    if not _due_for_run(row, match, today, config):
        return
    if _already_billed(conn, row.userid, "Hosting", row.id, match):
        if config.continuous and row.billingcycle != ONE_TIME:  # the catch-up of 4.4
            conn.execute(_next_invoice_after(tblhosting, row.id, row.billingcycle, match))
        return
    if (
        config.continuous
        and row.domainstatus == "Pending"
        and _any_hosting_line(conn, row.userid, row.id)
    ):
        return  # "first invoice only"
    first_period = row.regdate is not None and row.regdate == match
    name = row.product_name or f"Service #{row.id}"
    stage_line(
        conn,
        userid=row.userid,
        item_type="Hosting",
        relid=row.id,
        description=name
        + (f" - {row.domain}" if row.domain else "")
        + _period(match, row.billingcycle),
        amount=row.firstpaymentamount if first_period else row.amount,
        taxed=bool(row.product_tax) and config.tax_enabled,
        due=match,
        gateway=row.paymentmethod,
    )


def _addon_line(conn: Connection, row: Any, today: date, config: RunConfig) -> None:
    match = row.nextinvoicedate if config.continuous else row.nextduedate
    if not _due_for_run(row, match, today, config):
        return
    if _already_billed(conn, row.userid, "Addon", row.id, match):
        if config.continuous and row.billingcycle != ONE_TIME:
            conn.execute(_next_invoice_after(tblhostingaddons, row.id, row.billingcycle, match))
        return
    first_period = row.regdate is not None and row.regdate == match
    stage_line(
        conn,
        userid=row.userid,
        item_type="Addon",
        relid=row.id,
        description=(row.name or row.addon_name or f"Addon #{row.id}")
        + _period(match, row.billingcycle),
        amount=row.recurring + (row.setupfee if first_period else Decimal("0")),
        taxed=truthy(row.tax) and config.tax_enabled,
        due=match,
        gateway=row.paymentmethod,
    )


def generate(conn: Connection, today: date, config: RunConfig) -> list[Line]:
    """Step 3 of 4.1 for services and addons; the lines it staged."""
    first_new = int(conn.execute(sa.select(sa.func.max(tblinvoiceitems.c.id))).scalar() or 0)
    cancelled = _cancel_requested(conn)
    services = list(
        conn.execute(
            sa.select(
                tblhosting,
                tblproducts.c.name.label("product_name"),
                tblproducts.c.tax.label("product_tax"),
            )
            .select_from(
                tblhosting.outerjoin(tblproducts, tblproducts.c.id == tblhosting.c.packageid)
            )
            .where(
                tblhosting.c.domainstatus.in_(SELECTED_STATUSES),
                tblhosting.c.billingcycle.not_in(FREE_CYCLES),
            )
            .order_by(tblhosting.c.domain, tblhosting.c.id)
        )
    )
    addons = list(
        conn.execute(
            sa.select(tblhostingaddons, tbladdons.c.name.label("addon_name"))
            .select_from(
                tblhostingaddons.outerjoin(tbladdons, tbladdons.c.id == tblhostingaddons.c.addonid)
            )
            .where(
                tblhostingaddons.c.status.in_(SELECTED_STATUSES),
                tblhostingaddons.c.billingcycle.not_in(FREE_CYCLES),
                tblhostingaddons.c.hostingid.not_in(sorted(cancelled) or [0]),
            )
            .order_by(tblhostingaddons.c.id)
        )
    )
    by_parent: dict[int, list[Any]] = defaultdict(list)
    for addon in addons:
        by_parent[int(addon.hostingid)].append(addon)
    for service in services:
        if service.id in cancelled:
            continue
        _service_line(conn, service, today, config)
        for addon in by_parent.pop(int(service.id), []):
            _addon_line(conn, addon, today, config)
    for rest in by_parent.values():
        for addon in rest:
            _addon_line(conn, addon, today, config)
    return _lines(conn, tblinvoiceitems.c.id > first_new, tblinvoiceitems.c.invoiceid == 0)


def _rates(conn: Connection, userid: int, config: RunConfig) -> tuple[Decimal, Decimal]:
    """2.1: level 1 and 2 rates from tbltax (state + country, country, global)."""
    client = conn.execute(
        sa.select(tblclients.c.state, tblclients.c.country, tblclients.c.taxexempt).where(
            tblclients.c.id == userid
        )
    ).one()
    if not config.tax_enabled or client.taxexempt:
        return Decimal("0"), Decimal("0")
    rates = []
    for level in (1, 2):
        found = None
        for state, country in ((client.state, client.country), ("", client.country), ("", "")):
            found = conn.execute(
                sa.select(tbltax.c.taxrate).where(
                    tbltax.c.level == level, tbltax.c.state == state, tbltax.c.country == country
                )
            ).scalar()
            if found is not None:
                break
        rates.append(found if found is not None else Decimal("0"))
    return rates[0], rates[1]


def group(conn: Connection, today: date, now: datetime, config: RunConfig) -> list[int]:
    """Step 5 of 4.1 with 3.2: an invoice per (client, due date, payment method)."""
    staged = tblinvoiceitems.c.invoiceid == 0
    keys = list(
        conn.execute(
            sa.select(
                tblinvoiceitems.c.userid,
                tblinvoiceitems.c.duedate,
                tblinvoiceitems.c.paymentmethod,
            )
            .where(staged)
            .group_by(
                tblinvoiceitems.c.userid,
                tblinvoiceitems.c.duedate,
                tblinvoiceitems.c.paymentmethod,
            )
            .order_by(tblinvoiceitems.c.duedate, sa.func.min(tblinvoiceitems.c.id))
        )
    )
    created = []
    for userid, due, gateway in keys:
        same = sa.and_(
            staged,
            tblinvoiceitems.c.userid == userid,
            tblinvoiceitems.c.duedate == due,
            tblinvoiceitems.c.paymentmethod == gateway,
        )
        if conn.execute(sa.select(tblinvoiceitems.c.id).where(same)).first() is None:
            continue  # 3.2 step 1: gone since
        rate1, rate2 = _rates(conn, userid, config)
        # 3.2 step 2: the invoice row as WHMCS writes it (status Unpaid, due = the lines')
        invoice_id = create_invoice(
            conn,
            client_id=userid,
            invoice_date=today,
            due_date=due,
            payment_method=gateway,
            totals=Totals(ZERO, ZERO, ZERO, ZERO, rate1, rate2),
            lines=[],
            now=now,
        ).id
        conn.execute(sa.update(tblinvoiceitems).where(same).values(invoiceid=invoice_id))
        log_activity(conn, userid, f"Created Invoice - Invoice ID: {invoice_id}", now)
        totals = recomputed_totals(conn, invoice_id)
        assert totals is not None
        write_totals(conn, invoice_id, totals, now)
        if config.continuous:
            for line in _lines(conn, tblinvoiceitems.c.invoiceid == invoice_id):
                _advance(conn, line)
        created.append(invoice_id)
    return created


def _advance(conn: Connection, line: Line) -> None:
    """3.2 step 8 / 4.4: the next invoice date of an invoiced renewal, one cycle on."""
    table = {"Hosting": tblhosting, "Addon": tblhostingaddons}.get(line.type)
    if table is None or line.duedate is None:
        return
    cycle = conn.execute(sa.select(table.c.billingcycle).where(table.c.id == line.relid)).scalar()
    if cycle in CYCLE_MONTHS or cycle == ONE_TIME:
        conn.execute(_next_invoice_after(table, line.relid, str(cycle), line.duedate))


def invoice_run(
    engine: Engine,
    today: date,
    now: datetime,
    after_generate: Callable[[], object] | None = None,
) -> RunResult:
    """One run. Generation and grouping commit apart, as in WHMCS, so that the hook (another
    process) sees the staged lines and grouping sees what the hook left."""
    result = RunResult()
    with engine.begin() as conn:
        config = read_config(conn)
        result.generated = generate(conn, today, config)
    if after_generate is not None:
        after_generate()
    with engine.begin() as conn:
        result.invoices = group(conn, today, now, config)
        if result.invoices:
            result.invoiced = _lines(conn, tblinvoiceitems.c.invoiceid.in_(result.invoices))
    return result
