"""The pure rules of the client's billing day and of "off the day" (domain.billing_day,
domain.drift): examples, and properties over random services, evidence and log lines."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from domain_factories import CLIENT, addon, service
from hypothesis import given
from hypothesis import strategies as st

from domain.billing_day import (
    SET_BY_KINDS,
    KeepOnDay,
    is_repeat,
    keeps_day,
    ordinal,
    sets_day_at_once,
    setter_kind,
)
from domain.dates import is_on_day
from domain.drift import (
    DriftAction,
    DriftReason,
    Evidence,
    StaffEdit,
    Upgrade,
    changes_cycle_only,
    drift_action,
    drift_reason,
    off_day_lines,
    parse_staff_edit,
    upgrade_kind,
)
from domain.eligibility import Reason
from domain.model import AlignRequest, LineKind, Service
from domain.planner import Plan, plan_alignment
from domain.settings import parse_settings

SET_AT = datetime(2024, 6, 1, 10, 30)  # noqa: DTZ001

# ---- who set it ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested_by", "kind"),
    [
        ("admin:3", "admin"),
        ("admin", "admin"),
        ("client", "client"),
        ("client:7", "client"),
        ("bulk", "bulk"),
        ("cli", "cli"),
        ("CLI", "cli"),
        ("bench", "admin"),
        ("clients-page", "admin"),
    ],
)
def test_setter_kind_of_what_alignments_record(requested_by: str, kind: str) -> None:
    assert setter_kind(requested_by) == kind


@given(st.text(max_size=64))
def test_setter_kind_is_always_one_of_the_four(requested_by: str) -> None:
    assert setter_kind(requested_by) in SET_BY_KINDS


@given(st.sampled_from(SET_BY_KINDS), st.integers(min_value=1, max_value=2_147_483_647))
def test_setter_kind_keeps_the_kind_of_a_requester_with_an_id(kind: str, number: int) -> None:
    assert setter_kind(f"{kind}:{number}") == kind


def test_ordinals() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 30, 31)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "30th",
        "31st",
    ]  # fmt: skip
    for bad in (0, 32):
        with pytest.raises(ValueError, match="1 to 31"):
            ordinal(bad)


@given(
    st.one_of(st.none(), st.integers(1, 31)),
    st.one_of(st.none(), st.integers(1, 9)),
    st.integers(1, 31),
    st.one_of(st.none(), st.integers(1, 9)),
)
def test_only_the_same_day_from_the_same_alignment_is_a_repeat(
    current_day: int | None, current_request: int | None, day: int, request: int | None
) -> None:
    repeat = is_repeat(current_day, current_request, day, request)
    assert repeat == (request is not None and (current_day, current_request) == (day, request))


# ---- an alignment that needs no invoice ----------------------------------------------------


def _plan(*rows: Service, day: int = 1, today: date = date(2024, 6, 1)) -> Plan:
    return plan_alignment(CLIENT, rows, [], parse_settings({}), AlignRequest(today=today, day=day))


def test_day_at_once_only_when_nothing_waits_for_payment() -> None:
    free = service(1, amount="0.00", next_due=date(2024, 6, 10))
    paying = service(2, amount="30.00", next_due=date(2024, 6, 10))
    on_day = service(3, next_due=date(2024, 7, 1))
    gone = service(4, status="Cancelled")
    assert sets_day_at_once(_plan(free))
    assert sets_day_at_once(_plan(on_day))
    assert sets_day_at_once(_plan(free, on_day, gone))
    assert not sets_day_at_once(_plan(free, paying))
    assert not sets_day_at_once(_plan(gone))
    assert not sets_day_at_once(_plan())


# ---- off the day: the planner's answer -----------------------------------------------------

CYCLES = ["Monthly", "Quarterly", "Annually", "One Time", "Free Account"]
STATUSES = ["Active", "Suspended", "Cancelled", "Pending"]


@st.composite
def client_lines(draw: st.DrawFn) -> list[Service]:
    count = draw(st.integers(min_value=0, max_value=8))
    lines: list[Service] = []
    for n in range(1, count + 1):
        due = draw(st.one_of(st.none(), st.dates(date(2023, 1, 1), date(2026, 12, 31))))
        cycle = draw(st.sampled_from(CYCLES))
        status = draw(st.sampled_from(STATUSES))
        amount = draw(st.sampled_from(["0.00", "9.99", "30.00", "-5.00"]))
        if n > 1 and draw(st.booleans()):
            lines.append(
                addon(100 + n, service_id=1, cycle=cycle, next_due=due, status=status,
                      amount=amount, addon_id=n)
            )  # fmt: skip
        else:
            lines.append(
                service(n, cycle=cycle, next_due=due, status=status, amount=amount,
                        product_id=n, product_group_id=n % 3)
            )  # fmt: skip
    return lines


@given(client_lines(), st.integers(1, 31), st.dates(date(2023, 1, 1), date(2026, 12, 31)))
def test_off_the_day_is_every_line_that_may_take_part_and_is_not_on_the_day(
    lines: list[Service], day: int, today: date
) -> None:
    plan = _plan(*lines, day=day, today=today)
    listed = off_day_lines(plan)
    listed_keys = {line.service.key for line in listed}
    for line in plan.lines:
        svc = line.service
        if svc.key in listed_keys:
            # it may take part and it is not on the day
            assert svc.next_due is not None and not is_on_day(svc.next_due, day)
            assert svc.status in ("Active", "Suspended")
            assert svc.billing_cycle in ("Monthly", "Quarterly", "Annually")
        else:
            # on the day, or never taking part
            assert line.reason is not None and line.reason is not Reason.BLOCKED


def test_exclusions_keep_a_line_off_the_list() -> None:
    settings = parse_settings({"exclude_products": "5", "exclude_addons": "9"})
    rows = [
        service(1, next_due=date(2024, 6, 10), product_id=5),
        service(2, next_due=date(2024, 6, 10), product_id=6),
        addon(3, service_id=2, next_due=date(2024, 6, 10), addon_id=9),
    ]
    plan = plan_alignment(CLIENT, rows, [], settings, AlignRequest(today=date(2024, 6, 1), day=1))
    assert [line.service.id for line in off_day_lines(plan)] == [2]


# ---- why it is off -------------------------------------------------------------------------

moments = st.datetimes(datetime(2023, 1, 1), datetime(2026, 12, 31))  # noqa: DTZ001


@st.composite
def evidence(draw: st.DrawFn) -> Evidence:
    kind = draw(st.sampled_from(list(LineKind)))
    edits = tuple(
        StaffEdit(draw(moments), kind, 1, draw(st.booleans()), draw(st.booleans()))
        for _ in range(draw(st.integers(0, 3)))
    )
    upgrades = tuple(
        Upgrade(draw(moments).date(), draw(st.booleans())) for _ in range(draw(st.integers(0, 3)))
    )
    return Evidence(
        kind=kind,
        registered=draw(st.one_of(st.none(), moments.map(datetime.date))),
        day_set_at=draw(moments),
        upgrades=upgrades,
        staff_edits=edits,
    )


@given(evidence())
def test_a_date_staff_moved_after_the_day_was_set_wins(found: Evidence) -> None:
    moved = any(e.due_changed and e.at >= found.day_set_at for e in found.staff_edits)
    assert (drift_reason(found) is DriftReason.MOVED_BY_STAFF) == moved


@given(evidence())
def test_what_came_before_the_day_was_set_never_explains(found: Evidence) -> None:
    """Evidence older than the day changes nothing: the reason is the one of the evidence
    from the day on."""
    since = found.day_set_at
    recent = Evidence(
        kind=found.kind,
        registered=found.registered
        if found.registered and found.registered >= since.date()
        else None,
        day_set_at=since,
        upgrades=tuple(u for u in found.upgrades if u.on >= since.date()),
        staff_edits=tuple(e for e in found.staff_edits if e.at >= since),
    )
    assert drift_reason(found) is drift_reason(recent)


@given(evidence())
def test_the_reason_follows_the_documented_order(found: Evidence) -> None:
    since = found.day_set_at
    edits = [e for e in found.staff_edits if e.at >= since]
    upgrades = [u for u in found.upgrades if u.on >= since.date()]
    registered = found.registered is not None and found.registered >= since.date()
    if any(e.due_changed for e in edits):
        expected = DriftReason.MOVED_BY_STAFF
    elif any(e.cycle_changed for e in edits) or any(u.changes_cycle_only for u in upgrades):
        expected = DriftReason.CYCLE_CHANGE
    elif upgrades:
        expected = DriftReason.UPGRADE
    elif registered:
        expected = DriftReason.ADDON if found.kind is LineKind.ADDON else DriftReason.NEW_ORDER
    else:
        expected = DriftReason.UNKNOWN
    assert drift_reason(found) is expected


def test_reasons_by_example() -> None:
    later = SET_AT + timedelta(days=3)
    base = {"day_set_at": SET_AT}
    assert drift_reason(Evidence(LineKind.SERVICE, None, **base)) is DriftReason.UNKNOWN
    assert (
        drift_reason(Evidence(LineKind.SERVICE, date(2024, 6, 1), **base)) is DriftReason.NEW_ORDER
    )
    assert drift_reason(Evidence(LineKind.ADDON, date(2024, 6, 9), **base)) is DriftReason.ADDON
    assert (
        drift_reason(Evidence(LineKind.SERVICE, date(2024, 5, 31), **base)) is DriftReason.UNKNOWN
    )
    up = (Upgrade(date(2024, 6, 2), False),)
    assert drift_reason(Evidence(LineKind.SERVICE, None, upgrades=up, **base)) is (
        DriftReason.UPGRADE
    )
    cycle = (StaffEdit(later, LineKind.SERVICE, 1, False, True),)
    assert drift_reason(
        Evidence(LineKind.SERVICE, date(2024, 6, 2), upgrades=up, staff_edits=cycle, **base)
    ) is (DriftReason.CYCLE_CHANGE)


@given(
    st.booleans(),
    st.sampled_from(list(KeepOnDay)),
    st.sampled_from(list(DriftReason)),
    st.booleans(),
    st.booleans(),
)
def test_wait_while_an_alignment_waits_align_with_invoice_else_report(
    waiting: bool, keep: KeepOnDay, reason: DriftReason, blocked: bool, declined: bool
) -> None:
    action = drift_action(keep, waiting, reason, blocked, declined)
    if waiting:
        assert action is DriftAction.WAIT
    elif (
        keep is KeepOnDay.INVOICE
        and reason is not DriftReason.MOVED_BY_STAFF
        and not blocked
        and not declined
    ):
        assert action is DriftAction.ALIGN
    else:
        assert action is DriftAction.REPORT


def test_staff_moved_is_never_aligned_and_only_invoice_aligns() -> None:
    staff = DriftReason.MOVED_BY_STAFF
    assert drift_action(KeepOnDay.INVOICE, False, staff) is DriftAction.REPORT
    assert drift_action(KeepOnDay.INVOICE, False, DriftReason.NEW_ORDER) is DriftAction.ALIGN
    assert drift_action(KeepOnDay.INVOICE, False, DriftReason.UNKNOWN, True) is (DriftAction.REPORT)
    assert drift_action(KeepOnDay.REPORT, False, DriftReason.NEW_ORDER) is DriftAction.REPORT
    assert drift_action(KeepOnDay.OFF, False, DriftReason.UPGRADE) is DriftAction.REPORT
    # its keeping alignment expired or was cancelled: not invoiced again by the product
    assert drift_action(KeepOnDay.INVOICE, False, DriftReason.NEW_ORDER, False, True) is (
        DriftAction.REPORT
    )


@pytest.mark.parametrize(
    ("requested_by", "keeps"),
    [
        ("keep", True),
        ("keep:new-order", True),
        ("KEEP:daily", True),
        ("keeper", False),
        ("admin:1", False),
        ("cli", False),
    ],
)
def test_keep_alignments_are_told_apart(requested_by: str, keeps: bool) -> None:
    assert keeps_day(requested_by) is keeps


# ---- what WHMCS wrote ----------------------------------------------------------------------

FIELDS = ["Next Due Date", "Billing Cycle", "Recurring Amount", "Domain", "Status"]


@given(
    st.lists(st.sampled_from(FIELDS), min_size=1, max_size=5, unique=True),
    st.integers(1, 2_147_483_647),
    st.integers(1, 2_147_483_647),
    st.sampled_from(list(LineKind)),
)
def test_an_admin_save_is_read_from_its_activity_line(
    fields: list[str], user: int, relid: int, kind: LineKind
) -> None:
    changes = ", ".join(f"{name} changed from a to b" for name in fields)
    if kind is LineKind.SERVICE:
        text = f"Modified Product/Service - {changes} - User ID: {user} - Service ID: {relid}"
    else:
        text = f"Modified Addon - {changes} - User ID: {user} - Addon ID: {relid}"
    edit = parse_staff_edit(SET_AT, text)
    assert edit == StaffEdit(
        SET_AT, kind, relid, "Next Due Date" in fields, "Billing Cycle" in fields
    )


@pytest.mark.parametrize(
    "text",
    [
        "Server Sync: Modified Product/Service - Status changed from A to B - User ID: 1 "
        "- Service ID: 2",
        "Payment Reversal - Modified Product/Service - Next Due Date changed from 2024-01-01 "
        "to 2023-12-01 - Service ID: 2",
        "Prorated Next Due Date: invoice #4 paid, due dates moved: service #2 -> 2024-07-01",
        "Modified Product/Service - User ID: 1",
        "Added New Addon - Backups - Addon ID: 3 - Service ID: 2",
    ],
)
def test_other_activity_lines_are_no_admin_save(text: str) -> None:
    assert parse_staff_edit(SET_AT, text) is None


@pytest.mark.parametrize(
    ("kind", "original", "new", "cycle", "only_cycle"),
    [
        ("service", "5", "6", "Monthly", False),  # another product (cart)
        ("service", "5", "5", "Annually", True),  # the same product, a new cycle (cart)
        ("addon", "3", "3", "Quarterly", True),
        ("package", "5", "5,annually", "", True),  # classic: "<product id>,<cycle>"
        ("package", "5", "6,monthly", "", False),
        ("configoptions", "", "", "", False),
    ],
)
def test_an_upgrade_that_only_changes_the_cycle(
    kind: str, original: str, new: str, cycle: str, only_cycle: bool
) -> None:
    assert changes_cycle_only(kind, original, new, cycle) is only_cycle


def test_an_addon_upgrade_names_the_addon() -> None:
    assert upgrade_kind("addon") is LineKind.ADDON
    for kind in ("service", "package", "configoptions"):
        assert upgrade_kind(kind) is LineKind.SERVICE
