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

    /**
     * Whether a service (or one of its addons) has a pending alignment. When the worker's
     * table cannot be read the answer is yes: the worker then decides, nothing is missed.
     */
    public static function servicePending(int $serviceId): bool
    {
        try {
            $addons = Capsule::table('tblhostingaddons')->where('hostingid', $serviceId)->pluck('id')->all();

            return Capsule::table('mod_prorata_records')
                ->where('state', 'pending')
                ->where(function ($query) use ($serviceId, $addons) {
                    $query->where(function ($q) use ($serviceId) {
                        $q->where('kind', 'service')->where('relid', $serviceId);
                    });
                    if ($addons !== []) {
                        $query->orWhere(function ($q) use ($addons) {
                            $q->where('kind', 'addon')->whereIn('relid', $addons);
                        });
                    }
                })
                ->exists();
        } catch (\Throwable $e) {
            return true;
        }
    }
}
