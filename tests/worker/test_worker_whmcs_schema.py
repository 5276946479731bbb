"""WHMCS 8.13's tables as the sandbox builds them, and writing into them as WHMCS would:
zero dates, amounts that do not fit, a client too large for TEXT, and sandbox commands that
refuse a database they did not make. On SQLite, on MariaDB in WHMCS's session mode
(sql_mode '') and in strict mode.

(Over 400 lines: one case per WHMCS column behaviour the sandbox must reproduce, on each
sql_mode.)
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tests.support.db_rows import seed
from tests.support.pinned_time import LATER, NOW, T, clock
from worker import clock as worker_clock
from worker import migrations
from worker.cli.main import main
from worker.commands import AlignCommand, AlignResult
from worker.db import make_engine
from worker.handlers.align import align_client
from worker.handlers.invoice import invoice_cancelled
from worker.handlers.reconcile import reconcile
from worker.own_schema import LATEST, own_metadata, requests, upgrade
from worker.sandbox import build as sandbox
from worker.sandbox.build import WHMCS_CONFIGURATION
from worker.sandbox.whmcs_sim import cancel_invoice
from worker.whmcs.schema import (
    tblconfiguration,
    tblhosting,
    tblhostingaddons,
    tblinvoices,
    tblusers,
    tblusers_clients,
    whmcs_metadata,
)
from worker.whmcs.types import (
    Money,
    Rate,
    ValueRefused,
    ZeroDate,
    ZeroDateTime,
    ZeroTimestamp,
)

# Section 9.3 of the WHMCS 8 billing facts: WHMCS 8.13's install schema, column by column.
WHMCS_8_13 = """
#### tblinvoices
| id | int(10) unsigned | NN / AUTO_INCREMENT |
| userid | int(10) | NN / no default |
| invoicenum | text | NN / no default |
| date | date | NULL / NULL |
| duedate | date | NULL / NULL |
| datepaid | datetime | NN / '0000-00-00 00:00:00' |
| last_capture_attempt | timestamp | NN / '0000-00-00 00:00:00' |
| date_refunded | timestamp | NN / '0000-00-00 00:00:00' |
| date_cancelled | timestamp | NN / '0000-00-00 00:00:00' |
| subtotal | decimal(16,2) | NN / no default |
| credit | decimal(16,2) | NN / no default |
| tax | decimal(16,2) | NN / no default |
| tax2 | decimal(16,2) | NN / no default |
| total | decimal(16,2) | NN / '0.00' |
| taxrate | decimal(10,3) | NN / '0.000' |
| taxrate2 | decimal(10,3) | NN / '0.000' |
| status | text | NN / no default |
| paymentmethod | text | NN / no default |
| paymethodid | int(10) unsigned | NULL / NULL |
| notes | text | NN / no default |
| created_at | timestamp | NN / '0000-00-00 00:00:00' |
| updated_at | timestamp | NN / '0000-00-00 00:00:00' |
#### tblinvoiceitems
| id | int(10) | NN / AUTO_INCREMENT |
| invoiceid | int(10) unsigned | NN / '0' |
| userid | int(10) | NN / no default |
| type | varchar(30) | NN / no default |
| relid | int(10) | NN / no default |
| description | text | NN / no default |
| amount | decimal(16,2) | NN / '0.00' |
| taxed | int(1) | NN / no default |
| duedate | date | NULL / NULL |
| paymentmethod | text | NN / no default |
| notes | text | NN / no default |
#### tblinvoicedata
| id | int(10) unsigned | NN / AUTO_INCREMENT |
| invoice_id | int(10) unsigned | NN / '0' |
| country | varchar(2) | NN / '' |
| created_at | timestamp | NN / '0000-00-00 00:00:00' |
| updated_at | timestamp | NN / '0000-00-00 00:00:00' |
#### tblcredit
| id | int(10) | NN / AUTO_INCREMENT |
| clientid | int(10) | NN / no default |
| admin_id | int(10) unsigned | NN / '0' |
| date | date | NN / no default |
| description | text | NN / no default |
| amount | decimal(16,2) | NN / no default |
| relid | int(10) | NN / '0' |
#### tblaccounts
| id | int(10) | NN / AUTO_INCREMENT |
| userid | int(10) | NN / no default |
| currency | int(10) | NN / no default |
| gateway | text | NN / no default |
| date | datetime | NULL / NULL |
| description | text | NN / no default |
| amountin | decimal(16,2) | NN / '0.00' |
| fees | decimal(16,2) | NN / '0.00' |
| amountout | decimal(16,2) | NN / '0.00' |
| rate | decimal(16,5) | NN / '1.00000' |
| transid | text | NN / no default |
| invoiceid | int(10) unsigned | NN / '0' |
| refundid | int(10) | NN / '0' |
#### tblactivitylog
| id | int(10) | NN / AUTO_INCREMENT |
| date | datetime | NN / '0000-00-00 00:00:00' |
| description | text | NN / no default |
| user | text | NN / no default |
| userid | int(10) unsigned | NN / '0' |
| user_id | int(10) unsigned | NN / '0' |
| admin_id | int(10) unsigned | NN / '0' |
| ipaddr | text | NN / no default |
#### tbltax
| id | int(10) | NN / AUTO_INCREMENT |
| level | int(1) | NN / no default |
| name | text | NN / no default |
| state | text | NN / no default |
| country | text | NN / no default |
| taxrate | decimal(10,3) | NN / '0.000' |
#### tblconfiguration
| id | int(10) | NN / AUTO_INCREMENT |
| setting | varchar(64) | NN / no default |
| value | mediumtext | NN / no default |
| created_at | timestamp | NN / '0000-00-00 00:00:00' |
| updated_at | timestamp | NN / '0000-00-00 00:00:00' |
#### tbladdonmodules
| id | int(11) | NN / AUTO_INCREMENT |
| module | text | NN / no default |
| setting | text | NN / no default |
| value | text | NN / no default |
#### tblcurrencies
| id | int(10) | NN / AUTO_INCREMENT |
| code | text | NN / no default |
| prefix | text | NN / no default |
| suffix | text | NN / no default |
| format | int(1) | NN / no default |
| rate | decimal(10,5) | NN / '1.00000' |
| default | int(1) | NN / no default |
#### tblpaymentgateways
| id | int(10) | NN / AUTO_INCREMENT |
| gateway | text | NN / no default |
| setting | text | NN / no default |
| value | text | NN / no default |
| order | int(1) | NN / no default |
#### tblhostingaddons
| id | int(10) | NN / AUTO_INCREMENT |
| orderid | int(10) | NN / no default |
| hostingid | int(10) | NN / no default |
| addonid | int(10) | NN / no default |
| userid | int(10) | NN / '0' |
| server | int(10) | NN / '0' |
| name | text | NN / no default |
| qty | int unsigned | NN / '1' |
| firstpaymentamount | decimal(16,2) | NN / '0.00' |
| setupfee | decimal(16,2) | NN / '0.00' |
| recurring | decimal(16,2) | NN / '0.00' |
| billingcycle | text | NN / no default |
| tax | text | NN / no default |
| status | enum('Pending','Active','Suspended','Terminated',\
'Cancelled','Fraud','Completed') | NN / 'Pending' |
| regdate | date | NN / '0000-00-00' |
| nextduedate | date | NULL / NULL |
| nextinvoicedate | date | NN / no default |
| termination_date | date | NN / '0000-00-00' |
| proratadate | date | NN / '0000-00-00' |
| paymentmethod | text | NN / no default |
| notes | text | NN / no default |
| subscriptionid | varchar(128) | NN / '' |
| upsell_from_products | varchar(40) | NULL / NULL |
| created_at | timestamp | NN / '0000-00-00 00:00:00' |
| updated_at | timestamp | NN / '0000-00-00 00:00:00' |
#### tblhosting
| id | int(10) | NN / AUTO_INCREMENT |
| userid | int(10) | NN / no default |
| orderid | int(10) | NN / no default |
| packageid | int(10) | NN / no default |
| server | int(10) | NN / no default |
| regdate | date | NN / no default |
| domain | text | NN / no default |
| paymentmethod | text | NN / no default |
| qty | int unsigned | NN / '1' |
| firstpaymentamount | decimal(16,2) | NN / '0.00' |
| amount | decimal(16,2) | NN / '0.00' |
| billingcycle | text | NN / no default |
| nextduedate | date | NULL / NULL |
| nextinvoicedate | date | NN / no default |
| termination_date | date | NN / '0000-00-00' |
| completed_date | date | NN / '0000-00-00' |
| domainstatus | enum('Pending','Active','Suspended','Terminated',\
'Cancelled','Fraud','Completed') | NN / 'Pending' |
| username | text | NN / no default |
| password | text | NN / no default |
| notes | text | NN / no default |
| subscriptionid | text | NN / no default |
| promoid | int(10) | NN / no default |
| promocount | int(10) | NULL / '0' |
| suspendreason | text | NN / no default |
| overideautosuspend | tinyint(1) | NN / no default |
| overidesuspenduntil | date | NN / no default |
| dedicatedip | text | NN / no default |
| assignedips | text | NN / no default |
| ns1 | text | NN / no default |
| ns2 | text | NN / no default |
| created_at | timestamp | NN / '0000-00-00 00:00:00' |
| updated_at | timestamp | NN / '0000-00-00 00:00:00' |
#### tbladdons
| id | int(10) | NN / AUTO_INCREMENT |
| packages | text | NN / no default |
| name | text | NN / no default |
| description | text | NN / no default |
| billingcycle | text | NN / no default |
| tax | tinyint(1) | NN / no default |
| autoactivate | text | NN / no default |
| suspendproduct | tinyint(1) | NN / no default |
| welcomeemail | int(10) | NN / no default |
| module | varchar(32) | NN / '' |
| prorate | tinyint(1) | NN / '0' |
| autolinkby | text | NN / no default |
#### tblclients
| id | int(10) | NN / AUTO_INCREMENT |
| state | text | NN / no default |
| country | text | NN / no default |
| tax_id | varchar(128) | NN / '' |
| currency | int(10) | NN / no default |
| defaultgateway | text | NN / no default |
| credit | decimal(16,2) | NN / no default |
| taxexempt | tinyint(1) | NN / no default |
| latefeeoveride | tinyint(1) | NN / no default |
| overideduenotices | tinyint(1) | NN / no default |
| separateinvoices | tinyint(1) | NN / no default |
| disableautocc | tinyint(1) | NN / no default |
| datecreated | date | NN / no default |
| groupid | int(10) | NN / no default |
| status | enum('Active','Inactive','Closed') | NN / 'Active' |
#### tblproducts
| id | int(10) | NN / AUTO_INCREMENT |
| type | text | NN / no default |
| name | text | NN / no default |
| proratabilling | tinyint(1) | NN / no default |
| proratadate | int(2) | NN / no default |
| proratachargenextmonth | int(2) | NN / no default |
| paytype | text | NN / no default |
| autosetup | text | NN / no default |
| servertype | text | NN / no default |
| recurringcycles | int(2) | NN / no default |
| tax | tinyint(1) | NN / no default |
| retired | tinyint(1) | NN / no default |
"""

# Columns the product uses beside the billing ones 9.3 lists (WHMCS's own columns too).
EXTRA_COLUMNS = {
    "tblclients": {"firstname", "lastname", "companyname", "email", "language"},
    "tblproducts": {"gid"},
}


def whmcs_8_13() -> dict[str, list[tuple[str, str, str, str]]]:
    """table -> [(column, type, null, default)] from the text above."""
    tables: dict[str, list[tuple[str, str, str, str]]] = {}
    current: list[tuple[str, str, str, str]] = []
    for line in WHMCS_8_13.strip().splitlines():
        if line.startswith("#### "):
            current = tables.setdefault(line[5:].strip(), [])
            continue
        name, type_, spec = (cell.strip() for cell in line.strip("|").split("|"))
        null, default = (part.strip() for part in spec.split("/"))
        current.append((name, type_, null, default))
    return tables


def _unquoted(value: str | None) -> str | None:
    if value is not None and len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    return value


def _type_matches(expected: str, found: str) -> bool:
    if expected == "int unsigned":  # 9.3 gives no display width here
        return found.startswith("int(") and found.endswith(") unsigned")
    return expected == found


def test_the_facts_list_every_table_and_column() -> None:
    tables = whmcs_8_13()
    assert len(tables) == 16
    assert sum(len(columns) for columns in tables.values()) == 189


@pytest.mark.mariadb
def test_mariadb_sandbox_has_whmcs_8_13_columns(mysql_db_url: str) -> None:
    engine = make_engine(mysql_db_url)
    sandbox.init_sandbox(engine)
    with engine.connect() as conn:
        schema = conn.execute(sa.text("SELECT DATABASE()")).scalar_one()
        found: dict[str, dict[str, Any]] = {}
        for row in conn.execute(
            sa.text(
                "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA"
                " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = :schema"
            ),
            {"schema": schema},
        ):
            found.setdefault(row.TABLE_NAME, {})[row.COLUMN_NAME] = row
        collations = dict(
            conn.execute(
                sa.text(
                    "SELECT TABLE_NAME, TABLE_COLLATION FROM information_schema.TABLES"
                    " WHERE TABLE_SCHEMA = :schema"
                ),
                {"schema": schema},
            ).all()
        )
        unique = conn.execute(
            sa.text("SHOW INDEX FROM tblinvoicedata WHERE Column_name = 'invoice_id'")
        ).one()
    engine.dispose()

    problems = []
    for table, columns in whmcs_8_13().items():
        assert table in found, f"{table} missing"
        have = found[table]
        assert set(have) == {c[0] for c in columns} | EXTRA_COLUMNS.get(table, set()), table
        assert collations[table] in ("utf8_unicode_ci", "utf8mb3_unicode_ci"), table
        for name, type_, null, default in columns:
            col = have[name]
            got = (col.COLUMN_TYPE, col.IS_NULLABLE, col.COLUMN_DEFAULT, col.EXTRA)
            ok = _type_matches(
                type_, col.COLUMN_TYPE.lower() if "enum" not in type_ else col.COLUMN_TYPE
            )
            ok = ok and ("NO" if null == "NN" else "YES") == col.IS_NULLABLE
            if default == "AUTO_INCREMENT":
                ok = ok and "auto_increment" in col.EXTRA
            elif default == "no default":
                ok = ok and col.COLUMN_DEFAULT is None
            elif default == "NULL":
                ok = ok and col.COLUMN_DEFAULT in (None, "NULL")
            else:
                ok = ok and _unquoted(col.COLUMN_DEFAULT) == _unquoted(default)
            if not ok:
                problems.append(f"{table}.{name}: 9.3 says {type_} {null} / {default}, got {got}")
    assert problems == []
    assert unique.Non_unique == 0
    # the tables other parts of the product use, beside 9.3's
    for table in ("tblcancelrequests", "tblusers", "tblusers_clients"):
        assert collations[table] in ("utf8_unicode_ci", "utf8mb3_unicode_ci")
    assert found["tblcancelrequests"]["date"].COLUMN_TYPE == "datetime"
    assert found["tblusers_clients"]["owner"].COLUMN_TYPE == "tinyint(3) unsigned"
    # tblclientgroups as WHMCS 8's schema dumps define it
    groups = found["tblclientgroups"]
    assert collations["tblclientgroups"] in ("utf8_unicode_ci", "utf8mb3_unicode_ci")
    assert {
        name: (col.COLUMN_TYPE, col.IS_NULLABLE, _unquoted(col.COLUMN_DEFAULT))
        for name, col in groups.items()
    } == {
        "id": ("int(10) unsigned", "NO", None),
        "groupname": ("varchar(45)", "NO", None),
        "groupcolour": ("varchar(45)", "YES", "NULL"),
        "discountpercent": ("decimal(10,2) unsigned", "YES", "0.00"),
        "susptermexempt": ("text", "YES", "NULL"),
        "separateinvoices": ("text", "NO", None),
    }
    assert "auto_increment" in groups["id"].EXTRA


def test_sqlite_sandbox_has_the_same_nullability(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    sandbox.init_sandbox(engine)
    inspector = sa.inspect(engine)
    for table, columns in whmcs_8_13().items():
        have = {c["name"]: c for c in inspector.get_columns(table)}
        for name, _type, null, default in columns:
            assert have[name]["nullable"] is (null != "NN"), f"{table}.{name}"
            if default not in ("no default", "AUTO_INCREMENT", "NULL"):
                assert have[name]["default"] is not None, f"{table}.{name}"
    engine.dispose()


def test_sandbox_configuration_is_whmcs_8_13_install_data(engine: Engine) -> None:
    with engine.connect() as conn:
        stored = dict(
            conn.execute(sa.select(tblconfiguration.c.setting, tblconfiguration.c.value)).all()
        )
    assert stored == stored | WHMCS_CONFIGURATION
    assert (stored["TaxPerLineItem"], stored["CreateInvoiceDaysBefore"]) == ("1", "14")
    assert (stored["DateFormat"], stored["Version"]) == ("DD/MM/YYYY", "8.13.0-release.1")


def test_a_client_has_its_users_as_in_whmcs_8(engine: Engine) -> None:
    def build(conn: Connection) -> tuple[int, int, int]:
        client = sandbox.add_client(conn, "Ada", "Lovelace")
        owner = sandbox.add_user(conn, client, "ada@example.com")
        helper = sandbox.add_user(
            conn, client, "bob@example.com", owner=False, permissions="invoices"
        )
        return client, owner, helper

    client, owner, helper = seed(engine, build)
    with engine.connect() as conn:
        links = conn.execute(
            sa.select(tblusers_clients.c.auth_user_id, tblusers_clients.c.owner, tblusers.c.email)
            .join(tblusers, tblusers.c.id == tblusers_clients.c.auth_user_id)
            .where(tblusers_clients.c.client_id == client)
            .order_by(tblusers.c.id)
        ).all()
    assert [tuple(link) for link in links] == [
        (owner, 1, "ada@example.com"),
        (helper, 0, "bob@example.com"),
    ]
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:  # e-mail is unique
        sandbox.add_user(conn, client, "ada@example.com")


# ---- zero dates ----


def raw_date(engine: Engine, table: sa.Table, column: str, key: int) -> str:
    """The column as the database holds it, not as the product reads it."""
    with engine.connect() as conn:
        return str(
            conn.execute(
                sa.text(f"SELECT CAST({column} AS CHAR) FROM {table.name} WHERE id = :id"),
                {"id": key},
            ).scalar_one()
        )


def zero_next_invoice(conn: Connection) -> dict[str, int]:
    """Two clients, each with one service whose next invoice date is WHMCS's zero date."""
    product = sandbox.add_product(conn, "Web Hosting", taxed=False)
    ids = {}
    for name in ("cancelled", "expired"):
        client = sandbox.add_client(conn, name.title(), "Zero")
        ids[name] = sandbox.add_service(
            conn,
            client,
            product,
            amount="30.00",
            cycle="Monthly",
            next_due="2024-06-15",
            next_invoice="0000-00-00",
            regdate="0000-00-00",
        )
        ids[f"{name}_client"] = client
    return ids


