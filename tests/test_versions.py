"""One version, written in worker/version.py: the wheel (pyproject's dynamic version), `prorata
--version`, the worker's reports, and the WHMCS addon's config and whmcs.json agree on it;
between releases it is the development version of the next release."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.php.harness import pyharness as harness  # noqa: E402
from worker.version import VERSION  # noqa: E402

ADDON_DIR = ROOT / "whmcs" / "modules" / "addons" / "prorata_align"


def load_script(name: str, root: Path = ROOT) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def released_versions() -> list[str]:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    return re.findall(r"^## (\d+\.\d+\.\d+) - \d{4}-\d{2}-\d{2}$", text, flags=re.MULTILINE)


def test_the_version_is_a_release_or_the_next_ones_development_version() -> None:
    parsed = Version(VERSION)
    assert str(parsed) == VERSION  # PEP 440's normal form: the files are named by it
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+)?", VERSION)
    latest = Version(released_versions()[0])
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    # changes not yet released: a development version, never the last release's number
    assert parsed.is_devrelease == ("\n## Unreleased\n" in changelog)
    if parsed.is_devrelease:
        assert parsed > latest and parsed.base_version != str(latest)
    else:
        assert str(latest) == VERSION, "a release has its CHANGELOG section"


def test_pyproject_takes_the_version_from_worker_version() -> None:
    with (ROOT / "pyproject.toml").open("rb") as file:
        pyproject = tomllib.load(file)
    assert "version" not in pyproject["project"]
    assert pyproject["project"]["dynamic"] == ["version"]
    dynamic = pyproject["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "worker.version.VERSION"}
    assert load_script("dist").source_version() == VERSION


def test_prorata_version_prints_it() -> None:
    done = run(sys.executable, "-m", "worker", "--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"prorata {VERSION}\n", "")


def test_the_worker_reports_it() -> None:
    from tasks.health import ping_task

    assert ping_task.run()["version"] == VERSION


@pytest.mark.php
def test_the_addon_carries_the_same_version() -> None:
    php = harness.find_php()
    done = run(php, str(ROOT / "tests" / "php" / "dump_config.php"))
    assert done.returncode == 0 and done.stderr == "", done.stdout + done.stderr
    manifest = json.loads((ADDON_DIR / "whmcs.json").read_text(encoding="utf-8"))
    assert json.loads(done.stdout)["version"] == manifest["version"] == VERSION


@pytest.fixture
def copy(tmp_path: Path) -> tuple[ModuleType, Path]:
    """scripts/set_version.py working on a copy of the three files."""
    for relative in (
        "worker/version.py",
        "whmcs/modules/addons/prorata_align/whmcs.json",
        "whmcs/modules/addons/prorata_align/prorata_align.php",
    ):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / relative, tmp_path / relative)
    module = load_script("set_version")
    module.ROOT = tmp_path
    module.PLACES = tuple(
        (tmp_path / path.relative_to(ROOT), pattern) for path, pattern in module.PLACES
    )
    return module, tmp_path


def test_set_version_writes_the_three_places(copy: tuple[ModuleType, Path]) -> None:
    module, root = copy
    dist = load_script("dist")
    dist.ROOT = root
    module.set_version("2.3.4")
    assert dist.project_version() == "2.3.4"
    module.set_version("2.4.0.dev0")
    assert dist.project_version() == "2.4.0.dev0"


@pytest.mark.parametrize("bad", ["1.1", "1.1.0-dev", "1.1.0.dev", "v1.1.0", "01.1.0", "1.1.0rc1"])
def test_set_version_refuses_other_forms(copy: tuple[ModuleType, Path], bad: str) -> None:
    module, root = copy
    before = (root / "worker" / "version.py").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match=r"not X\.Y\.Z or X\.Y\.Z\.devN"):
        module.set_version(bad)
    assert (root / "worker" / "version.py").read_text(encoding="utf-8") == before


def test_set_version_changes_nothing_when_a_place_is_missing(
    copy: tuple[ModuleType, Path],
) -> None:
    module, root = copy
    manifest = root / "whmcs/modules/addons/prorata_align/whmcs.json"
    manifest.write_text('{"version":"1.0.0"}', encoding="utf-8")  # not as the script knows it
    before = (root / "worker" / "version.py").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match=r"whmcs\.json: the version line found 0 times"):
        module.set_version("2.0.0")
    assert (root / "worker" / "version.py").read_text(encoding="utf-8") == before
