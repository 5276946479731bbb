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
from functools import lru_cache
from math import lcm
from typing import NamedTuple

from domain.money import ZERO, cents_to_money, divide_to_cents


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


@lru_cache(maxsize=1024)  # a few countries and states, asked for every client
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


def tax_names(rules: Sequence[TaxRule], country: str, state: str) -> dict[int, str]:
    """The name of the rule each level applies to this client ("VAT" in "19.00% VAT").

    The addon shows the same names from PHP (InvoiceSummary::namesFor); a test runs both on
    the same cases.
    """
    found = {level: _rule_for(rules, level, country, state) for level in (1, 2)}
    return {level: rule.name.strip() for level, rule in found.items() if rule is not None}


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


@lru_cache(maxsize=256)  # a few rates, asked for every invoice
def _rate_ratios(level1: Decimal, level2: Decimal) -> tuple[tuple[int, int], tuple[int, int]]:
    """The level 1 and level 2 rates, once checked, as (numerator, denominator) of percents."""
    check_rates(TaxRates(level1, level2))
    return level1.as_integer_ratio(), level2.as_integer_ratio()


class TotalsLine(NamedTuple):
    """An invoice line as the totals see it. A named tuple: immutable like a frozen
    dataclass, and made several times faster, once for every planned line."""

    amount: Decimal
    taxed: bool


def _taxes(
    base: int, scale: int, rate1: tuple[int, int], rate2: tuple[int, int], setup: TaxSetup
) -> tuple[int, int]:
    """T1 and T2 in cents for the base B = base / scale, the rates as (numerator,
    denominator) of percents: m = n / (100 d). Each formula of the module's text is
    multiplied out so that one whole-number division rounds it."""
    n1, d1 = rate1
    n2, d2 = rate2
    if not setup.inclusive:
        # T1 = R(B*m1); T2 = R(B*m2) or R((B + T1)*m2)
        tax1 = divide_to_cents(base * n1, scale * d1)
        if setup.l2_compound:
            return tax1, divide_to_cents((100 * base + tax1 * scale) * n2, 100 * scale * d2)
        return tax1, divide_to_cents(base * n2, scale * d2)
    if setup.l2_compound:
        # T2 = R(B - B/(1 + m2)) = R(B*m2/(1 + m2)); Q = B - T2; T1 = R(Q*m1/(1 + m1))
        tax2 = divide_to_cents(100 * base * n2, scale * (100 * d2 + n2))
        rest = 100 * base - tax2 * scale  # Q in 1/(100*scale)
        return divide_to_cents(rest * n1, scale * (100 * d1 + n1)), tax2
    # P = B/(1 + m1 + m2); T1 = R(P*m1), T2 = R(P*m2)
    gross = 100 * d1 * d2 + n1 * d2 + n2 * d1  # (1 + m1 + m2) * 100*d1*d2
    return (
        divide_to_cents(100 * base * n1 * d2, scale * gross),
        divide_to_cents(100 * base * n2 * d1, scale * gross),
    )


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
    rate1, rate2 = _rate_ratios(rates.level1, rates.level2)
    applies = setup.enabled and not tax_exempt
    items = [(line.amount.as_integer_ratio(), applies and line.taxed) for line in lines]
    credit_ratio = credit.as_integer_ratio()
    # every amount as a whole number of 1/scale (cents, unless an amount has more places)
    scale = lcm(100, credit_ratio[1], *{denominator for (_, denominator), _ in items})
    taxable: list[int] = []
    untaxed = 0
    for (numerator, denominator), taxed in items:
        if taxed:
            taxable.append(numerator * (scale // denominator))
        else:
            untaxed += numerator * (scale // denominator)
    bases = taxable if setup.per_line else ([sum(taxable)] if taxable else [])
    tax1 = tax2 = 0
    # the subtotal in 1/(100*scale), so a net less its taxes in cents stays whole
    subtotal = 100 * untaxed
    for base in bases:
        line_tax1, line_tax2 = _taxes(base, scale, rate1, rate2, setup)
        tax1 += line_tax1
        tax2 += line_tax2
        # exclusive: the net is the base; inclusive: what is left of the gross, so the
        # gross (and the total) never moves
        subtotal += (
            100 * base if not setup.inclusive else 100 * base - (line_tax1 + line_tax2) * scale
        )
    total = subtotal + (tax1 + tax2) * scale
    if credit > 0:
        # credit beyond the gross amount is not given back: it stays on the invoice
        total = max(0, total - 100 * credit_ratio[0] * (scale // credit_ratio[1]))
    return Totals(
        subtotal=cents_to_money(divide_to_cents(subtotal, scale)),
        tax=cents_to_money(tax1),
        tax2=cents_to_money(tax2),
        total=cents_to_money(divide_to_cents(total, scale)),
        taxrate=rates.level1,
        taxrate2=rates.level2,
        credit=credit,
    )
