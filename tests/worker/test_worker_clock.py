"""worker/clock.py, the one place the product reads the clock, and the offset that moves it for
the tests that read it (scripts/check-dates)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.processes import worker_env
from worker import clock

pytestmark = pytest.mark.clock

SHIFT = timedelta(days=400, hours=5)


def local_now() -> datetime:
    return datetime.now(UTC).astimezone()


def test_the_offset_moves_today_and_now_by_that_many_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(clock.OFFSET_VARIABLE, str(int(SHIFT.total_seconds())))
    before = local_now() + SHIFT
    moved_now, moved_today = clock.now(), clock.today()
    after = local_now() + SHIFT
    naive = [moment.replace(tzinfo=None, microsecond=0) for moment in (before, after)]
    assert naive[0] <= moved_now <= naive[1]
    assert moved_today in {before.date(), after.date()}

    monkeypatch.setenv(clock.OFFSET_VARIABLE, str(-int(SHIFT.total_seconds())))
    assert clock.today() in {(local_now() - SHIFT).date(), (before - 2 * SHIFT).date()}


@pytest.mark.parametrize("value", ["tomorrow", "1.5", "86400s"])
def test_an_offset_that_is_not_whole_seconds_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(clock.OFFSET_VARIABLE, value)
    for read in (clock.today, clock.now):
        with pytest.raises(ValueError, match=f"{clock.OFFSET_VARIABLE} .* not '{value}'"):
            read()


def test_the_workers_the_tests_start_keep_the_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.OFFSET_VARIABLE, "86400")
    monkeypatch.setenv("PRORATA_TASK_TIME_LIMIT", "7")  # the developer's own: dropped
    env = worker_env(database_url="sqlite://", broker_url="redis://127.0.0.1:1/0", queue="q")
    assert env[clock.OFFSET_VARIABLE] == "86400"
    assert "PRORATA_TASK_TIME_LIMIT" not in env
