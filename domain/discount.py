"""Client group discounts: one GroupDiscount line per invoice line, as WHMCS 8 adds them.

WHMCS's invoice creation (whmcs8-billing 3.2 step 7) adds, for a client whose group has a
discount percent above 0, one line per line: amount -(line amount x percent / 100), the
line's taxed flag, relid 0, no due date. The product adds them to its alignment invoices
the same way.

A GroupDiscount line names no line (relid 0), so when lines leave an existing invoice the
discounts that go with them are found by where WHMCS puts them (`discount_pairs`): it
appends them right after the lines, one per line in the same order, so the k-th discount
(by id) belongs to the k-th line before the first discount (late fees left out: WHMCS adds
them later). That pairing is used when it is what WHMCS would have written: as many lines
as discounts, the same taxed flags, and one percent that gives every discount from its line
(rounded to cents). Otherwise (staff edited the invoice) a discount belongs to a line when
it has the line's taxed flag and is exactly that line's discount at the client's current
percent, each discount to one line. A discount matched by neither stays. Nothing else on
the invoice is touched or added: WHMCS's own removal deletes every discount (billing facts
6.2), which would change what the lines that stay cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction

from domain.model import InvoiceItem
from domain.money import ZERO, cents_to_money, divide_to_cents, ratio
from domain.tax import TotalsLine

GROUP_DISCOUNT = "GroupDiscount"
# WHMCS writes its language string clientgroupdiscount; this is its English text
GROUP_DISCOUNT_DESCRIPTION = "Client Discount"
LATE_FEE = "LateFee"
# lines that never have a discount of their own: discounts, and late fees (added by the
# cron after the invoice, so after its discounts)
NOT_DISCOUNTED_LINES = frozenset({GROUP_DISCOUNT, LATE_FEE})
# a cent's half: WHMCS rounds each discount to cents, half away from zero
_HALF_CENT = Fraction(1, 200)


def discount_amount(amount: Decimal, percent: Decimal) -> Decimal:
    """The discount line's amount: negative, rounded once to cents, half away from zero."""
    (amount_n, amount_d), (percent_n, percent_d) = ratio(amount), ratio(percent)
    # in cents: 100 * amount * percent / 100
    return -cents_to_money(divide_to_cents(amount_n * percent_n, amount_d * percent_d))


def discount_lines(lines: Iterable[TotalsLine], percent: Decimal) -> tuple[TotalsLine, ...]:
    """One discount line per line, in order; none when the percent is 0 or less."""
    if percent <= ZERO:
        return ()
    return tuple(TotalsLine(discount_amount(line.amount, percent), line.taxed) for line in lines)


def _one_percent(pairs: Sequence[tuple[InvoiceItem, InvoiceItem]]) -> bool:
    """Whether one percent p >= 0 gives each discount from its line as WHMCS computes it
    (-R(line x p / 100)), with the line's taxed flag."""
    low, high = Fraction(0), None
    for line, discount in pairs:
        amount, taken = Fraction(line.amount), -Fraction(discount.amount)
        if line.taxed != discount.taxed:
            return False
        if amount == 0:
            if taken != 0:
                return False
            continue
        if taken != 0 and (taken > 0) != (amount > 0):
            return False
        # R(|amount| x p / 100) = |taken|: p lies in [|taken| - 1/2 cent, |taken| + 1/2 cent)
        # times 100 / |amount|
        scale = 100 / abs(amount)
        low = max(low, (abs(taken) - _HALF_CENT) * scale)
        top = (abs(taken) + _HALF_CENT) * scale
        high = top if high is None else min(high, top)
    return high is None or low < high


def discount_pairs(items: Sequence[InvoiceItem], percent: Decimal) -> dict[int, int]:
    """line id -> the id of the GroupDiscount line that belongs to it, for an invoice's
    lines (see the module's text for the rule); `percent` is the client group's now."""
    ordered = sorted(items, key=lambda item: item.id)
    discounts = [item for item in ordered if item.type == GROUP_DISCOUNT]
    if not discounts:
        return {}
    first = discounts[0].id
    before = [i for i in ordered if i.id < first and i.type not in NOT_DISCOUNTED_LINES]
    pairs = list(zip(before, discounts, strict=False))
    if len(before) == len(discounts) and _one_percent(pairs):
        return {line.id: discount.id for line, discount in pairs}
    found: dict[int, int] = {}
    free = list(discounts)
    for line in ordered:
        if line.type in NOT_DISCOUNTED_LINES:
            continue
        wanted = discount_amount(line.amount, percent)
        match = next((d for d in free if d.taxed == line.taxed and d.amount == wanted), None)
        if match is not None:
            found[line.id] = match.id
            free.remove(match)
    return found


def leaving(
    items: Sequence[InvoiceItem], removed: Iterable[int], percent: Decimal
) -> tuple[tuple[int, ...], tuple[InvoiceItem, ...]]:
    """The lines that leave an invoice when `removed` do (they and their discounts, in id
    order) and the lines that stay, untouched."""
    gone = set(removed)
    pairs = discount_pairs(items, percent)
    gone.update(pairs[line_id] for line_id in list(gone) if line_id in pairs)
    return (
        tuple(sorted(gone)),
        tuple(item for item in items if item.id not in gone),
    )


def only_fees_left(staying: Iterable[InvoiceItem]) -> bool:
    """Nothing WHMCS counts as a line is left, only late fees and discounts (its own
    removal then cancels the invoice, billing facts 6.2)."""
    return all(item.type in NOT_DISCOUNTED_LINES for item in staying)
