<?php

namespace ProrataAlign\Admin\Controller;

use ProrataAlign\Page\Format;
use ProrataAlign\Page\Templates;
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
        $view = [];
        foreach ($rows as $row) {
            $clientId = (int) $row->client_id;
            $client = trim($row->firstname . ' ' . $row->lastname);
            $failed = $row->state === 'failed';
            $view[] = [
                'service_id' => (int) $row->service_id,
                'client_id' => $clientId,
                'service_text' => $this->t->get('unsuspend_service_number', (int) $row->service_id),
                'item' => trim((string) $row->product . ' ' . (string) $row->domain),
                'client' => $client !== '' ? $client : '#' . $clientId,
                'invoice_id' => (int) $row->invoice_id,
                'invoice_text' => $this->t->get('invoice_number', (int) $row->invoice_id),
                'since' => $this->format->date((string) $row->created_at),
                'failed' => $failed,
                'error' => $failed && $row->last_error !== null ? (string) $row->last_error : null,
            ];
        }

        return Templates::render('admin/unsuspensions', ['lang' => $this->t->all(), 'rows' => $view]);
    }
}