def align(engine: Engine, client: int, event_id: str) -> AlignResult:
    command = AlignCommand(event_id=event_id, client_id=client, requested_by="admin", today=T)
    return align_client(engine, command, clock(NOW))


def test_zero_next_invoice_date_is_put_back_as_zero(engine: Engine) -> None:
    align_cancel_and_expire_zero_dates(engine)


@pytest.mark.mariadb
def test_zero_dates_on_a_server_that_forbids_them(mariadb_url: str) -> None:
    """MySQL 8's default mode refuses zero dates; the worker's own sessions allow them."""
    mode = "STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO"
    engine = make_engine(f"{mariadb_url}?init_command=" + quote(f"SET sql_mode='{mode}'"))
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT @@SESSION.sql_mode")).scalar_one() == (
                "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO"
            )
        sandbox.init_sandbox(engine)
        upgrade(engine, clock(NOW))
        align_cancel_and_expire_zero_dates(engine)
    finally:
        engine.dispose()


def align_cancel_and_expire_zero_dates(engine: Engine) -> None:
    """Two services whose next invoice date is zero: aligned; one alignment cancelled by
    the invoice-cancelled event, the other expired by reconcile; both read back zero."""
    ids = seed(engine, zero_next_invoice)
    assert raw_date(engine, tblhosting, "nextinvoicedate", ids["cancelled"]) == "0000-00-00"
    invoices = {}
    for name in ("cancelled", "expired"):
        result = align(engine, ids[f"{name}_client"], f"align-{name}")
        assert [line["id"] for line in result.aligned] == [ids[name]]
        [invoices[name]] = [invoice["id"] for invoice in result.invoices]
        assert raw_date(engine, tblhosting, "nextinvoicedate", ids[name]) == "2024-07-01"

    cancel_invoice(engine, invoices["cancelled"], LATER)
    outcome = invoice_cancelled(engine, "cancelled-1", invoices["cancelled"], clock(LATER))
    assert outcome.outcome == "applied"
    done = reconcile(engine, date(2024, 8, 1), 30, clock(LATER))
    assert done.expired == [invoices["expired"]]

    for name in ("cancelled", "expired"):
        assert raw_date(engine, tblhosting, "nextinvoicedate", ids[name]) == "0000-00-00"
        assert raw_date(engine, tblhosting, "nextduedate", ids[name]) == "2024-06-15"
        with engine.connect() as conn:
            read = conn.execute(
                sa.select(tblhosting.c.nextinvoicedate).where(tblhosting.c.id == ids[name])
            ).scalar_one()
        assert read is None  # the product reads the zero date as "no date"


