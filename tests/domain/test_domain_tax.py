"""Invoice totals with tax, and the choice of the tax rules that apply to a client.

(Over 400 lines: the tax cases are tables of figures (WHMCS's rules and rounding), one per
rule.)
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from domain_factories import plan, service

from domain.model import BillingConfig, Client
from domain.tax import (
    TaxRateError,
    TaxRates,
    TaxRule,
    TaxSetup,
    TotalsLine,
    invoice_totals,
    rates_for,
)

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


def test_inclusive_level2_divides_by_both_rates_at_once() -> None:
    # 115.00 taxed inclusive at 10 % (level 1) and 5 % (level 2, not compound):
    # P = 115 / (1 + 0.10 + 0.05) = 100; T1 = 10.00, T2 = 5.00 (not 115/110*10 = 10.45 and
    # 115/105*5 = 5.48, each rate taken out of the full line); the total stays the sum.
    totals = invoice_totals([taxed("115.00")], rates("10", "5"), INCLUSIVE)
    assert (totals.subtotal, totals.tax, totals.tax2, totals.total) == (
        Decimal("100.00"),
        Decimal("10.00"),
        Decimal("5.00"),
        Decimal("115.00"),
    )


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


# ---- the worked examples of WHMCS's recompute (billing facts, section 1.6) ----

PER_LINE = replace(EXCLUSIVE, per_line=True)
ON_SUM = replace(EXCLUSIVE, per_line=False)


def totals_of(
    lines: list[TotalsLine], tax_rates: TaxRates, setup: TaxSetup, credit: str = "0.00"
) -> tuple[str, ...]:
    totals = invoice_totals(lines, tax_rates, setup, Decimal(credit))
    return tuple(f"{value:f}" for value in (totals.subtotal, totals.tax, totals.tax2, totals.total))


A_LINES = [taxed("10.05"), taxed("20.10")]


def test_example_a1() -> None:
    # per line: 10.05 * 0.19 = 1.9095 -> 1.91; 20.10 * 0.19 = 3.819 -> 3.82
    assert totals_of(A_LINES, rates("19"), PER_LINE) == ("30.15", "5.73", "0.00", "35.88")


def test_example_a2() -> None:
    # on the sum: 30.15 * 0.19 = 5.7285 -> 5.73
    assert totals_of(A_LINES, rates("19"), ON_SUM) == ("30.15", "5.73", "0.00", "35.88")


def test_example_a3() -> None:
    # per line: 3 * R(0.005) = 3 * 0.01
    lines = [taxed("0.05")] * 3
    assert totals_of(lines, rates("10"), PER_LINE) == ("0.15", "0.03", "0.00", "0.18")


def test_example_a4() -> None:
    # on the sum: R(0.015) = 0.02
    lines = [taxed("0.05")] * 3
    assert totals_of(lines, rates("10"), ON_SUM) == ("0.15", "0.02", "0.00", "0.17")


both_roundings = pytest.mark.parametrize("per_line", [True, False], ids=["per-line", "on-sum"])


def one_line(setup: TaxSetup, per_line: bool, amount: str, tax_rates: TaxRates) -> tuple[str, ...]:
    """A single taxable line: rounding per line or on the sum must give the same figures."""
    return totals_of([taxed(amount)], tax_rates, replace(setup, per_line=per_line))


@both_roundings
def test_example_b(per_line: bool) -> None:
    # P = 12 / 1.2 = 10, T1 = 2.00, net 12 - 2
    got = one_line(INCLUSIVE, per_line, "12.00", rates("20"))
    assert got == ("10.00", "2.00", "0.00", "12.00")


@both_roundings
def test_example_c(per_line: bool) -> None:
    # P = 115 / 1.15 = 100, T1 = 10.00, T2 = 5.00
    got = one_line(INCLUSIVE, per_line, "115.00", rates("10", "5"))
    assert got == ("100.00", "10.00", "5.00", "115.00")


@both_roundings
def test_example_d(per_line: bool) -> None:
    # T2 = 115.50 - 115.50/1.05 = 5.50 first; Q = 110; T1 = 110 - 110/1.1 = 10.00
    got = one_line(INCLUSIVE_COMPOUND, per_line, "115.50", rates("10", "5"))
    assert got == ("100.00", "10.00", "5.50", "115.50")


@both_roundings
def test_example_e(per_line: bool) -> None:
    # T1 = 10.00; T2 = R((100 + 10) * 0.05) = 5.50
    got = one_line(EXCLUSIVE_COMPOUND, per_line, "100.00", rates("10", "5"))
    assert got == ("100.00", "10.00", "5.50", "115.50")


@both_roundings
def test_example_e_prime(per_line: bool) -> None:
    # compound off: T2 = R(100 * 0.05) = 5.00
    got = one_line(EXCLUSIVE, per_line, "100.00", rates("10", "5"))
    assert got == ("100.00", "10.00", "5.00", "115.00")


def test_example_f1() -> None:
    # per line: each 10.00 / 1.19 = 8.4034, T = R(1.5966) = 1.60, net 8.40
    setup = replace(INCLUSIVE, per_line=True)
    lines = [taxed("10.00"), taxed("10.00")]
    assert totals_of(lines, rates("19"), setup) == ("16.80", "3.20", "0.00", "20.00")


def test_example_f2() -> None:
    # on the sum: 20.00 / 1.19 = 16.8067, T = R(3.1933) = 3.19, net 16.81
    setup = replace(INCLUSIVE, per_line=False)
    lines = [taxed("10.00"), taxed("10.00")]
    assert totals_of(lines, rates("19"), setup) == ("16.81", "3.19", "0.00", "20.00")


def test_example_g1() -> None:
    # a1 with credit 10.00: 35.88 - 10.00
    assert totals_of(A_LINES, rates("19"), PER_LINE, credit="10.00") == (
        "30.15",
        "5.73",
        "0.00",
        "25.88",
    )


def test_example_g2() -> None:
    # a1 with credit 50.00, more than the gross 35.88: the total stops at 0
    totals = invoice_totals(A_LINES, rates("19"), PER_LINE, Decimal("50.00"))
    got = tuple(f"{value:f}" for value in (totals.subtotal, totals.tax, totals.tax2, totals.total))
    assert got == ("30.15", "5.73", "0.00", "0.00")
    assert totals.credit == Decimal("50.00")  # the credit stays recorded in full


# ---- which lines are taxable ----


@both_roundings
@pytest.mark.parametrize("inclusive", [False, True], ids=["exclusive", "inclusive"])
def test_an_exempt_client_pays_no_tax_and_the_lines_count_at_face_value(
    per_line: bool, inclusive: bool
) -> None:
    setup = TaxSetup(enabled=True, inclusive=inclusive, l2_compound=True, per_line=per_line)
    totals = invoice_totals(A_LINES, rates("19", "5"), setup, tax_exempt=True)
    assert (totals.subtotal, totals.tax, totals.tax2, totals.total) == (
        Decimal("30.15"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("30.15"),
    )
    # the frozen rates stay on the invoice: WHMCS does not rewrite them on a recompute
    assert (totals.taxrate, totals.taxrate2) == (Decimal("19"), Decimal("5"))


def test_per_line_rounding_applies_only_to_taxable_lines() -> None:
    # untaxed 0.05 lines add at face value; the two taxed 0.05 lines give R(0.005) each
    lines = [taxed("0.05"), untaxed("0.05"), taxed("0.05"), untaxed("0.05")]
    assert totals_of(lines, rates("10"), PER_LINE) == ("0.20", "0.02", "0.00", "0.22")
    # on the sum: R(0.10 * 0.10) = 0.01
    assert totals_of(lines, rates("10"), ON_SUM) == ("0.20", "0.01", "0.00", "0.21")


def test_a_negative_line_rounds_half_away_from_zero() -> None:
    # a discount line -0.05 at 10 %: R(-0.005) = -0.01 per line
    lines = [taxed("1.00"), taxed("-0.05")]
    assert totals_of(lines, rates("10"), PER_LINE) == ("0.95", "0.09", "0.00", "1.04")
    # on the sum: R(0.95 * 0.10) = R(0.095) = 0.10
    assert totals_of(lines, rates("10"), ON_SUM) == ("0.95", "0.10", "0.00", "1.05")


def test_a_total_already_negative_goes_to_zero_only_when_there_is_credit() -> None:
    lines = [untaxed("-3.00")]
    assert totals_of(lines, rates("0"), ON_SUM) == ("-3.00", "0.00", "0.00", "-3.00")
    assert totals_of(lines, rates("0"), ON_SUM, credit="1.00") == (
        "-3.00",
        "0.00",
        "0.00",
        "0.00",
    )


# ---- rates WHMCS's calculator refuses ----


@pytest.mark.parametrize(
    ("level1", "level2", "message"),
    [
        pytest.param("100.001", "0", "cannot exceed 100 %", id="level1-over-100"),
        pytest.param("0", "120", "cannot exceed 100 %", id="level2-over-100"),
        pytest.param("60", "40.5", "exceed 100 %", id="both-over-100"),
        pytest.param("-5", "0", "cannot be negative", id="negative"),
    ],
)
@pytest.mark.parametrize("setup", [EXCLUSIVE, INCLUSIVE, DISABLED], ids=["excl", "incl", "off"])
def test_rates_over_100_percent_are_refused(
    level1: str, level2: str, message: str, setup: TaxSetup
) -> None:
    with pytest.raises(TaxRateError, match=message):
        invoice_totals([taxed("10.00")], rates(level1, level2), setup)


def test_rates_of_exactly_100_percent_together_are_accepted() -> None:
    # inclusive 60 % + 40 %: P = 20 / 2 = 10, T1 = 6.00, T2 = 4.00
    assert totals_of([taxed("20.00")], rates("60", "40"), INCLUSIVE) == (
        "10.00",
        "6.00",
        "4.00",
        "20.00",
    )


def test_the_planner_refuses_an_invoice_with_a_rate_over_100_percent() -> None:
    setup = TaxSetup(
        enabled=True, inclusive=False, l2_compound=False, rules=(rule(1, "150", country="DE"),)
    )
    with pytest.raises(TaxRateError, match="cannot exceed 100 %"):
        plan(
            [service(1, next_due=date(2024, 6, 15), taxed=True)],
            today=date(2024, 6, 1),
            day=1,
            client=Client(id=7, country="DE"),
            config=BillingConfig(tax=setup),
        )


# ---- the rate lookup, level by level (billing facts, section 2.1) ----


def test_state_and_country_match_without_regard_to_case() -> None:
    setup = TaxSetup(enabled=True, inclusive=False, l2_compound=False, rules=RULES)
    assert rates_for(setup, "de", "BAYERN", tax_exempt=False) == rates("7.00", "2.00")


def test_the_collation_ignores_accents_and_trailing_spaces() -> None:
    rules = (rule(1, "8.00", country="CH", state="Zürich "),)
    setup = TaxSetup(enabled=True, inclusive=False, l2_compound=False, rules=rules)
    assert rates_for(setup, "ch", "zurich", tax_exempt=False) == rates("8.00")
    # leading spaces count in MySQL, as they do here
    assert rates_for(setup, "CH", " Zurich", tax_exempt=False) == rates("0")


def test_a_rule_with_a_state_but_no_country_never_matches() -> None:
    rules = (rule(1, "6.25", state="Texas"), rule(2, "3.00", country="", state="Texas", level=2))
    setup = TaxSetup(enabled=True, inclusive=False, l2_compound=False, rules=rules)
    assert rates_for(setup, "US", "Texas", tax_exempt=False) == rates("0")


def test_a_state_rule_needs_the_client_state() -> None:
    setup = TaxSetup(enabled=True, inclusive=False, l2_compound=False, rules=RULES)
    # a client of Germany without a state gets the country rule, not Bayern's
    assert rates_for(setup, "DE", "", tax_exempt=False) == rates("19.00", "1.00")


@pytest.mark.parametrize("order", [1, -1], ids=["rules-in-order", "rules-reversed"])
def test_among_equal_matches_the_lowest_id_wins(order: int) -> None:
    rules = (
        rule(12, "21.00", country="NL"),
        rule(4, "9.00", country="nl"),
        rule(30, "6.00", country="NL"),
        rule(2, "1.00"),
        rule(1, "2.00"),
    )[::order]
    setup = TaxSetup(enabled=True, inclusive=False, l2_compound=False, rules=rules)
    assert rates_for(setup, "NL", "", tax_exempt=False) == rates("9.00")
    assert rates_for(setup, "BE", "", tax_exempt=False) == rates("2.00")


def test_each_level_is_looked_up_on_its_own() -> None:
    # level 1 has a state rule, level 2 only a global one
    rules = (
        rule(1, "5.00", country="CA", state="Quebec"),
        rule(2, "9.975", country="CA", state="Quebec", level=2),
        rule(3, "5.00", country="CA"),
        rule(4, "2.00", level=2),
    )
    setup = TaxSetup(enabled=True, inclusive=False, l2_compound=False, rules=rules)
    assert rates_for(setup, "CA", "Quebec", tax_exempt=False) == rates("5.00", "9.975")
    assert rates_for(setup, "CA", "Ontario", tax_exempt=False) == rates("5.00", "2.00")
