"""The worker's own settings, from the environment (the module's settings live in WHMCS)."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _text(name: str, default: str) -> str:
    """An unset or empty variable takes the default (compose files pass empty strings)."""
    return os.environ.get(name, "").strip() or default


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ValueError(f"environment variable {name} must be a whole number, not {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class WorkerConfig:
    database_url: str
    broker_url: str
    result_backend: str
    queue: str
    visibility_timeout: int
    task_time_limit: int
    align_max_retries: int
    max_reoffers: int
    whmcs_api_url: str
    whmcs_api_identifier: str
    whmcs_api_secret: str

    @property
    def email_enabled(self) -> bool:
        return bool(self.whmcs_api_url and self.whmcs_api_identifier and self.whmcs_api_secret)


def load_config() -> WorkerConfig:
    broker = _text("PRORATA_BROKER_URL", "redis://127.0.0.1:6379/0")
    return WorkerConfig(
        database_url=_text("PRORATA_DATABASE_URL", ""),
        broker_url=broker,
        result_backend=_text("PRORATA_RESULT_BACKEND", broker),
        queue=_text("PRORATA_QUEUE", "prorata"),
        visibility_timeout=_int("PRORATA_VISIBILITY_TIMEOUT", 3600),
        task_time_limit=_int("PRORATA_TASK_TIME_LIMIT", 300),
        align_max_retries=_int("PRORATA_ALIGN_MAX_RETRIES", 5),
        max_reoffers=_int("PRORATA_MAX_REOFFERS", 5),
        whmcs_api_url=_text("PRORATA_WHMCS_API_URL", ""),
        whmcs_api_identifier=_text("PRORATA_WHMCS_API_IDENTIFIER", ""),
        whmcs_api_secret=_text("PRORATA_WHMCS_API_SECRET", ""),
    )
