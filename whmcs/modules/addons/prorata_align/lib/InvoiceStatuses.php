<?php

namespace ProrataAlign;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * What an alignment does to an invoice holding a line of a service it aligns, by the
 * invoice's status. The worker has the same lists (domain/model.py); a test holds them equal.
 * Paid, Cancelled and Refunded invoices are left alone: they neither lose lines nor block.
 */
final class InvoiceStatuses
{
    /** The service's lines are removed (unless money is on the invoice). */
    public const REMOVABLE = ['Unpaid', 'Draft'];

    /** Money on its way (Payment Pending) or owed (Collections): the service is blocked. */
    public const BLOCKING = ['Payment Pending', 'Collections'];

    /** An alignment invoice still waiting for its payment. */
    public const AWAITING_PAYMENT = [...self::REMOVABLE, 'Payment Pending'];
}
