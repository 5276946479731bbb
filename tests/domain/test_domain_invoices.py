"""The new alignment invoices, the rewrite of open invoices, and the plan's JSON."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

from domain_factories import addon, invoice, item, line_of, plan, service

from domain.model import BillingConfig, LineKind
from domain.tax import TaxSetup

TODAY = date(2024, 6, 1)
TWO_DECIMALS = re.compile(r"^-?\d+\.\d\d$")


def test_one_invoice_per_payment_method() -> None:
    # D = 1, calendar mode, every cycle here has 30 days:
    #   1: paypal, N 06-15, 16 days: 30.00 * 16/30 = 16.00
    #   2: banktransfer, N 06-20, 11 days: 60.00 * 11/30 = 22.00
    #   3: paypal, N 06-10, 21 days: 15.00 * 21/30 = 10.50
    result = plan(
        [
            service(1, next_due=date(2024, 6, 15), amount="30.00", payment_method="paypal"),
            service(2, next_due=date(2024, 6, 20), amount="60.00", payment_method="banktransfer"),
            service(3, next_due=date(2024, 6, 10), amount="15.00", payment_method="paypal"),
        ],
        today=TODAY,
        day=1,
    )

    by_method = {new_invoice.payment_method: new_invoice for new_invoice in result.invoices}
    assert set(by_method) == {"paypal", "banktransfer"}

    paypal = by_method["paypal"]
    assert sorted(line.service.id for line in paypal.lines) == [1, 3]
    assert paypal.totals.subtotal == Decimal("26.50")  # 16.00 + 10.50
    assert paypal.totals.total == Decimal("26.50")
    assert paypal.totals.tax == Decimal("0.00")
    assert paypal.date == TODAY
    assert paypal.due_date == date(2024, 6, 10)  # the earliest N of its lines

    bank = by_method["banktransfer"]
    assert [line.service.id for line in bank.lines] == [2]
    assert bank.totals.subtotal == Decimal("22.00")
    assert bank.totals.total == Decimal("22.00")
    assert bank.due_date == date(2024, 6, 20)

    exported = {inv["paymentmethod"]: inv for inv in result.to_dict()["invoices"]}
    assert [line["relid"] for line in exported["banktransfer"]["lines"]] == [2]
    assert exported["paypal"]["total"] == "26.50"


def test_due_date_is_never_before_today() -> None:
    # Earliest N is 05-10, overdue on T = 06-20: the invoice is due 06-20.
    result = plan(
        [
            service(1, next_due=date(2024, 5, 10)),
            service(2, next_due=date(2024, 6, 25)),
        ],
        today=date(2024, 6, 20),
        day=1,
    )

    (new_invoice,) = result.invoices
    assert new_invoice.date == date(2024, 6, 20)
    assert new_invoice.due_date == date(2024, 6, 20)


def test_due_date_is_the_earliest_n_when_all_are_ahead() -> None:
    result = plan(
        [service(1, next_due=date(2024, 6, 25)), service(2, next_due=date(2024, 6, 12))],
        today=TODAY,
        day=1,
    )

    (new_invoice,) = result.invoices
    assert new_invoice.due_date == date(2024, 6, 12)


def test_new_invoice_lines() -> None:
    result = plan(
        [service(1, next_due=date(2024, 6, 15), name="Web Hosting", domain="example.com",
                 taxed=True)],
        today=TODAY,
        day=1,
        config=BillingConfig(tax=TaxSetup(enabled=True, inclusive=False, l2_compound=False)),
    )  # fmt: skip

    (new_invoice,) = result.invoices
    (line,) = new_invoice.lines
    assert line.item_type == "ProrataProduct2024-07-01"
    assert line.new_due == date(2024, 7, 1)
    # the product, the domain and the period N to P-1 in the WHMCS date format (DD/MM/YYYY)
    assert "Web Hosting" in line.description
    assert "example.com" in line.description
    assert "15/06/2024" in line.description
    assert "30/06/2024" in line.description
    (exported,) = result.to_dict()["invoices"][0]["lines"]
    assert exported["type"] == "ProrataProduct2024-07-01"
    assert exported["relid"] == 1
    assert exported["amount"] == "16.00"
    assert exported["taxed"] is True
    assert exported["duedate"] == "2024-07-01"


def test_no_line_is_taxed_while_tax_is_off() -> None:
    """WHMCS writes taxed = 1 only when the product is taxed and TaxEnabled is on (billing
    facts 2.2)."""
    result = plan([service(1, next_due=date(2024, 6, 15), taxed=True)], today=TODAY, day=1)

    (line,) = result.lines
    assert not line.taxed
    assert result.to_dict()["invoices"][0]["lines"][0]["taxed"] is False


def test_description_follows_the_configured_date_format() -> None:
    result = plan(
        [service(1, next_due=date(2024, 6, 15), domain="")],
        today=TODAY,
        day=1,
        config=BillingConfig(date_format="YYYY-MM-DD"),
    )

    description = line_of(result, 1).description
    assert "2024-06-15" in description
    assert "2024-06-30" in description
    assert "15/06/2024" not in description


def test_zero_amount_line_moves_at_once_without_an_invoice() -> None:
    result = plan([service(1, next_due=date(2024, 6, 15), amount="0.00")], today=TODAY, day=1)

    line = line_of(result, 1)
    assert line.reason is None
    assert line.aligned
    assert not line.invoiced
    assert line.amount == Decimal("0.00")
    assert result.immediate == (line,)
    assert result.invoices == ()
    exported = result.to_dict()["lines"][0]
    assert exported["immediate"] is True
    assert exported["amount"] == "0.00"
    assert exported["new_due"] == "2024-07-01"


def test_a_line_rounding_to_zero_makes_no_invoice_line() -> None:
    # Fixed mode: 06-30..07-01 is 1 day: 0.01 * 1/30 = 0.0003 -> 0.00. Service 2 costs
    # 30.00 * 16/30 = 16.00 and is alone on the invoice.
    result = plan(
        [
            service(1, next_due=date(2024, 6, 30), amount="0.01"),
            service(2, next_due=date(2024, 6, 15), amount="30.00"),
        ],
        today=TODAY,
        day=1,
        calendar=False,
    )

    assert [line.service.id for line in result.immediate] == [1]
    (new_invoice,) = result.invoices
    assert [line.service.id for line in new_invoice.lines] == [2]
    assert new_invoice.totals.total == Decimal("16.00")


def test_old_lines_of_aligned_services_are_removed_from_open_invoices() -> None:
    services = [
        service(1, next_due=date(2024, 6, 15)),  # aligned
        service(2, next_due=date(2024, 7, 1)),  # already aligned: its lines stay
        addon(7, service_id=1, next_due=date(2024, 6, 15)),  # aligned addon
    ]
    invoices = [
        invoice(
            100,
            item(1001, 100, "Hosting", 1, "30.00"),
            item(1002, 100, "PromoHosting", 1, "-5.00"),
            item(1003, 100, "ProrataProduct2024-05-01", 1, "12.00"),
            item(1004, 100, "Hosting", 2, "20.00"),  # a service that is not aligned
            item(1005, 100, "Domain", 1, "9.00"),  # a domain whose id happens to be 1
            item(1006, 100, "Addon", 7, "6.00"),
            item(1007, 100, "ProrataAddon2024-05-01", 7, "2.00"),
            item(1008, 100, "Hosting", 7, "4.00"),  # service 7, not addon 7
            item(1009, 100, "Addon", 1, "3.00"),  # addon 1, not service 1
        ),
        invoice(101, item(1011, 101, "Hosting", 1, "30.00"), status="Draft"),
        invoice(102, item(1021, 102, "Hosting", 1, "30.00"), status="Paid", payments=1),
        invoice(103, item(1031, 103, "Hosting", 1, "30.00"), status="Cancelled"),
        invoice(104, item(1041, 104, "Hosting", 2, "20.00")),
    ]

    result = plan(services, today=TODAY, day=1, invoices=invoices)

    changes = {change.invoice_id: change for change in result.changes}
    assert set(changes) == {100, 101}

    kept_some = changes[100]
    assert sorted(kept_some.removed_item_ids) == [1001, 1002, 1003, 1006, 1007]
    assert not kept_some.delete
    assert kept_some.totals is not None
    assert kept_some.totals.subtotal == Decimal("36.00")  # 20.00 + 9.00 + 4.00 + 3.00
    assert kept_some.totals.tax == Decimal("0.00")
    assert kept_some.totals.total == Decimal("36.00")

    emptied = changes[101]
    assert emptied.removed_item_ids == (1011,)
    assert emptied.delete
    assert emptied.totals is None

    exported = {change["invoice_id"]: change for change in result.to_dict()["changes"]}
    assert exported[101]["delete"] is True
    assert exported[100]["delete"] is False
    assert exported[100]["total"] == "36.00"


def test_totals_of_a_rewritten_invoice_keep_its_own_tax_rate() -> None:
    # Invoice at 20 % exclusive; left: 10.00 taxed + 5.00 untaxed.
    # subtotal 15.00, tax 10.00 * 20/100 = 2.00, total 17.00.
    config = BillingConfig(tax=TaxSetup(enabled=True, inclusive=False, l2_compound=False))
    result = plan(
        [service(1, next_due=date(2024, 6, 15))],
        today=TODAY,
        day=1,
        config=config,
        invoices=[
            invoice(
                105,
                item(1051, 105, "Hosting", 1, "30.00", taxed=True),
                item(1052, 105, "Domain", 3, "10.00", taxed=True),
                item(1053, 105, "Hosting", 9, "5.00"),
                taxrate="20.00",
            )
        ],
    )

    (change,) = result.changes
    assert change.removed_item_ids == (1051,)
    assert change.totals is not None
    assert change.totals.subtotal == Decimal("15.00")
    assert change.totals.tax == Decimal("2.00")
    assert change.totals.total == Decimal("17.00")


def test_a_zero_amount_service_also_leaves_its_old_unpaid_lines() -> None:
    result = plan(
        [service(1, next_due=date(2024, 6, 15), amount="0.00")],
        today=TODAY,
        day=1,
        invoices=[invoice(106, item(1061, 106, "Hosting", 1, "0.00"))],
    )

    (change,) = result.changes
    assert change.removed_item_ids == (1061,)
    assert change.delete


def test_skipped_services_leave_open_invoices_alone() -> None:
    result = plan(
        [service(1, status="Terminated"), service(2, next_due=date(2024, 7, 1))],
        today=TODAY,
        day=1,
        invoices=[invoice(107, item(1071, 107, "Hosting", 1), item(1072, 107, "Hosting", 2))],
    )

    assert result.changes == ()
    assert result.invoices == ()


def test_plan_json_has_the_promised_keys_and_round_trips() -> None:
    result = plan(
        [
            service(1, next_due=date(2024, 6, 15), payment_method="paypal", taxed=True),
            service(2, status="Cancelled"),
            addon(7, service_id=1, next_due=date(2024, 6, 15)),
        ],
        today=TODAY,
        day=1,
        invoices=[invoice(100, item(1001, 100, "Hosting", 1))],
    )

    data = result.to_dict()
    assert json.loads(json.dumps(data)) == data

    line_keys = {
        "type", "id", "client_id", "reason", "old_due", "new_due", "days", "amount",
        "paymentmethod", "blocked_by_invoice",
    }  # fmt: skip
    for line in data["lines"]:
        assert line_keys <= set(line)
    lines = {(line["type"], line["id"]): line for line in data["lines"]}
    aligned = lines[("service", 1)]
    assert aligned["client_id"] == 7
    assert aligned["reason"] is None
    assert aligned["old_due"] == "2024-06-15"
    assert aligned["new_due"] == "2024-07-01"
    assert aligned["days"] == 16
    assert aligned["amount"] == "16.00"
    assert aligned["paymentmethod"] == "paypal"
    assert aligned["blocked_by_invoice"] is None
    assert lines[("addon", 7)]["amount"] == "3.20"  # 6.00 * 16/30
    skipped = lines[("service", 2)]
    assert skipped["reason"] == "status"
    assert skipped["new_due"] is None

    invoice_keys = {"paymentmethod", "lines", "subtotal", "tax", "tax2", "total"}
    assert data["invoices"]
    for new_invoice in data["invoices"]:
        assert invoice_keys <= set(new_invoice)
        for key in ("subtotal", "tax", "tax2", "total"):
            assert TWO_DECIMALS.match(new_invoice[key]), (key, new_invoice[key])
    for line in data["lines"]:
        if line["amount"] is not None:
            assert TWO_DECIMALS.match(line["amount"])


def test_an_aligned_addon_goes_on_its_own_line() -> None:
    result = plan(
        [
            service(1, next_due=date(2024, 6, 15)),
            addon(7, service_id=1, next_due=date(2024, 6, 15)),
        ],
        today=TODAY,
        day=1,
    )

    (new_invoice,) = result.invoices
    kinds = [(line.service.kind, line.service.id) for line in new_invoice.lines]
    assert sorted(kinds, key=lambda pair: pair[0].value) == [
        (LineKind.ADDON, 7),
        (LineKind.SERVICE, 1),
    ]
    # 30.00 * 16/30 = 16.00 and 6.00 * 16/30 = 3.20
    assert new_invoice.totals.total == Decimal("19.20")
