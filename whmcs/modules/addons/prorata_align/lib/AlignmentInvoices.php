<?php

namespace ProrataAlign;

use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * Which invoices concern the module. Hooks run for every invoice WHMCS pays or cancels, so
 * the check is one indexed query: the worker's records of alignments made on that invoice
 * (mod_prorata_records.invoice_id). Where the worker's tables are missing, the invoice's own
 * lines answer instead (tblinvoiceitems, invoiceid = ?, type LIKE 'Prorata%').
 */
final class AlignmentInvoices
{
    public static function holdsAlignmentLines(int $invoiceId): bool
    {
        if ($invoiceId <= 0) {
            return false;
        }
        try {
            return Capsule::table('mod_prorata_records')->where('invoice_id', $invoiceId)->exists();
        } catch (\Throwable $e) {
            return Capsule::table('tblinvoiceitems')
                ->where('invoiceid', $invoiceId)
                ->where('type', 'like', 'Prorata%')
                ->exists();
        }
    }
}
