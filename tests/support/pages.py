"""What the tests of the addon's pages share: the site (a MariaDB sandbox, a real Celery
worker, PHP's built-in web server through tests/php/pages/router.php), headless Chromium
(tests/php/pages/cdp.py), the dates and money as the pages show them, and the helpers that
post a page's form, read a row, align a client or load a language file.

Needs, besides the harness's php-cli packages: Debian's chromium and smarty3 (or smarty4),
Redis on 127.0.0.1:6379 and MariaDB (see tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[2]
PAGES_DIR = ROOT / "tests" / "php" / "pages"
# the browser driver lives beside the router, outside the packages
if str(PAGES_DIR) not in sys.path:
    sys.path.insert(0, str(PAGES_DIR))

from cdp import Browser, find_chromium  # noqa: E402

from domain.settings import DEFAULTS  # noqa: E402
from tests.php.harness import pyharness as harness  # noqa: E402
from tests.support.page_dates import SETTING_DAY, TODAY  # noqa: E402
from tests.support.page_people import create_users_tables, seed  # noqa: E402
from tests.support.processes import (  # noqa: E402
    WorkerProcess,
    forget_queue,
    free_port,
    stop_process,
    wait_until,
    worker_env,
)
from worker import clock  # noqa: E402
from worker.commands import AlignCommand  # noqa: E402
from worker.db import make_engine  # noqa: E402
from worker.handlers.align import align_client  # noqa: E402
from worker.own_schema import outbox, requests  # noqa: E402
from worker.sandbox import build as sandbox  # noqa: E402

BROKER_URL = "redis://127.0.0.1:6379/0"

ROUTER = PAGES_DIR / "router.php"

# the README's pictures are refreshed only on request; a normal run keeps its own under var/
SCREENSHOTS = ROOT / (
    "docs/screenshots" if os.environ.get("PRORATA_UPDATE_SCREENSHOTS") == "1" else "var/screenshots"
)

ADDON_DIR = ROOT / "whmcs" / "modules" / "addons" / "prorata_align"

WAIT = 30.0  # seconds, at most, for the worker or a page


@dataclass
class Site:
    url: str
    db_url: str
    engine: Engine
    redis: redis.Redis
    queue: str
    dead_queue: str
    themes: Path
    utf8_url: str = ""
    ids: dict[str, int] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def configure(self, **values: str) -> None:
        """The module's settings: the live queue, the client area button on, then `values`."""
        settings = {
            **DEFAULTS,
            "queue": self.queue,
            "client_area_button": "on",
            "preview_timeout": "20",
            "prorata_day": str(SETTING_DAY),
            **values,
        }
        with self.engine.begin() as conn:
            sandbox.set_module_settings(conn, settings)

    def alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                pytest.fail(f"the {name} stopped ({process.returncode}):\n{self.log_tail(name)}")

    def log_tail(self, name: str) -> str:
        return self.logs[name].read_text(errors="replace")[-4000:]

    def count(self, table: sa.Table, *where: Any) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar()
            )

    def nothing_sent(self, requests_before: int) -> None:
        """No task reached Redis (the dead queue is empty), nothing was aligned or kept."""
        assert self.redis.llen(self.dead_queue) == 0
        assert self.count(requests) == requests_before
        assert self.count(outbox) == 0


@pytest.fixture(scope="session")
def php() -> str:
    return str(harness.find_php())


@pytest.fixture(scope="session")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        if os.environ.get("PRORATA_SKIP_PHP") == "1":
            pytest.skip("chromium not found and PRORATA_SKIP_PHP=1")
        pytest.fail("chromium is not installed: install the Debian package chromium", pytrace=False)
    return found


@pytest.fixture(scope="session")
def smarty_installed() -> None:
    if not any(
        Path(f"/usr/share/php/{name}/Smarty.class.php").is_file() for name in ("smarty4", "smarty3")
    ):
        pytest.fail("Smarty is not installed: install the Debian package smarty3", pytrace=False)


