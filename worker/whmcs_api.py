"""WHMCS's own API (includes/api.php), for what only WHMCS can do: send its "Invoice
Created" email, run a server module's Unsuspend. The credentials are the worker's settings
(PRORATA_WHMCS_API_*); without them nothing is called."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

from worker import runtime


class WhmcsApiError(RuntimeError):
    """WHMCS answered, with `"result": "error"` (its message kept)."""


# what a failed call raises: no connection or an HTTP error (OSError), an answer that is not
# JSON (ValueError), WHMCS's "result": "error"
API_ERRORS: tuple[type[BaseException], ...] = (OSError, WhmcsApiError, ValueError)


def api_configured() -> bool:
    """The WHMCS API credentials are set. Without them no invoice email is sent and waiting
    unsuspensions stay listed on the admin page for staff."""
    return runtime.config().email_enabled


def whmcs_api(action: str, params: dict[str, Any], timeout: float = 20.0) -> dict[str, Any]:
    config = runtime.config()
    body = urllib.parse.urlencode(
        {
            "identifier": config.whmcs_api_identifier,
            "secret": config.whmcs_api_secret,
            "action": action,
            "responsetype": "json",
            **params,
        }
    ).encode()
    request = urllib.request.Request(config.whmcs_api_url, data=body, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer = json.loads(response.read().decode("utf-8"))
    if answer.get("result") != "success":
        raise WhmcsApiError(f"{action}: {answer.get('message', answer)}")
    return dict(answer)
