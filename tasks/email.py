"""The "Invoice Created" email, sent by WHMCS through its API after an alignment commits."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

from worker import logs, runtime
from worker.celery_app import app


class WhmcsApiError(RuntimeError):
    pass


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


@app.task(
    name="prorata.send_invoice_email",
    autoretry_for=(OSError, WhmcsApiError, ValueError),
    retry_backoff=30,
    # well under the broker's visibility timeout (default 3600 s): a retry held longer
    # would be handed out a second time and the client would get the email twice
    retry_backoff_max=1200,
    max_retries=8,
)
def send_invoice_email(*, invoice_id: int, event_id: str = "") -> dict[str, Any]:
    """Never undoes the alignment: a failure is logged and retried."""
    whmcs_api("SendEmail", {"messagename": "Invoice Created", "id": invoice_id})
    logs.get_logger().info("invoice email sent", invoice_id=invoice_id)
    return {"invoice_id": invoice_id, "sent": True}
