"""worker.store is the one writer of the product's own mod_prorata_* tables: no module
outside it (and the Alembic revisions) inserts, updates or deletes their rows.

import-linter keeps steps, handlers and tasks from importing worker.own_schema at all; the
command line and the sandbox still read a table or two, so this scan of the code looks for
the writes themselves: an INSERT, UPDATE or DELETE statement (SQLAlchemy's, a table's own
method, worker.whmcs.batch's helpers, or SQL text) on one of those tables.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import sqlalchemy as sa

from worker import own_schema

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("worker", "tasks", "domain")
ALLOWED = (ROOT / "worker" / "store", ROOT / "worker" / "migrations")
OWN_TABLES = {
    name for name, value in vars(own_schema).items() if isinstance(value, sa.Table)
}  # the names own_schema gives its tables
WRITES = {"insert", "update", "delete"}
# worker.whmcs.batch's statements and helpers, which take the table as an argument
BATCH_WRITES = {
    "insert_rows",
    "insert_rows_returning_ids",
    "insert_statement",
    "delete_ids",
    "delete_statement",
    "update_rows",
    "update_statement",
}
RAW_SQL = re.compile(
    r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+`?mod_prorata_", re.I
)


def _own_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """(names bound to own tables by `from worker.own_schema import ...`, names bound to
    the module itself)."""
    tables: set[str] = set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "worker.own_schema":
            tables |= {a.asname or a.name for a in node.names if a.name in OWN_TABLES}
        elif isinstance(node, ast.ImportFrom) and node.module == "worker":
            modules |= {a.asname or a.name for a in node.names if a.name == "own_schema"}
        elif isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name == "worker.own_schema"}
    return tables, modules


def _is_own_table(node: ast.expr, tables: set[str], modules: set[str]) -> bool:
    if isinstance(node, ast.Name):
        return node.id in tables
    if isinstance(node, ast.Attribute) and node.attr in OWN_TABLES:
        base = node.value
        dotted = ast.unparse(base)
        return dotted in modules or dotted == "worker.own_schema"
    return False


def own_table_writes(source: str) -> list[str]:
    """Each write to an own table in `source`, as "line: code"."""
    tree = ast.parse(source)
    tables, modules = _own_names(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if RAW_SQL.search(node.value):
                found.append((node.lineno, repr(node.value[:60])))
            continue
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        # table.insert(), table.update(), table.delete(); sa.insert(table), insert_rows(...)
        method = isinstance(func, ast.Attribute) and _is_own_table(func.value, tables, modules)
        argument = any(_is_own_table(arg, tables, modules) for arg in node.args)
        if (method and name in WRITES) or (argument and name in WRITES | BATCH_WRITES):
            found.append((node.lineno, ast.unparse(node)[:80]))
    return [f"{line}: {code}" for line, code in sorted(found)]


def test_no_module_outside_the_store_writes_the_own_tables() -> None:
    offenders = []
    scanned = 0
    for package in SCANNED:
        for path in sorted((ROOT / package).rglob("*.py")):
            if any(path.is_relative_to(allowed) for allowed in ALLOWED):
                continue
            scanned += 1
            offenders += [
                f"{path.relative_to(ROOT)}:{hit}" for hit in own_table_writes(path.read_text())
            ]
    assert scanned > 50  # the walk found the code
    assert offenders == []


def test_the_store_itself_is_found_writing() -> None:
    """The scan sees the writes it is meant to forbid: every store module that writes."""
    writers = {
        path.stem
        for path in (ROOT / "worker" / "store").glob("*.py")
        if own_table_writes(path.read_text())
    }
    assert {"outbox", "failed_jobs", "job_runs", "client_days", "off_day", "records"} <= writers


def test_each_kind_of_write_is_seen() -> None:
    source = """
import sqlalchemy as sa
from sqlalchemy import delete
from worker import own_schema as schema
from worker.own_schema import outbox, failed_jobs as kept, current_version
from worker.whmcs.batch import insert_rows
from worker.whmcs.schema import tblinvoices

sa.insert(outbox).values(task="x")
sa.update(kept).where(kept.c.id == 1)
delete(schema.job_runs)
outbox.delete()
insert_rows(conn, schema.off_day, [])
conn.exec_driver_sql("DELETE FROM mod_prorata_outbox")
sa.update(tblinvoices)
sa.select(outbox)
current_version(conn)
"""
    lines = [hit.split(":")[0] for hit in own_table_writes(source)]
    assert lines == ["9", "10", "11", "12", "13", "14"]
