"""Column types that read WHMCS's data defensively and write nothing the database would bend.

WHMCS runs its MySQL session with `sql_mode=''`: there, a value too large for its column is
clamped, a NULL in a NOT NULL date becomes a zero date and extra decimals are rounded, all
silently. A strict server refuses the same values. These types make both alike: every value
is checked here, before the database sees it, and refused with a message naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DontWrapMixin
from sqlalchemy.types import TypeDecorator, TypeEngine

ZERO_DATE = "0000-00-00"
ZERO_DATETIME = "0000-00-00 00:00:00"


class ValueRefused(DontWrapMixin, ValueError):
    """A value that does not fit its WHMCS column exactly (raised as itself, not wrapped in
    SQLAlchemy's StatementError, so callers and operators see the message as it is)."""


@cache
def _bounds(precision: int, scale: int) -> tuple[Decimal, Decimal]:
    """The step of decimal(P,S) and the first value it cannot hold (asked for every value
    written)."""
    return Decimal(1).scaleb(-scale), Decimal(10) ** (precision - scale)


class _Exact(TypeDecorator[Decimal]):
    """decimal(P,S) on MySQL; text on SQLite, which has no exact decimal type."""

    impl = sa.Numeric
    cache_ok = True
    precision = 16
    scale = 2
    what = "number"

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(24))
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=True))

    def checked(self, value: Any) -> Decimal:
        """The value as a Decimal that decimal(P,S) holds exactly, or ValueRefused."""
        if isinstance(value, float | bool) or not isinstance(value, Decimal | int | str):
            raise ValueRefused(f"{self.what} {value!r} is not an exact decimal number")
        try:
            number = Decimal(value)
        except InvalidOperation as exc:
            raise ValueRefused(f"{self.what} {value!r} is not a number") from exc
        if not number.is_finite():
            raise ValueRefused(f"{self.what} {value!r} is not a number")
        step, limit = _bounds(self.precision, self.scale)
        if number != number.quantize(step):
            raise ValueRefused(
                f"{self.what} {number} has more than {self.scale} decimals: "
                f"WHMCS's decimal({self.precision},{self.scale}) would round it"
            )
        if abs(number) >= limit:
            raise ValueRefused(
                f"{self.what} {number} is too large for WHMCS's decimal({self.precision},"
                f"{self.scale}) column (at most {limit - step})"
            )
        return number.quantize(step)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        number = self.checked(value)
        return f"{number:f}" if dialect.name == "sqlite" else number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None or value == "":
            return None
        return Decimal(str(value)).quantize(_bounds(self.precision, self.scale)[0])


class Money(_Exact):
    """decimal(16,2): amounts, totals, credit."""

    cache_ok = True
    precision, scale, what = 16, 2, "amount"


class Rate(_Exact):
    """decimal(10,3): tax rates."""

    cache_ok = True
    precision, scale, what = 10, 3, "tax rate"


class Percent(_Exact):
    """decimal(10,2) unsigned: tblclientgroups.discountpercent."""

    cache_ok = True
    precision, scale, what = 10, 2, "percentage"

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.DECIMAL(10, 2, unsigned=True, asdecimal=True))
        return super().load_dialect_impl(dialect)


class CurrencyRate(_Exact):
    """decimal(10,5): tblcurrencies.rate."""

    cache_ok = True
    precision, scale, what = 10, 5, "exchange rate"


class TransactionRate(_Exact):
    """decimal(16,5): tblaccounts.rate."""

    cache_ok = True
    precision, scale, what = 16, 5, "exchange rate"


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
    try:
        return date.fromisoformat(text)
    except ValueError as exc:  # e.g. '2024-02-30', kept by a server allowing invalid dates
        raise ValueRefused(f"{value!r} is not a date") from exc


def _checked_text(value: str, zero: str, parse: Callable[[str], object], form: str) -> str:
    """A date given as text: ISO or WHMCS's zero value, nothing the database would misread."""
    if value != zero:
        try:
            parse(value)
        except ValueError as exc:
            raise ValueRefused(f"{value!r} is not a date in the form {form}") from exc
    return value


class WhmcsDate(TypeDecorator[date]):
    """DATE on MySQL; ISO text on SQLite. Zero dates read as None; None writes NULL."""

    impl = sa.Date
    cache_ok = True
    none_as: str | None = None

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(10))
        return dialect.type_descriptor(sa.Date())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return self.none_as
        if isinstance(value, str):
            # lets tests and the sandbox store WHMCS's '0000-00-00'
            return _checked_text(value, ZERO_DATE, date.fromisoformat, "YYYY-MM-DD")
        when = value.date() if isinstance(value, datetime) else value
        return when.isoformat() if dialect.name == "sqlite" else when

    def process_result_value(self, value: Any, dialect: Dialect) -> date | None:
        return _parse_date(value)


