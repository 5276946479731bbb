"""A process that runs `prorata align` (the command line's own code) on cue, for the race tests.

Usage: python celery_race_helper.py DATABASE_URL LABEL

It imports everything first and prints READY, so that two of these can be released at the
same instant. Then, for each line "CLIENT_ID EVENT_ID TODAY" read from stdin, it runs
`prorata align --db DATABASE_URL --client CLIENT_ID --event-id EVENT_ID --today TODAY --day 1
--requested-by LABEL --json` and prints one JSON line: exit code, the result, and when the
run started and ended. It stops at the end of its input.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import sys
import time


def main() -> int:
    from worker.cli.main import main as prorata

    database_url, label = sys.argv[1], sys.argv[2]
    print("READY", flush=True)
    for line in sys.stdin:
        client_id, event_id, today = line.split()
        out, err = io.StringIO(), io.StringIO()
        started = time.time()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = prorata(
                    [
                        "align",
                        "--db",
                        database_url,
                        "--client",
                        client_id,
                        "--event-id",
                        event_id,
                        "--today",
                        today,
                        "--day",
                        "1",
                        "--requested-by",
                        label,
                        "--json",
                    ]
                )
            except SystemExit as exc:
                code = int(exc.code or 0)
        ended = time.time()
        gc.collect()  # each run made its own engine: let its pooled connection go
        try:
            result = json.loads(out.getvalue()) if code == 0 else None
        except ValueError:
            result = None
        report = {
            "code": code,
            "result": result,
            "stdout": out.getvalue()[-2000:],
            "stderr": err.getvalue()[-2000:],
            "started": started,
            "ended": ended,
        }
        print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
