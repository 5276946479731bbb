"""Write a new version into the three places that carry it: worker/version.py (the source
the wheel, `prorata --version` and the worker's reports take it from) and the WHMCS addon's
whmcs.json and config (prorata_align.php), which PHP cannot read from Python.

Usage: python scripts/set_version.py X.Y.Z | X.Y.Z.devN   (see docs/releasing.md)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADDON = ROOT / "whmcs" / "modules" / "addons" / "prorata_align"
# a release, or the development version of the next one (PEP 440, in its normal form)
FORM = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(\.dev(0|[1-9]\d*))?")
PLACES = (
    (ROOT / "worker" / "version.py", r'^(VERSION = ")[^"]*(")$'),
    (ADDON / "whmcs.json", r'^(    "version": ")[^"]*(",)$'),
    (ADDON / "prorata_align.php", r"^(            'version' => ')[^']*(',)$"),
)


def set_version(version: str) -> None:
    if not FORM.fullmatch(version):
        raise ValueError(f"not X.Y.Z or X.Y.Z.devN: {version!r}")
    changed = {}
    for path, pattern in PLACES:
        text, count = re.subn(
            pattern,
            lambda m: m.group(1) + version + m.group(2),
            path.read_text("utf-8"),
            flags=re.MULTILINE,
        )
        if count != 1:
            raise ValueError(f"{path.relative_to(ROOT)}: the version line found {count} times")
        changed[path] = text
    for path, text in changed.items():  # all or nothing
        path.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: set_version.py X.Y.Z | X.Y.Z.devN", file=sys.stderr)
        return 2
    try:
        set_version(argv[0])
    except ValueError as exc:
        print(f"set_version: error: {exc}", file=sys.stderr)
        return 2
    print(f"version {argv[0]} in worker/version.py, whmcs.json and prorata_align.php")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