class ZeroDate(WhmcsDate):
    """A NOT NULL DATE: "no date" is written as WHMCS writes it, '0000-00-00', never NULL."""

    cache_ok = True
    none_as = ZERO_DATE


def _parse_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    text = str(value).strip()
    if not text or text.startswith("0000"):
        return None
    return datetime.fromisoformat(text)


class WhmcsDateTime(TypeDecorator[datetime]):
    """DATETIME on MySQL; ISO text on SQLite. Zero values read as None; None writes NULL.

    Whole seconds, as WHMCS stores them: a fraction is dropped here, on purpose, rather than
    rounded by the server."""

    impl = sa.DateTime
    cache_ok = True
    none_as: str | None = None

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(19))
        return dialect.type_descriptor(self.mysql_type())

    def mysql_type(self) -> TypeEngine[Any]:
        return mysql.DATETIME()

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return self.none_as
        if isinstance(value, str):
            return _checked_text(
                value, ZERO_DATETIME, datetime.fromisoformat, "YYYY-MM-DD HH:MM:SS"
            )
        moment = value.replace(microsecond=0)
        self.check_range(moment)
        if dialect.name == "sqlite":
            return moment.isoformat(sep=" ", timespec="seconds")
        return moment

    def check_range(self, moment: datetime) -> None:
        """DATETIME holds any year WHMCS uses."""

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return _parse_datetime(value)


# what a TIMESTAMP holds (1970 to 2038, UTC), a day inside each end for the session's zone
TIMESTAMP_RANGE = (datetime(1970, 1, 2), datetime(2038, 1, 18))  # noqa: DTZ001


class ZeroDateTime(WhmcsDateTime):
    """A NOT NULL DATETIME: None is written as '0000-00-00 00:00:00'."""

    cache_ok = True
    none_as = ZERO_DATETIME


class Timestamp(WhmcsDateTime):
    """A NULL-able TIMESTAMP (WHMCS 8's user tables); 1970 to 2038 only."""

    cache_ok = True

    def mysql_type(self) -> TypeEngine[Any]:
        return mysql.TIMESTAMP()

    def check_range(self, moment: datetime) -> None:
        first, last = TIMESTAMP_RANGE
        if not first <= moment.replace(tzinfo=None) <= last:
            raise ValueRefused(
                f"moment {moment.isoformat(sep=' ')} is outside what WHMCS's TIMESTAMP column"
                f" holds ({first.date()} to {last.date()})"
            )


class ZeroTimestamp(Timestamp):
    """A NOT NULL TIMESTAMP (WHMCS's created_at, updated_at, date_cancelled, ...)."""

    cache_ok = True
    none_as = ZERO_DATETIME


def integer(width: int = 10, *, unsigned: bool = False) -> TypeEngine[int]:
    """int(W) [unsigned] on MySQL as WHMCS declares it; INTEGER elsewhere."""
    return sa.Integer().with_variant(
        mysql.INTEGER(display_width=width, unsigned=unsigned), "mysql", "mariadb"
    )


def unsigned_int() -> TypeEngine[int]:
    return integer(10, unsigned=True)


def tinyint(width: int = 1, *, unsigned: bool = False) -> TypeEngine[int]:
    return sa.SmallInteger().with_variant(
        mysql.TINYINT(display_width=width, unsigned=unsigned), "mysql", "mariadb"
    )


def medium_text() -> TypeEngine[str]:
    """MEDIUMTEXT on MySQL (16 MB; TEXT holds 64 KB); TEXT elsewhere."""
    return sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def status_enum(*values: str) -> sa.Enum:
    """An ENUM on MySQL as WHMCS has it; plain text elsewhere."""
    return sa.Enum(*values, native_enum=True, create_constraint=False, validate_strings=False)


class Varchar(TypeDecorator[str]):
    """varchar(N): a longer value is refused, never cut to N characters."""

    impl = sa.String
    cache_ok = True

    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.length = length

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is not None and len(str(value)) > self.length:
            raise ValueRefused(
                f"text {value!r} is longer than WHMCS's varchar({self.length}) column"
            )
        return value


class WhmcsText(TypeDecorator[str]):
    """TEXT (64 KB): a longer value is refused, never cut."""

    impl = sa.Text
    cache_ok = True
    limit = 65535

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is not None and len(str(value).encode("utf-8")) > self.limit:
            raise ValueRefused(
                f"text of {len(str(value).encode('utf-8'))} bytes is longer than WHMCS's TEXT "
                f"column ({self.limit} bytes): {str(value)[:40]!r}..."
            )
        return value
