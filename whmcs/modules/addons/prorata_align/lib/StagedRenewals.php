<?php

namespace ProrataAlign;

use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * Keeps WHMCS's invoice run from billing a period that an alignment already bills.
 *
 * With "Continuous Invoice Generation" off (WHMCS's default) the run picks services by
 * their next due date, which stays at the old date N until the alignment invoice is paid,
 * and makes a renewal line again whenever no Hosting (Addon) line with that due date exists.
 * The run first writes its lines with invoiceid 0, then fires AfterInvoicingGenerateInvoiceItems,
 * then groups what is still there into invoices. So at that point every staged renewal line
 * of a service (addon) with a pending alignment, due on that alignment's old N, is deleted.
 * That is all this does: which alignments are pending, and everything else, is the worker's.
 */
final class StagedRenewals
{
    /** Renewal line types of a service and of an addon, as WHMCS writes them. */
    public const TYPES = ['service' => ['Hosting', 'PromoHosting'], 'addon' => ['Addon']];

    public const LOG_LINE = 'Prorated Next Due Date: the invoice run made %d renewal line(s) for periods '
        . 'that pending alignment invoices already bill; they were removed before invoicing';

    /**
     * Deletes the staged renewal lines of pending alignments (one statement per kind);
     * returns how many went and writes one activity log line when any did.
     */
    public static function remove(): int
    {
        if (!Capsule::schema()->hasTable('mod_prorata_records')) {
            return 0; // the worker has not made its tables yet: no alignment to guard
        }
        $removed = 0;
        foreach (self::TYPES as $kind => $types) {
            $removed += Capsule::table('tblinvoiceitems')
                ->where('invoiceid', 0)
                ->whereIn('type', $types)
                ->whereExists(function ($pending) use ($kind) {
                    $pending->select(Capsule::raw(1))
                        ->from('mod_prorata_records')
                        ->where('mod_prorata_records.kind', $kind)
                        ->where('mod_prorata_records.state', 'pending')
                        ->whereColumn('mod_prorata_records.relid', 'tblinvoiceitems.relid')
                        ->whereColumn('mod_prorata_records.client_id', 'tblinvoiceitems.userid')
                        ->whereColumn('mod_prorata_records.old_due', 'tblinvoiceitems.duedate');
                })
                ->delete();
        }
        if ($removed > 0 && function_exists('logActivity')) {
            // English, as every activity line the module writes (the worker's included)
            logActivity(sprintf(self::LOG_LINE, $removed), 0);
        }

        return $removed;
    }
}
