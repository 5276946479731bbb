"""Column types that read WHMCS's data defensively and never pass money through floats."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from domain.money import CENT, RATE_PLACES


class Money(TypeDecorator[Decimal]):
    """decimal(16,2) on MySQL; text on SQLite, which has no exact decimal type."""

    impl = sa.Numeric(16, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(24))
        return dialect.type_descriptor(sa.Numeric(16, 2, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
        amount = amount.quantize(CENT)
        return f"{amount:f}" if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None or value == "":
            return None
        return Decimal(str(value)).quantize(CENT)


class Rate(TypeDecorator[Decimal]):
    """decimal(10,3) tax rates, exact on every database."""

    impl = sa.Numeric(10, 3)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(24))
        return dialect.type_descriptor(sa.Numeric(10, 3, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        rate = Decimal(str(value))
        return f"{rate:f}" if dialect.name == "sqlite" else rate

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None or value == "":
            return None
        return Decimal(str(value)).quantize(RATE_PLACES)


def _parse_date(value: Any) -> date | None:
    """A date column as WHMCS fills it: NULL, '0000-00-00' and '' all mean no date."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()[:10]
    if not text or text.startswith("0000"):
        return None
    return date.fromisoformat(text)


class WhmcsDate(TypeDecorator[date]):
    """DATE on MySQL (zero dates allowed, read as None); ISO text on SQLite."""

    impl = sa.Date
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(10))
        return dialect.type_descriptor(sa.Date())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            return value  # lets tests and the sandbox store WHMCS's '0000-00-00'
        when = value.date() if isinstance(value, datetime) else value
        return when.isoformat() if dialect.name == "sqlite" else when

    def process_result_value(self, value: Any, dialect: Dialect) -> date | None:
        return _parse_date(value)


class WhmcsDateTime(TypeDecorator[datetime]):
    """DATETIME on MySQL; ISO text on SQLite; zero values read as None."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(19))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or isinstance(value, str):
            return value
        if dialect.name == "sqlite":
            return value.isoformat(sep=" ", timespec="seconds")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        if not text or text.startswith("0000"):
            return None
        return datetime.fromisoformat(text)


def unsigned_int() -> TypeEngine[int]:
    return sa.Integer().with_variant(mysql.INTEGER(unsigned=True), "mysql", "mariadb")


def status_enum(*values: str) -> sa.Enum:
    """An ENUM on MySQL as WHMCS has it; plain text elsewhere."""
    return sa.Enum(*values, native_enum=True, create_constraint=False, validate_strings=False)
