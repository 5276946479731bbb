"""Where a worker process spends its time: one `celery worker --pool solo` under cProfile,
on the benchmark's seeded database, through the bulk path or the one-task-per-client one.

    python -m scripts.bench.profile_worker [--clients 300] [--baseline] [--top 40]

Prints the run's figures (Redis's commands per client among them), the product's functions
taking the most time (cumulative), then any function by its own time. The profile file is
kept for a closer look (`python -m pstats FILE`).
"""

from __future__ import annotations

import argparse
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts.bench.__main__ import BASELINE_ENV, DEFAULT_DB
from scripts.bench.bulk_figure import dry_run, run_baseline, run_bulk
from scripts.bench.seed import seed
from scripts.bench.services import Services
from tests.support.processes import ROOT, WorkerProcess, stop_process


class ProfiledServices(Services):
    """The benchmark's services, with a solo worker run under cProfile."""

    profile_path: Path

    def start_worker(self, extra_env: dict[str, str] | None = None) -> WorkerProcess:
        self.stop_worker()
        # outside the services' directory, which close() removes
        self.profile_path = Path(tempfile.mkdtemp(prefix="bench-profile-")) / "worker.prof"
        worker = WorkerProcess(
            self.worker_environment(extra_env),
            self.queue,
            self.directory / "worker.log",
            pool="solo",
        )
        command = [
            sys.executable,
            "-m",
            "cProfile",
            "-o",
            str(self.profile_path),
            "-m",
            "celery",
            "-A",
            "worker.celery_app",
            "worker",
            "--pool=solo",
            "-Q",
            self.queue,
            "-n",
            worker.nodename,
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
        ]
        with open(worker.log_path, "ab") as log:
            worker.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=worker.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.worker = worker
        worker.wait_ready(self.app, timeout=60)
        return worker

    def stop_worker(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None and worker.process is not None:
            # SIGTERM: a warm shutdown, after which cProfile writes its file
            stop_process(worker.process, grace=60, group=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--baseline", action="store_true", help="a task per client instead")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--db", default=os.environ.get("PRORATA_BENCH_DATABASE_URL", DEFAULT_DB))
    args = parser.parse_args()
    services = ProfiledServices(args.db)
    try:
        services.start_redis()
        seeded = seed(args.db, args.clients)
        env = BASELINE_ENV if args.baseline else None
        services.start_worker(env)
        started = time.perf_counter()
        if args.baseline:
            run = run_baseline(services, seeded, None)
        else:
            expected, _ = dry_run(services)
            run = run_bulk(services, seeded, expected)
        print(f"measured in {time.perf_counter() - started:.1f} s (solo pool, profiled)")
        for line in run.lines():
            print(line)
        services.stop_worker()
    finally:
        services.close()
    stats = pstats.Stats(str(services.profile_path))
    # the product's own functions by cumulative time, then everything by own time
    stats.sort_stats("cumulative").print_stats(r"/(worker|tasks|domain)/", args.top)
    stats.sort_stats("tottime").print_stats(args.top // 2)
    print(f"profile: {services.profile_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
