"""Invoice totals with tax, computed as WHMCS 8's own recompute (`updateInvoiceTotal`) does.

A line is taxable only when it is taxed, tax is enabled and the client is not exempt; every
other line counts at its face amount. With TaxPerLineItem on, the tax calculator runs on each
taxable line and its figures, already rounded to cents, are added up; off, it runs once on
the sum of the taxable lines. m1, m2 are the rates / 100, B the base, R() rounds to cents,
half away from zero, on the exact value:

- Exclusive: T1 = R(B*m1); T2 = R(B*m2), or R((B + T1)*m2) when level 2 compounds; net = B.
- Inclusive: P = B / (1 + m1 + m2), T1 = R(P*m1), T2 = R(P*m2); when level 2 compounds,
  T2 = R(B - B/(1 + m2)) first, then Q = B - T2 and T1 = R(Q - Q/(1 + m1)). net = B - T1 - T2.

subtotal = untaxed lines + nets, total = subtotal + T1 + T2, less the invoice's credit but
never below 0. So in inclusive mode the total is the sum of the lines, and only the split
between subtotal and tax depends on where the rounding happens.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from domain.money import ZERO, round_cents


class TaxRateError(ValueError):
    """Rates WHMCS's tax calculator refuses: it throws, so WHMCS never has totals for them."""


@dataclass(frozen=True)
class TaxRule:
    """A row of `tbltax`."""

    id: int
    level: int
    name: str
    country: str
    state: str
    rate: Decimal


@dataclass(frozen=True)
class TaxSetup:
    """The tax settings of `tblconfiguration` and the rules of `tbltax`."""

    enabled: bool
    inclusive: bool
    l2_compound: bool
    per_line: bool = False  # TaxPerLineItem; a missing row reads as off, as in WHMCS
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
    total: Decimal  # already reduced by credit
    taxrate: Decimal
    taxrate2: Decimal
    credit: Decimal = ZERO


def _collation_key(text: str) -> str:
    """Equality as MySQL's utf8_unicode_ci sees it: case, accents and trailing spaces ignored."""
    decomposed = unicodedata.normalize("NFKD", text.rstrip(" "))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return bare.casefold()


def _rule_for(rules: Sequence[TaxRule], level: int, country: str, state: str) -> TaxRule | None:
    """WHMCS's getTaxRate: state and country, then the country alone, then the global rule.

    Each step is plain equality, so a rule with a state but no country never applies to a
    client who has a country. Among equal matches the oldest row (lowest id) wins.
    """
    keyed = [
        (_collation_key(rule.state), _collation_key(rule.country), rule)
        for rule in sorted(rules, key=lambda r: r.id)
        if rule.level == level
    ]
    wanted_country = _collation_key(country)
    for wanted in ((_collation_key(state), wanted_country), ("", wanted_country), ("", "")):
        for rule_state, rule_country, rule in keyed:
            if (rule_state, rule_country) == wanted:
                return rule
    return None


def rates_for(setup: TaxSetup, country: str, state: str, tax_exempt: bool) -> TaxRates:
    """The level 1 and level 2 rates a new invoice for this client records (frozen on it)."""
    if not setup.enabled or tax_exempt:
        return TaxRates()
    first = _rule_for(setup.rules, 1, country, state)
    second = _rule_for(setup.rules, 2, country, state)
    return TaxRates(
        level1=first.rate if first else ZERO,
        level2=second.rate if second else ZERO,
    )


def check_rates(rates: TaxRates) -> None:
    """Refuse what WHMCS's calculator throws on: a rate over 100 %, or both together over it.

    A negative rate is refused too: WHMCS's handling of it is unknown, and -100 % in total
    would divide by zero in inclusive mode.
    """
    r1, r2 = rates.level1, rates.level2
    if r1 < 0 or r2 < 0:
        raise TaxRateError(f"a tax rate cannot be negative (level 1 {r1} %, level 2 {r2} %)")
    if r1 > 100 or r2 > 100:
        raise TaxRateError(f"a tax rate cannot exceed 100 % (level 1 {r1} %, level 2 {r2} %)")
    if r1 + r2 > 100:
        raise TaxRateError(
            f"tax rates level 1 {r1} % + level 2 {r2} % exceed 100 %: WHMCS refuses to total "
            "such an invoice"
        )


@dataclass(frozen=True)
class TotalsLine:
    amount: Decimal
    taxed: bool


@dataclass(frozen=True)
class _Calculated:
    """What the calculator gives for one base: the two taxes, rounded, and the net."""

    tax1: Fraction
    tax2: Fraction
    net: Fraction


def _calculate(base: Fraction, m1: Fraction, m2: Fraction, setup: TaxSetup) -> _Calculated:
    def rounded(value: Fraction) -> Fraction:
        return Fraction(round_cents(value))

    if not setup.inclusive:
        tax1 = rounded(base * m1)
        tax2 = rounded((base + tax1 if setup.l2_compound else base) * m2)
        return _Calculated(tax1, tax2, base)
    if setup.l2_compound:
        tax2 = rounded(base - base / (1 + m2))
        rest = base - tax2
        tax1 = rounded(rest - rest / (1 + m1))
    else:
        before_tax = base / (1 + m1 + m2)
        tax1 = rounded(before_tax * m1)
        tax2 = rounded(before_tax * m2)
    # the net is what is left of the gross, so the gross (and the total) never moves
    return _Calculated(tax1, tax2, base - tax1 - tax2)


def invoice_totals(
    lines: Iterable[TotalsLine],
    rates: TaxRates,
    setup: TaxSetup,
    credit: Decimal = ZERO,
    *,
    tax_exempt: bool = False,
) -> Totals:
    """subtotal, tax, tax2 and total of an invoice holding these lines, as WHMCS writes them.

    Raises TaxRateError for rates WHMCS's calculator refuses.
    """
    check_rates(rates)
    items = list(lines)
    applies = setup.enabled and not tax_exempt
    taxable = [Fraction(line.amount) for line in items if applies and line.taxed]
    untaxed = sum(
        (Fraction(line.amount) for line in items if not (applies and line.taxed)), Fraction(0)
    )
    m1, m2 = Fraction(rates.level1) / 100, Fraction(rates.level2) / 100
    bases = taxable if setup.per_line else ([sum(taxable, Fraction(0))] if taxable else [])
    results = [_calculate(base, m1, m2, setup) for base in bases]
    tax1 = sum((result.tax1 for result in results), Fraction(0))
    tax2 = sum((result.tax2 for result in results), Fraction(0))
    subtotal = untaxed + sum((result.net for result in results), Fraction(0))
    total = subtotal + tax1 + tax2
    if credit > 0:
        # credit beyond the gross amount is not given back: it stays on the invoice
        total = max(Fraction(0), total - Fraction(credit))
    return Totals(
        subtotal=round_cents(subtotal),
        tax=round_cents(tax1),
        tax2=round_cents(tax2),
        total=round_cents(total),
        taxrate=rates.level1,
        taxrate2=rates.level2,
        credit=credit,
    )
