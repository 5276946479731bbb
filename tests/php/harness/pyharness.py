"""The Python side of the PHP harness: find php-cli, check what it needs, run a request.

Test modules load this file by path (it is not a package):

    spec = importlib.util.spec_from_file_location("pyharness", HARNESS_DIR / "pyharness.py")

`run()` sends one JSON request to tests/php/harness/run.php (see that file for the actions)
and returns its JSON answer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HARNESS_DIR = Path(__file__).resolve().parent
ROOT = HARNESS_DIR.parents[2]
RUN_SCRIPT = HARNESS_DIR / "run.php"
ADDON_DIR = ROOT / "whmcs" / "modules" / "addons" / "prorata_align"

# What the harness needs from php-cli, and the Debian package that brings each.
REQUIREMENTS: dict[str, tuple[str, str]] = {
    "illuminate": (
        "stream_resolve_include_path('Illuminate/Database/autoload.php') !== false",
        "php-illuminate-database",
    ),
    "redis": ("extension_loaded('redis')", "php-redis"),
    "pdo_sqlite": ("extension_loaded('pdo_sqlite')", "php-sqlite3"),
    "pdo_mysql": ("extension_loaded('pdo_mysql')", "php-mysql"),
}
PHP_MIN_VERSION = (8, 1)


def _unavailable(message: str) -> None:
    if os.environ.get("PRORATA_SKIP_PHP") == "1":
        pytest.skip(f"{message} (PRORATA_SKIP_PHP=1)")
    pytest.fail(message + "; or set PRORATA_SKIP_PHP=1 to skip the PHP tests", pytrace=False)


def find_php() -> str:
    """php-cli 8.1+ with what the harness needs; fails (or skips) naming what is missing."""
    php = shutil.which("php")
    if php is None:
        _unavailable("php-cli (PHP 8.1+) is not on PATH: install the Debian package php-cli")
    assert php is not None
    checks = ", ".join(f"'{name}' => {code}" for name, (code, _) in REQUIREMENTS.items())
    probe = subprocess.run(
        [php, "-r", f"echo json_encode(['version' => PHP_VERSION, {checks}]);"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        _unavailable(f"php-cli does not run: {probe.stderr.strip()}")
    found = json.loads(probe.stdout)
    version = tuple(int(part) for part in found["version"].split(".")[:2])
    if version < PHP_MIN_VERSION:
        _unavailable(f"PHP {found['version']} is too old: the addon needs PHP 8.1 or later")
    missing = [package for name, (_, package) in REQUIREMENTS.items() if not found[name]]
    if missing:
        _unavailable(
            "php-cli lacks what the WHMCS harness needs: install the Debian package(s) "
            + " ".join(missing)
        )
    return php


def run(
    php: str,
    db_url: str,
    request: dict[str, Any],
    *,
    redis_client: str | None = None,
    timeout: float = 60,
    allow_warnings: bool = False,
) -> dict[str, Any]:
    """One request to the harness; fails the test on a harness error or a PHP warning."""
    env = dict(os.environ, PRORATA_HARNESS_DB_URL=db_url)
    env.pop("PRORATA_HARNESS_REDIS_CLIENT", None)
    if redis_client is not None:
        env["PRORATA_HARNESS_REDIS_CLIENT"] = redis_client
    done = subprocess.run(
        [php, str(RUN_SCRIPT)],
        input=json.dumps(request),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"harness failed ({done.returncode}):\n{done.stdout}{done.stderr}"
    try:
        answer: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"harness printed no JSON:\n{done.stdout}{done.stderr}") from exc
    if not allow_warnings:
        assert answer["warnings"] == [], answer["warnings"]
    if redis_client not in (None, "auto"):
        assert answer["transport"] == redis_client
    return answer


def result(php: str, db_url: str, request: dict[str, Any], **options: Any) -> Any:
    """The result of a request that must succeed."""
    answer = run(php, db_url, request, **options)
    assert answer["ok"], answer.get("error")
    return answer["result"]


def sandbox_init(db_url: str) -> None:
    """WHMCS-shaped tables, the module's default settings and the mod_prorata_* tables, made
    by the product's own command (`prorata sandbox init`), as the PHP tests' schema."""
    done = subprocess.run(
        [sys.executable, "-m", "worker", "sandbox", "init", "--db", db_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
