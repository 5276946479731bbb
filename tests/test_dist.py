"""`make dist` (scripts/dist.py) builds what is shipped: the WHMCS addon zip holding exactly
the addon folder's tracked files (and the LICENSE), and the worker's wheel and sdist of the
project's version."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
ADDON = "whmcs/modules/addons/prorata_align"
PREFIX = "modules/addons/prorata_align/"


def load_dist() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dist", ROOT / "scripts" / "dist.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "dist.py"), str(outdir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return outdir


def test_addon_zip_holds_exactly_the_addon_folder(built: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "--", ADDON], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked, "git tracks no addon files"
    expected = {PREFIX + name.removeprefix(ADDON + "/") for name in tracked} | {PREFIX + "LICENSE"}

    with zipfile.ZipFile(built / f"prorata_align-{version()}.zip") as archive:
        names = archive.namelist()
        assert len(names) == len(set(names))
        assert set(names) == expected
        for name in tracked:
            packed = archive.read(PREFIX + name.removeprefix(ADDON + "/"))
            assert packed == (ROOT / name).read_bytes(), name
        assert archive.read(PREFIX + "LICENSE") == (ROOT / "LICENSE").read_bytes()
    assert not any(part.startswith(".") for name in names for part in name.split("/"))
    assert PREFIX + "prorata_align.php" in names and PREFIX + "whmcs.json" in names


def test_wheel_is_the_project_version(built: Path) -> None:
    [wheel] = built.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [metadata_file] = [name for name in names if name.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(metadata_file).decode("utf-8"))
    assert metadata["Name"] == "prorata-align"
    assert metadata["Version"] == version() == "1.0.0"
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert "worker/version.py" in names and "domain/py.typed" in names
    assert not any(name.startswith(("tests/", "whmcs/")) for name in names)


def test_sdist_has_the_license(built: Path) -> None:
    [sdist] = built.glob("*.tar.gz")
    top = f"prorata_align-{version()}"
    with tarfile.open(sdist) as archive:
        member = archive.extractfile(f"{top}/LICENSE")
        assert member is not None
        assert member.read() == (ROOT / "LICENSE").read_bytes()


def test_a_whmcs_json_of_another_version_stops_the_build(tmp_path: Path) -> None:
    dist = load_dist()
    (tmp_path / ADDON).mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text('[project]\nversion = "2.0.0"\n', encoding="utf-8")
    (tmp_path / ADDON / "whmcs.json").write_text('{"version": "1.9.0"}', encoding="utf-8")
    dist.ROOT = tmp_path
    with pytest.raises(dist.DistError, match=r"whmcs.json says version 1.9.0, .* 2.0.0"):
        dist.project_version()
