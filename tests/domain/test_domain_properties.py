"""Property tests of the date and amount rules, checked against independent calculations.

The number of examples comes from the Hypothesis profile (see conftest.py).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from dateutil.relativedelta import relativedelta
from domain_factories import CLIENT, service
from hypothesis import given
from hypothesis import strategies as st

from domain.amounts import calendar_charge, fixed_charge
from domain.cycles import Cycle
from domain.dates import is_on_day, new_due_date
from domain.eligibility import Reason
from domain.model import AlignRequest
from domain.planner import plan_alignment
from domain.settings import DAYS_SETTING, parse_settings

FIRST = date(1990, 1, 1)
LAST = date(2100, 12, 31)


@st.composite
def late_in_month(draw: st.DrawFn) -> date:
    """The 28th to the 31st (clamped): where month arithmetic goes wrong."""
    year = draw(st.integers(min_value=FIRST.year, max_value=LAST.year))
    month = draw(st.integers(min_value=1, max_value=12))
    day = draw(st.integers(min_value=28, max_value=31))
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


# any date, with month ends drawn far more often than by chance
dates = st.one_of(st.dates(min_value=FIRST, max_value=LAST), late_in_month())
days_of_month = st.integers(min_value=1, max_value=31)
prices = st.integers(min_value=0, max_value=9_999_999).map(lambda cents: Decimal(cents).scaleb(-2))
cycles = st.sampled_from(list(Cycle))
# how far P may lie after N: up to ten years
offsets = st.integers(min_value=0, max_value=3660)
fixed_days = st.integers(min_value=1, max_value=1100)

CENT = Decimal("0.01")


def on_day(when: date, day: int) -> bool:
    """Day D of its month, or the month's last day when the month is shorter."""
    return when.day == min(day, calendar.monthrange(when.year, when.month)[1])


def first_on_day_after(base: date, day: int) -> date:
    """The first date strictly after base on day D, found by walking day by day."""
    when = base + timedelta(days=1)
    while not on_day(when, day):
        when += timedelta(days=1)
    return when


def rounded(numerator: Decimal, denominator: int) -> Decimal:
    """numerator / denominator to cents, half away from zero (all values here are >= 0).

    With 60 significant digits the quotient is far closer to its true value than the
    1 / (2 * denominator) that separates a true tie from its nearest non-tie.
    """
    with localcontext() as context:
        context.prec = 60
        return (numerator / Decimal(denominator)).quantize(CENT, rounding=ROUND_HALF_UP)


@given(next_due=dates, today=dates, day=days_of_month)
def test_new_due_date_is_the_first_day_d_after_the_base(
    next_due: date, today: date, day: int
) -> None:
    base = max(next_due, today)

    new_due = new_due_date(next_due, today, day)

    assert new_due > base
    assert on_day(new_due, day)
    assert is_on_day(new_due, day)
    following = base.replace(day=1) + relativedelta(months=1)
    assert (new_due.year, new_due.month) in {
        (base.year, base.month),
        (following.year, following.month),
    }
    assert 1 <= (new_due - base).days <= 31
    assert new_due == first_on_day_after(base, day)


@given(next_due=dates, cycle=cycles, whole=st.integers(min_value=1, max_value=12), price=prices)
def test_calendar_whole_cycles_cost_exactly_k_times_the_price(
    next_due: date, cycle: Cycle, whole: int, price: Decimal
) -> None:
    new_due = next_due + relativedelta(months=whole * cycle.months)

    charge = calendar_charge(price, cycle, next_due, new_due)

    assert charge.exact == Fraction(price) * whole
    assert charge.amount == price * whole
    assert charge.whole_cycles == whole
    assert charge.part_days == 0


@given(
    next_due=dates,
    cycle=cycles,
    days_in_cycle=fixed_days,
    offset=offsets,
    price=prices,
    more=st.integers(min_value=0, max_value=9_999_999),
)
def test_a_higher_price_never_costs_less(
    next_due: date, cycle: Cycle, days_in_cycle: int, offset: int, price: Decimal, more: int
) -> None:
    new_due = next_due + timedelta(days=offset)
    higher = min(price + Decimal(more).scaleb(-2), Decimal("99999.99"))

    assert (
        calendar_charge(price, cycle, next_due, new_due).amount
        <= calendar_charge(higher, cycle, next_due, new_due).amount
    )
    assert (
        fixed_charge(price, days_in_cycle, next_due, new_due).amount
        <= fixed_charge(higher, days_in_cycle, next_due, new_due).amount
    )


@given(
    next_due=dates,
    cycle=cycles,
    days_in_cycle=fixed_days,
    offset=offsets,
    extra=offsets,
    price=prices,
)
def test_a_later_new_due_date_never_costs_less(
    next_due: date, cycle: Cycle, days_in_cycle: int, offset: int, extra: int, price: Decimal
) -> None:
    earlier = next_due + timedelta(days=offset)
    later = earlier + timedelta(days=extra)

    assert (
        calendar_charge(price, cycle, next_due, earlier).amount
        <= calendar_charge(price, cycle, next_due, later).amount
    )
    assert (
        fixed_charge(price, days_in_cycle, next_due, earlier).amount
        <= fixed_charge(price, days_in_cycle, next_due, later).amount
    )


