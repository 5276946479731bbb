"""The environment tables of the docs against the variables the code reads (worker/config.py,
and the clock offset of worker/clock.py), both ways, with the whole-number defaults; and
Compose passes every one an operator may set."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from worker import clock

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "worker" / "config.py"
# _int("PRORATA_X", 10 ...), _text(...), _url(...), _database_url(...), _queue(...)
READ = re.compile(r"_(?:int|text|url|database_url|queue)\(\s*\"(PRORATA_[A-Z0-9_]+)\"")
INT_DEFAULT = re.compile(r"_int\(\s*\"(PRORATA_[A-Z0-9_]+)\",\s*(\d+)")
# never in Compose: the tests' clock, and the result backend the addon needs to be the broker
NOT_IN_COMPOSE = {clock.OFFSET_VARIABLE, "PRORATA_RESULT_BACKEND"}


def read_by_code() -> set[str]:
    names = set(READ.findall(CONFIG.read_text()))
    assert "PRORATA_DATABASE_URL" in names and "PRORATA_BULK_CHUNK_SIZE" in names
    return names | {clock.OFFSET_VARIABLE}


def table_rows(document: Path) -> dict[str, list[str]]:
    """Each variable of the document's environment table: its row's cells. A row may name
    several (`PRORATA_WHMCS_API_URL`, `..._SECRET`: the first's words but the last)."""
    rows: dict[str, list[str]] = {}
    for line in document.read_text().splitlines():
        if not line.startswith("| `PRORATA_"):
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        first = None
        for name in re.findall(r"`([A-Z0-9_.]+)`", cells[0]):
            if name.startswith("..."):
                assert first is not None
                # `..._SECRET` after `PRORATA_WHMCS_API_URL`: as many words replaced
                name = first.rsplit("_", name.count("_"))[0] + name[3:]
            first = first or name
            rows[name] = cells
    return rows


@pytest.mark.parametrize("document", ["docs/running-next-to-whmcs.md", "README.md"])
def test_the_environment_table_names_what_the_code_reads(document: str) -> None:
    rows = table_rows(ROOT / document)
    documented = set(rows)
    expected = read_by_code()
    if document == "README.md":  # the README leaves the tests' clock to its own section
        expected -= {clock.OFFSET_VARIABLE}
    assert documented - expected == set(), "documented, never read"
    assert expected - documented == set(), "read, not documented"
    for name, default in INT_DEFAULT.findall(CONFIG.read_text()):
        defaults = rows[name][1]
        assert f"`{default}`" in defaults or f"{default}" in defaults.split("`"), (name, default)


def test_compose_passes_every_variable_an_operator_may_set() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    passed = set(re.findall(r"^ {4}(PRORATA_[A-Z0-9_]+):", compose, re.MULTILINE))
    header = compose.split("\nname:")[0]
    listed = set(re.findall(r"PRORATA_[A-Z0-9_]+", header))
    wanted = read_by_code() - NOT_IN_COMPOSE
    assert wanted - passed == set(), "not passed to the containers"
    assert passed - read_by_code() == set(), "passed, never read"
    # the header lists the optional ones (the API's three as PRORATA_WHMCS_API_URL, _...)
    optional = wanted - {"PRORATA_DATABASE_URL", "PRORATA_BROKER_URL"}
    optional -= {"PRORATA_WHMCS_API_IDENTIFIER", "PRORATA_WHMCS_API_SECRET"}
    assert optional - listed == set(), "not in the header's optional list"
    assert "REDIS_PASSWORD=" in header and "WHMCS_TZ=" in header  # the sandbox example
