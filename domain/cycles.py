"""The six recurring billing cycles WHMCS knows, spelled exactly as in `billingcycle`."""

from __future__ import annotations

from enum import Enum
from functools import lru_cache


class Cycle(Enum):
    # members are unique objects: hashing them by identity (in C) keeps the lookups of
    # every planned line cheap; Enum's own hash goes through Python code
    __hash__ = object.__hash__

    MONTHLY = "Monthly"
    QUARTERLY = "Quarterly"
    SEMI_ANNUALLY = "Semi-Annually"
    ANNUALLY = "Annually"
    BIENNIALLY = "Biennially"
    TRIENNIALLY = "Triennially"

    @property
    def months(self) -> int:
        return MONTHS[self]

    @classmethod
    def parse(cls, text: str | None) -> Cycle | None:
        """The cycle spelled by WHMCS, or None for anything that does not recur."""
        return parse_cycle(text)


# the months of each cycle; code run for every planned line reads this mapping, as an
# Enum's property is slow to read in Python 3.11
MONTHS = {
    Cycle.MONTHLY: 1,
    Cycle.QUARTERLY: 3,
    Cycle.SEMI_ANNUALLY: 6,
    Cycle.ANNUALLY: 12,
    Cycle.BIENNIALLY: 24,
    Cycle.TRIENNIALLY: 36,
}

_BY_NAME = {cycle.value.lower(): cycle for cycle in Cycle}


@lru_cache(maxsize=256)  # a handful of spellings, read for every service
def parse_cycle(text: str | None) -> Cycle | None:
    """The cycle spelled by WHMCS, or None for anything that does not recur."""
    return None if text is None else _BY_NAME.get(text.strip().lower())


def parse_cycle_list(text: str) -> frozenset[Cycle]:
    """A comma separated list of cycle names, as typed on a command line.

    Raises ValueError naming the first unknown cycle.
    """
    chosen: set[Cycle] = set()
    for part in text.split(","):
        name = part.strip()
        if not name:
            continue
        cycle = Cycle.parse(name)
        if cycle is None:
            known = ", ".join(c.value for c in Cycle)
            raise ValueError(f"unknown billing cycle {name!r} (known: {known})")
        chosen.add(cycle)
    if not chosen:
        raise ValueError("no billing cycle given")
    return frozenset(chosen)
