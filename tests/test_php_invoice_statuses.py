"""The WHMCS side and the worker share one list of invoice statuses: the PHP class constant
(lib/InvoiceStatuses.php, read through php-cli) equals the Python lists (domain.model), and
no PHP file keeps a list of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from domain.model import BLOCKING_STATUSES, REMOVABLE_STATUSES  # noqa: E402
from tests.php.harness import pyharness as harness  # noqa: E402

pytestmark = pytest.mark.php

ADDON_DIR = ROOT / "whmcs" / "modules" / "addons" / "prorata_align"
STATUSES_FILE = ADDON_DIR / "lib" / "InvoiceStatuses.php"


@pytest.fixture(scope="module")
def php_lists() -> dict[str, list[str]]:
    script = (
        "define('WHMCS', true); require $argv[1]; "
        "$c = new ReflectionClass('ProrataAlign\\InvoiceStatuses'); "
        "echo json_encode($c->getConstants(), JSON_THROW_ON_ERROR);"
    )
    answer = subprocess.run(
        [harness.find_php(), "-r", script, str(STATUSES_FILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr
    assert answer.stderr == ""
    loaded = json.loads(answer.stdout)
    assert isinstance(loaded, dict)
    return loaded


def test_php_constants_equal_the_python_lists(php_lists: dict[str, list[str]]) -> None:
    assert php_lists["REMOVABLE"] == list(REMOVABLE_STATUSES)
    assert php_lists["BLOCKING"] == list(BLOCKING_STATUSES)
    assert php_lists["AWAITING_PAYMENT"] == [*REMOVABLE_STATUSES, "Payment Pending"]


def test_every_whmcs_status_is_either_removable_blocking_or_left_alone() -> None:
    statuses = {
        "Draft",
        "Unpaid",
        "Paid",
        "Cancelled",
        "Refunded",
        "Collections",
        "Payment Pending",
    }
    assert set(REMOVABLE_STATUSES) | set(BLOCKING_STATUSES) < statuses
    assert not set(REMOVABLE_STATUSES) & set(BLOCKING_STATUSES)
    left_alone = statuses - set(REMOVABLE_STATUSES) - set(BLOCKING_STATUSES)
    assert left_alone == {"Paid", "Cancelled", "Refunded"}


def test_no_php_file_keeps_its_own_status_list() -> None:
    for path in ADDON_DIR.rglob("*.php"):
        if path == STATUSES_FILE:
            continue
        text = path.read_text(encoding="utf-8")
        for status in ("Unpaid", "Draft", "Payment Pending", "Collections"):
            assert f"['{status}'" not in text and f", '{status}'" not in text, (path, status)
