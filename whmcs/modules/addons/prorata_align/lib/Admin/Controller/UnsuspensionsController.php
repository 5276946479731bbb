<?php

namespace ProrataAlign\Admin\Controller;

use ProrataAlign\Page\Format;
use ProrataAlign\Page\Text;
use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The admin page's list of services waiting for unsuspension: their alignment invoice was paid
 * while WHMCS had suspended them for overdue payment, and the worker has not (yet) unsuspended
 * them through WHMCS's API (no API credentials, or the call failed). Staff unsuspend these by
 * hand; a row leaves the list once its service is no longer Suspended.
 */
final class UnsuspensionsController
{
    public const LIMIT = 100;

    private Text $t;
    private Format $format;

    public function __construct(Text $t, Format $format)
    {
        $this->t = $t;
        $this->format = $format;
    }

    /**
     * Rows not done whose service is still Suspended, oldest first.
     *
     * @return object[] id, service_id, client_id, invoice_id, state, attempts, last_error,
     *                  created_at, firstname, lastname, companyname, domain, product
     */
    public static function waiting(): array
    {
        return Capsule::table('mod_prorata_unsuspensions as u')
            ->join('tblhosting as h', 'h.id', '=', 'u.service_id')
            ->leftJoin('tblproducts as p', 'p.id', '=', 'h.packageid')
            ->leftJoin('tblclients as c', 'c.id', '=', 'u.client_id')
            ->whereIn('u.state', ['waiting', 'sending', 'failed'])
            ->where('h.domainstatus', 'Suspended')
            ->orderBy('u.created_at')
            ->orderBy('u.id')
            ->limit(self::LIMIT)
            ->get([
                'u.id', 'u.service_id', 'u.client_id', 'u.invoice_id', 'u.state', 'u.attempts',
                'u.last_error', 'u.created_at', 'c.firstname', 'c.lastname', 'c.companyname',
                'h.domain', 'p.name as product',
            ])
            ->all();
    }

    /** The panel, or nothing when no service waits (or the worker's tables are not there yet). */
    public function html(): string
    {
        try {
            $rows = self::waiting();
        } catch (\Throwable $e) {
            return ''; // the alignments panel already says when the tables are missing
        }
        if ($rows === []) {
            return '';
        }
        $html = '<div class="panel panel-warning" id="prorata-unsuspensions">'
            . '<div class="panel-heading"><h3 class="panel-title">' . $this->t->html('unsuspend_title') . '</h3></div>'
            . '<div class="panel-body"><p>' . $this->t->html('unsuspend_intro') . '</p>'
            . '<table class="table table-condensed prorata-unsuspensions"><thead><tr>'
            . $this->th('unsuspend_col_service') . $this->th('col_client') . $this->th('col_invoice')
            . $this->th('unsuspend_col_since') . $this->th('col_state') . '</tr></thead><tbody>';
        foreach ($rows as $row) {
            $serviceId = (int) $row->service_id;
            $clientId = (int) $row->client_id;
            $client = trim($row->firstname . ' ' . $row->lastname);
            $item = trim((string) $row->product . ' ' . (string) $row->domain);
            $failed = $row->state === 'failed';
            $html .= '<tr data-service="' . $serviceId . '">'
                . '<td><a href="clientsservices.php?userid=' . $clientId . '&amp;id=' . $serviceId . '">'
                . $this->t->html('unsuspend_service_number', $serviceId) . '</a>'
                . ($item !== '' ? ' <small class="text-muted">' . Format::e($item) . '</small>' : '') . '</td>'
                . '<td><a href="clientssummary.php?userid=' . $clientId . '">'
                . Format::e($client !== '' ? $client : '#' . $clientId) . '</a></td>'
                . '<td><a href="invoices.php?action=edit&amp;id=' . (int) $row->invoice_id . '">'
                . $this->t->html('invoice_number', (int) $row->invoice_id) . '</a></td>'
                . '<td class="text-nowrap">' . Format::e($this->format->date((string) $row->created_at)) . '</td>'
                . '<td><span class="label label-' . ($failed ? 'danger' : 'warning') . '"'
                . ($failed && $row->last_error !== null ? ' title="' . Format::e($row->last_error) . '"' : '') . '>'
                . $this->t->html($failed ? 'unsuspend_state_failed' : 'unsuspend_state_waiting') . '</span></td></tr>';
        }

        return $html . '</tbody></table></div></div>';
    }

    private function th(string $key): string
    {
        return '<th>' . $this->t->html($key) . '</th>';
    }
}
