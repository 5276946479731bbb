"""The WHMCS tables the product reads and writes, as WHMCS 8 defines them.

In production these tables belong to WHMCS: the product never creates, alters or drops
them. `worker.sandbox.init_sandbox` builds them only for the sandbox (development, tests,
demo).
"""

from __future__ import annotations

import sqlalchemy as sa

from worker.whmcs.types import (
    Money,
    Rate,
    WhmcsDate,
    WhmcsDateTime,
    status_enum,
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


tblcurrencies = sa.Table(
    "tblcurrencies",
    whmcs_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(255), nullable=False, default=""),
    sa.Column("prefix", sa.String(255), nullable=False, default=""),
    sa.Column("suffix", sa.String(255), nullable=False, default=""),
    sa.Column("format", sa.Integer, nullable=False, default=1),
    sa.Column("rate", sa.Numeric(10, 5), nullable=False, default=1),
    sa.Column("default", sa.Integer, nullable=False, default=0),
)

tblclients = sa.Table(
    "tblclients",
    whmcs_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("firstname", sa.Text, nullable=False, default=""),
    sa.Column("lastname", sa.Text, nullable=False, default=""),
    sa.Column("companyname", sa.Text, nullable=False, default=""),
    sa.Column("email", sa.Text, nullable=False, default=""),
    sa.Column("state", sa.Text, nullable=False, default=""),
    sa.Column("country", sa.Text, nullable=False, default=""),
    sa.Column("currency", sa.Integer, nullable=False, default=1),
    sa.Column("defaultgateway", sa.Text, nullable=False, default=""),
    sa.Column("credit", Money, nullable=False, default=0),
    sa.Column("taxexempt", sa.SmallInteger, nullable=False, default=0),
    sa.Column("status", status_enum("Active", "Inactive", "Closed"), default="Active"),
    sa.Column("language", sa.Text, nullable=False, default=""),
    sa.Column("datecreated", WhmcsDate, nullable=True),
)

tblproducts = sa.Table(
    "tblproducts",
    whmcs_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("gid", sa.Integer, nullable=False, default=0),
    sa.Column("type", sa.Text, nullable=False, default="hostingaccount"),
    sa.Column("name", sa.Text, nullable=False, default=""),
    sa.Column("tax", sa.SmallInteger, nullable=False, default=0),
    sa.Column("paytype", sa.Text, nullable=False, default="recurring"),
    sa.Column("proratabilling", sa.SmallInteger, nullable=False, default=0),
    sa.Column("proratadate", sa.Integer, nullable=False, default=0),
    sa.Column("servertype", sa.Text, nullable=False, default=""),  # the module; "" = none
)

tblhosting = sa.Table(
    "tblhosting",
    whmcs_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("userid", sa.Integer, nullable=False, index=True),
    sa.Column("orderid", sa.Integer, nullable=False, default=0),
    sa.Column("packageid", sa.Integer, nullable=False, default=0),
    sa.Column("server", sa.Integer, nullable=False, default=0),
    sa.Column("regdate", WhmcsDate, nullable=True),
    sa.Column("domain", sa.Text, nullable=False, default=""),
    sa.Column("paymentmethod", sa.Text, nullable=False, default=""),
    sa.Column("qty", sa.Integer, nullable=False, default=1),
    sa.Column("firstpaymentamount", Money, nullable=False, default=0),
    sa.Column("amount", Money, nullable=False, default=0),
    sa.Column("billingcycle", sa.Text, nullable=False, default=""),
    sa.Column("nextduedate", WhmcsDate, nullable=True),
    sa.Column("nextinvoicedate", WhmcsDate, nullable=True),
    sa.Column("domainstatus", status_enum(*SERVICE_STATUSES), default="Pending"),
    sa.Column("promoid", sa.Integer, nullable=False, default=0),
    sa.Column("suspendreason", sa.Text, nullable=False, default=""),  # "" = overdue payment
)

