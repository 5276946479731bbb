"""No message stops the worker: broken or unknown messages pushed straight onto the queue's
Redis list are kept aside in `<queue>.rejected` with their reason and taken off the queue,
the worker goes on with the next event, and `prorata status` shows them. A worker that does
crash ("Unrecoverable error") exits non-zero, so its supervisor restarts it."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.clients import align_kwargs, seed_client
from tests.support.db_rows import new_sandbox, query_rows
from tests.support.processes import ROOT, WorkerProcess, stop_process, wait_until, worker_env
from tests.support.redis_broker import php_style_message, wait_task_meta
from worker.checks import queue_length
from worker.cli.main import main
from worker.sandbox.whmcs_sim import pay_invoice
from worker.whmcs.schema import tblhosting


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def bad_messages(queue: str) -> dict[str, tuple[str, str]]:
    """{shape: (the text pushed onto the queue, a pattern its kept reason must match)}."""

    def envelope(change: Callable[[dict[str, Any]], Any]) -> str:
        message = php_style_message("prorata.ping", {}, queue=queue, task_id=str(uuid.uuid4()))
        change(message)
        return json.dumps(message)

    def set_key(*path: str, value: Any) -> Callable[[dict[str, Any]], Any]:
        def change(message: dict[str, Any]) -> None:
            *parents, last = path
            for key in parents:
                message = message[key]
            message[last] = value

        return change

    protocol_2 = "body is not Celery protocol 2"
    return {
        # the six that ended the worker, two of them put back on the queue at every shutdown
        "body a JSON object": (envelope(set_key("body", value={"a": 1})), "kombu cannot read"),
        "body [1]": (envelope(set_key("body", value=_b64("[1]"))), protocol_2),
        "body not base64": (envelope(set_key("body", value="!!!not base64!!!")), "base64"),
        "item null": ("null", "not a message envelope: a JSON null"),
        "item [1,2,3]": ("[1,2,3]", "not a message envelope: a JSON list"),
        "item not JSON": ("hello, worker", "not JSON: JSONDecodeError"),
        # the others
        "unknown task": (
            envelope(set_key("headers", "task", value="prorata.no_such_task")),
            "unknown task 'prorata.no_such_task'",
        ),
        "pickle": (
            envelope(set_key("content-type", value="application/x-python-serialize")),
            r"\(application/x-python-serialize\): ContentDisallowed",
        ),
        "yaml": (
            envelope(set_key("content-type", value="application/x-yaml")),
            r"\(application/x-yaml\): ContentDisallowed",
        ),
        "no headers": (
            envelope(lambda message: message.pop("headers")),
            "no task name and id in its headers",
        ),
        "huge headers": (
            envelope(set_key("headers", "kwargsrepr", value="x" * 300_000)),
            "headers of 30[0-9]{4} bytes, more than 65536",
        ),
        "body a JSON string": (envelope(set_key("body", value=_b64('"text"'))), protocol_2),
        "body not JSON": (envelope(set_key("body", value=_b64("{{{"))), "cannot be decoded"),
        "kwargs a list": (envelope(set_key("body", value=_b64("[[], [], {}]"))), protocol_2),
        "embed a number": (envelope(set_key("body", value=_b64("[[], {}, 5]"))), protocol_2),
        "task name a list": (
            envelope(set_key("headers", "task", value=["prorata.ping"])),
            "no task name and id",
        ),
        "headers a list": (envelope(set_key("headers", value=[1])), "headers are a list"),
        "no properties": (envelope(lambda message: message.pop("properties")), "no properties"),
        "no delivery tag": (
            envelope(lambda message: message["properties"].pop("delivery_tag")),
            "no delivery_tag",
        ),
        "ETA not a date": (
            envelope(set_key("headers", "eta", value="soon")),
            "invalid task message: InvalidTaskError: invalid ETA value 'soon'",
        ),
        "time limit a number": (
            envelope(set_key("headers", "timelimit", value=5)),
            "header timelimit is not",
        ),
        "stamped headers a number": (
            envelope(set_key("headers", "stamped_headers", value=5)),
            "header stamped_headers is not",
        ),
        "item {}": ("{}", "no properties in the envelope"),
        "item a JSON string": ('"text"', "not a message envelope: a JSON str"),
        "item not UTF-8": ("caf\udce9", "not JSON"),
    }


pytestmark = [pytest.mark.celery, pytest.mark.clock]


@pytest.mark.mariadb
def test_bad_messages_are_kept_aside_and_the_next_payment_is_applied(
    sandbox_db: Any,
    producer: Any,
    start_worker: Callable[..., WorkerProcess],
    redis_client: Any,
    queue: str,
    broker_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, engine = sandbox_db
    with engine.begin() as conn:
        ada = seed_client(conn, "Ada")
    worker = start_worker(url, app=producer)
    event_id = f"align-{uuid.uuid4()}"
    aligned = producer.send_task(
        "prorata.align_client", kwargs=align_kwargs(event_id, ada.client_id), task_id=event_id
    ).get(timeout=30)
    invoice_id = next(i["id"] for i in aligned["invoices"] if i["paymentmethod"] == "paypal")
    pay_invoice(engine, invoice_id, datetime(2024, 6, 10, 9, 30))  # noqa: DTZ001 (WHMCS time)

    # every bad message, then the payment event as WHMCS's hook sends it, onto the list
    # the worker pops from (LPUSH: the payment comes last)
    bad = bad_messages(queue)
    for text, _ in bad.values():
        redis_client.lpush(queue, text.encode("utf-8", "surrogateescape"))
    paid_id = str(uuid.uuid4())
    paid = {"event_id": f"paid-{paid_id}", "invoice_id": invoice_id}
    message = php_style_message("prorata.invoice_paid", paid, queue=queue, task_id=paid_id)
    redis_client.lpush(queue, json.dumps(message))

    meta = wait_task_meta(redis_client, paid_id, timeout=60)
    assert meta["status"] == "SUCCESS", meta.get("traceback")
    assert meta["result"]["outcome"] == "applied"
    with engine.connect() as conn:
        mail = query_rows(
            conn, sa.select(tblhosting).where(tblhosting.c.id == ada.services["mail"])
        )[0]
    assert (mail.nextduedate, mail.nextinvoicedate) == (date(2024, 7, 1), date(2024, 7, 1))
    assert worker.alive(), worker.log_text()

    # each bad message kept once, in the order it came, with its reason and its text
    rejected = f"{queue}.rejected"
    kept = [json.loads(entry) for entry in redis_client.lrange(rejected, 0, -1)]
    assert len(kept) == len(bad), [entry["reason"] for entry in kept]
    for (shape, (text, reason)), entry in zip(bad.items(), kept, strict=True):
        assert re.search(reason, entry["reason"]), (shape, entry["reason"])
        assert entry["queue"] == queue
        if shape == "huge headers":
            assert entry["truncated"] and entry["size"] > 300_000
        elif shape.startswith("item"):  # kept as it was popped
            assert entry["message"] == text.encode("utf-8", "surrogateescape").decode(
                errors="replace"
            )
        elif not entry["message"].startswith("{'headers'"):  # kombu's envelope, again
            headers = json.loads(text).get("headers")
            assert json.loads(entry["message"])["headers"] == (headers or {}), shape

    # nothing left to deliver, now or after a shutdown, that could stop a worker again
    wait_until(lambda: redis_client.hlen("unacked") == 0, timeout=10, what="the acks")
    worker.stop()
    assert queue_length(redis_client, queue) == 0
    assert redis_client.hlen("unacked") == 0

    monkeypatch.setenv("PRORATA_BROKER_URL", broker_url)
    monkeypatch.setenv("PRORATA_QUEUE", queue)
    assert main(["status", "--db", url]) == 1
    lines = capsys.readouterr().out.splitlines()
    [line] = [line for line in lines if "rejected messages" in line]
    assert line.startswith(f"ATTENTION rejected messages: {len(bad)} in {rejected}, newest ")
    assert line.endswith(kept[-1]["reason"])


def _prorata_worker(url: str, broker_url: str, queue: str, log_path: Path) -> tuple[Any, str]:
    """`prorata worker` (solo pool) as systemd and Compose start it: (process, node name)."""
    node = f"{queue}-{uuid.uuid4().hex[:6]}@test"
    env = worker_env(database_url=url, broker_url=broker_url, queue=queue)
    options = ["--pool=solo", "--without-mingle", "--without-gossip", "-n", node]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "worker", "worker", *options],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, node


def test_prorata_worker_exits_0_when_stopped_and_1_when_it_crashes(
    tmp_path: Path, producer: Any, redis_client: Any, broker_url: str, queue: str
) -> None:
    """Stopped (SIGTERM), `prorata worker` exits 0; a broker fault it cannot recover from (its
    queue's key holds a string, not a list) ends it with exit 1, which systemd's
    Restart=on-failure restarts."""
    url = f"sqlite:///{tmp_path / 'whmcs.db'}"
    new_sandbox(url).dispose()
    log_path = tmp_path / "worker.log"

    process, node = _prorata_worker(url, broker_url, queue, log_path)
    try:
        wait_until(
            lambda: (
                producer.control.ping(destination=[node], timeout=0.5) or process.poll() is not None
            ),
            timeout=45,
            what="the worker to answer ping",
        )
        assert process.poll() is None, log_path.read_text(errors="replace")
        process.terminate()
        assert process.wait(timeout=30) == 0, log_path.read_text(errors="replace")
    finally:
        stop_process(process, group=True)

    redis_client.set(queue, "not a list")
    process, _ = _prorata_worker(url, broker_url, queue, log_path)
    try:
        code = process.wait(timeout=60)
    finally:
        stop_process(process, group=True)
        redis_client.delete(queue)
    text = log_path.read_text(errors="replace")
    assert "Unrecoverable error" in text, text
    assert code == 1, text