def test_none_in_a_not_null_date_is_written_as_zero(engine: Engine) -> None:
    ids = seed(engine, zero_next_invoice)
    with engine.begin() as conn:
        conn.execute(
            sa.update(tblhosting)
            .where(tblhosting.c.id == ids["expired"])
            .values(nextinvoicedate=None, regdate=None)
        )
    assert raw_date(engine, tblhosting, "nextinvoicedate", ids["expired"]) == "0000-00-00"
    assert raw_date(engine, tblhosting, "regdate", ids["expired"]) == "0000-00-00"


# ---- values that do not fit ----


def dump_every_table(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table the database has, whoever made the table."""
    out = {}
    with engine.connect() as conn:
        for name in sorted(sa.inspect(conn).get_table_names()):
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            rows = conn.execute(sa.select(table)).all()
            out[name] = sorted(tuple(str(v) for v in r) for r in rows)
    return out


def test_an_amount_beyond_decimal_16_2_is_refused_and_nothing_written(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    def build(conn: Connection) -> int:
        product = sandbox.add_product(conn, "Dedicated Cluster", taxed=False)
        client = sandbox.add_client(conn, "Big", "Spender")
        for _ in range(4):  # four half months of 50000000000000.00: the total is 10^14
            sandbox.add_service(
                conn,
                client,
                product,
                amount="50000000000000.00",
                cycle="Monthly",
                next_due="2024-06-16",
            )
        return client

    client = seed(engine, build)
    before = dump_every_table(engine)
    message = (
        "amount 100000000000000.00 is too large for WHMCS's decimal(16,2) column"
        " (at most 99999999999999.99)"
    )
    with pytest.raises(ValueRefused) as raised:
        align(engine, client, "too-large")
    assert str(raised.value) == message
    assert dump_every_table(engine) == before
    # the command line says it in one line
    monkeypatch.setattr(worker_clock, "now", lambda: NOW)
    code = main(["align", "--db", db_url, "--client", str(client), "--today", "2024-06-01"])
    assert (code, capsys.readouterr().err) == (2, f"prorata: error: {message}\n")
    assert dump_every_table(engine) == before


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        (Money, Decimal("100000000000000.00"), "amount 100000000000000.00 is too large"),
        (Money, Decimal("-100000000000000"), "amount -100000000000000 is too large"),
        (Money, Decimal("10.005"), "amount 10.005 has more than 2 decimals"),
        (Money, 10.5, "amount 10.5 is not an exact decimal number"),
        (Money, "abc", "amount 'abc' is not a number"),
        (Rate, Decimal("10000000"), "tax rate 10000000 is too large for WHMCS's decimal(10,3)"),
        (Rate, Decimal("19.0005"), "tax rate 19.0005 has more than 3 decimals"),
    ],
)
def test_values_the_column_would_bend_are_refused(kind: Any, value: Any, message: str) -> None:
    with pytest.raises(ValueRefused, match=message.replace("(", r"\(").replace(")", r"\)")):
        kind().checked(value)


def test_values_that_fit_are_kept_exactly() -> None:
    assert Money().checked(Decimal("99999999999999.99")) == Decimal("99999999999999.99")
    assert Money().checked("-5") == Decimal("-5.00")
    assert Rate().checked(Decimal("7.5")) == Decimal("7.500")
    with pytest.raises(ValueRefused, match="not a date in the form YYYY-MM-DD"):
        ZeroDate().process_bind_param("2024-13-01", sa.create_engine("sqlite://").dialect)


def test_a_moment_a_timestamp_cannot_hold_is_refused() -> None:
    dialect = sa.create_engine("sqlite://").dialect
    with pytest.raises(ValueRefused, match="outside what WHMCS's TIMESTAMP column holds"):
        ZeroTimestamp().process_bind_param(datetime(2040, 1, 1), dialect)  # noqa: DTZ001
    assert ZeroTimestamp().process_bind_param(None, dialect) == "0000-00-00 00:00:00"
    assert ZeroDateTime().process_bind_param(datetime(2040, 1, 1), dialect)  # noqa: DTZ001


# ---- a client with a thousand services and addons ----


def thousand_lines(conn: Connection) -> int:
    product = sandbox.add_product(conn, "Web Hosting", taxed=False)
    addon = sandbox.add_addon_product(conn, "Daily Backups", taxed=False)
    client = sandbox.add_client(conn, "Many", "Services")
    for _ in range(500):
        service = sandbox.add_service(
            conn,
            client,
            product,
            amount="30.00",
            cycle="Monthly",
            next_due="2024-06-15",
            domain="a-rather-long-domain-name-for-a-customer.example",
        )
        sandbox.add_service_addon(
            conn,
            service,
            addon,
            client_id=client,
            recurring="3.00",
            cycle="Monthly",
            next_due="2024-06-15",
        )
    return client


@pytest.mark.mariadb
def test_a_client_with_a_thousand_services_aligns_and_its_repeat_is_the_stored_result(
    mysql_db_url: str,
) -> None:
    engine = make_engine(mysql_db_url)
    try:
        sandbox.init_sandbox(engine)
        upgrade(engine, clock(NOW))
        client = seed(engine, thousand_lines)
        first = align(engine, client, "align-many")
        assert first.status == "aligned" and len(first.aligned) == 1000
        with engine.connect() as conn:
            stored = conn.execute(
                sa.select(requests.c.result).where(requests.c.event_id == "align-many")
            ).scalar_one()
        assert len(stored) > 65535  # more than TEXT holds
        again = align(engine, client, "align-many")
        assert again.status == "repeat"
        assert again.to_dict() == first.to_dict() | {"status": "repeat"}
        assert json.loads(stored) == first.to_dict()
    finally:
        engine.dispose()


@pytest.mark.mariadb
def test_migration_2_widens_an_existing_install(mysql_db_url: str) -> None:
    engine = make_engine(mysql_db_url)
    try:
        upgrade(engine, clock(NOW))
        with engine.begin() as conn:  # as version 1 made it
            conn.execute(sa.text("ALTER TABLE mod_prorata_requests MODIFY result TEXT NULL"))
        migrations.stamp(engine, "0001")
        # the later revisions find their tables and columns there already: they add nothing
        assert upgrade(engine, clock(NOW)) == list(range(2, LATEST + 1))
        with engine.connect() as conn:
            kind = conn.execute(
                sa.text(
                    "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA ="
                    " DATABASE() AND TABLE_NAME = 'mod_prorata_requests'"
                    " AND COLUMN_NAME = 'result'"
                )
            ).scalar_one()
        assert kind == "mediumtext"
        assert upgrade(engine, clock(NOW)) == []
    finally:
        engine.dispose()


# ---- sandbox commands on a database that is not a sandbox ----


@pytest.mark.parametrize(
    "command",
    [
        ["sandbox", "seed", "--today", "2024-06-01"],
        ["sandbox", "pay", "--invoice", "1"],
        ["sandbox", "cancel", "--invoice", "1"],
    ],
)
def test_sandbox_commands_refuse_a_database_without_the_mark(
    db_url: str, command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.setattr(worker_clock, "now", lambda: NOW)
    engine = make_engine(db_url)
    # WHMCS's tables and the module's, as on a real WHMCS: no sandbox mark
    whmcs_metadata.create_all(engine)
    own_metadata.create_all(engine)

    def build(conn: Connection) -> None:
        client = sandbox.add_client(conn, "Real", "Customer")
        product = sandbox.add_product(conn, "Web Hosting")
        service = sandbox.add_service(
            conn, client, product, amount="30.00", cycle="Monthly", next_due="2024-06-15"
        )
        sandbox.add_invoice(
            conn,
            client,
            [{"type": "Hosting", "relid": service, "amount": "30.00", "description": "x"}],
            when="2024-06-01",
        )

    seed(engine, build)
    before = dump_every_table(engine)
    code = main([*command, "--db", db_url])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.startswith("prorata: error: this database is not a sandbox")
    assert captured.err.count("\n") == 1
    assert dump_every_table(engine) == before
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tblinvoices)).scalar() == 1
    engine.dispose()


def test_sandbox_commands_run_on_a_sandbox(engine: Engine, db_url: str, capsys: Any) -> None:
    with engine.connect() as conn:
        assert sandbox.is_sandbox(conn)
    code = main(["sandbox", "seed", "--today", "2024-06-01", "--db", db_url])
    assert code == 0, capsys.readouterr().err
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tblhostingaddons)).scalar()
