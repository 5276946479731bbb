"""What every command shares and that costs nothing to import: exit codes and the error
that ends a command with one line."""

from __future__ import annotations

EXIT_JOB_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_DATABASE = 3
EXIT_BROKER = 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C
EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a command `head` cut short
DB_ENV = "PRORATA_DATABASE_URL"


class CliError(Exception):
    """Ends the command: `prorata: error: <message>` on stderr, and its exit code."""

    def __init__(self, message: str, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code
