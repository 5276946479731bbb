"""The product's own tables migrated by Alembic (worker/migrations): a fresh database gets
today's tables, an install of 1.0 is taken over without DDL or loss, `--sql` prints the DDL
and connects to nothing, downgrades run only where no money history goes, and WHMCS's tables
are never touched."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.support.clients import build_rich
from tests.support.command_line import run_cli
from tests.support.db_rows import seed
from tests.support.legacy_schema import upgrade_as_1_0
from tests.support.pinned_time import NOW, T
from tests.support.processes import free_port
from worker import migrations
from worker.commands import AlignCommand
from worker.handlers.align import align_client
from worker.own_schema import (
    LATEST,
    bulk_runs,
    current_version,
    overpayments,
    own_metadata,
    records,
    requests,
    schema_version,
    upgrade,
)
from worker.sandbox.build import init_sandbox
from worker.whmcs.schema import whmcs_metadata

DDL = re.compile(r"^\s*(CREATE|ALTER|DROP|RENAME)\b", re.IGNORECASE)


def whmcs_tables(engine: Engine) -> dict[str, Any]:
    """WHMCS's tables as the server describes them: columns and indexes."""
    inspector = sa.inspect(engine)
    return {  # repr: a column's type compares by identity
        name: repr((inspector.get_columns(name), inspector.get_indexes(name)))
        for name in whmcs_metadata.tables
    }


def own_tables(engine: Engine) -> set[str]:
    names = set(sa.inspect(engine).get_table_names())
    return {name for name in names if name.startswith("mod_prorata_")}


