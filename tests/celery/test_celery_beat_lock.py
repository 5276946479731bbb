"""One beat at a time: real `prorata beat` processes on a private Redis and a SQLite
sandbox. A second beat refuses to start while the first runs (exit 5, one line naming the
holder) and leaves the first's schedule file alone; after a kill -9 of the first, its lock
expires and the next beat takes over; a clean stop releases the lock at once; a beat whose
lock another took stops."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.db_rows import new_sandbox
from tests.support.processes import (
    kill_process,
    run_prorata,
    start_prorata,
    stop_process,
    wait_until,
    worker_env,
)
from worker.beat import BEAT_LOCKED, lock_key
from worker.own_schema import job_runs

pytestmark = [pytest.mark.celery, pytest.mark.clock]

# PRORATA_BEAT_LOCK_SECONDS of these beats (renewed every 2 s): longer than a beat takes to
# start, so the beat started right after the kill -9 still finds the key
TTL = 6


class Beats:
    """`prorata beat` processes sharing one database, broker, queue and schedule file."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.schedule = str(tmp_path / "celerybeat-schedule")
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.tmp_path / f"beat-{len(self.started) + 1}.log"
        with open(log, "wb") as out:
            process = start_prorata(
                "beat", f"--schedule={self.schedule}", env=self.env, stdout=out, stderr=out
            )
        self.started.append((process, log))
        return process, log

    def run(self) -> tuple[int, str, str]:
        """A beat started while another runs: to its end."""
        return run_prorata("beat", f"--schedule={self.schedule}", env=self.env, timeout=30)


@pytest.fixture
def beats(tmp_path: Path, sqlite_url: str, broker_url: str, queue: str) -> Iterator[Beats]:
    new_sandbox(sqlite_url).dispose()
    env = worker_env(database_url=sqlite_url, broker_url=broker_url, queue=queue)
    made = Beats(tmp_path, {**env, "PRORATA_BEAT_LOCK_SECONDS": str(TTL)})
    yield made
    for process, log in made.started:
        stop_process(process, grace=10, group=True)
        print(f"\n===== {log.name} =====\n{log.read_text(errors='replace')}")


def holder(redis_client: Any, queue: str) -> dict[str, Any] | None:
    raw = redis_client.get(lock_key(queue))
    return None if raw is None else dict(json.loads(raw))


def held_by(redis_client: Any, queue: str, pid: int) -> bool:
    found = holder(redis_client, queue)
    return found is not None and found["pid"] == pid


def test_a_second_beat_refuses_then_takes_over_once_the_first_was_killed(
    beats: Beats, redis_client: Any, queue: str, sqlite_url: str
) -> None:
    first, first_log = beats.start()
    wait_until(
        lambda: held_by(redis_client, queue, first.pid), timeout=30, what="the first beat's lock"
    )
    schedule_files = wait_until(
        lambda: list(beats.tmp_path.glob("celerybeat-schedule*")),
        timeout=10,
        what="the schedule file",
    )
    # it outlives its time to live: the running beat renews it
    time.sleep(TTL + 1)
    assert held_by(redis_client, queue, first.pid)

    code, _, err = beats.run()
    assert code == BEAT_LOCKED, err
    refusals = [line for line in err.splitlines() if "beat refused" in line]
    assert len(refusals) == 1, err
    line = json.loads(refusals[0])
    assert line["level"] == "error"
    assert f"pid {first.pid}" in line["event"] and lock_key(queue) in line["event"]
    assert first.poll() is None and held_by(redis_client, queue, first.pid)
    # the refused beat never opened the running one's schedule
    assert all(path.exists() for path in schedule_files)

    # the first beat recorded its start: its jobs wait for their first run from there
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        started = conn.execute(
            sa.select(job_runs.c.last_started_at).where(job_runs.c.job == "beat")
        ).scalar_one()
    engine.dispose()
    assert started is not None

    # kill -9: no clean stop, the key stays until its time to live runs out
    kill_process(first, group=True)
    assert held_by(redis_client, queue, first.pid)
    code, _, err = beats.run()
    assert code == BEAT_LOCKED, err
    wait_until(
        lambda: holder(redis_client, queue) is None, timeout=TTL + 5, what="the lock to expire"
    )
    second, _ = beats.start()
    wait_until(
        lambda: held_by(redis_client, queue, second.pid), timeout=30, what="the second's lock"
    )
    # a clean stop releases it at once
    stop_process(second, grace=20, group=True)
    assert second.returncode == 0, first_log.read_text()
    assert holder(redis_client, queue) is None


def test_a_beat_whose_lock_another_took_stops(beats: Beats, redis_client: Any, queue: str) -> None:
    beat, _ = beats.start()
    wait_until(lambda: held_by(redis_client, queue, beat.pid), timeout=30, what="its lock")
    other = json.dumps({"host": "elsewhere", "pid": 1, "since": "now", "token": "t"})
    redis_client.set(lock_key(queue), other, px=60_000)
    code = beat.wait(timeout=TTL * 3)
    assert code == BEAT_LOCKED
    assert redis_client.get(lock_key(queue)).decode() == other  # the other's key is kept
    redis_client.delete(lock_key(queue))


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of a beat's output as JSON (a plain-text line fails the test, named)."""
    found = []
    for line in text.splitlines():
        try:
            found.append(dict(json.loads(line)))
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}\n{text}") from None
    return found


def test_a_beat_speaks_json_from_its_first_line_and_a_refused_one_says_one_line(
    beats: Beats, redis_client: Any, queue: str
) -> None:
    first, first_log = beats.start()
    wait_until(lambda: held_by(redis_client, queue, first.pid), timeout=30, what="its lock")

    code, out, err = beats.run()
    assert code == BEAT_LOCKED, err
    assert out == ""
    (refusal,) = json_lines(err)
    assert refusal["level"] == "error" and refusal["event"].startswith("beat refused")

    stop_process(first, grace=20, group=True)
    assert first.returncode == 0
    lines = json_lines(first_log.read_text())
    assert all(line["host"] and line["version"] for line in lines)
    (started,) = [line for line in lines if line["event"] == "beat starting"]
    assert started["queue"] == queue and started["lock"] == lock_key(queue)
    assert started["schedule"] == beats.schedule and started["jobs"] >= 5
    assert started["broker"].startswith("redis://") and "127.0.0.1" in started["broker"]
    assert [line["event"] for line in lines].count("beat: Starting...") == 0  # ours instead
