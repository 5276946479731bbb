"""The addon's settings and WHMCS's own configuration, read from the database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.model import BillingConfig
from domain.settings import MODULE_NAME, Settings, parse_settings
from domain.tax import TaxRule, TaxSetup
from domain.whmcs_format import DEFAULT_DATE_FORMAT
from worker.whmcs.schema import tbladdonmodules, tblconfiguration, tbltax

# tblconfiguration settings the planner needs
CONFIG_KEYS = ("DateFormat", "TaxEnabled", "TaxType", "TaxL2Compound", "TaxPerLineItem")


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
    rules = [
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
    return billing_config_from(config, rules)