tbladdons = sa.Table(
    "tbladdons",
    whmcs_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False, default=""),
    sa.Column("billingcycle", sa.Text, nullable=False, default=""),
    sa.Column("tax", sa.SmallInteger, nullable=False, default=0),
    sa.Column("prorate", sa.SmallInteger, nullable=False, default=0),
)

tblhostingaddons = sa.Table(
    "tblhostingaddons",
    whmcs_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("orderid", sa.Integer, nullable=False, default=0),
    sa.Column("hostingid", sa.Integer, nullable=False, index=True),
    sa.Column("addonid", sa.Integer, nullable=False, default=0),
    sa.Column("userid", sa.Integer, nullable=False, default=0, index=True),
    sa.Column("name", sa.Text, nullable=False, default=""),
    sa.Column("qty", sa.Integer, nullable=False, default=1),
    sa.Column("setupfee", Money, nullable=False, default=0),
    sa.Column("recurring", Money, nullable=False, default=0),
    sa.Column("billingcycle", sa.Text, nullable=False, default=""),
    sa.Column("tax", sa.Text, nullable=False, default=""),
    sa.Column("status", status_enum(*SERVICE_STATUSES), default="Pending"),
    sa.Column("regdate", WhmcsDate, nullable=True),
    sa.Column("nextduedate", WhmcsDate, nullable=True),
    sa.Column("nextinvoicedate", WhmcsDate, nullable=True),
    sa.Column("paymentmethod", sa.Text, nullable=False, default=""),
)

tblinvoices = sa.Table(
    "tblinvoices",
    whmcs_metadata,
    sa.Column("id", unsigned_int(), primary_key=True, autoincrement=True),
    sa.Column("userid", sa.Integer, nullable=False, index=True),
    sa.Column("invoicenum", sa.Text, nullable=False, default=""),
    sa.Column("date", WhmcsDate, nullable=True),
    sa.Column("duedate", WhmcsDate, nullable=True),
    sa.Column("datepaid", WhmcsDateTime, nullable=True),
    sa.Column("date_cancelled", WhmcsDateTime, nullable=True),
    sa.Column("subtotal", Money, nullable=False, default=0),
    sa.Column("credit", Money, nullable=False, default=0),
    sa.Column("tax", Money, nullable=False, default=0),
    sa.Column("tax2", Money, nullable=False, default=0),
    sa.Column("total", Money, nullable=False, default=0),
    sa.Column("taxrate", Rate, nullable=False, default=0),
    sa.Column("taxrate2", Rate, nullable=False, default=0),
    sa.Column("status", sa.Text, nullable=False, default="Unpaid"),
    sa.Column("paymentmethod", sa.Text, nullable=False, default=""),
    sa.Column("paymethodid", sa.Integer, nullable=True),
    sa.Column("notes", sa.Text, nullable=False, default=""),
    sa.Column("created_at", WhmcsDateTime, nullable=True),
    sa.Column("updated_at", WhmcsDateTime, nullable=True),
    # ids never come back after a delete, as with MySQL's AUTO_INCREMENT (InvoiceIncrement)
    sqlite_autoincrement=True,
)

tblinvoiceitems = sa.Table(
    "tblinvoiceitems",
    whmcs_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("invoiceid", sa.Integer, nullable=False, default=0, index=True),
    sa.Column("userid", sa.Integer, nullable=False),
    sa.Column("type", sa.String(30), nullable=False, default=""),
    sa.Column("relid", sa.Integer, nullable=False, default=0),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("amount", Money, nullable=False, default=0),
    sa.Column("taxed", sa.Integer, nullable=False, default=0),
    sa.Column("duedate", WhmcsDate, nullable=True),
    sa.Column("paymentmethod", sa.Text, nullable=False, default=""),
    sa.Column("notes", sa.Text, nullable=False, default=""),
    sa.Index("tblinvoiceitems_userid_type_relid", "userid", "type", "relid"),
)

