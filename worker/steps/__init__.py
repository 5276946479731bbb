"""The application steps: align a client, handle invoice events, reconcile, relay, re-offer."""
