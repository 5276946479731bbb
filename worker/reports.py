"""What a job reports: one short line per error, the ids it handled by outcome. Shared by
the jobs, the bulk runs, reconcile and the health records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An error as one short line: its type and the first line of its message."""
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {detail[0] if detail else ''}"[:limit]


@dataclass
class JobReport:
    """What one job of a run did: ids by outcome, and the ids that failed with a reason."""

    job: str
    done: dict[str, list[str]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def add(self, outcome: str, key: object) -> None:
        self.done.setdefault(outcome, []).append(str(key))

    def count(self, outcome: str) -> int:
        return len(self.done.get(outcome, []))

    def line(self) -> str:
        parts = [f"{outcome} {len(ids)}" for outcome, ids in self.done.items()]
        parts.append(f"failed {len(self.failures)}")
        text = f"{self.job}: {', '.join(parts)}"
        if self.failures:
            text += " (" + "; ".join(f"{k}: {v}" for k, v in self.failures.items()) + ")"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"job": self.job, **self.done, "failed": dict(self.failures)}
