"""The benchmark: each figure of the speed goals, measured on this machine, against its goal.

    python -m scripts.bench [--small] [--db URL]        (make bench, make bench SMALL=1)

It makes its own MariaDB database (dropped and made again: never point --db at a real
WHMCS), a private Redis on a free port and a Celery worker with 2 processes, and stops both
at the end, on Ctrl-C and on errors too. Not a test: it prints figures; it exits 1 only
when a bulk run's result is wrong (a client failed, or not the invoices the dry run
expects).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy.engine import make_url

from scripts.bench.bulk_figure import (
    Expected,
    RunFigure,
    dry_run,
    has_bulk_tasks,
    run_baseline,
    run_bulk,
)
from scripts.bench.seed import Seeded, drop_database, recreate_database, seed
from scripts.bench.services import Services

DEFAULT_DB = "mysql+pymysql://root@127.0.0.1:3306/prorata_bench"
DOMAIN_LINES = 100_000
ALIGN_CASE = (200, 50, 50)  # services, addons, unpaid invoices of the one client
ALIGN_RUNS = 5
SCALING_SERVICES = (10, 100, 1000)
RATIO_GOAL = 5.0
# the way the product aligned before the speed work: a statement per row, the settings read
# again for every client (and, in run_baseline, a task per client)
BASELINE_ENV = {"PRORATA_WRITE_BATCH_ROWS": "1", "PRORATA_SETTINGS_CACHE_SECONDS": "0"}


@dataclass(frozen=True)
class Figure:
    name: str
    measured: str
    goal: str
    met: bool | None  # None: not measured

    @property
    def verdict(self) -> str:
        return {True: "yes", False: "NO", None: "-"}[self.met]


def _say(text: str = "") -> None:
    print(text, flush=True)


def _machine() -> str:
    """The cores and the load: figures taken on a busy machine are slower than its own."""
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {one:.1f} (1 min), {five:.1f} (5 min)"


def _interrupted(signum: int, _frame: Any) -> NoReturn:
    raise KeyboardInterrupt(f"signal {signum}")


def _sibling(url: str, suffix: str) -> str:
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}{suffix}").render_as_string(hide_password=False)


# ---- (a) and (b): in this process ----------------------------------------------------------


def domain_figures() -> list[Figure]:
    from scripts.bench.domain_figure import domain_plan_figure

    result = domain_plan_figure(DOMAIN_LINES)
    seconds = float(result["seconds"])  # type: ignore[arg-type]
    _say(
        f"domain plan: {result['lines']:,} lines of {result['clients']:,} clients in "
        f"{seconds:.2f} s ({result['lines_per_second']:,} lines/s), planning adds "
        f"{result['peak_memory_mib']} MiB at its peak"
    )
    return [
        Figure(
            f"domain: plan {DOMAIN_LINES:,} lines, one core",
            f"{seconds:.2f} s",
            "< 1 s",
            seconds < 1,
        )
    ]


def align_case(
    url: str, services: int, addons: int, invoices: int, runs: int = ALIGN_RUNS
) -> tuple[int, float, Any]:
    """(statements, median milliseconds, the whole result) of aligning one client of that
    size, on fresh clients each run."""
    from scripts.bench.align_figure import align_figure

    result = align_figure(url, services, addons, invoices, runs)
    return int(result["statements"]), float(result["median_ms"]), result


def align_figures(url: str) -> list[Figure]:
    services, addons, invoices = ALIGN_CASE
    recreate_database(url).dispose()
    statements, ms, result = align_case(url, services, addons, invoices)
    _say(
        f"align one client: {statements} statements, median {ms:.1f} ms, "
        f"longest {result['max_ms']:.1f} ms; {result['by_kind']}"
    )
    name = f"align 1 client: {services} services, {addons} addons, {invoices} invoices"
    return [
        Figure(f"{name}: statements", str(statements), "<= 16", statements <= 16),
        Figure(f"{name}: time", f"{ms:.0f} ms", "< 60 ms", ms < 60),
    ]


def scaling_figures(url: str) -> list[Figure]:
    found = []
    recreate_database(url).dispose()
    for services in SCALING_SERVICES:
        statements, ms, _ = align_case(url, services, services // 4, services // 4, runs=3)
        _say(
            f"scaling: align 1 client with {services} services: "
            f"{statements} statements, {ms:.1f} ms"
        )
        found.append(
            Figure(
                f"scaling: align 1 client, {services} services",
                f"{ms:.1f} ms, {statements} statements",
                "<= 16 statements",
                statements <= 16,
            )
        )
    return found


# ---- (c) to (f): through the worker ---------------------------------------------------------


def _seed(url: str, clients: int) -> Seeded:
    seeded = seed(url, clients)
    _say(
        f"seeded {seeded.clients:,} clients, {seeded.services:,} services, {seeded.addons:,} "
        f"addons, {seeded.invoices:,} unpaid invoices ({seeded.invoice_lines:,} lines) "
        f"in {seeded.seconds:.1f} s"
    )
    return seeded


def _fresh_worker(services: Services, env: dict[str, str] | None = None) -> None:
    services.stop_worker()
    client = services.redis_client()
    try:
        client.flushall()  # each run's Redis figures are its own
    finally:
        client.close()
    started = time.perf_counter()
    services.start_worker(env)
    _say(
        f"worker started (2 processes{', ' + str(env) if env else ''}) "
        f"in {time.perf_counter() - started:.1f} s"
    )


def _expected(services: Services) -> tuple[Expected, Figure]:
    """The dry run's figures (what a bulk run must do), and its own time: a page waits on it."""
    expected, seconds = dry_run(services)
    _say(
        f"dry run in {seconds:.1f} s: {expected.clients:,} clients of {expected.clients_matched:,}"
        f" get {expected.invoices:,} invoices for {expected.services:,} lines"
    )
    figure = Figure(
        f"dry run: {expected.clients_matched:,} clients (one task, a page waits on it)",
        f"{seconds:.1f} s",
        "-",
        None,
    )
    return expected, figure


