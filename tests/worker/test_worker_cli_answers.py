"""Every command answers in one line or in clean JSON: --json is one document on stdout; a
database without the product's tables gets the same one line from every command; usage
errors of `worker` and `beat` are one line, exit 2; `bulk show` reads a run at any time;
Ctrl-C while following a run leaves it to the worker; a closed pipe ends quietly; `--help`
loads neither the database layer nor Celery.

(Over 400 lines: one case per command and answer shape, the commands' answers read side by
side.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.support.clients import two_services
from tests.support.command_line import run_cli
from tests.support.db_rows import seed
from tests.support.pinned_time import NOW, clock
from tests.support.processes import (
    ROOT,
    forget_queue,
    run_prorata,
    start_prorata,
    stop_process,
)
from worker.db import make_engine
from worker.own_schema import LATEST, bulk_runs, upgrade
from worker.sandbox import build as sandbox
from worker.steps import bulk
from worker.steps.bulk import BulkFilters, BulkParams

pytestmark = pytest.mark.usefixtures("pinned_clock")

REDIS_URL = os.environ.get("PRORATA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TODAY = ["--today", "2024-06-01"]


@pytest.fixture
def sqlite_sandbox(sqlite_url: str) -> Iterator[tuple[str, Engine]]:
    """A sandbox with the product's tables and a client with two services (SQLite: the
    answers do not depend on the database)."""
    engine = make_engine(sqlite_url)
    sandbox.init_sandbox(engine)
    upgrade(engine, clock(NOW))
    yield sqlite_url, engine
    engine.dispose()


def _start_run(engine: Engine, event_id: str) -> bulk.StartedRun:
    params = BulkParams(day=1, filters=BulkFilters(), today=NOW.date())
    return bulk.start_run(engine, event_id, params, "cli", clock(NOW))


def _document(out: str) -> Any:
    """stdout is one JSON document and nothing else (json.loads refuses anything more)."""
    return json.loads(out)


def test_json_is_one_document_on_stdout(
    sqlite_sandbox: tuple[str, Engine],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, engine = sqlite_sandbox
    ids = seed(engine, two_services)
    client = str(ids["client"])
    db = ["--db", url]

    code, out, _ = run_cli(capsys, "plan", *db, "--client", client, *TODAY, "--json")
    assert code == 0 and _document(out)["client_id"] == ids["client"]
    code, out, _ = run_cli(capsys, "bulk", *db, "--day", "1", *TODAY, "--dry-run", "--json")
    assert code == 0 and _document(out)["clients_matched"] == 1
    code, out, _ = run_cli(capsys, "align", *db, "--client", client, *TODAY, "--json")
    assert code == 0
    [invoice] = _document(out)["invoices"]
    code, out, _ = run_cli(capsys, "events", "paid", *db, "--invoice", str(invoice["id"]), "--json")
    assert code == 0 and _document(out)["event"] == "invoice-paid"

    # `bulk --json`: the run goes to the broker (a queue of this test's own); the line
    # saying so goes to stderr, the run's document alone to stdout
    queue = f"prorata-test-cli-json-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PRORATA_BROKER_URL", REDIS_URL)
    monkeypatch.setenv("PRORATA_QUEUE", queue)
    from worker import celery_app

    monkeypatch.setattr(celery_app, "_event_sender", None)
    started = _start_run(engine, "cli-json-run")  # as a worker would, so no wait
    try:
        code, out, err = run_cli(
            capsys, "bulk", *db, "--day", "1", *TODAY, "--event-id", "cli-json-run", "--json"
        )
    finally:
        connection = redis.Redis.from_url(REDIS_URL)
        forget_queue(connection, queue)
        connection.close()
    assert code == 0, err
    shown = _document(out)
    assert (shown["run_id"], shown["event_id"]) == (started.run.id, "cli-json-run")
    assert f"bulk run {started.run.id} (event cli-json-run)" in err

    code, out, _ = run_cli(capsys, "bulk", "show", *db, str(started.run.id), "--json")
    assert code == 0 and _document(out)["run_id"] == started.run.id
    code, out, _ = run_cli(capsys, "bulk-cancel", *db, "cli-json-run", "--json")
    assert code == 0 and _document(out)["state"] == "cancelled"
    code, out, _ = run_cli(capsys, "cron", *db, *TODAY, "--json")
    assert code in (0, 1) and "reconcile" in _document(out)


def test_bulk_show_reads_a_run_by_number_or_event_id(
    sqlite_sandbox: tuple[str, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    url, engine = sqlite_sandbox
    seed(engine, two_services)
    run = _start_run(engine, "show-me").run
    with engine.connect() as conn:
        expected = bulk.progress(conn, run.id)

    for key in (str(run.id), "show-me"):
        code, out, err = run_cli(capsys, "bulk", "show", "--db", url, key, "--json")
        assert (code, err) == (0, "")
        assert _document(out) == expected
    code, out, err = run_cli(capsys, "bulk", "show", "--db", url, "show-me")
    assert (code, err) == (0, "")
    assert out.startswith(
        f"Bulk run {run.id} queued: 0 aligned, 0 unchanged, 0 skipped, 0 failed, 1 not"
    )

    # followed once it ended: answers at once
    bulk.cancel_run(engine, "show-me", clock(NOW))
    code, out, _ = run_cli(capsys, "bulk", "show", "--db", url, "show-me", "--follow")
    assert code == 0 and f"Bulk run {run.id} cancelled" in out

    for unknown in ("999", "no-such-run"):
        code, out, err = run_cli(capsys, "bulk", "show", "--db", url, unknown)
        assert (code, out) == (2, "")
        assert err == f"prorata: error: no bulk run {unknown}\n"
    code, out, err = run_cli(capsys, "bulk", "show", "--db", url)
    assert (code, out) == (2, "") and "RUN" in err and len(err.splitlines()) == 1


def test_ctrl_c_while_following_a_run_leaves_it_to_the_worker(
    sqlite_sandbox: tuple[str, Engine],
) -> None:
    """Ctrl-C during `bulk show --follow` (the follower `bulk --wait` uses): exit 130, no
    traceback, the run untouched, and how to follow or cancel it."""
    url, engine = sqlite_sandbox
    seed(engine, two_services)
    run = _start_run(engine, "followed").run
    process = start_prorata(
        "bulk", "show", "--db", url, str(run.id), "--follow",
        env={}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        # the progress bar is drawn once the run was read
        first = process.stderr.read(len(f"\rrun {run.id}:"))
        assert first.decode() == f"\rrun {run.id}:"
        os.kill(process.pid, signal.SIGINT)
        out, rest = process.communicate(timeout=30)
    finally:
        stop_process(process, grace=5, group=True)
    err = (first + rest).decode()
    assert process.returncode == 130, err
    assert "Traceback" not in err and out == b""
    assert "the run goes on in the worker" in err
    assert f"prorata bulk show {run.id} --follow" in err
    assert "prorata bulk-cancel followed" in err
    with engine.connect() as conn:
        assert bulk.progress(conn, run.id)["state"] == "queued"


def test_a_database_without_the_product_tables_gets_one_line_everywhere(
    db_engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox.init_sandbox(db_engine)
    seed(db_engine, two_services)
    db = ["--db", db_url]
    commands = [
        ["plan", *db, "--client", "1", *TODAY],
        ["align", *db, "--client", "1", *TODAY, "--json"],
        ["events", "paid", *db, "--invoice", "1"],
        ["events", "cancelled", *db, "--invoice", "1"],
        ["cron", *db, *TODAY],
        ["bulk", *db, "--day", "1", "--dry-run"],
        ["bulk", "show", *db, "1"],
        ["bulk-cancel", *db, "some-run"],
        ["sandbox", "pay", *db, "--invoice", "1"],
    ]
    answers = set()
    for words in commands:
        code, out, err = run_cli(capsys, *words)
        assert (code, out) == (3, ""), (words, err)
        assert len(err.splitlines()) == 1, (words, err)
        answers.add(err)
    [answer] = answers
    assert answer.startswith("prorata: error: database ")
    assert answer.endswith(
        f"has the product's tables at version 0, this worker needs {LATEST}: run prorata db "
        "upgrade\n"
    )
    with db_engine.connect() as conn:
        assert not sa.inspect(conn).has_table("mod_prorata_records")


@pytest.mark.clock  # `status` reads the clock for its beat checks
def test_status_without_the_product_tables_is_the_same_line(
    sqlite_sandbox: tuple[str, Engine], sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = sqlite_url.replace("whmcs.db", "bare.db")
    sandbox.init_sandbox(make_engine(bare))
    env = {"PRORATA_BROKER_URL": REDIS_URL, "PRORATA_RESULT_BACKEND": REDIS_URL}
    code, out, err = run_prorata("status", "--db", bare, env=env)
    assert (code, out) == (3, ""), err
    assert err.endswith(f"at version 0, this worker needs {LATEST}: run prorata db upgrade\n")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--product-group", "99"], "product group 99 has no products"),
        (["--client-group", "99"], "client group 99 does not exist"),
        (
            ["--payment-method", "nosuch"],
            "payment method 'nosuch' is neither a gateway nor on any service",
        ),
        (
            ["--client-group", "99", "--payment-method", "nosuch"],
            "client group 99 does not exist; payment method 'nosuch'",
        ),
    ],
)
def test_bulk_refuses_filters_naming_what_does_not_exist(
    sqlite_sandbox: tuple[str, Engine],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    url, engine = sqlite_sandbox
    seed(engine, two_services)
    for dry in (["--dry-run"], ["--dry-run", "--json"], []):
        code, out, err = run_cli(capsys, "bulk", "--db", url, "--day", "1", *args, *dry)
        assert (code, out) == (2, "")
        assert err.startswith("prorata: error: ") and message in err
        assert len(err.splitlines()) == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(bulk_runs)).scalar() == 0


def test_bulk_takes_filters_that_exist(
    sqlite_sandbox: tuple[str, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    url, engine = sqlite_sandbox
    seed(engine, two_services)
    # banktransfer: the services' method; the sandbox's product group 0 and no client group
    args = ["--payment-method", "banktransfer", "--product-group", "1", "--dry-run", "--json"]
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE tblproducts SET gid = 1"))
    code, out, err = run_cli(capsys, "bulk", "--db", url, "--day", "1", *TODAY, *args)
    assert (code, err) == (0, "")
    assert _document(out)["clients_matched"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["worker", "--concurency", "2"], "No such option '--concurency'"),
        (["worker", "--loglevel", "LOUD"], "'LOUD' is not one of"),
        (["beat", "--max-interval", "x"], "'x' is not a valid integer"),
        (["beat", "--bogus"], "No such option '--bogus'"),
    ],
)
def test_worker_and_beat_usage_errors_are_one_line_exit_2(args: list[str], message: str) -> None:
    """Checked before the start-up checks: no database or broker is needed to be told."""
    env = {"PRORATA_DATABASE_URL": "mysql+pymysql://nobody@127.0.0.1:1/none"}
    code, out, err = run_prorata(*args, env=env)
    assert (code, out) == (2, ""), err
    assert err.startswith(f"prorata: error: {args[0]}: ") and message in err
    assert len(err.splitlines()) == 1, err
    assert f"prorata {args[0]} --help" in err


def test_worker_and_beat_help_show_the_celery_options() -> None:
    for command, option in (("worker", "--concurrency"), ("beat", "--schedule")):
        code, out, err = run_prorata(command, "--help", env={})
        assert (code, err) == (0, "")
        assert out.startswith(f"Usage: prorata {command} [OPTIONS]")
        assert "Every option below goes to Celery" in out and option in out


@pytest.mark.parametrize(
    "args",
    [
        ["demo", "--today", "2024-06-01", "--path", "{tmp}/demo.db"],
        ["plan", "--db", "{db}", "--client", "1", "--today", "2024-06-01"],
        ["--help"],
    ],
    ids=["demo", "plan", "help"],
)
def test_a_closed_pipe_ends_quietly(
    sqlite_sandbox: tuple[str, Engine], tmp_path: Any, args: list[str]
) -> None:
    """`prorata ... | head` where head has already left: nothing on stderr; exit 141 (but
    argparse's help, which ignores a failed write itself, exits 0)."""
    url, engine = sqlite_sandbox
    seed(engine, two_services)
    words = [word.format(tmp=tmp_path, db=url) for word in args]
    process = start_prorata(*words, env={}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.close()  # the reader left before the first line
    try:
        _, err = process.communicate(timeout=60)
    finally:
        stop_process(process, grace=5, group=True)
    expected = 0 if args == ["--help"] else 141
    assert (process.returncode, err.decode()) == (expected, "")


@pytest.mark.clock  # `status` reads the clock for its beat checks
def test_status_into_a_closed_pipe_ends_quietly(sqlite_sandbox: tuple[str, Engine]) -> None:
    url, _ = sqlite_sandbox
    env = {"PRORATA_BROKER_URL": REDIS_URL, "PRORATA_RESULT_BACKEND": REDIS_URL}
    process = start_prorata(
        "status", "--db", url, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    process.stdout.close()
    try:
        _, err = process.communicate(timeout=60)
    finally:
        stop_process(process, grace=5, group=True)
    assert (process.returncode, err.decode()) == (141, "")


def test_help_and_version_load_neither_the_database_layer_nor_celery() -> None:
    """What `prorata --help` and `--version` import (python -X importtime)."""
    for option in ("--help", "--version"):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "worker", option],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        modules = {
            line.split("|")[-1].strip()
            for line in done.stderr.splitlines()
            if line.startswith("import time:")
        }
        assert "worker.cli.arguments" in modules
        heavy = {"sqlalchemy", "celery", "structlog", "kombu", "redis", "pymysql", "tasks"}
        loaded = {name for name in modules if name.split(".")[0] in heavy}
        loaded |= {name for name in modules if name.startswith(("worker.steps", "worker.whmcs"))}
        assert not loaded, (option, sorted(loaded))


def test_the_command_line_imports_no_task_module_but_through_celery() -> None:
    """The command line's modules name no task module: tasks run by name through the
    Celery app (which loads its own), or go to the broker; `cron`'s unsuspensions run
    through the handler the task runs (the import contracts hold the same)."""
    found = []
    for path in sorted((ROOT / "worker" / "cli").glob("*.py")):
        for line in path.read_text().splitlines():
            if line.strip().startswith(("from tasks", "import tasks")):
                found.append(f"{path.name}: {line.strip()}")
    assert found == []


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["nosuch"],
        ["sandbox"],
        ["sandbox", "init", "--bogus"],
        ["db"],
        ["plan", "--client", "x"],
        ["align"],
        ["events", "paid"],
        ["cron", "--today", "2024-13-01"],
        ["status", "--bogus"],
        ["bulk"],
        ["bulk", "show"],
        ["bulk", "show", "1", "--bogus"],
        ["bulk-cancel"],
        ["demo", "--today", "x"],
    ],
    ids=lambda args: " ".join(args) or "nothing",
)
def test_usage_errors_of_every_command_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, out, err = run_cli(capsys, *args)
    assert (code, out) == (2, "")
    assert err.startswith("prorata: error: ") and len(err.splitlines()) == 1, err


def test_the_bulk_event_id_bound_is_the_runs() -> None:
    """The command line checks a run's event id with worker.inputs's bound; the run's
    table and its clients' event ids are sized by the bulk step's."""
    from worker import inputs

    assert inputs.RUN_EVENT_ID_MAX == bulk.RUN_EVENT_ID_MAX