def rows_of(engine: Engine, like: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every row of every table there (or of the tables of `like`), WHMCS's included."""
    names = list(like or sa.inspect(engine).get_table_names())
    with engine.connect() as conn:
        return {
            name: sorted(map(tuple, conn.execute(sa.text(f"SELECT * FROM {name}"))), key=repr)
            for name in names
            if name != migrations.VERSION_TABLE
        }


def differences(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return migrations.differences(conn)


def version_of(engine: Engine) -> int:
    with engine.connect() as conn:
        return current_version(conn)


def statements_during(engine: Engine) -> tuple[list[str], Any]:
    seen: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listener)
    return seen, lambda: sa.event.remove(engine, "before_cursor_execute", listener)


def test_the_revisions_are_numbered_and_latest_is_their_head() -> None:
    revisions = [script.revision for script in migrations.scripts().walk_revisions()]
    assert sorted(revisions) == [f"{n:04d}" for n in range(1, LATEST + 1)]
    assert migrations.head() == f"{LATEST:04d}"
    for script in migrations.scripts().walk_revisions():
        assert hasattr(script.module, "downgrade_refused"), script.revision


def test_a_fresh_database_gets_todays_tables_and_whmcs_is_untouched(db_engine: Engine) -> None:
    init_sandbox(db_engine)
    before = whmcs_tables(db_engine)
    sandbox_marker = own_tables(db_engine)  # the sandbox's own mark, not a migration's
    assert upgrade(db_engine) == list(range(1, LATEST + 1))
    # autogenerate compares the tables the revisions made with own_schema's: nothing differs
    assert differences(db_engine) == []
    made = own_tables(db_engine) - sandbox_marker
    assert made == {*own_metadata.tables, migrations.VERSION_TABLE}
    assert whmcs_tables(db_engine) == before
    assert version_of(db_engine) == LATEST
    assert upgrade(db_engine) == []


def _rows_of_an_install(engine: Engine, version: int) -> None:
    ids = seed(engine, build_rich)
    if version == LATEST:  # an alignment of today's code writes the tables of every migration
        command = AlignCommand(event_id="a-1", client_id=ids["client"], requested_by="t", today=T)
        assert align_client(engine, command, lambda: NOW).status == "aligned"
    else:
        stamps = {"created_at": NOW, "updated_at": NOW}
        with engine.begin() as conn:
            conn.execute(
                sa.insert(requests).values(
                    event_id="a-1",
                    client_id=ids["client"],
                    requested_by="t",
                    params="{}",
                    state="done",
                    result="{}",
                    attempts=1,
                    **stamps,
                )
            )
            conn.execute(
                sa.insert(records).values(
                    request_id=1,
                    client_id=ids["client"],
                    kind="service",
                    relid=ids["web"],
                    old_due=T,
                    new_due=T,
                    amount=Decimal("12.34"),
                    invoice_id=7,
                    requested_by="t",
                    state="pending",
                    **stamps,
                )
            )
    with engine.begin() as conn:
        conn.execute(
            sa.insert(overpayments).values(
                invoice_id=999,
                client_id=ids["client"],
                amount=Decimal("4.20"),
                records="[]",
                detected_at=NOW,
            )
        )


@pytest.mark.parametrize("made_by_1_0", [11, 6])
def test_an_install_of_1_0_is_taken_over_without_loss(db_engine: Engine, made_by_1_0: int) -> None:
    """11: the installs of 1.0, stamped with no DDL of theirs (only the revisions after 1.0
    create their tables); 6: one whose upgrade stopped there (a grant missing), which goes on
    from revision 0007."""
    init_sandbox(db_engine)
    assert upgrade_as_1_0(db_engine, lambda: NOW, made_by_1_0) == list(range(1, made_by_1_0 + 1))
    _rows_of_an_install(db_engine, made_by_1_0)
    before = rows_of(db_engine)
    with db_engine.connect() as conn:
        legacy_rows = conn.execute(sa.select(schema_version)).all()

    seen, stop = statements_during(db_engine)
    try:
        done = migrations.upgrade(db_engine)
    finally:
        stop()

    assert done.taken_over == made_by_1_0
    assert done.applied == [f"{n:04d}" for n in range(made_by_1_0 + 1, LATEST + 1)]
    assert differences(db_engine) == []
    assert version_of(db_engine) == LATEST
    ddl = [s for s in seen if DDL.match(s) and migrations.VERSION_TABLE not in s]
    assert rows_of(db_engine, before) == before
    # what came after 1.0 (the client's day, revision 0012) only creates its own tables
    after_1_0 = {"mod_prorata_client_days", "mod_prorata_client_day_history", "mod_prorata_off_day"}
    made = {re.split(r"[\s(]+", s.strip())[2] for s in ddl if s.strip().startswith("CREATE TABLE")}
    if made_by_1_0 == 11:
        assert made == after_1_0
        assert all(s.strip().startswith(("CREATE TABLE", "CREATE INDEX")) for s in ddl), ddl
    else:
        # the tables of 7, 8 and 10 are made; 1.0 made the older ones with every column
        # already, so none of them is altered
        touched = {re.split(r"[\s(]+", s.strip())[2] for s in ddl if s.strip().startswith("ALTER")}
        assert touched == {bulk_runs.name}
    with db_engine.connect() as conn:
        assert conn.execute(sa.select(schema_version)).all() == legacy_rows
    assert migrations.upgrade(db_engine).applied == []


def test_sql_prints_the_ddl_and_connects_to_nothing(
    capsys: pytest.CaptureFixture[str], mysql_db_url: str
) -> None:
    nobody = f"mysql+pymysql://prorata:secret@127.0.0.1:{free_port()}/whmcs"
    code, out, err = run_cli(capsys, "db", "upgrade", "--sql", "--db", nobody)
    assert (code, err) == (0, "")
    for table in own_metadata.tables:
        assert f"CREATE TABLE {table} (" in out, table
    assert "CREATE TABLE mod_prorata_alembic_version (" in out
    assert "ALTER TABLE mod_prorata_requests MODIFY result MEDIUMTEXT NULL;" in out
    assert f"UPDATE mod_prorata_alembic_version SET version_num='{LATEST:04d}'" in out
    assert not re.search(r"\btbl\w+", out)  # no WHMCS table
    assert "secret" not in out

    # from a revision: only what comes after it
    code, out, err = run_cli(capsys, "db", "upgrade", "--sql", "--from", "0009", "--db", nobody)
    assert (code, err) == (0, "")
    assert "CREATE TABLE mod_prorata_changed_invoices (" in out
    assert "CREATE TABLE mod_prorata_requests (" not in out

    # against a real server: the same, and the database stays empty
    code, out, err = run_cli(capsys, "db", "upgrade", "--sql", "--db", mysql_db_url)
    assert code == 0 and "CREATE TABLE mod_prorata_requests (" in out
    engine = sa.create_engine(mysql_db_url)
    try:
        assert own_tables(engine) == set()
    finally:
        engine.dispose()


def test_sql_without_a_url_prints_mysql_and_from_needs_sql(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PRORATA_DATABASE_URL", raising=False)
    code, out, _ = run_cli(capsys, "db", "upgrade", "--sql")
    assert code == 0 and "AUTO_INCREMENT" in out
    code, out, err = run_cli(capsys, "db", "upgrade", "--from", "0009", "--db", "sqlite://")
    assert (code, out) == (2, "")
    assert err == "prorata: error: --from goes with --sql (a database knows its own revision)\n"


def test_downgrade_where_safe_and_refused_over_money_history(
    capsys: pytest.CaptureFixture[str], db_engine: Engine
) -> None:
    url = db_engine.url.render_as_string(hide_password=False)
    code, out, _ = run_cli(capsys, "db", "upgrade", "0009", "--db", url)
    assert (code, out.splitlines()[-1]) == (
        0,
        "applied revisions "
        + ", ".join(f"{n:04d}" for n in range(1, 10))
        + "; schema at revision 0009",
    )
    assert sa.inspect(db_engine).has_table(bulk_runs.name)
    assert [c["name"] for c in sa.inspect(db_engine).get_columns(bulk_runs.name)][-1] == "reason"

    # the bulk tables and the job runs hold no money: they go
    code, out, err = run_cli(capsys, "db", "downgrade", "0007", "--db", url)
    assert (code, out, err) == (0, "undid revisions 0009, 0008; schema at revision 0007\n", "")
    assert not sa.inspect(db_engine).has_table(bulk_runs.name)
    assert version_of(db_engine) == 7

    # below 0006 the applied credit would go: refused before anything changes
    tables = own_tables(db_engine)
    code, out, err = run_cli(capsys, "db", "downgrade", "0003", "--db", url)
    assert (code, out) == (2, "")
    assert err == (
        "prorata: error: revision 0006 cannot be downgraded: mod_prorata_applied_credit "
        "holds credit owed back to clients; nothing changed\n"
    )
    assert own_tables(db_engine) == tables and version_of(db_engine) == 7

    code, out, _ = run_cli(capsys, "db", "upgrade", "--db", url)
    applied = ", ".join(f"{n:04d}" for n in range(8, LATEST + 1))
    assert (code, out) == (0, f"applied revisions {applied}; schema at revision {LATEST:04d}\n")
    assert differences(db_engine) == []
    code, out, err = run_cli(capsys, "db", "downgrade", "0010", "--db", url)
    assert code == 2 and f"revision {LATEST:04d} cannot be downgraded" in err
    assert version_of(db_engine) == LATEST


def test_status_shows_the_revision_and_the_head(
    capsys: pytest.CaptureFixture[str], db_engine: Engine
) -> None:
    url = db_engine.url.render_as_string(hide_password=False)
    head = migrations.head()
    code, out, _ = run_cli(capsys, "db", "status", "--db", url)
    assert (code, out) == (1, f"schema at revision none, head {head}: run prorata db upgrade\n")
    upgrade_as_1_0(db_engine, lambda: NOW)
    code, out, _ = run_cli(capsys, "db", "status", "--db", url)
    assert (code, out) == (
        1,
        f"schema at version 11 of 1.0 (mod_prorata_schema), head {head}: "
        "run prorata db upgrade to take it over\n",
    )
    code, out, _ = run_cli(capsys, "db", "upgrade", "--db", url)
    assert (code, out) == (
        0,
        "took over the tables of version 11 (mod_prorata_schema)\n"
        # the revisions after 1.0's last (11) are applied
        f"applied revisions {', '.join(f'{n:04d}' for n in range(12, LATEST + 1))}; "
        f"schema at revision {head}\n",
    )
    code, out, _ = run_cli(capsys, "db", "status", "--db", url)
    assert (code, out) == (0, f"schema at revision {head}, head {head}: up to date\n")


def status_json(capsys: pytest.CaptureFixture[str], url: str) -> tuple[int, Any]:
    code, out, err = run_cli(capsys, "db", "status", "--db", url, "--json")
    assert err == ""
    return code, json.loads(out)  # one document and nothing else


def test_status_json_is_one_document_with_the_same_exit_code(
    capsys: pytest.CaptureFixture[str], db_engine: Engine
) -> None:
    url = db_engine.url.render_as_string(hide_password=False)
    head = migrations.head()
    fresh = {"current": None, "head": head, "legacy_version": None, "up_to_date": False}
    assert status_json(capsys, url) == (1, fresh)
    upgrade_as_1_0(db_engine, lambda: NOW)
    assert status_json(capsys, url) == (1, {**fresh, "legacy_version": 11})
    assert run_cli(capsys, "db", "upgrade", "--db", url)[0] == 0
    assert status_json(capsys, url) == (0, {**fresh, "current": head, "up_to_date": True})

    # an error is still one line on stderr, stdout empty
    nobody = f"mysql+pymysql://prorata:secret@127.0.0.1:{free_port()}/whmcs"
    code, out, err = run_cli(capsys, "db", "status", "--db", nobody, "--json")
    assert (code, out) == (3, "")
    assert len(err.splitlines()) == 1 and "secret" not in err


def test_a_revision_is_four_digits(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "db", "downgrade", "base;drop", "--db", "sqlite://")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "a revision is four digits" in err


def test_an_unknown_revision_is_one_line(
    capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    for command in (
        ["db", "upgrade", "0099", "--db", sqlite_url],
        ["db", "downgrade", "0099", "--db", sqlite_url],
        ["db", "upgrade", "--sql", "--from", "0099"],
    ):
        code, out, err = run_cli(capsys, *command)
        assert (code, out) == (2, ""), command
        assert err.startswith("prorata: error: Can't locate revision identified by '0099'")
        assert err.count("\n") == 1, err
    assert own_tables(sa.create_engine(sqlite_url)) == set()