def _report(run: RunFigure) -> None:
    for line in run.lines():
        _say(line)


def bulk_runs(services: Services, clients: int, small: bool) -> tuple[list[Figure], bool]:
    """(c), (d), (e) and the bulk half of (f); also whether every run's result was right."""
    url = services.database_url
    seeded = _seed(url, clients)
    _fresh_worker(services)
    if not has_bulk_tasks(services):
        _say("the worker has no bulk tasks: only the baseline is measured")
        _fresh_worker(services, BASELINE_ENV)
        baseline = run_baseline(services, seeded, None)
        _report(baseline)
        return [Figure("bulk", "not measured", "-", None)], baseline.correct
    expected, dry_run_figure = _expected(services)
    bulk = run_bulk(services, seeded, expected)
    _report(bulk)

    _seed(url, clients)  # the same rows again, for the baseline
    _fresh_worker(services, BASELINE_ENV)
    baseline = run_baseline(services, seeded, expected)
    _report(baseline)
    ratio = baseline.seconds / bulk.seconds if bulk.seconds else 0.0
    _say(f"ratio new/baseline: {ratio:.1f}x")

    assert bulk.memory is not None
    peak_mib = bulk.memory.peak / (1024 * 1024)
    figures = [
        dry_run_figure,
        Figure(
            f"bulk: {clients:,} clients",
            f"{bulk.seconds:.1f} s ({bulk.rate:.0f} clients/s)",
            "< 60 s" if not small else "-",
            bulk.seconds < 60 if not small else None,
        ),
        Figure(
            "baseline: a task per client, a statement per row, settings per client",
            f"{baseline.seconds:.1f} s ({baseline.rate:.0f} clients/s)",
            "-",
            None,
        ),
        Figure("bulk / baseline speed", f"{ratio:.1f}x", f">= {RATIO_GOAL:.0f}x", ratio >= 5),
        Figure(
            "worker memory during bulk (peak per process)",
            f"{peak_mib:.1f} MiB",
            "< 150 MiB",
            peak_mib < 150,
        ),
        Figure(
            "Redis after bulk",
            f"{bulk.redis.used_memory / (1024 * 1024):.1f} MiB, {bulk.redis.keys} keys, "
            f"{bulk.redis.commands / max(bulk.clients, 1):.1f} commands/client",
            "-",
            None,
        ),
        Figure(
            "Redis after baseline",
            f"{baseline.redis.used_memory / (1024 * 1024):.1f} MiB, {baseline.redis.keys} keys, "
            f"{baseline.redis.commands / max(baseline.clients, 1):.1f} commands/client",
            "-",
            None,
        ),
    ]
    runs = [bulk, baseline]
    if small:
        figures.append(_scaling_bulk(bulk))
    else:
        seeded_1k = _seed(url, 1000)
        _fresh_worker(services)
        small_bulk = run_bulk(services, seeded_1k, _expected(services)[0])
        _report(small_bulk)
        runs.append(small_bulk)
        figures += [_scaling_bulk(small_bulk), _scaling_bulk(bulk)]
    return figures, all(run.correct for run in runs)


