"""Invoice totals with tax, and the choice of the tax rules that apply to a client."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from domain_factories import plan, service

from domain.model import BillingConfig, Client
from domain.tax import TaxRates, TaxRule, TaxSetup, TotalsLine, invoice_totals, rates_for

EXCLUSIVE = TaxSetup(enabled=True, inclusive=False, l2_compound=False)
EXCLUSIVE_COMPOUND = TaxSetup(enabled=True, inclusive=False, l2_compound=True)
INCLUSIVE = TaxSetup(enabled=True, inclusive=True, l2_compound=False)
INCLUSIVE_COMPOUND = TaxSetup(enabled=True, inclusive=True, l2_compound=True)
DISABLED = TaxSetup(enabled=False, inclusive=False, l2_compound=False)


def taxed(amount: str) -> TotalsLine:
    return TotalsLine(Decimal(amount), taxed=True)


def untaxed(amount: str) -> TotalsLine:
    return TotalsLine(Decimal(amount), taxed=False)


def rates(level1: str, level2: str = "0") -> TaxRates:
    return TaxRates(Decimal(level1), Decimal(level2))


def figures(lines: list[TotalsLine], tax_rates: TaxRates, setup: TaxSetup) -> tuple[str, ...]:
    totals = invoice_totals(lines, tax_rates, setup)
    return tuple(f"{value:f}" for value in (totals.subtotal, totals.tax, totals.tax2, totals.total))


@pytest.mark.parametrize(
    ("lines", "tax_rates", "setup", "expected"),
    [
        # 16.00 * 20/100 = 3.20; total 16.00 + 3.20 = 19.20
        pytest.param([taxed("16.00")], rates("20"), EXCLUSIVE,
                     ("16.00", "3.20", "0.00", "19.20"), id="exclusive"),
        # 10.00 * 20/100 = 2.00 on the taxed line only; total 15.00 + 2.00
        pytest.param([taxed("10.00"), untaxed("5.00")], rates("20"), EXCLUSIVE,
                     ("15.00", "2.00", "0.00", "17.00"), id="exclusive-untaxed-line"),
        # no taxed line: no tax at all
        pytest.param([untaxed("10.00")], rates("20", "5"), EXCLUSIVE,
                     ("10.00", "0.00", "0.00", "10.00"), id="exclusive-only-untaxed"),
        # the sum of the lines 24.00 holds the tax: 24/120 * 20 = 4.00; subtotal 24 - 4
        pytest.param([taxed("16.00"), taxed("8.00")], rates("20"), INCLUSIVE,
                     ("20.00", "4.00", "0.00", "24.00"), id="inclusive"),
        # 10/119 * 19 = 1.5966 -> 1.60; subtotal 10.00 - 1.60 = 8.40
        pytest.param([taxed("10.00")], rates("19"), INCLUSIVE,
                     ("8.40", "1.60", "0.00", "10.00"), id="inclusive-19"),
        # 12/120 * 20 = 2.00 out of the taxed line; total 17.00; subtotal 17.00 - 2.00
        pytest.param([taxed("12.00"), untaxed("5.00")], rates("20"), INCLUSIVE,
                     ("15.00", "2.00", "0.00", "17.00"), id="inclusive-untaxed-line"),
        # level 2 on the same base: 100 * 10% = 10.00, 100 * 5% = 5.00
        pytest.param([taxed("100.00")], rates("10", "5"), EXCLUSIVE,
                     ("100.00", "10.00", "5.00", "115.00"), id="exclusive-level2"),
        # level 2 compounds on level 1: (100 + 10) * 5% = 5.50
        pytest.param([taxed("100.00")], rates("10", "5"), EXCLUSIVE_COMPOUND,
                     ("100.00", "10.00", "5.50", "115.50"), id="exclusive-level2-compound"),
        # compound and an untaxed line: (40 + 4) * 10% = 4.40 on the taxed 40.00 only
        pytest.param([taxed("40.00"), untaxed("60.00")], rates("10", "10"), EXCLUSIVE_COMPOUND,
                     ("100.00", "4.00", "4.40", "108.40"), id="exclusive-compound-untaxed"),
        # inclusive compound: 121.00 = 100 * 1.10 * 1.10: tax 10.00, tax2 11.00
        pytest.param([taxed("121.00")], rates("10", "10"), INCLUSIVE_COMPOUND,
                     ("100.00", "10.00", "11.00", "121.00"), id="inclusive-level2-compound"),
        # TaxEnabled off: rates are ignored
        pytest.param([taxed("16.00")], rates("20", "5"), DISABLED,
                     ("16.00", "0.00", "0.00", "16.00"), id="tax-disabled"),
        # a tie: 10.05 * 10/100 = 1.005 -> 1.01 (half away from zero)
        pytest.param([taxed("10.05")], rates("10"), EXCLUSIVE,
                     ("10.05", "1.01", "0.00", "11.06"), id="exclusive-tie"),
    ],
)  # fmt: skip
def test_invoice_totals(
    lines: list[TotalsLine], tax_rates: TaxRates, setup: TaxSetup, expected: tuple[str, ...]
) -> None:
    assert figures(lines, tax_rates, setup) == expected


def test_inclusive_level2_keeps_the_total_and_the_subtotal_identity() -> None:
    # 115.00 taxed inclusive at 10 % (level 1) and 5 % (level 2, not compound):
    # tax = 115/110 * 10 = 10.4545 -> 10.45; the total stays the sum of the lines.
    totals = invoice_totals([taxed("115.00")], rates("10", "5"), INCLUSIVE)
    assert totals.total == Decimal("115.00")
    assert totals.tax == Decimal("10.45")
    assert totals.subtotal == totals.total - totals.tax - totals.tax2


def test_totals_record_the_rates() -> None:
    totals = invoice_totals([taxed("1.00")], rates("19", "7.5"), EXCLUSIVE)
    assert (totals.taxrate, totals.taxrate2) == (Decimal("19"), Decimal("7.5"))


def rule(id: int, rate: str, country: str = "", state: str = "", level: int = 1) -> TaxRule:
    return TaxRule(id=id, level=level, name=f"rule {id}", country=country, state=state,
                   rate=Decimal(rate))  # fmt: skip


RULES = (
    rule(1, "5.00"),  # anyone
    rule(2, "19.00", country="DE"),
    rule(3, "7.00", country="DE", state="Bayern"),
    rule(4, "20.00", country="FR"),
    rule(5, "1.00", level=2),  # level 2, anyone
    rule(6, "2.00", country="DE", state="Bayern", level=2),
)


@pytest.mark.parametrize(
    ("country", "state", "level1", "level2"),
    [
        pytest.param("DE", "Bayern", "7.00", "2.00", id="country-and-state"),
        pytest.param("DE", "Berlin", "19.00", "1.00", id="country-only"),
        pytest.param("FR", "", "20.00", "1.00", id="other-country-rule"),
        pytest.param("US", "Texas", "5.00", "1.00", id="catch-all"),
    ],
)
@pytest.mark.parametrize("order", [1, -1], ids=["rules-in-order", "rules-reversed"])
def test_the_most_specific_rule_applies(
    country: str, state: str, level1: str, level2: str, order: int
) -> None:
    setup = TaxSetup(enabled=True, inclusive=False, l2_compound=False, rules=RULES[::order])

    found = rates_for(setup, country, state, tax_exempt=False)

    assert found == TaxRates(Decimal(level1), Decimal(level2))


def test_a_rule_for_another_country_does_not_apply() -> None:
    setup = TaxSetup(enabled=True, inclusive=False, l2_compound=False,
                     rules=(rule(4, "20.00", country="FR"),
                            rule(7, "8.00", country="DE", state="Bayern")))  # fmt: skip

    assert rates_for(setup, "DE", "Berlin", tax_exempt=False) == TaxRates(
        Decimal("0"), Decimal("0")
    )


def test_tax_exempt_client_and_tax_disabled_have_no_rates() -> None:
    enabled = TaxSetup(enabled=True, inclusive=False, l2_compound=False, rules=RULES)
    disabled = TaxSetup(enabled=False, inclusive=False, l2_compound=False, rules=RULES)

    assert rates_for(enabled, "DE", "Bayern", tax_exempt=True) == TaxRates()
    assert rates_for(disabled, "DE", "Bayern", tax_exempt=False) == TaxRates()
    assert TaxRates() == TaxRates(Decimal("0"), Decimal("0"))


GERMAN_VAT = TaxSetup(
    enabled=True, inclusive=False, l2_compound=False, rules=(rule(2, "19.00", country="DE"),)
)


@pytest.mark.parametrize(
    ("client", "setup", "is_taxed", "expected"),
    [
        # 16.00 * 19/100 = 3.04; total 19.04
        pytest.param(Client(id=7, country="DE"), GERMAN_VAT, True,
                     ("16.00", "3.04", "0.00", "19.04"), id="taxed"),
        pytest.param(Client(id=7, country="DE", tax_exempt=True), GERMAN_VAT, True,
                     ("16.00", "0.00", "0.00", "16.00"), id="tax-exempt-client"),
        pytest.param(Client(id=7, country="DE"), GERMAN_VAT, False,
                     ("16.00", "0.00", "0.00", "16.00"), id="untaxed-product"),
        pytest.param(Client(id=7, country="FR"), GERMAN_VAT, True,
                     ("16.00", "0.00", "0.00", "16.00"), id="no-rule-for-the-country"),
        pytest.param(Client(id=7, country="DE"),
                     TaxSetup(enabled=False, inclusive=False, l2_compound=False,
                              rules=GERMAN_VAT.rules), True,
                     ("16.00", "0.00", "0.00", "16.00"), id="tax-disabled"),
        # inclusive: 16/119 * 19 = 2.5546 -> 2.55; subtotal 16.00 - 2.55 = 13.45
        pytest.param(Client(id=7, country="DE"),
                     TaxSetup(enabled=True, inclusive=True, l2_compound=False,
                              rules=GERMAN_VAT.rules), True,
                     ("13.45", "2.55", "0.00", "16.00"), id="inclusive"),
    ],
)  # fmt: skip
def test_new_invoice_totals_through_the_planner(
    client: Client, setup: TaxSetup, is_taxed: bool, expected: tuple[str, ...]
) -> None:
    # Monthly 30.00, N 06-15, P 07-01: 30.00 * 16/30 = 16.00.
    result = plan(
        [service(1, next_due=date(2024, 6, 15), taxed=is_taxed)],
        today=date(2024, 6, 1),
        day=1,
        client=client,
        config=BillingConfig(tax=setup),
    )

    (new_invoice,) = result.invoices
    totals = new_invoice.totals
    got = tuple(f"{value:f}" for value in (totals.subtotal, totals.tax, totals.tax2, totals.total))
    assert got == expected
    exported = result.to_dict()["invoices"][0]
    assert (exported["subtotal"], exported["tax"], exported["tax2"], exported["total"]) == expected
