"""Invoice totals read from and written to a WHMCS database as WHMCS 8's recompute makes them,
on SQLite and on MariaDB. Every tax setting a test depends on is set here explicitly, whatever
the sandbox seeds by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain.tax import TaxRateError, TaxRates, TotalsLine, invoice_totals, rates_for
from tests.support.db_rows import row, seed
from tests.support.pinned_time import NOW, T, clock
from worker.commands import AlignCommand
from worker.handlers.align import align_client
from worker.sandbox import build as sandbox
from worker.whmcs.invoices import recomputed_totals
from worker.whmcs.schema import tblconfiguration, tblinvoices
from worker.whmcs.settings_store import billing_config_from, read_billing_config

MISSING = None  # the tblconfiguration row does not exist


def configure(conn: Connection, values: dict[str, str | None]) -> None:
    """Set (or, for MISSING, delete) tblconfiguration rows."""
    present = {key: value for key, value in values.items() if value is not None}
    sandbox.set_configuration(conn, present)
    absent = [key for key, value in values.items() if value is None]
    if absent:
        conn.execute(sa.delete(tblconfiguration).where(tblconfiguration.c.setting.in_(absent)))


# ---- settings read as WHMCS tests them ----


@pytest.mark.parametrize(
    ("value", "on"),
    [
        pytest.param(None, False, id="missing"),
        pytest.param("", False, id="empty"),
        pytest.param("0", False, id="zero"),
        pytest.param("on", True, id="on"),
        pytest.param("1", True, id="one"),
        pytest.param("off", True, id="off-is-a-non-empty-string"),
        pytest.param(" ", True, id="space"),
        pytest.param("0.0", True, id="zero-point-zero"),
    ],
)
def test_flags_are_truthy_as_in_php(value: str | None, on: bool) -> None:
    rows = {"TaxEnabled": value, "TaxL2Compound": value, "TaxPerLineItem": value}
    setup = billing_config_from({k: v for k, v in rows.items() if v is not None}, []).tax
    assert (setup.enabled, setup.l2_compound, setup.per_line) == (on, on, on)


@pytest.mark.parametrize(
    ("value", "inclusive"),
    [
        pytest.param("Inclusive", True, id="Inclusive"),
        pytest.param("inclusive", False, id="lower-case"),
        pytest.param("Inclusive ", False, id="trailing-space"),
        pytest.param("Exclusive", False, id="Exclusive"),
        pytest.param("", False, id="empty"),
    ],
)
def test_tax_type_is_inclusive_only_when_exactly_inclusive(value: str, inclusive: bool) -> None:
    assert billing_config_from({"TaxType": value}, []).tax.inclusive is inclusive


def test_billing_config_is_read_from_the_database(engine: Engine) -> None:
    def build(conn: Connection) -> None:
        configure(
            conn,
            {
                "TaxEnabled": "0",
                "TaxType": "Inclusive",
                "TaxL2Compound": "on",
                "TaxPerLineItem": "1",
            },
        )

    seed(engine, build)
    with engine.connect() as conn:
        setup = read_billing_config(conn).tax
    assert (setup.enabled, setup.inclusive, setup.l2_compound, setup.per_line) == (
        False,
        True,
        True,
        True,
    )
    seed(engine, lambda conn: configure(conn, {"TaxPerLineItem": MISSING, "TaxEnabled": "on"}))
    with engine.connect() as conn:
        setup = read_billing_config(conn).tax
    assert (setup.enabled, setup.per_line) == (True, False)


def test_rates_come_from_tbltax_level_by_level_lowest_id_first(engine: Engine) -> None:
    def build(conn: Connection) -> None:
        configure(conn, {"TaxEnabled": "on"})
        sandbox.add_tax_rule(conn, 1, "20")  # global
        sandbox.add_tax_rule(conn, 1, "6.25", state="Texas")  # no country: never applies
        sandbox.add_tax_rule(conn, 1, "8.25", country="us", state="TEXAS")
        sandbox.add_tax_rule(conn, 1, "9.00", country="US", state="Texas")  # later id loses
        sandbox.add_tax_rule(conn, 2, "1.5", country="US")
        sandbox.add_tax_rule(conn, 2, "2.5", country="US")

    seed(engine, build)
    with engine.connect() as conn:
        setup = read_billing_config(conn).tax
    assert rates_for(setup, "US", "Texas", False) == TaxRates(Decimal("8.25"), Decimal("1.5"))
    assert rates_for(setup, "US", "Ohio", False) == TaxRates(Decimal("20"), Decimal("1.5"))
    assert rates_for(setup, "GB", "Texas", False) == TaxRates(Decimal("20"), Decimal("0"))


# ---- recompute of an invoice in the database ----


@dataclass(frozen=True)
class Case:
    config: dict[str, str | None]
    rates: tuple[str, str]
    lines: tuple[tuple[str, bool], ...]
    expected: tuple[str, str, str, str]  # subtotal, tax, tax2, total
    credit: str = "0.00"
    exempt: bool = False


A1 = (("10.05", True), ("20.10", True))
EXCLUSIVE = {"TaxEnabled": "on", "TaxType": "Exclusive", "TaxL2Compound": ""}
INCLUSIVE = {"TaxEnabled": "on", "TaxType": "Inclusive", "TaxL2Compound": ""}

CASES = {
    "a1": Case(
        {**EXCLUSIVE, "TaxPerLineItem": "1"}, ("19", "0"), A1, ("30.15", "5.73", "0.00", "35.88")
    ),
    "a3": Case(
        {**EXCLUSIVE, "TaxPerLineItem": "on"},
        ("10", "0"),
        (("0.05", True),) * 3,
        ("0.15", "0.03", "0.00", "0.18"),
    ),
    "a4-missing-row": Case(
        {**EXCLUSIVE, "TaxPerLineItem": MISSING},
        ("10", "0"),
        (("0.05", True),) * 3,
        ("0.15", "0.02", "0.00", "0.17"),
    ),
    "a4-zero": Case(
        {**EXCLUSIVE, "TaxPerLineItem": "0"},
        ("10", "0"),
        (("0.05", True),) * 3,
        ("0.15", "0.02", "0.00", "0.17"),
    ),
    "c": Case(
        {**INCLUSIVE, "TaxPerLineItem": "1"},
        ("10", "5"),
        (("115.00", True),),
        ("100.00", "10.00", "5.00", "115.00"),
    ),
    "d": Case(
        {**INCLUSIVE, "TaxL2Compound": "on", "TaxPerLineItem": "1"},
        ("10", "5"),
        (("115.50", True),),
        ("100.00", "10.00", "5.50", "115.50"),
    ),
    "e": Case(
        {**EXCLUSIVE, "TaxL2Compound": "on", "TaxPerLineItem": ""},
        ("10", "5"),
        (("100.00", True),),
        ("100.00", "10.00", "5.50", "115.50"),
    ),
    "f1": Case(
        {**INCLUSIVE, "TaxPerLineItem": "1"},
        ("19", "0"),
        (("10.00", True), ("10.00", True)),
        ("16.80", "3.20", "0.00", "20.00"),
    ),
    "f2": Case(
        {**INCLUSIVE, "TaxPerLineItem": ""},
        ("19", "0"),
        (("10.00", True), ("10.00", True)),
        ("16.81", "3.19", "0.00", "20.00"),
    ),
    "g1": Case(
        {**EXCLUSIVE, "TaxPerLineItem": "1"},
        ("19", "0"),
        A1,
        ("30.15", "5.73", "0.00", "25.88"),
        credit="10.00",
    ),
    "g2": Case(
        {**EXCLUSIVE, "TaxPerLineItem": "1"},
        ("19", "0"),
        A1,
        ("30.15", "5.73", "0.00", "0.00"),
        credit="50.00",
    ),
    "untaxed-line-and-exempt-client": Case(
        {**EXCLUSIVE, "TaxPerLineItem": "1"},
        ("19", "0"),
        (("10.05", True), ("5.00", False)),
        ("15.05", "0.00", "0.00", "15.05"),
        exempt=True,
    ),
    "tax-disabled-0": Case(
        {**INCLUSIVE, "TaxEnabled": "0", "TaxPerLineItem": "1"},
        ("19", "0"),
        A1,
        ("30.15", "0.00", "0.00", "30.15"),
    ),
}


def seed_invoice(conn: Connection, case: Case) -> int:
    configure(conn, case.config)
    client = sandbox.add_client(conn, "Tess", "Tax", country="DE", tax_exempt=case.exempt)
    items: list[dict[str, object]] = [
        {"type": "", "relid": 0, "description": f"line {n}", "amount": amount, "taxed": taxed}
        for n, (amount, taxed) in enumerate(case.lines)
    ]
    invoice = sandbox.add_invoice(conn, client, items, when="2024-06-01", credit=case.credit)
    # the rates frozen on the invoice when it was made; the recompute reads only these
    conn.execute(
        sa.update(tblinvoices)
        .where(tblinvoices.c.id == invoice)
        .values(taxrate=Decimal(case.rates[0]), taxrate2=Decimal(case.rates[1]))
    )
    return invoice


@pytest.mark.parametrize("name", list(CASES))
def test_recomputed_totals_of_an_invoice_in_the_database(engine: Engine, name: str) -> None:
    case = CASES[name]
    invoice = seed(engine, lambda conn: seed_invoice(conn, case))

    with engine.connect() as conn:
        totals = recomputed_totals(conn, invoice)

    assert totals is not None
    got = tuple(f"{value:f}" for value in (totals.subtotal, totals.tax, totals.tax2, totals.total))
    assert got == case.expected
    assert (totals.taxrate, totals.taxrate2, totals.credit) == (
        Decimal(case.rates[0]),
        Decimal(case.rates[1]),
        Decimal(case.credit),
    )
    # the same figures as the domain gives for the same invoice
    with engine.connect() as conn:
        setup = read_billing_config(conn).tax
    expected = invoice_totals(
        [TotalsLine(Decimal(amount), taxed) for amount, taxed in case.lines],
        TaxRates(Decimal(case.rates[0]), Decimal(case.rates[1])),
        setup,
        Decimal(case.credit),
        tax_exempt=case.exempt,
    )
    assert (totals.subtotal, totals.tax, totals.tax2, totals.total) == (
        expected.subtotal,
        expected.tax,
        expected.tax2,
        expected.total,
    )


def test_recomputed_totals_of_a_missing_invoice_are_none(engine: Engine) -> None:
    with engine.connect() as conn:
        assert recomputed_totals(conn, 999) is None


def test_recompute_refuses_rates_over_100_percent(engine: Engine) -> None:
    case = Case({**EXCLUSIVE, "TaxPerLineItem": "1"}, ("60", "45"), A1, ("", "", "", ""))
    invoice = seed(engine, lambda conn: seed_invoice(conn, case))
    with engine.connect() as conn, pytest.raises(TaxRateError, match="exceed 100 %"):
        recomputed_totals(conn, invoice)


# ---- the totals an alignment writes ----


def align(engine: Engine, client: int) -> list[dict[str, object]]:
    command = AlignCommand(event_id="tax-1", client_id=client, requested_by="admin", today=T)
    result = align_client(engine, command, clock(NOW))
    assert result.status == "aligned", result
    return result.invoices


def figures(invoice: dict[str, object]) -> tuple[object, ...]:
    return tuple(
        invoice[key] for key in ("subtotal", "tax", "tax2", "total", "taxrate", "taxrate2")
    )


@pytest.mark.parametrize(
    ("per_line", "expected"),
    [
        # each line 18.75 * 16/30 = 10.00; 10.00 / 1.19 = 8.4034: T = 1.60 a line
        pytest.param("1", ("16.80", "3.20", "0.00", "20.00", "19.000", "0.000"), id="per-line"),
        # 20.00 / 1.19 = 16.8067: T = R(3.1933) = 3.19
        pytest.param("", ("16.81", "3.19", "0.00", "20.00", "19.000", "0.000"), id="on-sum"),
    ],
)
def test_a_new_alignment_invoice_rounds_inclusive_tax_as_configured(
    engine: Engine, per_line: str, expected: tuple[str, ...]
) -> None:
    def build(conn: Connection) -> int:
        configure(conn, {**INCLUSIVE, "TaxPerLineItem": per_line})
        sandbox.add_tax_rule(conn, 1, "19", country="DE")
        client = sandbox.add_client(conn, "Dora", "Deutsch", country="DE")
        product = sandbox.add_product(conn, "Web Hosting", taxed=True)
        for _ in range(2):
            sandbox.add_service(
                conn, client, product, amount="18.75", cycle="Monthly", next_due="2024-06-15"
            )
        return client

    client = seed(engine, build)
    [created] = align(engine, client)
    invoice = row(engine, tblinvoices, int(str(created["id"])))
    assert figures(invoice) == tuple(Decimal(value) for value in expected)


def test_a_new_inclusive_two_level_invoice_divides_by_both_rates(engine: Engine) -> None:
    def build(conn: Connection) -> int:
        configure(conn, {**INCLUSIVE, "TaxPerLineItem": "1"})
        sandbox.add_tax_rule(conn, 1, "10")
        sandbox.add_tax_rule(conn, 2, "5")
        client = sandbox.add_client(conn, "Ian", "Inclusive", country="US")
        product = sandbox.add_product(conn, "Web Hosting", taxed=True)
        sandbox.add_service(
            conn, client, product, amount="30.00", cycle="Monthly", next_due="2024-06-15"
        )
        return client

    client = seed(engine, build)
    [created] = align(engine, client)
    invoice = row(engine, tblinvoices, int(str(created["id"])))
    # 16.00 / 1.15 = 13.913: T1 = R(1.3913) = 1.39, T2 = R(0.6957) = 0.70, net 16 - 2.09
    assert figures(invoice) == tuple(
        Decimal(value) for value in ("13.91", "1.39", "0.70", "16.00", "10.000", "5.000")
    )


def test_a_rewritten_invoice_rounds_per_line_with_its_own_rates(engine: Engine) -> None:
    def build(conn: Connection) -> tuple[int, int]:
        configure(conn, {**EXCLUSIVE, "TaxPerLineItem": "1"})
        sandbox.add_tax_rule(conn, 1, "20")  # today's rule; the invoice keeps its own 10 %
        client = sandbox.add_client(conn, "Rita", "Rewrite", country="US")
        product = sandbox.add_product(conn, "Web Hosting", taxed=True)
        web = sandbox.add_service(
            conn, client, product, amount="30.00", cycle="Monthly", next_due="2024-06-15"
        )
        items: list[dict[str, object]] = [
            {"type": "Hosting", "relid": web, "amount": "30.00", "taxed": True},
            {"type": "Domain", "relid": 1, "amount": "0.05", "taxed": True},
            {"type": "Domain", "relid": 2, "amount": "0.05", "taxed": True},
            {"type": "Item", "relid": 3, "amount": "0.05", "taxed": True},
        ]
        invoice = sandbox.add_invoice(conn, client, items, when="2024-05-25", due="2024-06-15")
        conn.execute(sa.update(tblinvoices).where(tblinvoices.c.id == invoice).values(taxrate=10))
        return client, invoice

    client, invoice = seed(engine, build)
    align(engine, client)
    kept = row(engine, tblinvoices, invoice)
    # three 0.05 lines left at 10 %: 3 * R(0.005) = 0.03, as in example a3
    assert figures(kept) == tuple(
        Decimal(value) for value in ("0.15", "0.03", "0.00", "0.18", "10.000", "0.000")
    )
    with engine.connect() as conn:
        again = recomputed_totals(conn, invoice)
    assert again is not None
    assert (again.subtotal, again.tax, again.tax2, again.total) == (
        kept["subtotal"],
        kept["tax"],
        kept["tax2"],
        kept["total"],
    )
