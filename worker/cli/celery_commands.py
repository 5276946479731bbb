"""`prorata worker` and `prorata beat`: Celery's own commands on the product's app, after
the start-up checks. Their options are Celery's, checked before anything starts: a typo is
one line and exit 2 (a supervisor restarting it would not help)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from worker.cli.common import DB_ENV, EXIT_BROKER, EXIT_DATABASE, CliError
from worker.cli.database import check_schema, engine_of
from worker.config import WorkerConfig, load_config

CELERY_APP = "worker.celery_app:app"  # what `prorata worker` and `prorata beat` run
HELP = {
    "worker": "Runs the Celery worker on the product's app and queue ($PRORATA_QUEUE), after "
    "checking its database (the product's tables at this version) and its broker. Defaults: "
    "--loglevel=INFO --queues=<PRORATA_QUEUE>. Every option below goes to Celery.",
    "beat": "Runs Celery beat (the product's schedule) after the same checks as `prorata "
    "worker`. Default: --loglevel=INFO. Every option below goes to Celery.",
}


def preflight(config: WorkerConfig) -> None:
    """What a worker or beat needs before it starts: its database at the own-schema version
    this code needs, and its broker."""
    from worker.redis_client import open_redis
    from worker.reports import one_line

    if not config.database_url:
        raise CliError(f"no database configured: set {DB_ENV}", EXIT_DATABASE)
    engine = engine_of(config.database_url)
    try:
        check_schema(engine)
    finally:
        engine.dispose()
    for name, url in {"broker": config.broker_url, "result backend": config.result_backend}.items():
        redis = open_redis(url)
        try:
            redis.ping()
        except Exception as exc:
            where = redis.get_connection_kwargs()
            raise CliError(
                f"{name} at {where.get('host')}:{where.get('port')} cannot be reached: "
                f"{one_line(exc)}",
                EXIT_BROKER,
            ) from exc
        finally:
            redis.close()


def _celery_argv(command: str, options: list[str], config: WorkerConfig) -> list[str]:
    if command == "worker":
        return ["worker", "--loglevel=INFO", f"--queues={config.queue}", *options]
    return ["beat", "--loglevel=INFO", *options]


def _parsed(command: str, argv: list[str]) -> Any:
    """Celery's command and its context with `argv` parsed (nothing run): click's refusal
    of an option is a CliError."""
    import click
    from celery.bin.base import CLIContext
    from celery.bin.celery import celery as celery_command

    from worker.celery_app import app

    group = celery_command.make_context("celery", ["--app", CELERY_APP, command])
    group.obj = CLIContext(app=app, no_color=True, workdir=None, quiet=True)
    sub = celery_command.commands[command]
    try:
        return sub, sub.make_context(command, argv[1:], parent=group)
    except click.exceptions.Exit:
        raise
    except click.ClickException as exc:
        message = exc.format_message().splitlines()[0]
        raise CliError(f"{command}: {message} (see prorata {command} --help)") from exc


def celery_help(command: str) -> int:
    """`prorata worker|beat --help`: what the command does, then Celery's options."""
    import click

    try:
        sub, context = _parsed(command, [command])
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    text = sub.get_help(context).replace(f"celery {command}", f"prorata {command}", 1)
    usage, _, rest = text.partition("\n")
    print(f"{usage}\n\n{HELP[command]}\n{rest}")
    return 0


def run_celery(command: str, extra: Sequence[str]) -> int:
    """`prorata worker|beat [celery options]`: the options checked, then the start-up
    checks, then Celery."""
    options = list(extra[1:] if extra[:1] == ["--"] else extra)
    if {"-h", "--help"} & set(options):
        return celery_help(command)
    config = load_config()
    argv = _celery_argv(command, options, config)
    _parsed(command, argv)
    preflight(config)
    from celery.bin.celery import celery as celery_command

    # Celery's exit code (1 after an "Unrecoverable error") so that a supervisor restarts
    # it: app.start() and app.worker_main() drop the code click returns, and exit 0
    # beat's banner is plain text on stdout: quiet, and its scheduler logs a JSON line
    quiet = ["--quiet"] if command == "beat" else []
    code = celery_command.main(args=["--app", CELERY_APP, *quiet, *argv], standalone_mode=False)
    return code if isinstance(code, int) else 0
