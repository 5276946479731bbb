"""Each alignment invoice's "Invoice Created" email is sent once, however often it is queued.

An alignment queues it after its commit, and so does every repeat of the same event: when
the connection broke during the commit (the commit went through, the task saw an error),
the retry answers "repeat" and is the only one left to queue it. A row in
mod_prorata_events (`invoice-email:<invoice id>`) marks the email: sending (claimed by a
task), sent, or failed (the API refused it; the task's retry claims it again).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from worker.clock import Clock
from worker.store import events as event_store
from worker.transactions import unit_of_work

KIND = "invoice-email"
# a claim older than this was left by a worker that died during the API call: well past the
# call's 20 s timeout, so a slow call is never doubled by a redelivered task
STALE_CLAIM = timedelta(minutes=10)


def marker(invoice_id: int) -> str:
    return f"{KIND}:{invoice_id}"


def claim_email(engine: Engine, invoice_id: int, now: Clock) -> bool:
    """True when this task is to send the invoice's email: nobody sent it, nobody is sending
    it (or whoever was died long ago), or the API failed the last try."""
    key = marker(invoice_id)
    stamp = now()
    try:
        with unit_of_work(engine) as conn:
            row = event_store.claim_row(conn, key)
            if row is None:
                event_store.insert_claim(conn, key, KIND, invoice_id, "sending", stamp)
                return True
            stale = row.outcome == "sending" and row.processed_at <= stamp - STALE_CLAIM
            if row.outcome != "failed" and not stale:
                return False  # sent, or being sent by another task
            event_store.set_outcome(conn, stamp, "sending", row_id=int(row.id))
            return True
    except IntegrityError:
        return False  # another task inserted the claim at the same moment: it sends


def email_done(engine: Engine, invoice_id: int, outcome: str, now: Clock) -> None:
    """The claim's end: sent, or failed (claimable again by the retry)."""
    with unit_of_work(engine) as conn:
        event_store.set_outcome(conn, now(), outcome, key=marker(invoice_id))