@pytest.fixture(scope="module")
def site(
    php: str,
    smarty_installed: None,
    mariadb_server: Engine,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    """A WHMCS sandbox on MariaDB, a Celery worker on its own queue, and the web server."""
    name = f"prorata_pages_{uuid.uuid4().hex[:12]}"
    with mariadb_server.connect() as conn:
        # WHMCS 8 creates its tables utf8 (3 bytes a character), not utf8mb4
        conn.execute(
            sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8 COLLATE utf8_unicode_ci")
        )
    db_url = mariadb_server.url.set(database=name).render_as_string(hide_password=False)
    state = tmp_path_factory.mktemp("pages")
    conn_redis = redis.Redis.from_url(BROKER_URL, socket_timeout=5)
    token = uuid.uuid4().hex[:12]
    site = Site(
        url=f"http://127.0.0.1:{free_port()}",
        db_url=db_url,
        engine=make_engine(db_url),
        redis=conn_redis,
        queue=f"prorata-pages-{token}",
        dead_queue=f"prorata-pages-dead-{token}",
        themes=state / "themes",
    )
    try:
        try:
            conn_redis.ping()
        except redis.RedisError as exc:
            pytest.fail(f"Redis at {BROKER_URL} cannot be reached: {exc}", pytrace=False)
        harness.sandbox_init(db_url)
        create_users_tables(site.engine)
        site.ids = seed(site.engine)
        site.configure()
        start_worker(site, state)
        start_web_server(site, php, state)
        # WHMCS connects to its utf8 tables with utf8 or utf8mb4: the pages must work with both
        site.utf8_url = f"http://127.0.0.1:{free_port()}"
        start_web_server(
            site, php, state, name="utf8 web server", url=site.utf8_url, charset="utf8"
        )
        yield site
    finally:
        for process in site.processes.values():
            stop_process(process, grace=20)
        for queue in (site.queue, site.dead_queue):
            forget_queue(conn_redis, queue)
        forget_results(site)
        site.engine.dispose()
        with mariadb_server.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))


def start_worker(site: Site, state: Path) -> None:
    from worker.celery_app import app

    celery_worker = WorkerProcess(
        worker_env(database_url=site.db_url, broker_url=BROKER_URL, queue=site.queue),
        site.queue,
        state / "worker.log",
        pool="solo",
        options=["--without-heartbeat"],
    )
    site.logs["worker"] = celery_worker.log_path
    celery_worker.start()
    assert celery_worker.process is not None
    site.processes["worker"] = celery_worker.process
    celery_worker.wait_ready(app, timeout=90)


