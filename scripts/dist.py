"""`make dist`: the release files of one version, into a folder (default dist/), each named
by the version written in worker/version.py (docs/releasing.md):

- prorata_align-<version>.zip: the WHMCS addon as an admin uploads it, the files git tracks
  under whmcs/modules/addons/prorata_align at modules/addons/prorata_align/..., plus LICENSE;
- the worker's sdist and wheel (python -m build);
- prorata-align-<version>-release.tar.gz: what an operator installs from, in one folder
  prorata-align-<version>/: the wheel, the addon zip, the docs as git tracks them (the
  systemd units and their environment example in docs/systemd/ among them), README.md,
  CHANGELOG.md, LICENSE and SHA256SUMS of the files beside it.

Usage: python scripts/dist.py [OUTDIR]
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
ADDON = PurePosixPath("whmcs/modules/addons/prorata_align")
ZIP_PREFIX = PurePosixPath("modules/addons/prorata_align")
VERSION_FILE = PurePosixPath("worker/version.py")
# a fixed time for every entry: the same sources give the same zip and archive
ZIP_TIME = (2020, 1, 1, 0, 0, 0)
TAR_TIME = 1577836800  # 2020-01-01
RELEASE_FILES = ("README.md", "CHANGELOG.md", "LICENSE")


class DistError(Exception):
    pass


def source_version() -> str:
    """VERSION as worker/version.py writes it (read, not imported: the file is the source)."""
    tree = ast.parse((ROOT / VERSION_FILE).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "VERSION" for t in targets):
                assert node.value is not None
                return str(ast.literal_eval(node.value))
    raise DistError(f"{VERSION_FILE} sets no VERSION")


def addon_config_version() -> str:
    """The version in the addon's config (prorata_align.php), as written there."""
    text = (ROOT / ADDON / "prorata_align.php").read_text(encoding="utf-8")
    found = re.findall(r"'version'\s*=>\s*'([^']*)'", text)
    if len(found) != 1:
        raise DistError(f"prorata_align.php sets the version {len(found)} times, not once")
    return found[0]


def project_version() -> str:
    """The version, once every place that carries it agrees."""
    version = source_version()
    manifest = json.loads((ROOT / ADDON / "whmcs.json").read_text(encoding="utf-8"))
    for where, found in (
        ("whmcs.json", manifest["version"]),
        ("prorata_align.php", addon_config_version()),
    ):
        if found != version:
            raise DistError(f"{where} says version {found}, {VERSION_FILE} says {version}")
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


def tracked(folder: str) -> list[PurePosixPath]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", folder], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return sorted(PurePosixPath(name) for name in listed.decode("utf-8").split("\0") if name)


def _tar_add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    entry = tarfile.TarInfo(name)
    entry.size, entry.mtime, entry.mode = len(data), TAR_TIME, 0o644
    archive.addfile(entry, io.BytesIO(data))


def build_release(outdir: Path, version: str, built: list[Path]) -> Path:
    """The operator's archive: the built files, the docs and the top-level texts."""
    top = f"prorata-align-{version}"
    files: dict[str, bytes] = {path.name: path.read_bytes() for path in built}
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in files.items())
    for path in [*tracked("docs"), *map(PurePosixPath, RELEASE_FILES)]:
        files[str(path)] = (ROOT / path).read_bytes()
    files["SHA256SUMS"] = sums.encode("ascii")
    target = outdir / f"{top}-release.tar.gz"
    with tarfile.open(target, "w:gz", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(files):
            _tar_add(archive, f"{top}/{name}", files[name])
    return target


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
        wheel = outdir / f"prorata_align-{version}-py3-none-any.whl"
        sdist = outdir / f"prorata_align-{version}.tar.gz"
        for path in (wheel, sdist):
            if not path.is_file():
                raise DistError(f"python -m build made no {path.name}")
        release = build_release(outdir, version, [wheel, addon])
    except DistError as exc:
        print(f"dist: error: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"dist: error: {exc.cmd[0]} failed (exit {exc.returncode})", file=sys.stderr)
        return 1
    print(f"built {addon.name}, {wheel.name}, {sdist.name} and {release.name} in {outdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
