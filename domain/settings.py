"""The addon's settings, read from the rows WHMCS saves in `tbladdonmodules`.

WHMCS stores every value as a string; a yes/no field holds "on" or "". A setting
with no row at all (never saved) takes its default; a row with a value that makes no
sense is an error naming the setting, never silently replaced by a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from domain.billing_day import KEEP_ON_DAY_VALUES, KeepOnDay
from domain.cycles import Cycle
from domain.model import NO_EXCLUSIONS, RENEWAL_INVOICES_VALUES, Exclusions, RenewalInvoices

MODULE_NAME = "prorata_align"


class Kind(Enum):
    YESNO = "yesno"
    DAY = "day"
    POSITIVE_INT = "positive-int"
    NON_NEGATIVE_INT = "non-negative-int"
    PORT = "port"
    NAME = "name"
    SECRET = "secret"
    MINIMUM_DAYS = "minimum-days"
    ID_LIST = "id-list"
    KEEP_ON_DAY = "keep-on-day"
    RENEWAL_INVOICES = "renewal-invoices"


@dataclass(frozen=True)
class SettingSpec:
    key: str
    label: str
    kind: Kind
    default: str


# Order and labels match the WHMCS configuration page (prorata_align_config()).
SETTING_SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("client_area_button", "Button on client area", Kind.YESNO, ""),
    SettingSpec("prorata_day", "Prorata Date", Kind.DAY, "1"),
    SettingSpec("prorate_monthly", "Prorate monthly", Kind.YESNO, "on"),
    SettingSpec("prorate_quarterly", "Prorate quarterly", Kind.YESNO, "on"),
    SettingSpec("prorate_semiannually", "Prorate semi-annual", Kind.YESNO, "on"),
    SettingSpec("prorate_annually", "Prorate annual", Kind.YESNO, "on"),
    SettingSpec("prorate_biennially", "Prorate biennial", Kind.YESNO, "on"),
    SettingSpec("prorate_triennially", "Prorate triennial", Kind.YESNO, "on"),
    SettingSpec("calculate_days_by_use", "Calculate days by date of use", Kind.YESNO, "on"),
    SettingSpec("days_month", "Days month", Kind.POSITIVE_INT, "30"),
    SettingSpec("days_quarter", "Days quarter", Kind.POSITIVE_INT, "90"),
    SettingSpec("days_half_year", "Days half year", Kind.POSITIVE_INT, "180"),
    SettingSpec("days_year", "Days year", Kind.POSITIVE_INT, "365"),
    SettingSpec("days_two_year", "Days two year", Kind.POSITIVE_INT, "730"),
    SettingSpec("days_three_year", "Days three year", Kind.POSITIVE_INT, "1095"),
    SettingSpec("align_addons", "Align product addons", Kind.YESNO, "on"),
    SettingSpec(
        "cancel_unpaid_after_days",
        "Cancel unpaid alignment invoices after (days)",
        Kind.NON_NEGATIVE_INT,
        "30",
    ),
    SettingSpec("minimum_days", "Minimum days to charge", Kind.MINIMUM_DAYS, "0"),
    SettingSpec("exclude_products", "Excluded products", Kind.ID_LIST, ""),
    SettingSpec("exclude_product_groups", "Excluded product groups", Kind.ID_LIST, ""),
    SettingSpec("exclude_addons", "Excluded addons", Kind.ID_LIST, ""),
    SettingSpec("keep_on_day", "Keep services on the client's day", Kind.KEEP_ON_DAY, "off"),
    SettingSpec("renewal_invoices", "Unpaid renewal invoices", Kind.RENEWAL_INVOICES, "edit"),
    SettingSpec("redis_host", "Redis host", Kind.NAME, "127.0.0.1"),
    SettingSpec("redis_port", "Redis port", Kind.PORT, "6379"),
    SettingSpec("redis_password", "Redis password", Kind.SECRET, ""),
    SettingSpec("redis_db", "Redis database", Kind.NON_NEGATIVE_INT, "0"),
    SettingSpec("queue", "Queue", Kind.NAME, "prorata"),
    SettingSpec("preview_timeout", "Preview wait (seconds)", Kind.POSITIVE_INT, "5"),
)

SETTING_KEYS: tuple[str, ...] = tuple(spec.key for spec in SETTING_SPECS)
DEFAULTS: Mapping[str, str] = {spec.key: spec.default for spec in SETTING_SPECS}

CYCLE_SETTING: Mapping[Cycle, str] = {
    Cycle.MONTHLY: "prorate_monthly",
    Cycle.QUARTERLY: "prorate_quarterly",
    Cycle.SEMI_ANNUALLY: "prorate_semiannually",
    Cycle.ANNUALLY: "prorate_annually",
    Cycle.BIENNIALLY: "prorate_biennially",
    Cycle.TRIENNIALLY: "prorate_triennially",
}

DAYS_SETTING: Mapping[Cycle, str] = {
    Cycle.MONTHLY: "days_month",
    Cycle.QUARTERLY: "days_quarter",
    Cycle.SEMI_ANNUALLY: "days_half_year",
    Cycle.ANNUALLY: "days_year",
    Cycle.BIENNIALLY: "days_two_year",
    Cycle.TRIENNIALLY: "days_three_year",
}

_YES = frozenset({"on", "yes", "1", "true"})
_NO = frozenset({"", "off", "no", "0", "false"})


class SettingsError(ValueError):
    """A saved setting that cannot be used; `key` and `label` name it."""

    def __init__(self, spec: SettingSpec, value: str, expected: str) -> None:
        self.key = spec.key
        self.label = spec.label
        self.value = value
        super().__init__(
            f'setting "{spec.label}" ({spec.key}) has the value {value!r}: expected {expected}'
        )


@dataclass(frozen=True)
class Settings:
    client_area_button: bool
    prorata_day: int
    enabled_cycles: frozenset[Cycle]
    calendar_days: bool
    fixed_days: Mapping[Cycle, int]
    align_addons: bool
    cancel_unpaid_after_days: int
    redis_host: str
    redis_port: int
    redis_password: str
    redis_db: int
    queue: str
    preview_timeout: int
    # the shortest stub N..P invoiced: a shorter one moves P on to a later day D
    minimum_days: int = 0
    exclusions: Exclusions = NO_EXCLUSIONS
    keep_on_day: KeepOnDay = KeepOnDay.OFF
    # what an alignment does to an issued invoice holding an aligned service's renewal
    renewal_invoices: RenewalInvoices = RenewalInvoices.EDIT

    def days_in(self, cycle: Cycle) -> int:
        """F, the fixed number of days of a cycle, used when calendar_days is off."""
        return self.fixed_days[cycle]


def parse_day(text: str) -> int:
    """A prorata day, 1 to 31. Raises ValueError with a plain message."""
    cleaned = text.strip()
    if not (cleaned.isascii() and cleaned.isdigit()) or not 1 <= int(cleaned) <= 31:
        raise ValueError(f"the prorata day must be a whole number from 1 to 31, not {text!r}")
    return int(cleaned)


# WHMCS's ids are int(10): what a list of ids may hold
_LARGEST_ID = 2_147_483_647


def _parse_ids(spec: SettingSpec, raw: str) -> frozenset[int]:
    """Ids separated by commas ("3, 7,12"); spaces and an empty piece (a trailing comma)
    are forgiven, anything else is refused."""
    ids: set[int] = set()
    for piece in raw.split(","):
        text = piece.strip()
        if not text:
            continue
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= _LARGEST_ID:
            raise SettingsError(
                spec, raw, f"ids separated by commas, such as 3,7,12 ({text!r} is not an id)"
            )
        ids.add(int(text))
    return frozenset(ids)


def _parse_value(spec: SettingSpec, raw: str) -> bool | int | str | frozenset[int]:
    text = raw.strip()
    if spec.kind is Kind.ID_LIST:
        return _parse_ids(spec, raw)
    if spec.kind is Kind.YESNO:
        if text.lower() in _YES:
            return True
        if text.lower() in _NO:
            return False
        raise SettingsError(spec, raw, '"on" or empty')
    if spec.kind in _CHOICES:
        choices = _CHOICES[spec.kind]
        if text.lower() not in choices:
            raise SettingsError(spec, raw, " or ".join(f'"{v}"' for v in choices))
        return text.lower()
    if spec.kind is Kind.SECRET:
        return raw  # a password may begin or end with a space
    if spec.kind is Kind.NAME:
        if not text or any(ch.isspace() for ch in text):
            raise SettingsError(spec, raw, "a name without spaces")
        return text
    if not (text.isascii() and text.isdigit()):
        raise SettingsError(spec, raw, _EXPECTED[spec.kind])
    number = int(text)
    low, high = _RANGES[spec.kind]
    if not low <= number <= high:
        raise SettingsError(spec, raw, _EXPECTED[spec.kind])
    return number


# the settings that hold one of a few words (a dropdown on the WHMCS page)
_CHOICES: Mapping[Kind, tuple[str, ...]] = {
    Kind.KEEP_ON_DAY: KEEP_ON_DAY_VALUES,
    Kind.RENEWAL_INVOICES: RENEWAL_INVOICES_VALUES,
}

_RANGES: Mapping[Kind, tuple[int, int]] = {
    Kind.DAY: (1, 31),
    Kind.POSITIVE_INT: (1, 100_000),
    Kind.NON_NEGATIVE_INT: (0, 100_000),
    Kind.PORT: (1, 65_535),
    Kind.MINIMUM_DAYS: (0, 60),
}
_EXPECTED: Mapping[Kind, str] = {
    Kind.DAY: "a day of the month from 1 to 31",
    Kind.POSITIVE_INT: "a whole number of 1 or more",
    Kind.NON_NEGATIVE_INT: "a whole number of 0 or more",
    Kind.PORT: "a port number from 1 to 65535",
    Kind.MINIMUM_DAYS: "a whole number of days from 0 to 60",
}


def parse_settings(rows: Mapping[str, str | None]) -> Settings:
    """Settings from `tbladdonmodules` rows (setting -> value) of this module.

    Unknown keys are ignored (WHMCS also saves `version` and `access` there).
    """
    values: dict[str, bool | int | str | frozenset[int]] = {}
    for spec in SETTING_SPECS:
        raw = rows.get(spec.key)
        values[spec.key] = _parse_value(spec, spec.default if raw is None else raw)

    def flag(key: str) -> bool:
        value = values[key]
        assert isinstance(value, bool)
        return value

    def number(key: str) -> int:
        value = values[key]
        assert isinstance(value, int) and not isinstance(value, bool)
        return value

    def text(key: str) -> str:
        value = values[key]
        assert isinstance(value, str)
        return value

    def ids(key: str) -> frozenset[int]:
        value = values[key]
        assert isinstance(value, frozenset)
        return value

    return Settings(
        client_area_button=flag("client_area_button"),
        prorata_day=number("prorata_day"),
        enabled_cycles=frozenset(c for c, key in CYCLE_SETTING.items() if flag(key)),
        calendar_days=flag("calculate_days_by_use"),
        fixed_days={c: number(key) for c, key in DAYS_SETTING.items()},
        align_addons=flag("align_addons"),
        cancel_unpaid_after_days=number("cancel_unpaid_after_days"),
        redis_host=text("redis_host"),
        redis_port=number("redis_port"),
        redis_password=text("redis_password"),
        redis_db=number("redis_db"),
        queue=text("queue"),
        preview_timeout=number("preview_timeout"),
        minimum_days=number("minimum_days"),
        exclusions=Exclusions(
            products=ids("exclude_products"),
            product_groups=ids("exclude_product_groups"),
            addons=ids("exclude_addons"),
        ),
        keep_on_day=KeepOnDay(text("keep_on_day")),
        renewal_invoices=RenewalInvoices(text("renewal_invoices")),
    )


def default_settings() -> Settings:
    return parse_settings(DEFAULTS)
