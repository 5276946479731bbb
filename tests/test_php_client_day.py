"""The client's billing day on the WHMCS side, through php-cli on a SQLite sandbox: the
client summary hook before and after a day, and on a WHMCS whose tables are not upgraded
yet; the day's spelling in each language file against the worker's own."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain.billing_day import ordinal
from tests.php.harness import pyharness as harness
from worker.db import make_engine
from worker.sandbox import build as sandbox
from worker.steps.billing_day import set_day
from worker.whmcs.schema import tblactivitylog

# sandbox init stamps its migrations with the machine's clock
pytestmark = [pytest.mark.php, pytest.mark.clock]

ADDON_DIR = Path(__file__).resolve().parents[1] / "whmcs" / "modules" / "addons" / "prorata_align"
SET_AT = datetime(2024, 6, 1, 10, 30)  # noqa: DTZ001 (WHMCS keeps local, naive times)


@pytest.fixture(scope="module")
def php() -> str:
    return str(harness.find_php())


@pytest.fixture
def whmcs(sqlite_url: str) -> Iterator[tuple[str, Engine]]:
    harness.sandbox_init(sqlite_url)
    engine = make_engine(sqlite_url)
    yield sqlite_url, engine
    engine.dispose()


def summary(php: str, url: str, client: int, session: dict[str, int] | None = None) -> str:
    answer = harness.result(
        php,
        url,
        {
            "action": "hook",
            "hook": "AdminAreaClientSummaryPage",
            "vars": {"userid": client},
            "session": session or {"adminid": 1},
        },
    )
    [html] = answer["results"]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", str(html))).strip()


def test_the_summary_hook_before_after_and_without_the_tables(
    php: str, whmcs: tuple[str, Engine]
) -> None:
    url, engine = whmcs
    with engine.begin() as conn:
        client = sandbox.add_client(conn, "Sue", "Mary")
    assert summary(php, url, client) == "Billing day: none Billing day and due dates"
    with engine.begin() as conn:
        set_day(conn, client, 31, "bulk", SET_AT)
    assert summary(php, url, client) == (
        "Billing day: the 31st of each month (set by a bulk run on 01/06/2024)"
        " Billing day and due dates"
    )
    assert summary(php, url, 0) == ""  # no client, nothing shown
    # a WHMCS where the worker's migration 12 has not run: no day, and no error logged
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE mod_prorata_client_days"))
    assert summary(php, url, client) == "Billing day: none Billing day and due dates"
    with engine.connect() as conn:
        logged = [str(row.description) for row in conn.execute(sa.select(tblactivitylog))]
    assert not [line for line in logged if "AdminAreaClientSummaryPage" in line], logged


def _ordinals(php: str, language: str) -> list[str]:
    code = (
        "define('WHMCS', true); $_ADDONLANG = []; include $argv[1];"
        "echo json_encode(explode(',', $_ADDONLANG['day_ordinals']), JSON_UNESCAPED_UNICODE);"
    )
    path = ADDON_DIR / "lang" / f"{language}.php"
    done = subprocess.run(
        [php, "-r", code, str(path)], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    forms = json.loads(done.stdout)
    assert isinstance(forms, list)
    return [str(form) for form in forms]


def test_each_language_spells_all_31_days(php: str) -> None:
    assert _ordinals(php, "english") == [ordinal(day) for day in range(1, 32)]
    assert _ordinals(php, "german") == [f"{day}." for day in range(1, 32)]
    assert _ordinals(php, "french") == ["1er", *(str(day) for day in range(2, 32))]
