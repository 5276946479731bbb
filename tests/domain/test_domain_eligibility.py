"""Which services take part, the reason shown for the others, and the order of the checks."""

from __future__ import annotations

from datetime import date

import pytest
from domain_factories import addon, invoice, item, line_of, plan, service

from domain.cycles import Cycle
from domain.eligibility import Reason
from domain.model import LineKind, OpenInvoice

TODAY = date(2024, 6, 1)
N = date(2024, 6, 15)  # not on day 1: takes part unless something else stops it


@pytest.mark.parametrize("status", ["Active", "Suspended"])
def test_active_and_suspended_services_take_part(status: str) -> None:
    result = plan([service(1, status=status, next_due=N)], today=TODAY, day=1)

    line = line_of(result, 1)
    assert line.reason is None
    assert line.new_due == date(2024, 7, 1)


@pytest.mark.parametrize("status", ["Pending", "Terminated", "Cancelled", "Fraud", "Completed"])
def test_other_statuses_are_skipped(status: str) -> None:
    result = plan([service(1, status=status, next_due=N)], today=TODAY, day=1)

    line = line_of(result, 1)
    assert line.reason is Reason.STATUS
    assert line.charge is None
    assert result.invoices == ()


@pytest.mark.parametrize("cycle", ["Free Account", "One Time", ""])
def test_cycles_that_do_not_recur_are_skipped(cycle: str) -> None:
    result = plan([service(1, cycle=cycle, next_due=N)], today=TODAY, day=1)

    assert line_of(result, 1).reason is Reason.CYCLE_NOT_RECURRING


@pytest.mark.parametrize(
    ("cycle", "setting"),
    [
        ("Monthly", "prorate_monthly"),
        ("Quarterly", "prorate_quarterly"),
        ("Semi-Annually", "prorate_semiannually"),
        ("Annually", "prorate_annually"),
        ("Biennially", "prorate_biennially"),
        ("Triennially", "prorate_triennially"),
    ],
)
def test_cycle_disabled_in_the_settings(cycle: str, setting: str) -> None:
    other = "Quarterly" if cycle == "Monthly" else "Monthly"
    services = [service(1, cycle=cycle, next_due=N), service(2, cycle=other, next_due=N)]

    result = plan(services, today=TODAY, day=1, rows={setting: ""})

    assert line_of(result, 1).reason is Reason.CYCLE_DISABLED
    assert line_of(result, 2).reason is None  # the other cycle still takes part


def test_cycle_disabled_by_the_run() -> None:
    result = plan(
        [service(1, cycle="Monthly", next_due=N), service(2, cycle="Quarterly", next_due=N)],
        today=TODAY,
        day=1,
        cycles=frozenset({Cycle.QUARTERLY}),
    )

    assert line_of(result, 1).reason is Reason.CYCLE_DISABLED
    assert line_of(result, 2).reason is None


def test_the_run_can_only_narrow_the_settings() -> None:
    # "Prorate monthly" is off: choosing Monthly for the run does not turn it back on.
    result = plan(
        [service(1, cycle="Monthly", next_due=N)],
        today=TODAY,
        day=1,
        rows={"prorate_monthly": ""},
        cycles=frozenset({Cycle.MONTHLY, Cycle.QUARTERLY}),
    )

    assert line_of(result, 1).reason is Reason.CYCLE_DISABLED


def test_no_due_date() -> None:
    result = plan([service(1, next_due=None)], today=TODAY, day=1)

    assert line_of(result, 1).reason is Reason.NO_DUE_DATE


def test_already_aligned() -> None:
    result = plan([service(1, next_due=date(2024, 7, 1))], today=TODAY, day=1)

    assert line_of(result, 1).reason is Reason.ALREADY_ALIGNED


def test_addons_disabled() -> None:
    result = plan(
        [service(1, next_due=N), addon(5, service_id=1, next_due=N)],
        today=TODAY,
        day=1,
        rows={"align_addons": ""},
    )

    assert line_of(result, 1).reason is None
    assert line_of(result, 5, LineKind.ADDON).reason is Reason.ADDONS_DISABLED
    (new_invoice,) = result.invoices
    assert [line.service.kind for line in new_invoice.lines] == [LineKind.SERVICE]


