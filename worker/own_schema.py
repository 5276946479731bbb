"""The product's own tables (`mod_prorata_*`).

These are the only tables the product creates or alters; WHMCS's tables are never touched
by a migration. Their migrations are Alembic revisions in worker/migrations/versions: a
change here needs a new revision there. `upgrade()` is safe to run any number of times.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Connection, Engine

from worker.whmcs.types import Money, WhmcsDate, WhmcsDateTime, medium_text

# where Alembic keeps the revision: a name WHMCS does not use, unlike alembic_version
VERSION_TABLE = "mod_prorata_alembic_version"

own_metadata = sa.MetaData()

# One row per alignment request (one event id): what was asked, what came of it.
requests = sa.Table(
    "mod_prorata_requests",
    own_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("client_id", sa.Integer, nullable=False, index=True),
    sa.Column("requested_by", sa.String(64), nullable=False),
    sa.Column("params", sa.Text, nullable=False),  # JSON: day, cycles, services, mode, today
    sa.Column("state", sa.String(16), nullable=False),  # done | rejected (bad input)
    # JSON summary returned to a repeat: MEDIUMTEXT on MySQL (migration 2), as a client with
    # a thousand services has a result larger than TEXT's 64 KB
    sa.Column("result", medium_text(), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", WhmcsDateTime, nullable=False),
    sa.Column("updated_at", WhmcsDateTime, nullable=False),
)

# One row per aligned service or addon.
records = sa.Table(
    "mod_prorata_records",
    own_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.Integer, nullable=False, index=True),
    sa.Column("client_id", sa.Integer, nullable=False, index=True),
    sa.Column("kind", sa.String(8), nullable=False),  # service | addon
    sa.Column("relid", sa.Integer, nullable=False),
    sa.Column("old_due", WhmcsDate, nullable=True),
    sa.Column("old_next_invoice", WhmcsDate, nullable=True),
    sa.Column("new_due", WhmcsDate, nullable=False),
    # the latest next due date the service was seen on while the alignment waited, later
    # than old_due (staff moved it, a renewal was paid; migration 11): WHMCS sets P when it
    # processes the paid line, before the worker hears of it, so it is kept here
    sa.Column("moved_due", WhmcsDate, nullable=True),
    sa.Column("amount", Money, nullable=False),
    sa.Column("invoice_id", sa.Integer, nullable=True, index=True),
    sa.Column("invoice_item_id", sa.Integer, nullable=True),
    sa.Column("requested_by", sa.String(64), nullable=False),
    # pending | paid | cancelled | expired | superseded | withdrawn
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_at", WhmcsDateTime, nullable=False),
    sa.Column("updated_at", WhmcsDateTime, nullable=False),
    sa.Index("mod_prorata_records_relid", "kind", "relid", "state"),
)

# Payment and cancellation events already handled (idempotent consumers).
events = sa.Table(
    "mod_prorata_events",
    own_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("invoice_id", sa.Integer, nullable=True, index=True),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("processed_at", WhmcsDateTime, nullable=False),
)

# Events the WHMCS side could not push to Redis; a beat task relays them.
outbox = sa.Table(
    "mod_prorata_outbox",
    own_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("task", sa.String(128), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # JSON kwargs of the task
    sa.Column("created_at", WhmcsDateTime, nullable=False),
    sa.Column("relayed_at", WhmcsDateTime, nullable=True, index=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text, nullable=True),
)

# Alignments that failed after their last retry, offered again by a beat task.
failed_jobs = sa.Table(
    "mod_prorata_failed_jobs",
    own_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("task", sa.String(128), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("offers", sa.Integer, nullable=False, default=0),
    sa.Column("failed_at", WhmcsDateTime, nullable=False),
    sa.Column("next_offer_at", WhmcsDateTime, nullable=True),
    sa.Column("resolved_at", WhmcsDateTime, nullable=True),
    # succeeded | superseded (a later request of the same client came first); migration 5;
    # rejected (its message is bad input)
    sa.Column("resolution", sa.String(16), nullable=True),
)

# Services whose alignment invoice was paid while they were suspended for overdue payment:
# WHMCS's ModuleUnsuspend is called once for each (service, invoice).
unsuspensions = sa.Table(
    "mod_prorata_unsuspensions",
    own_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("service_id", sa.Integer, nullable=False),
    sa.Column("client_id", sa.Integer, nullable=False),
    sa.Column("invoice_id", sa.Integer, nullable=False),
    # waiting | sending (claimed by a task) | done | failed
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", WhmcsDateTime, nullable=False),
    sa.Column("updated_at", WhmcsDateTime, nullable=False),
    sa.UniqueConstraint("service_id", "invoice_id", name="mod_prorata_unsuspensions_once"),
)

# The client's credit the product applied to its own invoices when it created them, so the
# daily run can give it back when it cancels such an invoice unpaid.
applied_credit = sa.Table(
    "mod_prorata_applied_credit",
    own_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("invoice_id", sa.Integer, nullable=False, index=True),
    sa.Column("client_id", sa.Integer, nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("applied_at", WhmcsDateTime, nullable=False),
    sa.Column("returned_at", WhmcsDateTime, nullable=True),
)

# Payments staff must look at: money for days the client had already paid for, or for an
# alignment that was no longer pending (one row per invoice).
overpayments = sa.Table(
    "mod_prorata_overpayments",
    own_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("invoice_id", sa.Integer, nullable=False, unique=True),
    sa.Column("client_id", sa.Integer, nullable=False, index=True),
    sa.Column("amount", Money, nullable=False),
    sa.Column("records", sa.Text, nullable=False),  # JSON list of record ids
    sa.Column("detected_at", WhmcsDateTime, nullable=False),
    sa.Column("resolved_at", WhmcsDateTime, nullable=True),
    # what the product credited to the client of money that landed on an invoice it had
    # deleted, reduced or cancelled (migration 10); 0 when staff settle it
    sa.Column("credited", Money, nullable=False, server_default="0"),
    # migration 11: the money the invoice received (payments less refunds, and credit
    # applied; tax included), what the listed alignment lines charge with their tax, the
    # invoice's currency (tblcurrencies.id, the client's), and why staff must look:
    # overpaid | refunded | collections | unbilled (an alignment ended unpaid after WHMCS
    # had invoiced the period from P: amount is what nobody billed)
    sa.Column("received", Money, nullable=False, server_default="0"),
    sa.Column("charged", Money, nullable=False, server_default="0"),
    sa.Column("currency", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reason", sa.String(16), nullable=False, server_default="overpaid"),
)

# Every invoice the product deleted, reduced or cancelled: WHMCS records a payment without a
# lock the worker can wait for, so one may land on such an invoice after the change; the
# reconcile job looks for it here (worker.steps.stray_payments). Kept for good.
changed_invoices = sa.Table(
    "mod_prorata_changed_invoices",
    own_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("invoice_id", sa.Integer, nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False),  # deleted | reduced | cancelled
    sa.Column("changed_at", WhmcsDateTime, nullable=False),
)

# The last run of each beat job (by `prorata cron` too), for `prorata status` and the admin
# page: a job whose last run is older than twice its schedule means beat or the worker stopped.
job_runs = sa.Table(
    "mod_prorata_job_runs",
    own_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job", sa.String(64), nullable=False, unique=True),
    sa.Column("last_started_at", WhmcsDateTime, nullable=True),
    sa.Column("last_finished_at", WhmcsDateTime, nullable=True),
    sa.Column("last_outcome", sa.String(16), nullable=True),  # ok | idle | failed
    sa.Column("last_error", sa.Text, nullable=True),
)

# One row per bulk alignment (one event id): what was asked, and where it stands.
bulk_runs = sa.Table(
    "mod_prorata_bulk_runs",
    own_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column(
        "day", sa.SmallInteger().with_variant(mysql.TINYINT(), "mysql", "mariadb"), nullable=False
    ),
    # JSON {"client_group", "product_group", "payment_method", "several_due_days"}
    sa.Column("filters", sa.Text, nullable=False),
    sa.Column("cycles", sa.Text, nullable=True),  # JSON list, or NULL for the settings' cycles
    sa.Column("mode", sa.String(16), nullable=True),  # calendar | fixed | NULL (the setting)
    sa.Column("today", WhmcsDate, nullable=False),
    # queued (chunks being sent) | running | cancelling | cancelled | done | stopped (its
    # queued clients could not be sent again: `reason` says why; the same event id resumes it)
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("requested_by", sa.String(64), nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("created_at", WhmcsDateTime, nullable=False),
    sa.Column("updated_at", WhmcsDateTime, nullable=False),
    sa.Column("finished_at", WhmcsDateTime, nullable=True),
    # the watch's resends of the queued clients since the run last progressed (migration 9)
    sa.Column("resends", sa.Integer, nullable=False, default=0, server_default=sa.text("0")),
    sa.Column("resent_at", WhmcsDateTime, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),  # why the run stopped
)

# One row per client of a bulk run: its progress is counted here, never in Redis.
bulk_clients = sa.Table(
    "mod_prorata_bulk_clients",
    own_metadata,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("client_id", sa.Integer, primary_key=True, autoincrement=False),
    # queued | aligned | unchanged (already pending to the day) | skipped | failed | cancelled
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),  # why skipped or failed, for staff
    sa.Column("event_id", sa.String(64), nullable=False),  # "<run event id>:<client id>"
    sa.Column("updated_at", WhmcsDateTime, nullable=False),
    sa.Index("mod_prorata_bulk_clients_state", "run_id", "state"),
)

_day_type = sa.SmallInteger().with_variant(mysql.TINYINT(), "mysql", "mariadb")

# Each client's billing day (revision 0012): one row while the client has one.
client_days = sa.Table(
    "mod_prorata_client_days",
    own_metadata,
    sa.Column("client_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("day", _day_type, nullable=False),  # 1 to 31
    sa.Column("set_by", sa.String(8), nullable=False),  # admin | client | bulk | cli
    sa.Column("set_at", WhmcsDateTime, nullable=False),
    # the alignment (mod_prorata_requests.id) whose payment made it; NULL when set by hand
    sa.Column("request_id", sa.Integer, nullable=True),
)

# Every set and clear of a client's day, kept for good (revision 0012).
client_day_history = sa.Table(
    "mod_prorata_client_day_history",
    own_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("client_id", sa.Integer, nullable=False, index=True),
    sa.Column("action", sa.String(8), nullable=False),  # set | clear
    sa.Column("day", _day_type, nullable=False),  # the day set, or the day cleared
    sa.Column("set_by", sa.String(8), nullable=False),
    sa.Column("requested_by", sa.String(64), nullable=False),
    sa.Column("request_id", sa.Integer, nullable=True),
    sa.Column("at", WhmcsDateTime, nullable=False),
)

# The services and addons the last daily check found off their client's day (migration
# 12): replaced whole by each run, read by `prorata status` and the admin page.
off_day = sa.Table(
    "mod_prorata_off_day",
    own_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("client_id", sa.Integer, nullable=False, index=True),
    sa.Column("kind", sa.String(8), nullable=False),  # service | addon
    sa.Column("relid", sa.Integer, nullable=False),
    sa.Column("next_due", WhmcsDate, nullable=True),
    sa.Column("day", _day_type, nullable=False),
    # new-order | addon | upgrade | cycle-change | moved-by-staff | unknown
    sa.Column("reason", sa.String(16), nullable=False),
    sa.Column("action", sa.String(8), nullable=False),  # report | wait
    sa.Column("found_at", WhmcsDateTime, nullable=False),
)

# Where 1.0's numbered migrations recorded the schema version; Alembic keeps it in
# mod_prorata_alembic_version since. Read once, when `upgrade` takes over such an install,
# and left as it is. Not in own_metadata: no revision manages it.
legacy_metadata = sa.MetaData()
schema_version = sa.Table(
    "mod_prorata_schema",
    legacy_metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_at", WhmcsDateTime, nullable=False),
)

# The number of the newest revision in worker/migrations/versions (a test holds them equal):
# what this code needs, without loading Alembic to know it.
LATEST = 12


def current_version(conn: Connection) -> int:
    """The revision the tables are at, as a number (0: none of them); an install of 1.0 not
    yet taken over is at the version it recorded."""
    # the tables listed, not has_table(): MySQL refuses to describe a table without a grant
    # on it, and a new install has none on 1.0's mod_prorata_schema
    tables = set(sa.inspect(conn).get_table_names())
    if VERSION_TABLE in tables:
        found = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
        return int(found) if found else 0
    if schema_version.name in tables:
        return int(conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0)
    return 0


def upgrade(engine: Engine, now: Callable[[], object] | None = None) -> list[int]:
    """Apply the revisions not yet applied (taking over an install of 1.0 first); returns
    their numbers. `now` is not used any more (Alembic records no time); kept for callers."""
    from worker import migrations  # Alembic is loaded only when the schema changes

    return [migrations.number(revision) for revision in migrations.upgrade(engine).applied]
