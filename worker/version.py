"""The product's version: written here and nowhere else.

The wheel and sdist take it from here (pyproject.toml's `dynamic` version), `prorata
--version` prints it and the worker reports it (previews, `prorata.ping`), so what a worker
says is the version of the code it runs, whatever the installed metadata says. The WHMCS
addon carries the same number in its config and whmcs.json (tests/test_versions.py holds
them equal; scripts/set_version.py writes all three).

Between releases it is the next release's development version, PEP 440 `X.Y.Z.devN`; a
release sets `X.Y.Z` and is tagged `vX.Y.Z` (docs/releasing.md).
"""

from __future__ import annotations

VERSION = "1.1.0.dev0"
