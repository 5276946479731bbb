"""The tax names a client sees ("19.00% VAT") come from one rule: the PHP addon's
InvoiceSummary::namesFor (read through php-cli) picks, for the same rules and client, the
rule the worker's domain/tax.py picks (WHMCS's getTaxRate: state and country, then the
country, then the global rule), a rule with a state but no country included."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from domain.tax import TaxRule, tax_names  # noqa: E402
from tests.php.harness import pyharness as harness  # noqa: E402

pytestmark = pytest.mark.php

ADDON_DIR = ROOT / "whmcs" / "modules" / "addons" / "prorata_align"

# (level, name, country, state), in id order
RULES: list[tuple[int, str, str, str]] = [
    (1, "Anywhere in Texas", "", "Texas"),  # a state but no country
    (1, "Texas Sales Tax", "US", "Texas"),
    (1, "US Tax", "US", ""),
    (1, "VAT", "DE", ""),
    (1, "Bavarian Tax", "DE", "Bayern"),
    (1, "Second VAT", "DE", ""),  # the same match as an older rule: the older wins
    (1, "Global Tax", "", ""),
    (1, "Württemberg Tax", "DE", "baden-wurttemberg "),
    (2, "Federal", "US", ""),
    (2, "Levy", "", ""),
]

# (country, state) of the client
CLIENTS: list[tuple[str, str]] = [
    ("US", "Texas"),
    ("us", "TEXAS "),
    ("US", "Ohio"),
    ("GB", "Texas"),  # a country without rules: the state-only rule does not apply
    ("", "Texas"),  # no country: the state-only rule is the state-and-country match
    ("", ""),
    ("DE", "Bayern"),
    ("DE", "Berlin"),
    ("DE", "Baden-Württemberg"),
    ("FR", ""),
]

PHP_NAMES = r"""
define('WHMCS', true);
require $argv[1] . '/lib/autoload.php';
$input = json_decode($argv[2], true);
$answer = [];
foreach ($input['clients'] as [$country, $state]) {
    $answer[] = \ProrataAlign\InvoiceSummary::namesFor($input['rules'], $country, $state);
}
echo json_encode($answer, JSON_THROW_ON_ERROR | JSON_FORCE_OBJECT);
"""


def php_names(rules: list[tuple[int, str, str, str]], clients: list[tuple[str, str]]) -> list:
    rows = [
        {"level": level, "name": name, "country": country, "state": state}
        for level, name, country, state in rules
    ]
    answer = subprocess.run(
        [
            harness.find_php(),
            "-r",
            PHP_NAMES,
            "--",
            str(ADDON_DIR),
            json.dumps({"rules": rows, "clients": clients}),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr
    assert answer.stderr == ""
    loaded = json.loads(answer.stdout)
    return [
        {int(level): name for level, name in loaded[str(n)].items()} for n in range(len(clients))
    ]


def python_names(
    rules: list[tuple[int, str, str, str]], country: str, state: str
) -> dict[int, str]:
    rows = [
        TaxRule(id=n + 1, level=level, name=name, country=c, state=s, rate=Decimal("1"))
        for n, (level, name, c, s) in enumerate(rules)
    ]
    return tax_names(rows, country, state)


def test_php_and_the_worker_name_the_same_rule_for_every_client() -> None:
    from_php = php_names(RULES, CLIENTS)
    for (country, state), php in zip(CLIENTS, from_php, strict=True):
        assert php == python_names(RULES, country, state), (country, state)


def test_a_rule_with_a_state_but_no_country_is_not_a_country_clients_rule() -> None:
    [us_texas, gb_texas, no_country] = php_names(
        RULES, [("US", "Texas"), ("GB", "Texas"), ("", "Texas")]
    )
    assert us_texas == {1: "Texas Sales Tax", 2: "Federal"}
    assert gb_texas == {1: "Global Tax", 2: "Levy"}
    assert no_country == {1: "Anywhere in Texas", 2: "Levy"}
    # and without a state-and-country rule, a Texan of the US gets the country's
    only_state_rule = [r for r in RULES if r[1] != "Texas Sales Tax"]
    assert php_names(only_state_rule, [("US", "Texas")]) == [{1: "US Tax", 2: "Federal"}]
    assert python_names(only_state_rule, "US", "Texas") == {1: "US Tax", 2: "Federal"}
