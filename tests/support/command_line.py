"""The `prorata` command run in the test's own process."""

from __future__ import annotations

from typing import Any


def run_cli(capsys: Any, *args: str) -> tuple[int, str, str]:
    """`prorata ARGS` in this process: (exit code, stdout, stderr)."""
    from worker.cli.main import main

    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse refuses an option itself
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
