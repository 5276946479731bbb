"""How WHMCS spells dates and invoice item types."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

# tblconfiguration.DateFormat values WHMCS offers.
DATE_FORMATS = {
    "DD/MM/YYYY": "{d:02d}/{m:02d}/{y:04d}",
    "DD.MM.YYYY": "{d:02d}.{m:02d}.{y:04d}",
    "DD-MM-YYYY": "{d:02d}-{m:02d}-{y:04d}",
    "MM/DD/YYYY": "{m:02d}/{d:02d}/{y:04d}",
    "YYYY/MM/DD": "{y:04d}/{m:02d}/{d:02d}",
    "YYYY-MM-DD": "{y:04d}-{m:02d}-{d:02d}",
}
DEFAULT_DATE_FORMAT = "DD/MM/YYYY"

PRORATA_PRODUCT = "ProrataProduct"
PRORATA_ADDON = "ProrataAddon"


# the same few hundred dates recur across thousands of lines
@lru_cache(maxsize=16384)
def format_date(when: date, date_format: str) -> str:
    """A date as WHMCS shows it; an unknown format falls back to ISO (never guessed)."""
    pattern = DATE_FORMATS.get(date_format.strip().upper(), "{y:04d}-{m:02d}-{d:02d}")
    return pattern.format(d=when.day, m=when.month, y=when.year)


def prorata_item_type(is_addon: bool, new_due: date) -> str:
    """`ProrataProduct2024-07-01`: the type WHMCS itself uses, carrying P."""
    return f"{PRORATA_ADDON if is_addon else PRORATA_PRODUCT}{new_due.isoformat()}"


def parse_prorata_item_type(item_type: str) -> tuple[bool, date] | None:
    """(is_addon, P) for a prorata item type, None for any other type."""
    for prefix, is_addon in ((PRORATA_ADDON, True), (PRORATA_PRODUCT, False)):
        if item_type.startswith(prefix):
            try:
                return is_addon, date.fromisoformat(item_type[len(prefix) :])
            except ValueError:
                return None
    return None
