"""`make dist`: the release files of one version, into a folder (default dist/).

- prorata_align-<version>.zip: the WHMCS addon as an admin uploads it, the files git tracks
  under whmcs/modules/addons/prorata_align at modules/addons/prorata_align/..., plus LICENSE;
- the worker's sdist and wheel (python -m build).

Usage: python scripts/dist.py [OUTDIR]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
ADDON = PurePosixPath("whmcs/modules/addons/prorata_align")
ZIP_PREFIX = PurePosixPath("modules/addons/prorata_align")
# a fixed time for every entry: the same sources give the same zip
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


class DistError(Exception):
    pass


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as file:
        version = str(tomllib.load(file)["project"]["version"])
    manifest = json.loads((ROOT / ADDON / "whmcs.json").read_text(encoding="utf-8"))
    if manifest["version"] != version:
        raise DistError(
            f"whmcs.json says version {manifest['version']}, pyproject.toml says {version}"
        )
    return version


def addon_files() -> list[PurePosixPath]:
    """The addon's files as git tracks them, relative to the addon folder; no dotfiles."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--", str(ADDON)],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        message = f"git cannot list the addon's files (a git checkout is needed): {exc}"
        raise DistError(message) from exc
    files = [
        PurePosixPath(name).relative_to(ADDON)
        for name in listed.decode("utf-8").split("\0")
        if name
    ]
    kept = [path for path in files if not any(part.startswith(".") for part in path.parts)]
    if not kept:
        raise DistError(f"git tracks no files under {ADDON}")
    return sorted(kept)


def _add(archive: zipfile.ZipFile, source: Path, name: PurePosixPath) -> None:
    entry = zipfile.ZipInfo(str(name), date_time=ZIP_TIME)
    entry.external_attr = 0o644 << 16
    entry.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(entry, source.read_bytes())


def build_addon_zip(outdir: Path, version: str) -> Path:
    target = outdir / f"prorata_align-{version}.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for path in addon_files():
            _add(archive, ROOT / ADDON / path, ZIP_PREFIX / path)
        _add(archive, ROOT / "LICENSE", ZIP_PREFIX / "LICENSE")
    return target


def build_python(outdir: Path) -> None:
    # the sdist first, then the wheel built from that sdist: a file missing from the sdist
    # breaks the wheel here rather than on an admin's machine
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(outdir), str(ROOT)], cwd=ROOT, check=True
    )


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        print("usage: dist.py [OUTDIR]", file=sys.stderr)
        return 2
    outdir = Path(argv[0] if argv else ROOT / "dist").resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    try:
        version = project_version()
        addon = build_addon_zip(outdir, version)
        build_python(outdir)
    except DistError as exc:
        print(f"dist: error: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"dist: error: python -m build failed (exit {exc.returncode})", file=sys.stderr)
        return 1
    print(f"built {addon.name} and the worker's sdist and wheel in {outdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