@given(
    next_due=dates,
    cycle=cycles,
    per_mille=st.integers(min_value=0, max_value=4000),
    price=prices,
)
def test_calendar_charge_follows_the_cycles_counted_from_n(
    next_due: date, cycle: Cycle, per_mille: int, price: Decimal
) -> None:
    # P up to four cycles after N, so that P often falls in a cycle starting on a clamped day
    new_due = next_due + timedelta(days=per_mille * cycle.months * 31 // 1000)

    def start(k: int) -> date:  # S_k, always counted from N
        return next_due + relativedelta(months=k * cycle.months)

    whole = 0
    while start(whole + 1) <= new_due:
        whole += 1
    part = (new_due - start(whole)).days
    length = (start(whole + 1) - start(whole)).days

    charge = calendar_charge(price, cycle, next_due, new_due)

    assert (charge.whole_cycles, charge.part_days, charge.part_of) == (whole, part, length)
    assert 0 <= charge.part_days < charge.part_of
    assert charge.exact == Fraction(price) * (whole + Fraction(part, length))
    assert charge.amount == rounded(price * (whole * length + part), length)


@given(next_due=dates, days_in_cycle=fixed_days, offset=offsets, price=prices)
def test_fixed_charge_is_price_times_days_over_f_rounded_half_up(
    next_due: date, days_in_cycle: int, offset: int, price: Decimal
) -> None:
    new_due = next_due + timedelta(days=offset)

    charge = fixed_charge(price, days_in_cycle, next_due, new_due)

    assert charge.days == offset
    assert charge.amount == rounded(price * offset, days_in_cycle)


@given(
    next_due=dates,
    today=dates,
    day=days_of_month,
    cycle=cycles,
    price=prices,
    days_in_cycle=fixed_days,
)
def test_fixed_mode_plan_matches_an_independent_calculation(
    next_due: date, today: date, day: int, cycle: Cycle, price: Decimal, days_in_cycle: int
) -> None:
    settings = parse_settings(
        {"calculate_days_by_use": "", DAYS_SETTING[cycle]: str(days_in_cycle)}
    )
    subject = service(1, cycle=cycle.value, next_due=next_due, amount=f"{price:f}")

    (line,) = plan_alignment(
        CLIENT, [subject], [], settings, AlignRequest(today=today, day=day)
    ).lines

    if on_day(next_due, day):
        assert line.reason is Reason.ALREADY_ALIGNED
        return
    expected_due = first_on_day_after(max(next_due, today), day)
    days = (expected_due - next_due).days
    assert line.reason is None
    assert line.new_due == expected_due
    assert line.amount == rounded(price * days, days_in_cycle)


@given(
    next_due=dates,
    overdue=st.integers(min_value=0, max_value=3660),
    ahead=st.booleans(),
    day=days_of_month,
    cycle=cycles,
    price=prices,
)
def test_calendar_mode_plan_matches_an_independent_calculation(
    next_due: date, overdue: int, ahead: bool, day: int, cycle: Cycle, price: Decimal
) -> None:
    # today is up to ten years after N (overdue), or up to ten years before it
    today = next_due - timedelta(days=overdue) if ahead else next_due + timedelta(days=overdue)
    settings = parse_settings({"calculate_days_by_use": "on"})
    subject = service(1, cycle=cycle.value, next_due=next_due, amount=f"{price:f}")

    (line,) = plan_alignment(
        CLIENT, [subject], [], settings, AlignRequest(today=today, day=day)
    ).lines

    if on_day(next_due, day):
        assert line.reason is Reason.ALREADY_ALIGNED
        return
    expected_due = first_on_day_after(max(next_due, today), day)

    def start(k: int) -> date:  # S_k, always counted from N
        return next_due + relativedelta(months=k * cycle.months)

    whole = 0
    while start(whole + 1) <= expected_due:
        whole += 1
    part = (expected_due - start(whole)).days
    length = (start(whole + 1) - start(whole)).days
    assert line.new_due == expected_due
    assert line.amount == rounded(price * (whole * length + part), length)


@given(
    next_due=dates,
    today=dates,
    day=days_of_month,
    cycle=cycles,
    calendar_days=st.booleans(),
    price=st.integers(min_value=-9_999_999, max_value=9_999_999).map(
        lambda cents: Decimal(cents).scaleb(-2)
    ),
)
def test_a_line_never_moves_a_date_for_less_than_nothing(
    next_due: date, today: date, day: int, cycle: Cycle, calendar_days: bool, price: Decimal
) -> None:
    """A negative price (a credit, a discount) is skipped as such; any other price takes
    part, and moves its dates at once only when it is free."""
    settings = parse_settings({"calculate_days_by_use": "on" if calendar_days else ""})
    subject = service(1, cycle=cycle.value, next_due=next_due, amount=f"{price:f}")

    plan = plan_alignment(CLIENT, [subject], [], settings, AlignRequest(today=today, day=day))
    (line,) = plan.lines

    if on_day(next_due, day):
        assert line.reason is Reason.ALREADY_ALIGNED
    elif price < 0:
        assert line.reason is Reason.NEGATIVE_PRICE
        assert (line.aligned, line.new_due, line.charge) == (False, None, None)
        assert plan.immediate == () and plan.invoices == ()
    else:
        assert line.reason is None and line.amount is not None and line.amount >= 0
        assert line.invoiced == (line.amount > 0)
        assert (line in plan.immediate) == (line.amount == 0)
