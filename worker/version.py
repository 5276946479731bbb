"""The product's version: pyproject.toml's `version`, the one place it is written.

An installed worker reads it from its package metadata; a source checkout that was never
installed reads pyproject.toml itself. The WHMCS addon carries the same number (a test holds
them equal), so the admin page can tell when the two halves come from different releases.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "prorata-align"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def checkout_version(pyproject: Path = PYPROJECT) -> str:
    """The version in a source checkout's pyproject.toml."""
    with pyproject.open("rb") as file:
        project = tomllib.load(file)["project"]
    if project.get("name") != DISTRIBUTION:
        raise LookupError(f"{pyproject} is not the {DISTRIBUTION} project")
    return str(project["version"])


def installed_or_checkout_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return checkout_version()


VERSION = installed_or_checkout_version()
