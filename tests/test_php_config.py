"""The WHMCS addon's configuration (PHP) agrees with the worker's settings (domain.settings).

Runs php-cli. Without php on PATH these tests fail, so a missing php is never mistaken for a
pass; set PRORATA_SKIP_PHP=1 to skip them instead on a machine that has no php.
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

ROOT = Path(__file__).parents[1]
# The worker's `domain` package lives at the repository root, which pytest does not put on
# sys.path by itself (it adds tests/, whose tests/domain/ folder would otherwise shadow it).
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from domain.settings import (  # noqa: E402
    SETTING_KEYS,
    SETTING_SPECS,
    Kind,
    default_settings,
    parse_settings,
)

pytestmark = pytest.mark.php

ADDON_DIR = ROOT / "whmcs" / "modules" / "addons" / "prorata_align"
ADDON_FILE = ADDON_DIR / "prorata_align.php"
LANG_FILE = ADDON_DIR / "lang" / "english.php"
DUMP_SCRIPT = ROOT / "tests" / "php" / "dump_config.php"
DIE_MESSAGE = "This file cannot be accessed directly"

EXPECTED_TYPE = {
    Kind.YESNO: "yesno",
    Kind.DAY: "dropdown",
    Kind.SECRET: "password",
    Kind.POSITIVE_INT: "text",
    Kind.NON_NEGATIVE_INT: "text",
    Kind.PORT: "text",
    Kind.NAME: "text",
    Kind.MINIMUM_DAYS: "text",
    Kind.ID_LIST: "text",
    Kind.KEEP_ON_DAY: "dropdown",
    Kind.RENEWAL_INVOICES: "dropdown",
}


@pytest.fixture(scope="session")
def php() -> str:
    found = shutil.which("php")
    if found is None:
        if os.environ.get("PRORATA_SKIP_PHP") == "1":
            pytest.skip("php-cli not found and PRORATA_SKIP_PHP=1")
        pytest.fail(
            "php-cli (PHP 8.1+) is not on PATH: install it to test the WHMCS addon, "
            "or set PRORATA_SKIP_PHP=1 to skip these tests",
            pytrace=False,
        )
    return found


def run_php(php: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [php, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture(scope="session")
def config(php: str) -> dict[str, Any]:
    result = run_php(php, str(DUMP_SCRIPT))
    assert result.returncode == 0, f"dump_config.php failed:\n{result.stdout}\n{result.stderr}"
    assert result.stderr == ""
    loaded = json.loads(result.stdout)
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="session")
def fields(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    value = config["fields"]
    assert isinstance(value, dict), "fields must be a PHP array with string keys"
    return value


def whmcs_saved_value(field: dict[str, Any]) -> str:
    """What WHMCS stores in tbladdonmodules for a field left at its default."""
    default = field.get("Default", "")
    if field["Type"] == "yesno":
        return "on" if default not in ("", None, False) else ""
    assert isinstance(default, str), f"Default of {field['FriendlyName']!r} must be a string"
    return default


def test_field_keys_match_python_settings_in_order(fields: dict[str, dict[str, Any]]) -> None:
    assert tuple(fields) == SETTING_KEYS


def test_friendly_names_are_the_python_labels(fields: dict[str, dict[str, Any]]) -> None:
    for spec in SETTING_SPECS:
        assert fields[spec.key]["FriendlyName"] == spec.label, spec.key


def test_field_types_fit_the_setting_kinds(fields: dict[str, dict[str, Any]]) -> None:
    for spec in SETTING_SPECS:
        assert fields[spec.key]["Type"] == EXPECTED_TYPE[spec.kind], spec.key
    yesno_keys = [spec.key for spec in SETTING_SPECS if spec.kind is Kind.YESNO]
    assert yesno_keys
    for key in yesno_keys:
        assert fields[key]["Type"] == "yesno", key


def test_prorata_day_offers_every_day_of_the_month(fields: dict[str, dict[str, Any]]) -> None:
    day = fields["prorata_day"]
    assert day["Options"] == ",".join(str(n) for n in range(1, 32))
    assert day["Default"] in day["Options"].split(",")


def test_renewal_invoices_offers_the_three_modes(fields: dict[str, dict[str, Any]]) -> None:
    modes = fields["renewal_invoices"]
    assert modes["Options"] == "edit,reissue,leave"
    assert modes["Default"] == "edit" == default_settings().renewal_invoices.value
    assert parse_settings({"renewal_invoices": "Reissue"}).renewal_invoices.value == "reissue"
    with pytest.raises(ValueError, match="renewal_invoices"):
        parse_settings({"renewal_invoices": "delete"})


def test_keep_on_day_offers_the_three_values(fields: dict[str, dict[str, Any]]) -> None:
    keep = fields["keep_on_day"]
    assert keep["Options"] == "off,invoice,report"
    assert parse_settings({"keep_on_day": "report"}).keep_on_day.value == "report"
    with pytest.raises(ValueError, match="keep_on_day"):
        parse_settings({"keep_on_day": "sometimes"})


def test_every_field_has_a_description(fields: dict[str, dict[str, Any]]) -> None:
    for key, field in fields.items():
        description = field.get("Description")
        assert isinstance(description, str), key
        assert description.strip(), key
        assert not description.startswith("setting_"), f"{key}: language string missing"


def test_php_defaults_parse_to_the_python_defaults(fields: dict[str, dict[str, Any]]) -> None:
    saved = {key: whmcs_saved_value(field) for key, field in fields.items()}
    assert parse_settings(saved) == default_settings()
    for spec in SETTING_SPECS:
        assert saved[spec.key] == spec.default, spec.key


def test_module_name_and_version(config: dict[str, Any]) -> None:
    assert config["name"] == "Prorated Next Due Date"
    assert config["language"] == "english"
    manifest = json.loads((ADDON_DIR / "whmcs.json").read_text(encoding="utf-8"))
    assert config["version"] == manifest["version"]
    assert manifest["type"] == "whmcs-addons"
    assert manifest["description"]["name"] == config["name"]
    for key in ("description", "author"):
        assert isinstance(config[key], str) and config[key].strip(), key


def test_activate_and_deactivate_report_success(php: str) -> None:
    code = (
        "set_error_handler(function ($s, $m) { throw new ErrorException($m); });"
        "define('WHMCS', true);"
        "require $argv[1];"
        "echo json_encode([prorata_align_activate(), prorata_align_deactivate()]);"
    )
    result = run_php(php, "-r", code, str(ADDON_FILE))
    assert result.returncode == 0, result.stdout + result.stderr
    activate, deactivate = json.loads(result.stdout)
    for answer in (activate, deactivate):
        assert answer["status"] == "success"
        assert answer["description"].strip()
    assert "prorata db upgrade" in activate["description"]


@pytest.mark.parametrize("path", [ADDON_FILE, LANG_FILE], ids=lambda p: p.name)
def test_file_run_directly_dies_and_defines_nothing(php: str, path: Path) -> None:
    direct = run_php(php, str(path))
    assert direct.returncode == 0
    assert direct.stdout == DIE_MESSAGE

    # The shutdown function runs after die(): it reports what the include left behind.
    code = (
        "register_shutdown_function(function () {"
        "  $mine = array_values(array_filter(get_defined_functions()['user'],"
        "    fn ($f) => str_starts_with($f, 'prorata_align')));"
        "  echo \"\\n\", json_encode(['functions' => $mine,"
        "    'lang' => isset($GLOBALS['_ADDONLANG'])]);"
        "});"
        "include $argv[1];"
        'echo "\\nnot stopped";'
    )
    included = run_php(php, "-r", code, str(path))
    assert included.returncode == 0, included.stderr
    message, report = included.stdout.split("\n")
    assert message == DIE_MESSAGE
    assert json.loads(report) == {"functions": [], "lang": False}


def test_php_files_pass_lint(php: str) -> None:
    files = sorted((ROOT / "whmcs").rglob("*.php")) + sorted(
        (ROOT / "tests" / "php").rglob("*.php")
    )
    assert ADDON_FILE in files
    for path in files:
        result = run_php(php, "-l", str(path))
        assert result.returncode == 0, f"{path.relative_to(ROOT)}:\n{result.stdout}{result.stderr}"
