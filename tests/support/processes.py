"""Real processes for the tests: waits with a deadline, loopback ports, a TCP proxy that
can cut or stall a server, stopping a process, `prorata` and real `celery worker` processes on
a queue of their own, and what is left of a test queue in Redis. Shared by the Celery tests
(tests/celery/), the worker tests, the PHP event tests and the page tests.

(Over 400 lines: every kind of real process the suites start (Celery workers, `prorata`, a
proxy that cuts a server) with the deadlines that keep them from hanging, in one place.)

Everything here talks to 127.0.0.1 only, and every wait has a deadline: no test may hang.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock

from worker import clock

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

# environment variables that must not leak from the developer's shell into a worker, but the
# clock offset of scripts/check-dates: the workers read the clock at the date it chose
_DROPPED_ENV_PREFIXES = ("PRORATA_", "CELERY_")
_KEPT_ENV = (clock.OFFSET_VARIABLE,)
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def wait_until(
    predicate: Callable[[], T], *, timeout: float, interval: float = 0.1, what: str = "condition"
) -> T:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released): for a server to start on,
    or an address where nobody answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TcpProxy:
    """127.0.0.1:<port> forwarded to a server (the database, Redis).

    stop() refuses new connections and cuts the open ones (the server "goes away"); start()
    again opens the same port, forwarding. stall() makes the server hang instead: connections
    are still accepted, open or new, but nothing reaches the server and no answer comes back;
    what is sent is read and dropped, or with reads=False not read at all (the sender's
    buffers fill up). As a context manager: started, and stopped at the end.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stalled = False
        self._reads = True
        self._stopped = threading.Event()  # a pump that stopped reading waits for it

    def __enter__(self) -> TcpProxy:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        self._stalled = False
        self._stopped = threading.Event()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stall(self, *, reads: bool = True) -> None:
        self._reads = reads
        self._stalled = True

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            if self._listener is not listener:  # stopped meanwhile
                client.close()
                return
            if self._stalled:
                with self._lock:
                    self._open.append(client)
                if self._reads:
                    threading.Thread(target=self._drop, args=(client,), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pump, args=(source, sink, self._stopped), daemon=True
                ).start()

    def _pump(self, source: socket.socket, sink: socket.socket, stopped: threading.Event) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                if not self._stalled:
                    sink.sendall(data)
                elif not self._reads:
                    stopped.wait()
                    break
        for end in (source, sink):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    @staticmethod
    def _drop(source: socket.socket) -> None:
        with suppress(OSError):
            while source.recv(65536):
                pass

    def stop(self) -> None:
        self._stopped.set()
        if self._listener is not None:
            # shutdown wakes the thread blocked in accept(); close alone would leave the
            # port listening until that accept() returns
            with suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


# ---- stopping a process ------------------------------------------------------------------


def _signal(process: subprocess.Popen[bytes], signum: int, group: bool) -> None:
    if group:  # a process started with start_new_session=True leads its group: pgid == pid
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def kill_process(process: subprocess.Popen[bytes], *, group: bool = False) -> None:
    """SIGKILL to the process (to its whole process group with `group`), then wait for it."""
    _signal(process, signal.SIGKILL, group)
    process.wait(timeout=10)
    if group:
        wait_until(
            lambda: not _group_exists(process.pid), timeout=10, what="the process group to die"
        )


def stop_process(
    process: subprocess.Popen[bytes], *, grace: float = 20, group: bool = False
) -> None:
    """SIGTERM (to the whole process group with `group`), then SIGKILL when it has not ended
    after `grace` seconds."""
    if process.poll() is None:
        _signal(process, signal.SIGTERM, group)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    if process.poll() is None or (group and _group_exists(process.pid)):
        kill_process(process, group=group)


# ---- the command line ----------------------------------------------------------------------