def test_addons_enabled_take_part() -> None:
    result = plan([service(1, next_due=N), addon(5, service_id=1, next_due=N)], today=TODAY, day=1)

    line = line_of(result, 5, LineKind.ADDON)
    assert line.reason is None
    assert line.item_type == "ProrataAddon2024-07-01"


def test_not_selected() -> None:
    result = plan(
        [service(1, next_due=N), service(2, next_due=N)],
        today=TODAY,
        day=1,
        selected=frozenset({(LineKind.SERVICE, 2)}),
    )

    assert line_of(result, 1).reason is Reason.NOT_SELECTED
    assert line_of(result, 2).reason is None


def test_selection_names_the_kind_too() -> None:
    # Selecting service 5 does not select addon 5.
    result = plan(
        [service(5, next_due=N), addon(5, service_id=5, next_due=N)],
        today=TODAY,
        day=1,
        selected=frozenset({(LineKind.SERVICE, 5)}),
    )

    assert line_of(result, 5).reason is None
    assert line_of(result, 5, LineKind.ADDON).reason is Reason.NOT_SELECTED


@pytest.mark.parametrize(
    ("payments", "credit"),
    [pytest.param(1, "0.00", id="payment"), pytest.param(0, "5.00", id="credit")],
)
@pytest.mark.parametrize("status", ["Unpaid", "Draft"])
def test_blocked_by_an_invoice_with_money_on_it(payments: int, credit: str, status: str) -> None:
    held = invoice(
        41,
        item(410, 41, "Hosting", 1, "30.00"),
        status=status,
        payments=payments,
        credit=credit,
    )
    result = plan(
        [service(1, next_due=N), service(2, next_due=N)],
        today=TODAY,
        day=1,
        invoices=[held],
    )

    line = line_of(result, 1)
    assert line.reason is Reason.BLOCKED
    assert line.blocked_by_invoice == 41
    assert not line.aligned
    assert result.to_dict()["lines"][0]["blocked_by_invoice"] == 41
    assert result.to_dict()["lines"][0]["reason"] == "blocked"
    # the invoice is never changed, and the blocked service is not on the new invoice
    assert result.changes == ()
    (new_invoice,) = result.invoices
    assert [line.service.id for line in new_invoice.lines] == [2]


def test_blocked_names_the_lowest_blocking_invoice() -> None:
    result = plan(
        [service(1, next_due=N)],
        today=TODAY,
        day=1,
        invoices=[
            invoice(52, item(520, 52, "Hosting", 1), payments=2),
            invoice(51, item(510, 51, "ProrataProduct2024-06-01", 1), credit="1.00"),
        ],
    )

    assert line_of(result, 1).blocked_by_invoice == 51


@pytest.mark.parametrize(
    "held",
    [
        # money on an invoice that holds no line of the service
        pytest.param(invoice(43, item(430, 43, "Hosting", 2), payments=1), id="other-service"),
        # a Paid invoice is not an open invoice holding the renewal
        pytest.param(
            invoice(44, item(440, 44, "Hosting", 1), status="Paid", payments=1), id="paid"
        ),
        # an unpaid invoice without money on it does not block (its line is removed instead)
        pytest.param(invoice(45, item(450, 45, "Hosting", 1)), id="no-money"),
    ],
)
def test_not_blocked(held: OpenInvoice) -> None:
    result = plan([service(1, next_due=N)], today=TODAY, day=1, invoices=[held])

    line = line_of(result, 1)
    assert line.reason is None
    assert line.blocked_by_invoice is None


def test_a_skipped_service_is_not_reported_blocked() -> None:
    # Already aligned: nothing will touch its invoice, so "already-aligned" is the reason.
    result = plan(
        [service(1, next_due=date(2024, 7, 1))],
        today=TODAY,
        day=1,
        invoices=[invoice(46, item(460, 46, "Hosting", 1), payments=1)],
    )

    assert line_of(result, 1).reason is Reason.ALREADY_ALIGNED