tblaccounts = sa.Table(
    "tblaccounts",
    whmcs_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("userid", sa.Integer, nullable=False, default=0),
    sa.Column("currency", sa.Integer, nullable=False, default=0),
    sa.Column("gateway", sa.Text, nullable=False, default=""),
    sa.Column("date", WhmcsDateTime, nullable=True),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("amountin", Money, nullable=False, default=0),
    sa.Column("fees", Money, nullable=False, default=0),
    sa.Column("amountout", Money, nullable=False, default=0),
    sa.Column("rate", sa.Numeric(10, 5), nullable=False, default=1),
    sa.Column("transid", sa.Text, nullable=False, default=""),
    sa.Column("invoiceid", sa.Integer, nullable=False, default=0, index=True),
    sa.Column("refundid", sa.Integer, nullable=False, default=0),
)

tblcredit = sa.Table(
    "tblcredit",
    whmcs_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("clientid", sa.Integer, nullable=False),
    sa.Column("date", WhmcsDate, nullable=True),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("amount", Money, nullable=False, default=0),
    sa.Column("relid", sa.Integer, nullable=False, default=0),
)

tbladdonmodules = sa.Table(
    "tbladdonmodules",
    whmcs_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("module", sa.Text, nullable=False),
    sa.Column("setting", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=False, default=""),
)

tblconfiguration = sa.Table(
    "tblconfiguration",
    whmcs_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("setting", sa.String(64), nullable=False, unique=True),
    sa.Column("value", sa.Text, nullable=False, default=""),
)

tblactivitylog = sa.Table(
    "tblactivitylog",
    whmcs_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("date", WhmcsDateTime, nullable=True),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("user", sa.Text, nullable=False, default=""),
    sa.Column("userid", sa.Integer, nullable=False, default=0),
    sa.Column("admin_id", sa.Integer, nullable=False, default=0),
    sa.Column("ipaddr", sa.Text, nullable=False, default=""),
)

tbltax = sa.Table(
    "tbltax",
    whmcs_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("level", sa.Integer, nullable=False, default=1),
    sa.Column("name", sa.Text, nullable=False, default=""),
    sa.Column("state", sa.Text, nullable=False, default=""),
    sa.Column("country", sa.Text, nullable=False, default=""),
    sa.Column("taxrate", Rate, nullable=False, default=0),
)

# WHMCS writes one per invoice when it creates it, and deletes it with the invoice.
tblinvoicedata = sa.Table(
    "tblinvoicedata",
    whmcs_metadata,
    sa.Column("id", unsigned_int(), primary_key=True, autoincrement=True),
    sa.Column("invoice_id", unsigned_int(), nullable=False, server_default="0", unique=True),
    sa.Column("country", sa.String(2), nullable=False, server_default=""),
    sa.Column("created_at", WhmcsDateTime, nullable=False, server_default="0000-00-00 00:00:00"),
    sa.Column("updated_at", WhmcsDateTime, nullable=False, server_default="0000-00-00 00:00:00"),
)

# Each gateway's settings, one row a setting; setting `type` = CC, Invoices or Bank.
tblpaymentgateways = sa.Table(
    "tblpaymentgateways",
    whmcs_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("gateway", sa.Text, nullable=False),
    sa.Column("setting", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("order", sa.Integer, nullable=False),
)

# A client's request to cancel a service (relid = tblhosting.id), as WHMCS 8 defines it.
tblcancelrequests = sa.Table(
    "tblcancelrequests",
    whmcs_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("date", WhmcsDateTime, nullable=False),
    sa.Column("relid", sa.Integer, nullable=False, default=0, index=True),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("type", status_enum("Immediate", "End of Billing Period"), nullable=False),
    sa.Column("created_at", WhmcsDateTime, nullable=True),
    sa.Column("updated_at", WhmcsDateTime, nullable=True),
)
