"""The addon's settings and WHMCS's own configuration, read from the database.

`configuration` keeps what it read for a few seconds (PRORATA_SETTINGS_CACHE_SECONDS), per
database, so a run over many clients reads the settings, tax rules, currencies and client
groups once instead of once a client.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.model import BillingConfig
from domain.settings import MODULE_NAME, Settings, parse_settings
from domain.tax import TaxRule, TaxSetup
from domain.whmcs_format import DEFAULT_DATE_FORMAT
from worker.config import settings_cache_seconds
from worker.whmcs.schema import (
    tbladdonmodules,
    tblclientgroups,
    tblconfiguration,
    tblcurrencies,
    tbltax,
)

# tblconfiguration settings the planner needs
CONFIG_KEYS = ("DateFormat", "TaxEnabled", "TaxType", "TaxL2Compound", "TaxPerLineItem")

# tblconfiguration settings read when an invoice is created or paid
INVOICE_CONFIG_KEYS = (
    "TaxCustomInvoiceNumbering",
    "TaxCustomInvoiceNumberFormat",
    "TaxNextCustomInvoiceNumber",
    "SequentialInvoiceNumbering",
    "SequentialInvoiceNumberFormat",
    "SequentialInvoiceNumberValue",
    "TaxSetInvoiceDateOnPayment",
    "InvoiceIncrement",
    "NoAutoApplyCredit",
    "DefaultCountry",
)


def read_setting_rows(conn: Connection) -> dict[str, str]:
    rows = conn.execute(
        sa.select(tbladdonmodules.c.setting, tbladdonmodules.c.value).where(
            tbladdonmodules.c.module == MODULE_NAME
        )
    )
    return {setting: value if value is not None else "" for setting, value in rows}


def read_settings(conn: Connection) -> Settings:
    return parse_settings(read_setting_rows(conn))


def whmcs_truthy(value: str | None) -> bool:
    """A WHMCS setting tested as PHP tests a string: "" and "0" (and a missing row) are off,
    anything else, even "off", is on."""
    return value is not None and value not in ("", "0")


def billing_config_from(config: Mapping[str, str], rules: Sequence[TaxRule]) -> BillingConfig:
    return BillingConfig(
        date_format=(config.get("DateFormat") or DEFAULT_DATE_FORMAT).strip(),
        tax=TaxSetup(
            enabled=whmcs_truthy(config.get("TaxEnabled")),
            # WHMCS computes inclusive tax only for exactly this value
            inclusive=config.get("TaxType") == "Inclusive",
            l2_compound=whmcs_truthy(config.get("TaxL2Compound")),
            per_line=whmcs_truthy(config.get("TaxPerLineItem")),
            rules=tuple(rules),
        ),
    )


def read_billing_config(conn: Connection) -> BillingConfig:
    config = {
        setting: value or ""
        for setting, value in conn.execute(
            sa.select(tblconfiguration.c.setting, tblconfiguration.c.value).where(
                tblconfiguration.c.setting.in_(CONFIG_KEYS)
            )
        )
    }
    return billing_config_from(config, read_tax_rules(conn))


def read_tax_rules(conn: Connection) -> list[TaxRule]:
    return [
        TaxRule(
            id=row.id,
            level=row.level,
            name=row.name or "",
            country=row.country or "",
            state=row.state or "",
            rate=row.taxrate,
        )
        for row in conn.execute(sa.select(tbltax).order_by(tbltax.c.id))
    ]


@dataclass(frozen=True)
class Currency:
    code: str
    prefix: str
    suffix: str


@dataclass(frozen=True)
class Configuration:
    """What every alignment reads besides the client's own rows."""

    settings: Settings
    billing: BillingConfig
    whmcs: Mapping[str, str]  # CONFIG_KEYS and INVOICE_CONFIG_KEYS, "" when missing
    currencies: Mapping[int, Currency]
    group_discounts: Mapping[int, Decimal]  # client group id -> discount percent


def read_configuration_all(conn: Connection) -> Configuration:
    """Four queries: module settings and WHMCS settings together, tax rules, currencies and
    client groups."""
    module = sa.select(
        sa.literal("module").label("source"), tbladdonmodules.c.setting, tbladdonmodules.c.value
    ).where(tbladdonmodules.c.module == MODULE_NAME)
    whmcs = sa.select(
        sa.literal("whmcs").label("source"), tblconfiguration.c.setting, tblconfiguration.c.value
    ).where(tblconfiguration.c.setting.in_(CONFIG_KEYS + INVOICE_CONFIG_KEYS))
    rows: dict[str, dict[str, str]] = {"module": {}, "whmcs": {}}
    for source, setting, value in conn.execute(sa.union_all(module, whmcs)):
        rows[str(source)][str(setting)] = "" if value is None else str(value)
    currencies = {
        int(row.id): Currency(row.code or "", row.prefix or "", row.suffix or "")
        for row in conn.execute(
            sa.select(
                tblcurrencies.c.id,
                tblcurrencies.c.code,
                tblcurrencies.c.prefix,
                tblcurrencies.c.suffix,
            )
        )
    }
    groups = {
        int(group_id): percent if percent is not None else Decimal(0)
        for group_id, percent in conn.execute(
            sa.select(tblclientgroups.c.id, tblclientgroups.c.discountpercent)
        )
    }
    return Configuration(
        settings=parse_settings(rows["module"]),
        billing=billing_config_from(rows["whmcs"], read_tax_rules(conn)),
        whmcs=rows["whmcs"],
        currencies=currencies,
        group_discounts=groups,
    )


_cache: dict[str, tuple[float, Configuration]] = {}
_cache_lock = threading.Lock()


def configuration(conn: Connection) -> Configuration:
    """`read_configuration_all`, kept per database for PRORATA_SETTINGS_CACHE_SECONDS (a
    change staff make shows within that time; 0 reads it every time)."""
    keep = settings_cache_seconds()
    if keep == 0:
        return read_configuration_all(conn)
    key = conn.engine.url.render_as_string(hide_password=False)
    moment = time.monotonic()
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None and moment - cached[0] < keep:
        return cached[1]
    fresh = read_configuration_all(conn)
    with _cache_lock:
        _cache[key] = (moment, fresh)
    return fresh


def clear_configuration_cache() -> None:
    """Forget what `configuration` kept: the next read goes to the database."""
    with _cache_lock:
        _cache.clear()