def start_web_server(
    site: Site, php: str, state: Path, *, name: str = "web server", url: str = "", charset: str = ""
) -> None:
    """The pages on `url` (default: the site's), connecting with `charset` (default utf8mb4)."""
    url = url or site.url
    log = site.logs[name] = state / f"{name.replace(' ', '-')}.log"
    db_url = site.db_url
    if charset:
        db_url = (
            sa.engine.make_url(db_url)
            .update_query_dict({"charset": charset})
            .render_as_string(hide_password=False)
        )
    env = dict(
        os.environ,
        PRORATA_HARNESS_DB_URL=db_url,
        PRORATA_PAGES_STATE=str(state / "web"),
        PRORATA_PAGES_THEMES=str(site.themes),
        PRORATA_PAGES_THEME="twenty-one",
    )
    env.pop("PRORATA_HARNESS_REDIS_CLIENT", None)
    host_port = url.removeprefix("http://")
    with log.open("wb") as out:
        site.processes[name] = subprocess.Popen(
            [php, "-d", "display_errors=stderr", "-S", host_port, str(ROUTER)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def answers() -> bool:
        site.alive()
        try:
            with urllib.request.urlopen(url + "/", timeout=5) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    wait_until(answers, timeout=30, interval=0.2, what=f"the PHP {name} to answer")


def forget_results(site: Site) -> None:
    """Drop the results the worker stored for this module's alignments (task id = event id)."""
    with site.engine.connect() as conn:
        ids = [str(event_id) for (event_id,) in conn.execute(sa.select(requests.c.event_id))]
    if ids:
        site.redis.delete(*(f"celery-task-meta-{event_id}" for event_id in ids))


def forget_module_keys(site: Site) -> None:
    """The kept plans and the "worker did not answer" flag of this site's queues."""
    for queue in (site.queue, site.dead_queue):
        for key in site.redis.scan_iter(f"prorata:*:{queue}*"):
            site.redis.delete(key)


@pytest.fixture
def live(site: Site) -> Iterator[Site]:
    """The site with its settings reset; afterwards, no PHP error in the server's log."""
    site.configure()
    site.redis.delete(site.dead_queue)
    forget_module_keys(site)
    servers = ("web server", "utf8 web server")
    before = {name: site.log_tail(name) for name in servers}
    yield site
    site.alive()
    problems = []
    for name in servers:
        after = site.log_tail(name)
        new = after[len(before[name]) :] if after.startswith(before[name]) else after
        problems += [
            line
            for line in new.splitlines()
            if re.search(r"PHP (Warning|Notice|Fatal|Deprecated|Parse)", line)
        ]
    assert not problems, "\n".join(problems)


@pytest.fixture
def browser(chromium: str) -> Iterator[Browser]:
    opened = Browser(chromium)
    try:
        yield opened
    finally:
        opened.close()


def post_from_page(browser: Browser, path: str, fields: list[tuple[str, str]]) -> str:
    """A POST sent by the page itself (same session cookie); the answer's HTML."""
    script = (
        "(async () => { const body = new URLSearchParams();"
        f" for (const [k, v] of {json.dumps(fields)}) body.append(k, v);"
        f" const r = await fetch({json.dumps(path)},"
        " {method: 'POST', body, credentials: 'same-origin'});"
        " return await r.text(); })()"
    )
    return str(browser.evaluate(script, timeout=WAIT + 10))


def get_from_page(browser: Browser, path: str) -> str:
    script = (
        f"(async () => {{ const r = await fetch({json.dumps(path)},"
        " {credentials: 'same-origin'});"
        " return await r.text(); })()"
    )
    return str(browser.evaluate(script, timeout=WAIT + 10))


def row_text(browser: Browser, item: str) -> str:
    return browser.text(f'tr[data-item="{item}"]')


ADMIN = "/admin/addonmodules.php?module=prorata_align"

CLIENT = "/index.php?m=prorata_align"


def form_fields(browser: Browser, selector: str) -> list[tuple[str, str]]:
    """What submitting the form would send (its buttons aside)."""
    pairs = browser.evaluate(
        f"[...new FormData(document.querySelector({json.dumps(selector)})).entries()]"
    )
    return [(str(name), str(value)) for name, value in pairs]


def replaced(fields: list[tuple[str, str]], name: str, *values: str) -> list[tuple[str, str]]:
    return [pair for pair in fields if pair[0] != name] + [(name, value) for value in values]


def align_now(live: Site, client: int) -> list[int]:
    """The client aligned by the worker itself (as an admin would): its invoices."""
    result = align_client(
        live.engine,
        AlignCommand(
            event_id=f"pages-{uuid.uuid4()}",
            client_id=client,
            requested_by="admin:1",
            today=TODAY,
        ),
        clock.now,
    )
    return [int(invoice["id"]) for invoice in result.invoices]


def timed_get(browser: Browser, path: str) -> tuple[float, str]:
    """Seconds the page took to arrive, and its HTML."""
    script = (
        "(async () => { const t = performance.now();"
        f" const r = await fetch({json.dumps(path)}, {{credentials: 'same-origin'}});"
        " const html = await r.text(); return [(performance.now() - t) / 1000, html]; })()"
    )
    seconds, html = browser.evaluate(script, timeout=WAIT + 10)
    return float(seconds), str(html)


def language_strings(php: str, language: str) -> dict[str, str]:
    code = (
        "define('WHMCS', true); $_ADDONLANG = []; include $argv[1];"
        "echo json_encode($_ADDONLANG, JSON_UNESCAPED_UNICODE);"
    )
    path = ADDON_DIR / "lang" / f"{language}.php"
    done = subprocess.run(
        [php, "-r", code, str(path)], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    loaded = json.loads(done.stdout)
    assert isinstance(loaded, dict)
    return loaded
