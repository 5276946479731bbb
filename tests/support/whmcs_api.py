"""A fake WHMCS API: includes/api.php served on 127.0.0.1 by a real HTTP server, recording
each call's form and answering with the statuses a test chooses."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


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