@pytest.mark.parametrize(
    ("status", "cycle", "next_due", "rows", "reason"),
    [
        pytest.param("Terminated", "Free Account", N, {}, Reason.STATUS, id="status-first"),
        pytest.param("Cancelled", "Monthly", None, {"prorate_monthly": ""}, Reason.STATUS,
                     id="status-before-disabled-and-no-date"),
        pytest.param("Pending", "Monthly", date(2024, 7, 1), {}, Reason.STATUS,
                     id="status-before-already-aligned"),
        pytest.param("Active", "One Time", None, {}, Reason.CYCLE_NOT_RECURRING,
                     id="not-recurring-before-no-date"),
        pytest.param("Active", "Free Account", date(2024, 7, 1), {}, Reason.CYCLE_NOT_RECURRING,
                     id="not-recurring-before-already-aligned"),
        pytest.param("Active", "Monthly", None, {"prorate_monthly": ""}, Reason.CYCLE_DISABLED,
                     id="disabled-before-no-date"),
        pytest.param("Suspended", "Monthly", date(2024, 7, 1), {"prorate_monthly": ""},
                     Reason.CYCLE_DISABLED, id="disabled-before-already-aligned"),
        pytest.param("Active", "Monthly", None, {}, Reason.NO_DUE_DATE, id="no-date"),
    ],
)  # fmt: skip
def test_order_of_the_checks(
    status: str, cycle: str, next_due: date | None, rows: dict[str, str], reason: Reason
) -> None:
    result = plan(
        [service(1, status=status, cycle=cycle, next_due=next_due)],
        today=TODAY,
        day=1,
        rows=rows,
    )

    assert line_of(result, 1).reason is reason


def test_every_skipped_service_is_still_listed_with_its_reason() -> None:
    services = [
        service(1, status="Terminated"),
        service(2, cycle="One Time"),
        service(3, cycle="Quarterly"),
        service(4, next_due=None),
        service(5, next_due=date(2024, 7, 1)),
        service(6),
    ]

    result = plan(services, today=TODAY, day=1, cycles=frozenset({Cycle.MONTHLY, Cycle.ANNUALLY}))

    exported = {line["id"]: line["reason"] for line in result.to_dict()["lines"]}
    assert exported == {
        1: "status",
        2: "cycle-not-recurring",
        3: "cycle-disabled",
        4: "no-due-date",
        5: "already-aligned",
        6: None,
    }


def test_services_of_another_client_are_left_out() -> None:
    result = plan([service(1, next_due=N), service(2, next_due=N, client_id=99)], today=TODAY)

    assert [line.service.id for line in result.lines] == [1]


# --------------------------------------------------------------------------------------------
# A negative price (a credit or discount product) never moves a date for free
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["-10.00", "-0.01"])
def test_a_negative_price_is_skipped_with_its_own_reason(amount: str) -> None:
    result = plan(
        [
            service(1, amount=amount, next_due=N),
            service(2, amount="30.00", next_due=N),
            addon(5, service_id=2, amount=amount, next_due=N),
        ],
        today=TODAY,
        day=1,
    )
    for line in (line_of(result, 1), line_of(result, 5, LineKind.ADDON)):
        assert line.reason is Reason.NEGATIVE_PRICE
        assert (line.aligned, line.invoiced, line.charge, line.new_due) == (
            False,
            False,
            None,
            None,
        )
    assert result.immediate == ()  # nothing moves at once
    [created] = result.invoices
    assert [line.service.id for line in created.lines] == [2]


def test_negative_price_comes_after_already_aligned_and_before_not_selected() -> None:
    result = plan(
        [
            service(1, amount="-5.00", next_due=date(2024, 7, 1)),
            service(2, amount="-5.00", next_due=N),
        ],
        today=TODAY,
        day=1,
        selected=frozenset(),
    )
    assert line_of(result, 1).reason is Reason.ALREADY_ALIGNED
    assert line_of(result, 2).reason is Reason.NEGATIVE_PRICE
