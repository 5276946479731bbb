"""Databases for the tests: a fresh SQLite file, and a fresh database on the real MariaDB.

The MariaDB server is found at $PRORATA_TEST_MYSQL_URL (default: root on 127.0.0.1:3306).
When it cannot be reached the MariaDB cases are skipped, unless PRORATA_REQUIRE_MARIADB=1
(as in CI), where that is an error: a green run must have exercised MariaDB.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.support import pinned_time
from worker import clock
from worker.db import make_engine
from worker.whmcs.settings_store import clear_configuration_cache

# Tests change settings between alignments, in this process and in the worker processes they
# start: settings are read fresh unless a test asks for the cache.
os.environ.setdefault("PRORATA_SETTINGS_CACHE_SECONDS", "0")

MYSQL_SERVER_URL = os.environ.get("PRORATA_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
REQUIRE_MARIADB = os.environ.get("PRORATA_REQUIRE_MARIADB") == "1"

_mariadb_ran = 0


def _server_engine() -> Engine:
    return make_engine(MYSQL_SERVER_URL, poolclass=sa.pool.NullPool)


@pytest.fixture(scope="session")
def mariadb_server() -> Engine:
    engine = _server_engine()
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        message = f"MariaDB at {MYSQL_SERVER_URL} cannot be reached: {exc.orig}"
        if REQUIRE_MARIADB:
            pytest.fail(message)
        pytest.skip(message)
    return engine


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """No settings kept from another test's database."""
    clear_configuration_cache()
    yield
    clear_configuration_cache()


@pytest.fixture(autouse=True)
def clock_readers(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """A test that reads the machine's clock (worker.clock) in this process, instead of
    pinning it, must carry the `clock` mark: scripts/check-dates runs those at fixed dates,
    so that none depends on the day it runs."""
    read: list[str] = []
    real_today, real_now = clock.today, clock.now

    def today() -> date:
        read.append("today")
        return real_today()

    def now() -> datetime:
        read.append("now")
        return real_now()

    monkeypatch.setattr(clock, "today", today)
    monkeypatch.setattr(clock, "now", now)
    yield
    if read and request.node.get_closest_marker("clock") is None:
        pytest.fail(
            f"this test read the clock (worker.clock.{read[0]}): pin it"
            " (monkeypatch worker.clock, or pass today / now in) or mark it pytest.mark.clock",
            pytrace=False,
        )


@pytest.fixture
def pinned_moment() -> datetime:
    """The moment `pinned_clock` holds the machine's clock at; a module overrides it for
    another."""
    return pinned_time.NOW


@pytest.fixture
def pinned_clock(monkeypatch: pytest.MonkeyPatch, pinned_moment: datetime) -> None:
    """worker.clock at `pinned_moment`, for the tests whose command line, task or migration
    reads it (its stamps, a `today` not given): no test depends on the day it runs. The
    runtime's engine is kept to the test (`cron` points this process at its database)."""
    pinned_time.pin_clock_and_runtime(monkeypatch, pinned_moment)


@pytest.fixture
def captured_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's log lines to the test's captured stderr, a dead-letter list of its own."""
    pinned_time.logs_to_this_test(monkeypatch)


@pytest.fixture
def mariadb_url(mariadb_server: Engine) -> Iterator[str]:
    """The URL of a new, empty MariaDB database, dropped after the test."""
    global _mariadb_ran
    name = f"prorata_test_{uuid.uuid4().hex[:12]}"
    with mariadb_server.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    _mariadb_ran += 1
    url = f"{MYSQL_SERVER_URL.rstrip('/')}/{name}"
    try:
        yield url
    finally:
        with mariadb_server.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite:///{tmp_path}/whmcs.db"


# WHMCS's own session mode, and MariaDB's default strict one: the worker must work in both,
# whatever the server's global setting. Set per connection, through PyMySQL's init_command.
SQL_MODES = {
    "mariadb": "",
    "mariadb-strict": (
        "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION"
    ),
}


def with_sql_mode(url: str, variant: str) -> str:
    """The URL whose connections run with the variant's sql_mode."""
    command = quote(f"SET SESSION sql_mode='{SQL_MODES[variant]}'", safe="")
    return f"{url}?init_command={command}"


MARIADB_VARIANTS = [pytest.param(name, marks=pytest.mark.mariadb) for name in SQL_MODES]


@pytest.fixture(params=["sqlite", *MARIADB_VARIANTS])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs on SQLite, on MariaDB in WHMCS's session mode
    (sql_mode '') and on MariaDB in strict mode."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return with_sql_mode(str(request.getfixturevalue("mariadb_url")), request.param)


@pytest.fixture(params=MARIADB_VARIANTS)
def mysql_db_url(request: pytest.FixtureRequest) -> str:
    """MariaDB only, in both session modes: for what only MySQL/MariaDB can show."""
    return with_sql_mode(str(request.getfixturevalue("mariadb_url")), request.param)


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Guard against a CI run that silently skipped every MariaDB case.
    if REQUIRE_MARIADB and _mariadb_ran == 0 and exitstatus == 0 and session.testscollected:
        selected = [item for item in session.items if item.get_closest_marker("mariadb")]
        if selected:
            print("\nPRORATA_REQUIRE_MARIADB=1 but no MariaDB test ran", flush=True)
            session.exitstatus = 1
