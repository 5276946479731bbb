"""One small orchestrator per event: it reads the state once, lets domain/ decide, and writes
through the doors (worker.whmcs.service_dates for service dates, worker.whmcs.invoices for
invoices, worker.store for the product's own tables). The steps it composes
(worker.steps) never import each other; handlers may import steps and other handlers."""
