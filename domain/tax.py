"""Invoice totals with tax, computed as WHMCS computes them.

Tax is charged on the sum of the taxed lines of an invoice, exactly, then each figure
is rounded once to cents, half away from zero.

- Exclusive: tax = taxed * rate1 / 100; tax2 = taxed * rate2 / 100, or, when level 2
  compounds, (taxed + tax) * rate2 / 100. total = subtotal + tax + tax2.
- Inclusive: the lines already hold the tax. tax = taxed / (100 + rate1) * rate1 and
  tax2 = taxed / (100 + rate2) * rate2 are taken out of them, or, when level 2 compounds,
  tax2 comes out first and tax is taken out of what is left. total = the sum of the
  lines; subtotal = total - tax - tax2 (WHMCS shows the amount before tax as subtotal).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from domain.money import ZERO, round_cents


@dataclass(frozen=True)
class TaxRule:
    """A row of `tbltax`: an empty country or state matches any."""

    id: int
    level: int
    name: str
    country: str
    state: str
    rate: Decimal


@dataclass(frozen=True)
class TaxSetup:
    enabled: bool
    inclusive: bool
    l2_compound: bool
    rules: tuple[TaxRule, ...] = ()


NO_TAX = TaxSetup(enabled=False, inclusive=False, l2_compound=False)


@dataclass(frozen=True)
class TaxRates:
    level1: Decimal = ZERO
    level2: Decimal = ZERO


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    tax: Decimal
    tax2: Decimal
    total: Decimal
    taxrate: Decimal
    taxrate2: Decimal
    credit: Decimal = ZERO


def _specificity(rule: TaxRule, country: str, state: str) -> int | None:
    """How closely a rule fits the client; None when it does not apply at all."""
    score = 0
    if rule.country:
        if rule.country.strip().upper() != country.strip().upper():
            return None
        score += 2
    if rule.state:
        if rule.state.strip().casefold() != state.strip().casefold():
            return None
        score += 1
    return score


def _best_rule(rules: Sequence[TaxRule], level: int, country: str, state: str) -> TaxRule | None:
    fitting = [
        (score, -rule.id, rule)
        for rule in rules
        if rule.level == level and (score := _specificity(rule, country, state)) is not None
    ]
    if not fitting:
        return None
    # the most specific rule wins; between equals, the oldest (lowest id) one
    return max(fitting, key=lambda item: (item[0], item[1]))[2]


def rates_for(setup: TaxSetup, country: str, state: str, tax_exempt: bool) -> TaxRates:
    """The level 1 and level 2 rates an invoice for this client records."""
    if not setup.enabled or tax_exempt:
        return TaxRates()
    first = _best_rule(setup.rules, 1, country, state)
    second = _best_rule(setup.rules, 2, country, state)
    return TaxRates(
        level1=first.rate if first else ZERO,
        level2=second.rate if second else ZERO,
    )


@dataclass(frozen=True)
class TotalsLine:
    amount: Decimal
    taxed: bool


def invoice_totals(
    lines: Iterable[TotalsLine], rates: TaxRates, setup: TaxSetup, credit: Decimal = ZERO
) -> Totals:
    """subtotal, tax, tax2 and total of an invoice holding these lines; the total is reduced
    by the invoice's credit, never below zero."""
    items = list(lines)
    gross = sum((Fraction(line.amount) for line in items), Fraction(0))
    taxed = sum((Fraction(line.amount) for line in items if line.taxed), Fraction(0))
    r1, r2 = Fraction(rates.level1), Fraction(rates.level2)
    tax1 = tax2 = Fraction(0)
    if setup.enabled:
        if setup.inclusive:
            if setup.l2_compound:
                tax2 = taxed / (100 + r2) * r2
                tax1 = (taxed - tax2) / (100 + r1) * r1
            else:
                tax1 = taxed / (100 + r1) * r1
                tax2 = taxed / (100 + r2) * r2
        else:
            tax1 = taxed * r1 / 100
            tax2 = (taxed + tax1 if setup.l2_compound else taxed) * r2 / 100
    tax = round_cents(tax1)
    tax_two = round_cents(tax2)
    if setup.enabled and setup.inclusive:
        total = round_cents(gross)
        subtotal = total - tax - tax_two
    else:
        subtotal = round_cents(gross)
        total = subtotal + tax + tax_two
    if credit > 0:
        total = max(total - credit, ZERO)
    return Totals(
        subtotal=subtotal,
        tax=tax,
        tax2=tax_two,
        total=total,
        taxrate=rates.level1,
        taxrate2=rates.level2,
        credit=credit,
    )
