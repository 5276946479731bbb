"""A client WHMCS's overdue run suspended, and a fake WHMCS API (includes/api.php on
127.0.0.1), for the unsuspension tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from worker.sandbox import build as sandbox
from worker.whmcs.schema import tblproducts


def suspended_client(conn: Connection, next_due: date | str) -> dict[str, int]:
    """Automation as installed (AutoUnsuspend on, 5 days); a service with a module and its
    addon, both Suspended for overdue payment (empty suspendreason)."""
    sandbox.set_configuration(conn, {"AutoUnsuspend": "on", "AutoSuspensionDays": "5"})
    c = sandbox.add_client(conn, "Ada", "Lovelace")
    web = sandbox.add_product(conn, "Web Hosting", taxed=False)
    conn.execute(sa.update(tblproducts).where(tblproducts.c.id == web).values(servertype="cpanel"))
    backups = sandbox.add_addon_product(conn, "Daily Backups", taxed=False)
    ids = {"client": c, "product": web}
    ids["web"] = sandbox.add_service(
        conn,
        c,
        web,
        amount="30.00",
        cycle="Monthly",
        next_due=next_due,
        status="Suspended",
        domain="ada.example",
    )
    ids["backup"] = sandbox.add_service_addon(
        conn,
        ids["web"],
        backups,
        client_id=c,
        recurring="3.00",
        cycle="Monthly",
        next_due=next_due,
        status="Suspended",
    )
    return ids


class FakeWhmcsApi:
    """WHMCS's includes/api.php: answers each POST with the next status of `statuses` (the
    last one repeats); 200 is {"result": "success"} and runs `on_success` with the form."""

    def __init__(
        self, statuses: list[int], on_success: Callable[[dict[str, str]], None] | None = None
    ) -> None:
        self.calls: list[dict[str, str]] = []
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                with api.lock:
                    api.calls.append(form)
                    status = statuses[min(len(api.calls), len(statuses)) - 1]
                body = b"Internal Server Error"
                if status == 200:
                    if on_success is not None:
                        on_success(form)
                    body = json.dumps({"result": "success"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/includes/api.php"

    def snapshot(self) -> list[dict[str, str]]:
        with self.lock:
            return list(self.calls)


@contextmanager
def fake_whmcs_api(
    statuses: list[int], on_success: Callable[[dict[str, str]], None] | None = None
) -> Iterator[FakeWhmcsApi]:
    api = FakeWhmcsApi(statuses, on_success)
    thread = threading.Thread(target=api.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        api.server.shutdown()
        api.server.server_close()
        thread.join(timeout=10)
