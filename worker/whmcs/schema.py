"""The WHMCS tables the product reads and writes, as WHMCS 8.13 defines them.

(Over 400 lines: the table definitions, one per WHMCS table, kept together.)

Types, NOT NULL and defaults are WHMCS 8.13's (int(10) unsigned, text against varchar, enum,
'0000-00-00' defaults), so that a sandbox on MariaDB behaves as a real WHMCS database does,
in its charset (utf8, utf8_unicode_ci). A few columns the product uses beside the billing
ones (a client's name and e-mail, a product's group) are WHMCS's too, with WHMCS's types.

In production these tables belong to WHMCS: the product never creates, alters or drops
them. `worker.sandbox.build.init_sandbox` builds them only for the sandbox (development,
tests, demo).

`fill` below is what the product writes into a NOT NULL column without a default when an
INSERT leaves it out: WHMCS's own session (`sql_mode=''`) puts the same implicit value there,
a strict session refuses the row, so the product always writes it itself.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.schema import SchemaItem
from sqlalchemy.types import TypeEngine

from domain.model import LineKind
from worker.whmcs.types import (
    ZERO_DATE,
    ZERO_DATETIME,
    CurrencyRate,
    Money,
    Percent,
    Rate,
    Timestamp,
    TransactionRate,
    Varchar,
    WhmcsDate,
    WhmcsDateTime,
    WhmcsText,
    ZeroDate,
    ZeroDateTime,
    ZeroTimestamp,
    integer,
    medium_text,
    status_enum,
    tinyint,
    unsigned_int,
)

whmcs_metadata = sa.MetaData()


SERVICE_STATUSES = (
    "Pending",
    "Active",
    "Suspended",
    "Terminated",
    "Cancelled",
    "Fraud",
    "Completed",
)


def _table(name: str, *items: SchemaItem, **options: Any) -> sa.Table:
    # WHMCS 8 creates its tables so (MariaDB shows utf8 as utf8mb3)
    return sa.Table(
        name,
        whmcs_metadata,
        *items,
        mysql_engine="InnoDB",
        mysql_charset="utf8",
        mysql_collate="utf8_unicode_ci",
        **options,
    )


def _id(width: int = 10, *, unsigned: bool = False) -> sa.Column[Any]:
    return sa.Column("id", integer(width, unsigned=unsigned), primary_key=True, autoincrement=True)


def _required(name: str, type_: TypeEngine[Any], fill: Any = None) -> sa.Column[Any]:
    """NOT NULL without a default, as WHMCS declares it; `fill` when an INSERT omits it."""
    return sa.Column(name, type_, nullable=False, default=fill)


def _defaulted(name: str, type_: TypeEngine[Any], default: str) -> sa.Column[Any]:
    """NOT NULL DEFAULT `default`."""
    return sa.Column(name, type_, nullable=False, server_default=default)


def _nullable(name: str, type_: TypeEngine[Any]) -> sa.Column[Any]:
    return sa.Column(name, type_, nullable=True)


def _text(name: str, fill: str = "") -> sa.Column[Any]:
    return _required(name, WhmcsText(), fill)


def _int(name: str, width: int = 10, fill: int | None = 0) -> sa.Column[Any]:
    return _required(name, integer(width), fill)


def _flag(name: str, fill: int = 0) -> sa.Column[Any]:
    return _required(name, tinyint(1), fill)


def _stamps() -> tuple[sa.Column[Any], sa.Column[Any]]:
    return (
        _defaulted("created_at", ZeroTimestamp(), ZERO_DATETIME),
        _defaulted("updated_at", ZeroTimestamp(), ZERO_DATETIME),
    )


tblcurrencies = _table(
    "tblcurrencies",
    _id(),
    _text("code"),
    _text("prefix"),
    _text("suffix"),
    _int("format", 1, 1),
    _defaulted("rate", CurrencyRate(), "1.00000"),
    _int("default", 1, 0),
)

tblclients = _table(
    "tblclients",
    _id(),
    _text("firstname"),
    _text("lastname"),
    _text("companyname"),
    _text("email"),
    _text("state"),
    _text("country"),
    _defaulted("tax_id", Varchar(128), ""),
    _int("currency", 10, 1),
    _text("defaultgateway"),
    _required("credit", Money(), 0),
    _flag("taxexempt"),
    _flag("latefeeoveride"),
    _flag("overideduenotices"),
    _flag("separateinvoices"),
    _flag("disableautocc"),
    _required("datecreated", ZeroDate(), ZERO_DATE),
    _int("groupid"),
    _defaulted("status", status_enum("Active", "Inactive", "Closed"), "Active"),
    _text("language"),
)

# a client's group (tblclients.groupid): its discountpercent discounts each invoice line
tblclientgroups = _table(
    "tblclientgroups",
    _id(unsigned=True),
    _required("groupname", Varchar(45), ""),
    _nullable("groupcolour", Varchar(45)),
    sa.Column("discountpercent", Percent(), nullable=True, server_default="0.00"),
    _nullable("susptermexempt", WhmcsText()),
    _text("separateinvoices"),
)

tblproducts = _table(
    "tblproducts",
    _id(),
    _text("type", "hostingaccount"),
    _int("gid"),
    _text("name"),
    _flag("proratabilling"),
    _int("proratadate", 2),
    _int("proratachargenextmonth", 2),
    _text("paytype", "recurring"),
    _text("autosetup"),
    _text("servertype"),
    _int("recurringcycles", 2),
    _flag("tax"),
    _flag("retired"),
    sa.Index("tblproducts_gid", "gid"),
)

tblhosting = _table(
    "tblhosting",
    _id(),
    _int("userid", fill=None),
    _int("orderid"),
    _int("packageid"),
    _int("server"),
    _required("regdate", ZeroDate(), ZERO_DATE),
    _text("domain"),
    _text("paymentmethod"),
    _defaulted("qty", integer(10, unsigned=True), "1"),
    _defaulted("firstpaymentamount", Money(), "0.00"),
    _defaulted("amount", Money(), "0.00"),
    _text("billingcycle"),
    _nullable("nextduedate", WhmcsDate()),
    _required("nextinvoicedate", ZeroDate(), ZERO_DATE),
    _defaulted("termination_date", ZeroDate(), ZERO_DATE),
    _defaulted("completed_date", ZeroDate(), ZERO_DATE),
    _defaulted("domainstatus", status_enum(*SERVICE_STATUSES), "Pending"),
    _text("username"),
    _text("password"),
    _text("notes"),
    _text("subscriptionid"),
    _int("promoid"),
    sa.Column("promocount", integer(10), nullable=True, server_default="0"),
    _text("suspendreason"),
    _flag("overideautosuspend"),
    _required("overidesuspenduntil", ZeroDate(), ZERO_DATE),
    _text("dedicatedip"),
    _text("assignedips"),
    _text("ns1"),
    _text("ns2"),
    *_stamps(),
    sa.Index("tblhosting_userid", "userid"),
    sa.Index("tblhosting_productid", "packageid"),
    sa.Index("tblhosting_domainstatus", "domainstatus"),
)

tbladdons = _table(
    "tbladdons",
    _id(),
    _text("packages"),
    _text("name"),
    _text("description"),
    _text("billingcycle"),
    _flag("tax"),
    _text("autoactivate"),
    _flag("suspendproduct"),
    _int("welcomeemail"),
    _defaulted("module", Varchar(32), ""),
    _defaulted("prorate", tinyint(1), "0"),
    _text("autolinkby"),
)

tblhostingaddons = _table(
    "tblhostingaddons",
    _id(),
    _int("orderid"),
    _int("hostingid", fill=None),
    _int("addonid"),
    _defaulted("userid", integer(10), "0"),
    _defaulted("server", integer(10), "0"),
    _text("name"),
    _defaulted("qty", integer(10, unsigned=True), "1"),
    _defaulted("firstpaymentamount", Money(), "0.00"),
    _defaulted("setupfee", Money(), "0.00"),
    _defaulted("recurring", Money(), "0.00"),
    _text("billingcycle"),
    _text("tax"),
    _defaulted("status", status_enum(*SERVICE_STATUSES), "Pending"),
    _defaulted("regdate", ZeroDate(), ZERO_DATE),
    _nullable("nextduedate", WhmcsDate()),
    _required("nextinvoicedate", ZeroDate(), ZERO_DATE),
    _defaulted("termination_date", ZeroDate(), ZERO_DATE),
    _defaulted("proratadate", ZeroDate(), ZERO_DATE),
    _text("paymentmethod"),
    _text("notes"),
    _defaulted("subscriptionid", Varchar(128), ""),
    _nullable("upsell_from_products", Varchar(40)),
    *_stamps(),
    sa.Index("tblhostingaddons_serviceid", "hostingid"),
    sa.Index("tblhostingaddons_status", "status"),
)

tblinvoices = _table(
    "tblinvoices",
    _id(unsigned=True),
    _int("userid", fill=None),
    _text("invoicenum"),
    _nullable("date", WhmcsDate()),
    _nullable("duedate", WhmcsDate()),
    _defaulted("datepaid", ZeroDateTime(), ZERO_DATETIME),
    _defaulted("last_capture_attempt", ZeroTimestamp(), ZERO_DATETIME),
    _defaulted("date_refunded", ZeroTimestamp(), ZERO_DATETIME),
    _defaulted("date_cancelled", ZeroTimestamp(), ZERO_DATETIME),
    _required("subtotal", Money(), 0),
    _required("credit", Money(), 0),
    _required("tax", Money(), 0),
    _required("tax2", Money(), 0),
    _defaulted("total", Money(), "0.00"),
    _defaulted("taxrate", Rate(), "0.000"),
    _defaulted("taxrate2", Rate(), "0.000"),
    _text("status", "Unpaid"),
    _text("paymentmethod"),
    _nullable("paymethodid", unsigned_int()),
    _text("notes"),
    *_stamps(),
    sa.Index("tblinvoices_userid", "userid"),
    sa.Index("tblinvoices_duedate", "duedate"),
    # ids never come back after a delete, as with MySQL's AUTO_INCREMENT (InvoiceIncrement)
    sqlite_autoincrement=True,
)

tblinvoiceitems = _table(
    "tblinvoiceitems",
    _id(),
    _defaulted("invoiceid", unsigned_int(), "0"),
    _int("userid", fill=None),
    _required("type", Varchar(30), ""),
    _int("relid"),
    _text("description"),
    _defaulted("amount", Money(), "0.00"),
    _int("taxed", 1),
    _nullable("duedate", WhmcsDate()),
    _text("paymentmethod"),
    _text("notes"),
    sa.Index("tblinvoiceitems_invoiceid", "invoiceid"),
    sa.Index("tblinvoiceitems_userid", "userid", "type", "relid"),
)

tblinvoicedata = _table(
    "tblinvoicedata",
    _id(unsigned=True),
    _defaulted("invoice_id", unsigned_int(), "0"),
    _defaulted("country", Varchar(2), ""),
    *_stamps(),
    sa.UniqueConstraint("invoice_id", name="tblinvoicedata_invoice_id_unique"),
)

tblaccounts = _table(
    "tblaccounts",
    _id(),
    _int("userid", fill=None),
    _int("currency"),
    _text("gateway"),
    _nullable("date", WhmcsDateTime()),
    _text("description"),
    _defaulted("amountin", Money(), "0.00"),
    _defaulted("fees", Money(), "0.00"),
    _defaulted("amountout", Money(), "0.00"),
    _defaulted("rate", TransactionRate(), "1.00000"),
    _text("transid"),
    _defaulted("invoiceid", unsigned_int(), "0"),
    _defaulted("refundid", integer(10), "0"),
    sa.Index("tblaccounts_invoiceid", "invoiceid"),
    sa.Index("tblaccounts_userid", "userid"),
)

tblcredit = _table(
    "tblcredit",
    _id(),
    _int("clientid", fill=None),
    _defaulted("admin_id", unsigned_int(), "0"),
    _required("date", ZeroDate(), ZERO_DATE),
    _text("description"),
    _required("amount", Money(), 0),
    _defaulted("relid", integer(10), "0"),
)

tbladdonmodules = _table(
    "tbladdonmodules",
    _id(11),
    _text("module"),
    _text("setting"),
    _text("value"),
)

tblconfiguration = _table(
    "tblconfiguration",
    _id(),
    _required("setting", Varchar(64)),
    _required("value", medium_text(), ""),
    *_stamps(),
    sa.UniqueConstraint("setting", name="whmcs_setting_unique"),
)

tblpaymentgateways = _table(
    "tblpaymentgateways",
    _id(),
    _text("gateway"),
    _text("setting"),
    _text("value"),
    _int("order", 1),
)

tblactivitylog = _table(
    "tblactivitylog",
    _id(),
    _defaulted("date", ZeroDateTime(), ZERO_DATETIME),
    _text("description"),
    _text("user"),
    _defaulted("userid", unsigned_int(), "0"),
    _defaulted("user_id", unsigned_int(), "0"),
    _defaulted("admin_id", unsigned_int(), "0"),
    _text("ipaddr"),
    sa.Index("tblactivitylog_userid", "userid"),
)

tbltax = _table(
    "tbltax",
    _id(),
    _int("level", 1, 1),
    _text("name"),
    _text("state"),
    _text("country"),
    _defaulted("taxrate", Rate(), "0.000"),
)

# A cancellation request; `type` is 'Immediate' or 'End of Billing Period' (a text column in
# WHMCS, not an enum). WHMCS's invoice run skips every service that has one.
tblcancelrequests = _table(
    "tblcancelrequests",
    _id(),
    _defaulted("date", ZeroDateTime(), ZERO_DATETIME),
    _int("relid", fill=None),
    _text("reason"),
    _text("type", "Immediate"),
    *_stamps(),
    sa.Index("tblcancelrequests_serviceid", "relid"),
)


# An upgrade or downgrade (read by the daily "off the day" check, never written): `type`
# service / addon (cart upgrades; `new_cycle` the cycle chosen) or package / configoptions
# (classic ones; a package's `newvalue` is "<product id>,<cycle>"); `relid` the service, or
# the addon for type addon. The columns of WHMCS 8's install schema.
tblupgrades = _table(
    "tblupgrades",
    _id(),
    _int("userid", fill=None),
    _int("orderid"),
    _required("type", status_enum("service", "addon", "package", "configoptions")),
    _required("date", ZeroDate(), ZERO_DATE),
    _int("relid", fill=None),
    _text("originalvalue"),
    _text("newvalue"),
    _required("new_cycle", Varchar(30), ""),
    _required("amount", Money(), 0),
    _required("credit_amount", Money(), 0),
    _int("days_remaining", 4),
    _int("total_days_in_cycle", 4),
    _required("new_recurring_amount", Money(), 0),
    _required("recurringchange", Money(), 0),
    _defaulted("status", status_enum("Pending", "Completed"), "Pending"),
    _defaulted("paid", status_enum("Y", "N"), "N"),
    sa.Index("tblupgrades_orderid", "orderid"),
    sa.Index("tblupgrades_serviceid", "relid"),
)


def _nullable_stamps(*names: str) -> list[sa.Column[Any]]:
    return [_nullable(name, Timestamp()) for name in names]


# WHMCS 8's users (logins), each linked to one or more clients by tblusers_clients.
tblusers = _table(
    "tblusers",
    _id(unsigned=True),
    _defaulted("first_name", Varchar(255), ""),
    _defaulted("last_name", Varchar(255), ""),
    _defaulted("email", Varchar(255), ""),
    _defaulted("password", Varchar(255), ""),
    _defaulted("language", Varchar(32), ""),
    _defaulted("second_factor", Varchar(255), ""),
    _nullable("second_factor_config", WhmcsText()),
    _defaulted("remember_token", Varchar(100), ""),
    _defaulted("reset_token", Varchar(255), ""),
    _defaulted("security_question_id", unsigned_int(), "0"),
    _defaulted("security_question_answer", Varchar(255), ""),
    _defaulted("last_ip", Varchar(64), ""),
    _defaulted("last_hostname", Varchar(255), ""),
    *_nullable_stamps("last_login"),
    _defaulted("email_verification_token", Varchar(100), ""),
    *_nullable_stamps(
        "email_verification_token_expiry",
        "email_verified_at",
        "reset_token_expiry",
        "created_at",
        "updated_at",
    ),
    sa.UniqueConstraint("email", name="tblusers_email_unique"),
)

tblusers_clients = _table(
    "tblusers_clients",
    _id(unsigned=True),
    _defaulted("auth_user_id", unsigned_int(), "0"),
    _defaulted("client_id", unsigned_int(), "0"),
    _defaulted("invite_id", unsigned_int(), "0"),
    _defaulted("owner", tinyint(3, unsigned=True), "0"),
    _nullable("permissions", WhmcsText()),
    *_nullable_stamps("last_login", "created_at", "updated_at"),
    sa.UniqueConstraint("auth_user_id", "client_id", name="user_id_client_id"),
    sa.Index("tblusers_clients_client_id_owner_idx", "client_id", "owner"),
)


def service_table(kind: LineKind | str) -> sa.Table:
    """The table of a service (`tblhosting`) or of a product addon (`tblhostingaddons`)."""
    return tblhosting if LineKind(kind) is LineKind.SERVICE else tblhostingaddons
