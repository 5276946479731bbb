"""A fake WHMCS API (includes/api.php) on 127.0.0.1 for the email tests: it records every
form it gets and answers {"result": "success"}, except the first `failures` calls, which get
HTTP 500."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


class FakeWhmcsApi:
    def __init__(self, failures: int = 0) -> None:
        self.calls: list[dict[str, str]] = []
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode("utf-8"))
                with api.lock:
                    api.calls.append({key: values[0] for key, values in form.items()})
                    failing = len(api.calls) <= failures
                if failing:
                    status, body = 500, b"Internal Server Error"
                else:
                    status, body = 200, json.dumps({"result": "success"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/includes/api.php"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def snapshot(self) -> list[dict[str, str]]:
        with self.lock:
            return list(self.calls)


@contextmanager
def running_api(failures: int = 0) -> Iterator[FakeWhmcsApi]:
    api = FakeWhmcsApi(failures)
    api.thread.start()
    try:
        yield api
    finally:
        api.server.shutdown()
        api.server.server_close()
        api.thread.join(timeout=10)
