<?php

namespace ProrataAlign\Pages;

use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The admin page's list of overpayments the worker flagged (mod_prorata_overpayments):
 * invoices paid for days the client had already paid for, or for an alignment that was no
 * longer pending (expired, cancelled, withdrawn, superseded). The worker kept the due dates
 * at the latest paid-through date; staff refund or credit the money.
 */
final class Overpayments
{
    public const LIMIT = 50;

    /** The unresolved overpayments, newest first; an empty string when there are none. */
    public static function panel(Text $t, Format $format): string
    {
        try {
            $rows = Capsule::table('mod_prorata_overpayments as o')
                ->leftJoin('tblclients as c', 'c.id', '=', 'o.client_id')
                ->whereNull('o.resolved_at')
                ->orderBy('o.id', 'desc')
                ->limit(self::LIMIT)
                ->get(['o.invoice_id', 'o.client_id', 'o.amount', 'o.records', 'o.detected_at', 'c.firstname', 'c.lastname'])
                ->all();
        } catch (\Throwable $e) {
            return ''; // the table arrives with the worker's migration 4
        }
        if ($rows === []) {
            return '';
        }
        $html = '<div class="panel panel-warning" id="prorata-overpayments">'
            . '<div class="panel-heading"><h3 class="panel-title">' . $t->html('overpayments_title') . '</h3></div>'
            . '<div class="panel-body"><p class="text-muted">' . $t->html('overpayments_intro') . '</p>'
            . '<table class="table table-condensed prorata-overpayments"><thead><tr>'
            . '<th>' . $t->html('col_date') . '</th><th>' . $t->html('col_client') . '</th>'
            . '<th>' . $t->html('col_invoice') . '</th><th class="text-right">' . $t->html('col_amount') . '</th>'
            . '<th>' . $t->html('overpayments_records') . '</th></tr></thead><tbody>';
        foreach ($rows as $row) {
            $money = $format->withCurrency(...Format::currencyOf((int) $row->client_id));
            $records = json_decode((string) $row->records, true);
            $name = trim(($row->firstname ?? '') . ' ' . ($row->lastname ?? ''));
            $html .= '<tr data-invoice="' . (int) $row->invoice_id . '">'
                . '<td class="text-nowrap">' . Format::e($format->date((string) $row->detected_at)) . '</td>'
                . '<td>' . Format::e($name !== '' ? $name : '#' . (int) $row->client_id) . '</td>'
                . '<td><a href="invoices.php?action=edit&amp;id=' . (int) $row->invoice_id . '">'
                . $t->html('invoice_number', (int) $row->invoice_id) . '</a></td>'
                . '<td class="text-right text-nowrap">' . Format::e($money->money((string) $row->amount)) . '</td>'
                . '<td>' . Format::e(implode(', ', array_map(static fn ($id) => '#' . (int) $id, is_array($records) ? $records : []))) . '</td></tr>';
        }

        return $html . '</tbody></table></div></div>';
    }
}
