"""One version for the product: pyproject.toml's, which the worker reads at run time and
`prorata --version` prints, equals the WHMCS addon's (its config, read by php-cli, and its
whmcs.json)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.php.harness import pyharness as harness  # noqa: E402
from worker import version  # noqa: E402

ADDON_DIR = ROOT / "whmcs" / "modules" / "addons" / "prorata_align"


def pyproject_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_version_is_major_minor_patch() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", pyproject_version())


def test_the_worker_reports_the_pyproject_version() -> None:
    assert pyproject_version() == version.VERSION, (
        "the installed metadata is stale: reinstall with pip install -e '.[dev]'"
    )


def test_prorata_version_prints_it() -> None:
    done = run(sys.executable, "-m", "worker", "--version")
    expected = f"prorata {pyproject_version()}\n"
    assert (done.returncode, done.stdout, done.stderr) == (0, expected, "")


@pytest.mark.php
def test_the_addon_carries_the_same_version() -> None:
    php = harness.find_php()
    done = run(php, str(ROOT / "tests" / "php" / "dump_config.php"))
    assert done.returncode == 0 and done.stderr == "", done.stdout + done.stderr
    manifest = json.loads((ADDON_DIR / "whmcs.json").read_text(encoding="utf-8"))
    assert json.loads(done.stdout)["version"] == manifest["version"] == pyproject_version()


def test_a_source_checkout_reads_pyproject(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(version.metadata, "version", not_installed)
    assert version.installed_or_checkout_version() == pyproject_version()


def test_another_projects_pyproject_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "pyproject.toml"
    other.write_text('[project]\nname = "other"\nversion = "9.9.9"\n', encoding="utf-8")
    with pytest.raises(LookupError, match="is not the prorata-align project"):
        version.checkout_version(other)
