"""`make dist` (scripts/dist.py) builds what is shipped, each file named by the version of
worker/version.py: the WHMCS addon zip holding exactly the addon folder's tracked files (and
the LICENSE), the worker's wheel and sdist, and the operator's release archive (the wheel, the
addon zip, the docs with the systemd units and their environment example)."""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path
from types import ModuleType

import pytest

from worker.own_schema import LATEST

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
    from worker.version import VERSION

    return VERSION


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
    assert metadata["Version"] == version()
    assert wheel.name == f"prorata_align-{version()}-py3-none-any.whl"
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert "worker/version.py" in names and "domain/py.typed" in names
    # the migrations run from the wheel: Alembic's environment, template and every revision
    revisions = sorted((ROOT / "worker" / "migrations" / "versions").glob("0*.py"))
    assert revisions
    for path in ["env.py", "script.py.mako", "ddl.py"] + [f"versions/{p.name}" for p in revisions]:
        assert f"worker/migrations/{path}" in names, path
    assert not any(name.startswith(("tests/", "whmcs/")) for name in names)


def test_sdist_has_the_license(built: Path) -> None:
    top = f"prorata_align-{version()}"
    sdist = built / f"{top}.tar.gz"
    assert sorted(p.name for p in built.glob("*.tar.gz")) == [
        f"prorata-align-{version()}-release.tar.gz",
        sdist.name,
    ]
    with tarfile.open(sdist) as archive:
        member = archive.extractfile(f"{top}/LICENSE")
        assert member is not None
        assert member.read() == (ROOT / "LICENSE").read_bytes()


def test_the_release_archive_carries_what_an_operator_installs(built: Path) -> None:
    top = f"prorata-align-{version()}"
    addon = f"prorata_align-{version()}.zip"
    wheel = f"prorata_align-{version()}-py3-none-any.whl"
    docs = subprocess.run(
        ["git", "ls-files", "--", "docs"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    with tarfile.open(built / f"{top}-release.tar.gz") as archive:
        members = {m.name: m for m in archive.getmembers()}
        assert set(members) == {
            f"{top}/{name}"
            for name in [addon, wheel, "SHA256SUMS", "README.md", "CHANGELOG.md", "LICENSE", *docs]
        }

        def read(name: str) -> bytes:
            member = archive.extractfile(f"{top}/{name}")
            assert member is not None
            return member.read()

        for unit in ("prorata-worker.service", "prorata-beat.service", "prorata-flower.service"):
            assert read(f"docs/systemd/{unit}") == (ROOT / "docs/systemd" / unit).read_bytes()
        assert b"FLOWER_BASIC_AUTH=" in read("docs/systemd/prorata.env")
        assert read("docs/releasing.md") == (ROOT / "docs/releasing.md").read_bytes()
        for name in (addon, wheel):
            assert read(name) == (built / name).read_bytes()
        sums = read("SHA256SUMS").decode("ascii")
        assert sums == "".join(
            f"{hashlib.sha256((built / name).read_bytes()).hexdigest()}  {name}\n"
            for name in (wheel, addon)
        )


@pytest.mark.parametrize("place", ["whmcs.json", "prorata_align.php"])
def test_an_addon_of_another_version_stops_the_build(tmp_path: Path, place: str) -> None:
    dist = load_dist()
    (tmp_path / ADDON).mkdir(parents=True)
    (tmp_path / "worker").mkdir()
    (tmp_path / "worker" / "version.py").write_text('VERSION = "2.0.0"\n', encoding="utf-8")
    versions = {"whmcs.json": "2.0.0", "prorata_align.php": "2.0.0", place: "1.9.0"}
    (tmp_path / ADDON / "whmcs.json").write_text(
        f'{{"version": "{versions["whmcs.json"]}"}}', encoding="utf-8"
    )
    (tmp_path / ADDON / "prorata_align.php").write_text(
        f"<?php return ['version' => '{versions['prorata_align.php']}'];\n", encoding="utf-8"
    )
    dist.ROOT = tmp_path
    with pytest.raises(dist.DistError, match=rf"{place} says version 1\.9\.0, .* 2\.0\.0"):
        dist.project_version()


def test_the_wheel_migrates_a_database_on_its_own(built: Path, tmp_path: Path) -> None:
    """The wheel's files alone (not this checkout) hold the migrations: unpacked and run from
    elsewhere, `prorata db upgrade` makes the tables and `--sql` prints them."""
    [wheel] = built.glob("*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    elsewhere = tmp_path / "run"
    elsewhere.mkdir()

    def prorata(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-P", "-m", "worker", *args],
            cwd=elsewhere,
            env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    done = subprocess.run(
        [sys.executable, "-P", "-c", "import worker.migrations as m; print(m.HERE)"],
        cwd=elsewhere,
        env={"PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == str(site / "worker" / "migrations")
    url = f"sqlite:///{tmp_path / 'whmcs.db'}"
    done = prorata("db", "upgrade", "--db", url)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout.endswith(f"; schema at revision {LATEST:04d}\n")
    done = prorata("db", "upgrade", "--sql")
    assert done.returncode == 0 and "CREATE TABLE mod_prorata_records (" in done.stdout
