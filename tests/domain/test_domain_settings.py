"""The addon's settings as WHMCS saves them in tbladdonmodules."""

from __future__ import annotations

import pytest

from domain.cycles import Cycle
from domain.model import Exclusions
from domain.settings import SettingsError, default_settings, parse_settings

YES_NO_SETTINGS = [
    "client_area_button",
    "prorate_monthly",
    "prorate_quarterly",
    "prorate_semiannually",
    "prorate_annually",
    "prorate_biennially",
    "prorate_triennially",
    "calculate_days_by_use",
    "align_addons",
]


def test_no_rows_at_all_give_the_defaults() -> None:
    settings = parse_settings({})

    assert settings == default_settings()
    # the spec's defaults of the days of each cycle
    assert settings.fixed_days == {
        Cycle.MONTHLY: 30,
        Cycle.QUARTERLY: 90,
        Cycle.SEMI_ANNUALLY: 180,
        Cycle.ANNUALLY: 365,
        Cycle.BIENNIALLY: 730,
        Cycle.TRIENNIALLY: 1095,
    }
    assert 1 <= settings.prorata_day <= 31


def test_a_missing_row_takes_its_default_and_the_others_are_read() -> None:
    settings = parse_settings({"prorata_day": "15", "days_month": "31"})

    assert settings.prorata_day == 15
    assert settings.days_in(Cycle.MONTHLY) == 31
    assert settings.days_in(Cycle.QUARTERLY) == 90
    assert settings.days_in(Cycle.TRIENNIALLY) == 1095


def test_unknown_rows_are_ignored() -> None:
    # WHMCS also keeps "version" and "access" rows for the module.
    assert parse_settings({"version": "1.0", "access": "1,2"}) == parse_settings({})


@pytest.mark.parametrize("key", YES_NO_SETTINGS)
def test_yes_no_on_and_empty(key: str) -> None:
    on = parse_settings({key: "on"})
    off = parse_settings({key: ""})

    assert on != off


@pytest.mark.parametrize(("value", "expected"), [("on", True), ("", False)])
def test_yes_no_values(value: str, expected: bool) -> None:
    settings = parse_settings(
        {
            "client_area_button": value,
            "calculate_days_by_use": value,
            "align_addons": value,
            **{key: value for key in YES_NO_SETTINGS if key.startswith("prorate_")},
        }
    )

    assert settings.client_area_button is expected
    assert settings.calendar_days is expected
    assert settings.align_addons is expected
    assert settings.enabled_cycles == (frozenset(Cycle) if expected else frozenset())


@pytest.mark.parametrize(
    ("key", "cycle"),
    [
        ("prorate_monthly", Cycle.MONTHLY),
        ("prorate_quarterly", Cycle.QUARTERLY),
        ("prorate_semiannually", Cycle.SEMI_ANNUALLY),
        ("prorate_annually", Cycle.ANNUALLY),
        ("prorate_biennially", Cycle.BIENNIALLY),
        ("prorate_triennially", Cycle.TRIENNIALLY),
    ],
)
def test_each_prorate_setting_turns_off_its_own_cycle(key: str, cycle: Cycle) -> None:
    settings = parse_settings({key: ""})

    assert settings.enabled_cycles == frozenset(Cycle) - {cycle}


@pytest.mark.parametrize(
    ("key", "days", "cycle"),
    [
        ("days_month", "31", Cycle.MONTHLY),
        ("days_quarter", "91", Cycle.QUARTERLY),
        ("days_half_year", "182", Cycle.SEMI_ANNUALLY),
        ("days_year", "366", Cycle.ANNUALLY),
        ("days_two_year", "731", Cycle.BIENNIALLY),
        ("days_three_year", "1096", Cycle.TRIENNIALLY),
    ],
)
def test_days_settings(key: str, days: str, cycle: Cycle) -> None:
    assert parse_settings({key: days}).days_in(cycle) == int(days)


@pytest.mark.parametrize("day", ["1", "15", "31"])
def test_valid_prorata_days(day: str) -> None:
    assert parse_settings({"prorata_day": day}).prorata_day == int(day)


@pytest.mark.parametrize(
    ("key", "label", "value"),
    [
        ("prorata_day", "Prorata Date", "0"),
        ("prorata_day", "Prorata Date", "32"),
        ("prorata_day", "Prorata Date", "abc"),
        ("prorata_day", "Prorata Date", ""),
        ("days_month", "Days month", "0"),
        ("days_month", "Days month", "-5"),
        ("days_month", "Days month", "abc"),
        ("days_year", "Days year", "0"),
        ("calculate_days_by_use", "Calculate days by date of use", "maybe"),
    ],
)
def test_invalid_values_raise_an_error_naming_the_setting(key: str, label: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings({key: value})

    error = caught.value
    assert error.key == key
    assert label in str(error)
    assert key in str(error)
    assert isinstance(error, ValueError)


def test_an_invalid_value_is_never_replaced_by_the_default() -> None:
    # the default of days_month is valid, but a saved "0" must not fall back to it
    with pytest.raises(SettingsError):
        parse_settings({"days_month": "0", "prorata_day": "1"})


def test_minimum_days_and_exclusions_default_to_nothing() -> None:
    settings = parse_settings({})

    assert settings.minimum_days == 0
    assert settings.exclusions == Exclusions()
    assert not settings.exclusions


@pytest.mark.parametrize(("value", "days"), [("0", 0), ("2", 2), (" 7 ", 7), ("60", 60)])
def test_minimum_days_from_0_to_60(value: str, days: int) -> None:
    assert parse_settings({"minimum_days": value}).minimum_days == days


@pytest.mark.parametrize("value", ["61", "-1", "abc", "", "1.5", "7 days", "٣"])
def test_a_minimum_outside_0_to_60_is_refused_with_a_clear_message(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings({"minimum_days": value})

    assert str(caught.value) == (
        f'setting "Minimum days to charge" (minimum_days) has the value {value!r}: '
        "expected a whole number of days from 0 to 60"
    )


@pytest.mark.parametrize(
    ("value", "ids"),
    [
        ("", frozenset()),
        ("  ", frozenset()),
        ("5", frozenset({5})),
        ("3,7,12", frozenset({3, 7, 12})),
        (" 3 , 7,, 12, ", frozenset({3, 7, 12})),
        ("7,7", frozenset({7})),
        ("2147483647", frozenset({2147483647})),
    ],
)
def test_id_lists_are_ids_separated_by_commas(value: str, ids: frozenset[int]) -> None:
    settings = parse_settings(
        {"exclude_products": value, "exclude_product_groups": value, "exclude_addons": value}
    )

    assert settings.exclusions == Exclusions(products=ids, product_groups=ids, addons=ids)


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("exclude_products", "Excluded products"),
        ("exclude_product_groups", "Excluded product groups"),
        ("exclude_addons", "Excluded addons"),
    ],
)
@pytest.mark.parametrize(
    ("value", "piece"),
    [
        ("abc", "abc"),
        ("3,x", "x"),
        ("3;7", "3;7"),
        ("3 7", "3 7"),
        ("-1", "-1"),
        ("0", "0"),
        ("1.5", "1.5"),
        ("2147483648", "2147483648"),
        ("٣", "٣"),
    ],
)
def test_a_list_with_anything_but_ids_is_refused(
    key: str, label: str, value: str, piece: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings({key: value})

    assert caught.value.key == key
    assert str(caught.value) == (
        f'setting "{label}" ({key}) has the value {value!r}: expected ids separated by '
        f"commas, such as 3,7,12 ({piece!r} is not an id)"
    )