def _scaling_bulk(run: RunFigure) -> Figure:
    return Figure(
        f"scaling: bulk {run.clients:,} clients",
        f"{run.seconds:.1f} s ({run.rate:.0f} clients/s)",
        "-",
        None,
    )


def off_day_figures(url: str, clients: int, small: bool) -> list[Figure]:
    """The daily "off the day" check over every client, nothing off and 1 % off."""
    from scripts.bench.off_day_figure import off_day_runs

    try:
        runs = off_day_runs(url, clients)
    finally:
        drop_database(url)
    figures = []
    for what, run in zip(("nothing off the day", "1 % off the day"), runs, strict=True):
        _say(run.line(what))
        figures.append(
            Figure(
                f"off the day: {clients:,} clients, {what}",
                f"{run.seconds:.1f} s, {run.statements} statements "
                f"({run.statements / run.batches:.1f} per batch)",
                "< 10 s" if not small else "-",
                run.seconds < 10 if not small else None,
            )
        )
    return figures


def _measure(what: str, measure: Callable[[], list[Figure]]) -> list[Figure]:
    """A figure whose code is not there yet is reported as not measured."""
    try:
        return measure()
    except ImportError as exc:
        _say(f"{what}: not measured ({exc})")
        return [Figure(what, "not measured", "-", None)]


def table(figures: list[Figure]) -> str:
    headers = ("figure", "measured", "goal", "met?")
    cells = [headers, *((f.name, f.measured, f.goal, f.verdict) for f in figures)]
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    lines = [" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in cells]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="1,000 clients instead of 10,000")
    parser.add_argument(
        "--db",
        default=os.environ.get("PRORATA_BENCH_DATABASE_URL", DEFAULT_DB),
        help="the benchmark's database, dropped and made again (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)
    clients = 1000 if args.small else 10_000
    align_url = _sibling(args.db, "_align")
    started = time.perf_counter()
    _say(f"benchmark: {clients:,} clients, database {make_url(args.db).render_as_string()}")
    _say(_machine())

    figures = _measure("domain plan", domain_figures)
    figures += _measure("align one client", lambda: align_figures(align_url))
    services = Services(args.db)
    correct = True
    try:
        services.start_redis()
        found, correct = bulk_runs(services, clients, args.small)
        figures += found
    except KeyboardInterrupt:
        _say("interrupted: stopping the worker and Redis")
        return 130
    except Exception:
        _say(f"the benchmark failed; the worker's last log lines:\n{services.worker_log_tail()}")
        raise
    finally:
        services.close()
    figures += _measure("scaling: align", lambda: scaling_figures(align_url))
    drop_database(align_url)
    offday_url = _sibling(args.db, "_offday")
    figures += _measure("off the day", lambda: off_day_figures(offday_url, clients, args.small))

    _say()
    _say(table(figures))
    _say(f"\nbenchmark took {time.perf_counter() - started:.0f} s; {_machine()}")
    if not correct:
        _say("a bulk run's result is wrong: see the checks above")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
