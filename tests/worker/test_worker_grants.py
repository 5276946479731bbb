"""The grants docs/running-next-to-whmcs.md prints are the grants the commands need: a MariaDB
user made with exactly the document's SQL runs every command that touches the database."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from tests.support.clients import two_services
from tests.support.command_line import run_cli
from tests.support.db_rows import seed
from tests.support.pinned_time import NOW
from tests.support.processes import free_port
from worker import clock, runtime
from worker.db import make_engine
from worker.sandbox import build as sandbox
from worker.sandbox.build import init_sandbox
from worker.sandbox.whmcs_sim import pay_invoice

DOC = Path(__file__).resolve().parents[2] / "docs" / "running-next-to-whmcs.md"

pytestmark = pytest.mark.mariadb


def documented_grants() -> list[str]:
    """The statements of the document's grant block, in order."""
    blocks = re.findall(r"```sql\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    [block] = [block for block in blocks if "CREATE USER" in block]
    return [part.strip() for part in block.split(";") if part.strip()]


@pytest.fixture
def granted_url(mariadb_url: str, mariadb_server: Engine) -> Iterator[str]:
    """A WHMCS database and the URL of a user with only the documented grants on it."""
    database = make_url(mariadb_url).database
    assert database
    user = f"prorata_{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    # what the document says to replace: the database name and where the worker connects from
    statements = [
        statement.replace("whmcs.", f"`{database}`.")
        .replace("'prorata'@'10.0.0.%'", f"'{user}'@'%'")
        .replace("a-long-random-password", password)
        for statement in documented_grants()
    ]
    assert statements[0].startswith("CREATE USER") and len(statements) > 20
    whmcs = make_engine(mariadb_url)
    init_sandbox(whmcs)  # WHMCS's tables, as WHMCS made them: a grant names existing ones
    whmcs.dispose()
    with mariadb_server.connect() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
    try:
        url = make_url(mariadb_url).set(username=user, password=password)
        yield url.render_as_string(hide_password=False)
    finally:
        with mariadb_server.connect() as conn:
            conn.execute(sa.text(f"DROP USER IF EXISTS '{user}'@'%'"))


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)
    monkeypatch.setattr(clock, "today", lambda: NOW.date())
    for name in ("_database_url", "_engine", "_engine_pid"):
        monkeypatch.setattr(runtime, name, getattr(runtime, name))
    monkeypatch.setenv("PRORATA_QUEUE", f"prorata-test-{uuid.uuid4().hex[:10]}")
    # no Redis: only the dead-letter job and the broker check may fail, never the database
    monkeypatch.setenv("PRORATA_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")


def test_every_command_runs_with_the_documented_grants(
    mariadb_url: str, granted_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_engine(mariadb_url)
    ids = seed(root, two_services)

    def ok(*args: str) -> str:
        code, out, err = run_cli(capsys, *args, "--db", granted_url)
        assert (code, err) == (0, ""), (args, err)
        return out

    assert "schema at revision" in ok("db", "upgrade")
    assert ok("db", "status").endswith(": up to date\n")
    ok("plan", "--client", str(ids["client"]), "--today", "2024-06-01", "--json")
    aligned = json.loads(
        ok("align", "--client", str(ids["client"]), "--today", "2024-06-01", "--json")
    )
    [invoice] = aligned["invoices"]
    pay_invoice(root, invoice["id"], NOW)
    paid = json.loads(ok("events", "paid", "--invoice", str(invoice["id"]), "--json"))
    assert paid["outcome"] == "applied"
    # the paid alignment made the 1st the client's day; a service ordered since is off it
    client = str(ids["client"])
    assert json.loads(ok("day", "show", "--client", client, "--json"))["day"] == 1
    with root.begin() as conn:
        product = sandbox.add_product(conn, "Mail", taxed=False)
        sandbox.add_service(
            conn, ids["client"], product, amount="5.00", cycle="Monthly",
            next_due="2024-07-10", regdate="2024-06-10",
        )  # fmt: skip
    [off] = json.loads(ok("drift", "--today", "2024-06-02", "--json"))
    assert (off["reason"], off["action"]) == ("new-order", "report")
    ok("day", "set", "--client", client, "--day", "1")
    ok("bulk", "--day", "1", "--today", "2024-06-01", "--dry-run", "--json")

    code, out, err = run_cli(capsys, "cron", "--db", granted_url, "--today", "2024-06-02", "--json")
    report = json.loads(out)
    failed = [job for job, found in report.items() if isinstance(found, dict) and found["failed"]]
    assert (code, failed) == (1, ["dead letters"]), report

    code, out, err = run_cli(capsys, "status", "--db", granted_url, "--json")
    checks = json.loads(out)["checks"]
    assert not [c for c in checks if "denied" in json.dumps(c).lower()], checks
    assert err == ""
    root.dispose()
