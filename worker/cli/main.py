"""The `prorata` command line.

Exit codes: 0 done; 1 `cron` ran but some job failed (its lines say which), `status` found
something that needs attention, or a bulk run had failures; 2 bad input (options, unknown
client, invalid settings, a bad PRORATA_* variable); 3 the database cannot be reached or
used; 4 the broker (Redis) cannot be reached; 130 interrupted (Ctrl-C); 141 the reader of
stdout left.

Every error is one line on stderr. With --json, stdout holds one JSON document and nothing
else. Each command's module is imported only when it runs: `prorata --help` and
`--version` load neither the database layer nor Celery.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from worker.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_CLOSED_PIPE,
    EXIT_INTERRUPTED,
    CliError,
)

# (command, subcommand) -> "module:function" under worker.cli
COMMANDS = {
    ("sandbox", "init"): "sandbox_commands:cmd_sandbox_init",
    ("sandbox", "seed"): "sandbox_commands:cmd_sandbox_seed",
    ("sandbox", "pay"): "sandbox_commands:cmd_sandbox_pay",
    ("sandbox", "cancel"): "sandbox_commands:cmd_sandbox_cancel",
    ("demo", None): "sandbox_commands:cmd_demo",
    ("plan", None): "client_commands:cmd_plan",
    ("align", None): "client_commands:cmd_align",
    ("events", "paid"): "client_commands:cmd_events",
    ("events", "cancelled"): "client_commands:cmd_events",
    ("cron", None): "cron_command:cmd_cron",
    ("status", None): "cron_command:cmd_status",
    ("db", "upgrade"): "db_command:cmd_db_upgrade",
    ("db", "downgrade"): "db_command:cmd_db_downgrade",
    ("db", "status"): "db_command:cmd_db_status",
    ("bulk", None): "bulk_commands:cmd_bulk",
    ("bulk", "show"): "bulk_commands:cmd_bulk_show",
    ("bulk-cancel", None): "bulk_commands:cmd_bulk_cancel",
    ("day", "show"): "days:cmd_day_show",
    ("day", "set"): "days:cmd_day_set",
    ("day", "clear"): "days:cmd_day_clear",
    ("drift", None): "days:cmd_drift",
}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _run(argv)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
    except BrokenPipeError:
        # the reader (`| head`) has what it wanted: nothing more to say, and no traceback
        # when the interpreter flushes stdout on its way out
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_CLOSED_PIPE
    except KeyboardInterrupt:
        print("\nprorata: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


def _run(argv: Sequence[str] | None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        if words[:1] in (["worker"], ["beat"]):
            from worker.cli.celery_commands import run_celery

            return run_celery(words[0], words[1:])
        from worker.cli import arguments

        if words[:2] == ["bulk", "show"]:
            args = arguments.build_bulk_show_parser().parse_args(words[2:])
            key: tuple[str, str | None] = ("bulk", "show")
        else:
            args = arguments.build_parser().parse_args(words)
            sub = (
                getattr(args, "sandbox_command", None)
                or getattr(args, "db_command", None)
                or getattr(args, "events_command", None)
                or getattr(args, "day_command", None)
            )
            key = (args.command, sub)
        module, _, function = COMMANDS[key].partition(":")
        command = getattr(importlib.import_module(f"worker.cli.{module}"), function)
        return int(command(args))
    except CliError as exc:
        print(f"prorata: error: {exc}", file=sys.stderr)
        return exc.code
    except ValueError as exc:
        # a bad PRORATA_* variable; worker.config is loaded by then (not for --help)
        config = sys.modules.get("worker.config")
        if config is None or not isinstance(exc, config.ConfigError):
            raise
        print(f"prorata: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
