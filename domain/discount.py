"""Client group discounts: one GroupDiscount line per invoice line, as WHMCS 8 adds them.

WHMCS's invoice creation (whmcs8-billing 3.2 step 7) adds, for a client whose group has a
discount percent above 0, one line per line: amount -(line amount x percent / 100), the
line's taxed flag, relid 0, no due date. The product adds them to its alignment invoices
the same way, and when lines leave an invoice it puts back one per line that stays, so no
discount outlives its line and no line that stays loses its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from domain.money import ZERO, cents_to_money, divide_to_cents, ratio
from domain.tax import TotalsLine

GROUP_DISCOUNT = "GroupDiscount"
# WHMCS writes its language string clientgroupdiscount; this is its English text
GROUP_DISCOUNT_DESCRIPTION = "Client Discount"
# WHMCS discounts no invoice holding one of these (adding funds, paying invoices at once)
UNDISCOUNTED_TYPES = frozenset({"AddFunds", "Invoice"})
# lines a discount is never put back for: WHMCS does not count them as lines to discount
# when it strips an invoice (billing facts 6.2), and a 0.00 line has nothing to discount
NOT_DISCOUNTED_LINES = frozenset({GROUP_DISCOUNT, "LateFee"})


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


def rediscounted(
    items: Sequence[tuple[str, TotalsLine]], percent: Decimal
) -> tuple[tuple[TotalsLine, ...], tuple[TotalsLine, ...]]:
    """An invoice's (type, line) pairs after some left it: the lines that stay other than its
    GroupDiscount lines, and the discounts it gets back, one per such line at `percent`
    (none on an invoice WHMCS would not discount)."""
    kept = tuple(line for type_, line in items if type_ != GROUP_DISCOUNT)
    if any(type_ in UNDISCOUNTED_TYPES for type_, _ in items):
        return kept, ()
    discountable = (
        line for type_, line in items if type_ not in NOT_DISCOUNTED_LINES and line.amount != ZERO
    )
    return kept, discount_lines(discountable, percent)