def start_prorata(*args: str, env: Mapping[str, str], **popen: Any) -> subprocess.Popen[bytes]:
    """`prorata ...` in a process (and process group) of its own, with the developer's
    environment without any PRORATA_* or CELERY_* variable, then `env`: nothing imported by
    the tests leaks into it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_ENV_PREFIXES)}
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from worker.cli.main import main; sys.exit(main())",
            *args,
        ],
        cwd=ROOT,
        env={**clean, **env},
        start_new_session=True,
        **popen,
    )


def run_prorata(*args: str, env: Mapping[str, str], timeout: float = 60) -> tuple[int, str, str]:
    """`prorata ...` (see start_prorata) to its end: (exit code, stdout, stderr)."""
    process = start_prorata(*args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process(process, grace=5, group=True)
        out, err = process.communicate()
        raise AssertionError(
            f"prorata {' '.join(args)} still running after {timeout} s:\n{err.decode()[-3000:]}"
        ) from None
    return process.returncode, out.decode(), err.decode()


# ---- Redis and Celery ------------------------------------------------------------------


def forget_queue(conn: Any, queue: str) -> None:
    """Remove a test queue and kombu's keys for it (never anything else)."""
    keys = [queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"]
    keys += [f"{queue}\x06\x16{step}" for step in (3, 6, 9)]
    conn.delete(*keys)


def worker_env(
    *,
    database_url: str,
    broker_url: str,
    queue: str,
    visibility_timeout: int | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a worker: the developer's, without any PRORATA_* (but the clock
    offset), CELERY_* or proxy variable, then the database, the broker (results there too) and
    the queue; the product's visibility timeout unless one is given; then `extra`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key in _KEPT_ENV
        or (not key.startswith(_DROPPED_ENV_PREFIXES) and key not in _PROXY_VARS)
    }
    env.update(
        {
            "PRORATA_DATABASE_URL": database_url,
            "PRORATA_BROKER_URL": broker_url,
            "PRORATA_RESULT_BACKEND": broker_url,
            "PRORATA_QUEUE": queue,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            # tests change settings between tasks: workers read them fresh unless told
            "PRORATA_SETTINGS_CACHE_SECONDS": os.environ.get("PRORATA_SETTINGS_CACHE_SECONDS", "0"),
        }
    )
    if visibility_timeout is not None:
        env["PRORATA_VISIBILITY_TIMEOUT"] = str(visibility_timeout)
    env.update(extra or {})
    return env


def event_sender(broker_url: str, queue: str) -> Callable[[str, dict[str, Any], str | None], None]:
    """The product's own event sender (worker.celery_app.make_event_sender), for this broker
    and queue: what worker.celery_app.send_to_broker is in production."""
    from worker.celery_app import make_event_sender
    from worker.config import load_config

    settings = {"PRORATA_BROKER_URL": broker_url, "PRORATA_QUEUE": queue}
    with mock.patch.dict(os.environ, settings):
        return make_event_sender(load_config())


class WorkerProcess:
    """One real `celery worker` process in its own process group, consuming `queue` only and
    logging to `log_path`; the prefork pool with `concurrency` children, or the solo pool."""

    def __init__(
        self,
        env: dict[str, str],
        queue: str,
        log_path: Path,
        *,
        pool: str = "prefork",
        concurrency: int = 2,
        options: Sequence[str] = (),
    ) -> None:
        self.env = env
        self.queue = queue
        self.log_path = log_path
        self.pool = pool
        self.concurrency = concurrency
        self.options = tuple(options)
        self.nodename = f"{queue}-{uuid.uuid4().hex[:6]}@test"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        pool = [f"--pool={self.pool}"]
        if self.pool == "prefork":
            pool.append(f"--concurrency={self.concurrency}")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "worker.celery_app",
                    "worker",
                    *pool,
                    "-Q",
                    self.queue,
                    "-n",
                    self.nodename,
                    "--loglevel=INFO",
                    "--without-gossip",
                    "--without-mingle",
                    *self.options,
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a process group of its own: pgid == pid
            )

    def wait_ready(self, app: Any, timeout: float = 45) -> None:
        """Ready once it answers a remote-control ping (its task consumer is then running)."""

        def answered() -> bool:
            if self.process is None or self.process.poll() is not None:
                raise AssertionError(f"worker exited during start-up:\n{self.log_text()}")
            replies = app.control.ping(destination=[self.nodename], timeout=0.5, limit=1)
            return any(self.nodename in reply for reply in replies or [])

        try:
            wait_until(answered, timeout=timeout, interval=0.05, what="the worker to answer ping")
        except AssertionError:
            raise AssertionError(f"worker not ready; its log:\n{self.log_text()}") from None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole process group: the main process and its pool children."""
        if self.process is not None:
            kill_process(self.process, group=True)

    def stop(self, grace: float = 15) -> None:
        """SIGTERM (warm shutdown), then SIGKILL to the group when it takes too long."""
        if self.process is not None:
            stop_process(self.process, grace=grace, group=True)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"

    def json_lines(self) -> list[dict[str, Any]]:
        """The structured (JSON) log lines the worker wrote."""
        found = []
        for line in self.log_text().splitlines():
            text = line.strip()
            if text.startswith("{"):
                try:
                    found.append(json.loads(text))
                except ValueError:
                    continue
        return found
