"""A small headless Chromium driver for the page tests, over the DevTools protocol on a pipe.

Chromium started with --remote-debugging-pipe reads protocol commands from file descriptor 3
and writes answers to descriptor 4, each message a JSON document ended by a NUL byte. That
needs nothing but Chromium itself: no driver binary, no npm or pip package. Every wait is
bounded; a page that never shows what a test waits for fails the test with what it did show.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

LAUNCH_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)


class BrowserError(RuntimeError):
    pass


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Browser:
    """One Chromium process with one page; commands are synchronous, waits bounded."""

    def __init__(self, executable: str, *, width: int = 1280, height: int = 900) -> None:
        self._profile = tempfile.mkdtemp(prefix="pages-profile-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def remap() -> None:
            # the child's descriptors 3 and 4 must be exactly these pipe ends; copy both out of
            # the way first, in case one of them already is 3 or 4
            reading, writing = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(reading, 3)
            os.dup2(writing, 4)

        self._process = subprocess.Popen(
            [
                executable,
                *LAUNCH_FLAGS,
                f"--user-data-dir={self._profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=remap,
            pass_fds=(3, 4),  # kept open after remap()
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        self.dialogs: list[str] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime"):
            self.call(f"{domain}.enable", session=True)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=True,
        )

    # -- protocol -------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        os.write(self._to_child, json.dumps(message).encode() + b"\0")

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("Chromium did not answer in time")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    raise BrowserError("Chromium closed its pipe")
                self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        return message

    def _handle_event(self, message: dict[str, Any]) -> None:
        if message.get("method") == "Page.javascriptDialogOpening":
            # a confirm() before a form is sent: the person clicks OK
            self.dialogs.append(str(message["params"].get("message", "")))
            self._send(
                {
                    "id": self._new_id(),
                    "method": "Page.handleJavaScriptDialog",
                    "params": {"accept": True},
                    "sessionId": message.get("sessionId"),
                }
            )
        self._events.append(message)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: bool = False,
        timeout: float = 20.0,
    ) -> dict[str, Any]:
        message_id = self._new_id()
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        self._send(message)
        deadline = time.monotonic() + timeout
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == message_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer.get("result", {})
                return result
            if "method" in answer:
                self._handle_event(answer)

    def _pump(self, seconds: float) -> None:
        """Read (and handle) events for a moment."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self._from_child], [], [], deadline - time.monotonic())
            if not ready:
                return
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium closed its pipe")
            self._buffer += chunk
            while b"\0" in self._buffer:
                raw, _, self._buffer = self._buffer.partition(b"\0")
                message = json.loads(raw)
                if "method" in message:
                    self._handle_event(message)

    # -- page -----------------------------------------------------------------------------

    def evaluate(self, expression: str, *, timeout: float = 20.0) -> Any:
        answer = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=True,
            timeout=timeout,
        )
        if "exceptionDetails" in answer:
            raise BrowserError(f"{expression}: {answer['exceptionDetails']}")
        return answer.get("result", {}).get("value")

    def _page_marker(self) -> Any:
        return self.evaluate("window.__pagesMarker || null")

    def _mark_page(self) -> str:
        marker = f"m{self._new_id()}"
        self.evaluate(f"window.__pagesMarker = {json.dumps(marker)}")
        return marker

    def wait_for_load(self, old_marker: str | None, timeout: float = 30.0) -> None:
        """Wait until a new document (not the marked one) has finished loading."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                marker = self._page_marker()
                state = self.evaluate("document.readyState")
            except BrowserError:
                marker, state = old_marker, None  # the page is between documents
            if marker != old_marker and state == "complete":
                return
            self._pump(0.05)
        raise BrowserError(f"no new page loaded within {timeout} s: {self.url()}")

    def goto(self, url: str, timeout: float = 30.0) -> None:
        marker = self._mark_page()
        self.call("Page.navigate", {"url": url}, session=True)
        self.wait_for_load(marker, timeout)

    def url(self) -> str:
        return str(self.evaluate("location.href"))

    def text(self, selector: str = "body") -> str:
        value = self.evaluate(
            f"(function(){{var e=document.querySelector({json.dumps(selector)});"
            "return e ? e.innerText : null;})()"
        )
        if value is None:
            raise BrowserError(f"no element {selector!r} on {self.url()}")
        return str(value)

    def html(self) -> str:
        return str(self.evaluate("document.documentElement.outerHTML"))

    def count(self, selector: str) -> int:
        return int(self.evaluate(f"document.querySelectorAll({json.dumps(selector)}).length"))

    def exists(self, selector: str) -> bool:
        return self.count(selector) > 0

    def attribute(self, selector: str, name: str) -> str | None:
        value = self.evaluate(
            f"(function(){{var e=document.querySelector({json.dumps(selector)});"
            f"return e ? e.getAttribute({json.dumps(name)}) : null;}})()"
        )
        return None if value is None else str(value)

    def fill(self, selector: str, value: str) -> None:
        """Type into an input or choose an option of a select, as a person would."""
        done = self.evaluate(
            f"(function(){{var e=document.querySelector({json.dumps(selector)});"
            "if(!e) return false; e.focus();"
            f"e.value={json.dumps(value)};"
            "e.dispatchEvent(new Event('input',{bubbles:true}));"
            "e.dispatchEvent(new Event('change',{bubbles:true}));return true;})()"
        )
        if not done:
            raise BrowserError(f"no field {selector!r} on {self.url()}")

    def set_checked(self, selector: str, checked: bool) -> None:
        done = self.evaluate(
            f"(function(){{var e=document.querySelector({json.dumps(selector)});"
            f"if(!e) return false; if(e.checked!=={json.dumps(checked)}) e.click();"
            "return true;})()"
        )
        if not done:
            raise BrowserError(f"no checkbox {selector!r} on {self.url()}")

    def click(self, selector: str, *, navigates: bool = True, timeout: float = 30.0) -> None:
        """Click an element with a real mouse press; wait for the next page when it loads one."""
        box = self.evaluate(
            f"(function(){{var e=document.querySelector({json.dumps(selector)});"
            "if(!e) return null; e.scrollIntoView({block:'center'});"
            "var r=e.getBoundingClientRect();"
            "return [r.left + r.width / 2, r.top + r.height / 2];})()"
        )
        if box is None:
            raise BrowserError(f"nothing to click at {selector!r} on {self.url()}")
        marker = self._mark_page() if navigates else None
        x, y = box
        for kind in ("mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
                session=True,
            )
        if navigates:
            self.wait_for_load(marker, timeout)

    def wait_for_text(self, text: str, selector: str = "body", timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if text in self.text(selector):
                    return
            except BrowserError:
                pass
            self._pump(0.1)
        raise BrowserError(f"{text!r} did not appear within {timeout} s on {self.url()}")

    def screenshot(self, path: Path) -> None:
        """A PNG of the whole page, not only the window."""
        size = self.evaluate(
            "[Math.ceil(document.documentElement.scrollWidth),"
            " Math.ceil(document.documentElement.scrollHeight)]"
        )
        width, height = int(size[0]), min(int(size[1]), 6000)
        shot = self.call(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            },
            session=True,
            timeout=30.0,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.call("Browser.close", timeout=5.0)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self._profile, ignore_errors=True)
