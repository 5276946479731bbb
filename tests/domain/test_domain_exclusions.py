"""Exclusions: products, product groups and catalogue addons listed in the settings never
take part (reason `excluded`), whatever else the service's state would say."""

from __future__ import annotations

from datetime import date

from domain_factories import addon, invoice, item, line_of, plan, service
from hypothesis import given
from hypothesis import strategies as st

from domain.eligibility import Reason
from domain.model import LineKind

TODAY = date(2024, 6, 1)
N = date(2024, 6, 15)

EXCLUDING = {"exclude_products": "5, 9", "exclude_product_groups": "3", "exclude_addons": "12"}


def test_listed_products_groups_and_addons_are_excluded() -> None:
    services = [
        service(1, product_id=5, product_group_id=1),  # its product is listed
        service(2, product_id=6, product_group_id=3),  # its group is listed
        service(3, product_id=7, product_group_id=1),  # neither
        addon(4, service_id=1, addon_id=12),  # listed, on an excluded service
        addon(5, service_id=3, addon_id=12),  # listed, on a service that takes part
        addon(6, service_id=1, addon_id=13),  # not listed, on an excluded service
        addon(7, service_id=3, addon_id=0),  # typed in by hand: no catalogue id
    ]

    result = plan(services, today=TODAY, rows=EXCLUDING)

    reasons = {(line.service.kind, line.service.id): line.reason for line in result.lines}
    assert reasons == {
        (LineKind.SERVICE, 1): Reason.EXCLUDED,
        (LineKind.SERVICE, 2): Reason.EXCLUDED,
        (LineKind.SERVICE, 3): None,
        (LineKind.ADDON, 4): Reason.EXCLUDED,
        (LineKind.ADDON, 5): Reason.EXCLUDED,
        # each kind is named by its own list: an addon follows no product exclusion
        (LineKind.ADDON, 6): None,
        (LineKind.ADDON, 7): None,
    }
    excluded = line_of(result, 1)
    assert (excluded.new_due, excluded.charge, excluded.amount) == (None, None, None)
    [new_invoice] = result.invoices
    assert [line.service.id for line in new_invoice.lines] == [6, 3, 7]


def test_an_addon_id_does_not_exclude_a_product_of_the_same_number() -> None:
    result = plan(
        [service(1, product_id=12, product_group_id=12), addon(2, service_id=1, addon_id=5)],
        today=TODAY,
        rows={"exclude_addons": "12", "exclude_products": "", "exclude_product_groups": "5"},
    )

    assert [line.reason for line in result.lines] == [None, None]


def test_excluded_comes_before_the_service_s_own_reasons() -> None:
    services = [
        service(1, product_id=5, status="Terminated"),
        service(2, product_id=5, cycle="One Time"),
        service(3, product_id=5, next_due=None),
        service(4, product_id=5, next_due=date(2024, 7, 1)),
        service(5, product_id=5, next_due=N),
    ]
    renewal = invoice(10, item(100, 10, "Hosting", 5), payments=1)

    result = plan(services, today=TODAY, rows=EXCLUDING, invoices=[renewal])

    assert {line.reason for line in result.lines} == {Reason.EXCLUDED}
    assert line_of(result, 5).blocked_by_invoice is None


def test_addons_disabled_stays_the_reason_when_addons_are_off() -> None:
    result = plan(
        [service(1), addon(2, service_id=1, addon_id=12)],
        today=TODAY,
        rows={**EXCLUDING, "align_addons": ""},
    )

    assert line_of(result, 2, LineKind.ADDON).reason is Reason.ADDONS_DISABLED


def test_an_excluded_service_keeps_its_renewal_invoice_as_it_is() -> None:
    services = [service(1, product_id=5), service(2, product_id=6)]
    renewal = invoice(10, item(100, 10, "Hosting", 1), item(101, 10, "Hosting", 2))

    result = plan(services, today=TODAY, rows=EXCLUDING, invoices=[renewal])

    [change] = result.changes
    assert change.removed_item_ids == (101,)
    assert change.action == "reduce"


def test_the_preview_document_names_the_reason() -> None:
    result = plan([service(1, product_id=9)], today=TODAY, rows=EXCLUDING)

    [line] = result.to_dict()["lines"]
    assert (line["reason"], line["new_due"], line["amount"]) == ("excluded", None, None)
    assert result.to_dict()["invoices"] == []


def test_no_exclusions_change_nothing() -> None:
    services = [service(1, product_id=5, product_group_id=3), addon(2, service_id=1, addon_id=12)]

    assert plan(services, today=TODAY) == plan(
        services,
        today=TODAY,
        rows={"exclude_products": "", "exclude_product_groups": " ", "exclude_addons": ","},
    )


ids = st.integers(min_value=1, max_value=30)


@given(
    products=st.frozensets(ids, max_size=5),
    groups=st.frozensets(ids, max_size=5),
    addons=st.frozensets(ids, max_size=5),
    rows=st.lists(st.tuples(ids, ids, ids), min_size=1, max_size=6),
)
def test_a_line_is_excluded_exactly_when_its_own_list_names_it(
    products: frozenset[int],
    groups: frozenset[int],
    addons: frozenset[int],
    rows: list[tuple[int, int, int]],
) -> None:
    services = []
    for number, (product, group, catalogue) in enumerate(rows, start=1):
        services.append(service(number, product_id=product, product_group_id=group))
        services.append(addon(100 + number, service_id=number, addon_id=catalogue))
    settings_rows = {
        "exclude_products": ",".join(map(str, sorted(products))),
        "exclude_product_groups": " , ".join(map(str, sorted(groups))),
        "exclude_addons": ",".join(map(str, sorted(addons))) + ",",
    }

    result = plan(services, today=TODAY, rows=settings_rows)

    for line in result.lines:
        row = line.service
        if row.kind is LineKind.SERVICE:
            named = row.product_id in products or row.product_group_id in groups
        else:
            named = row.addon_id in addons
        assert (line.reason is Reason.EXCLUDED) == named
        assert line.reason in (Reason.EXCLUDED, None)
    kept = {line.service.key for line in result.lines if line.reason is None}
    invoiced = {line.service.key for inv in result.invoices for line in inv.lines}
    assert invoiced == kept
