<?php

namespace ProrataAlign;

use Illuminate\Database\QueryException;
use ProrataAlign\InvoiceStatuses;
use ProrataAlign\Money;
use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/** What the pages read from the database: clients, and the worker's alignment records. */
final class Records
{
    public const PAGE_SIZE = 20;
    public const SEARCH_LIMIT = 25;

    /** MySQL / MariaDB "Illegal mix of collations" (for 2, 3 or more operands). */
    private const COLLATION_ERRORS = [1267, 1270, 1271];

    /**
     * Clients whose id is the term, or whose first name, last name, company or email holds
     * every word of it.
     *
     * @return object[] id, firstname, lastname, companyname, email, status
     */
    public static function searchClients(string $term): array
    {
        $term = trim(mb_scrub($term, 'UTF-8'));
        if ($term === '') {
            return [];
        }
        $query = Capsule::table('tblclients')
            ->select(['id', 'firstname', 'lastname', 'companyname', 'email', 'status']);
        $words = preg_split('/\s+/u', $term) ?: [];
        $query->where(function ($outer) use ($term, $words) {
            if (ctype_digit(ltrim($term, '#')) && strlen(ltrim($term, '#')) < 11) {
                $outer->orWhere('id', (int) ltrim($term, '#'));
            }
            $outer->orWhere(function ($all) use ($words) {
                foreach ($words as $word) {
                    // "!" escapes LIKE's wildcards, the same on MySQL, MariaDB and SQLite
                    $pattern = '%' . strtr($word, ['!' => '!!', '%' => '!%', '_' => '!_']) . '%';
                    $all->where(function ($any) use ($pattern) {
                        foreach (['firstname', 'lastname', 'companyname', 'email'] as $column) {
                            $any->orWhereRaw($column . " LIKE ? ESCAPE '!'", [$pattern]);
                        }
                    });
                }
            });
        });

        try {
            return $query->orderBy('id')->limit(self::SEARCH_LIMIT)->get()->all();
        } catch (QueryException $e) {
            // WHMCS 8 makes its tables utf8 (3 bytes a character): a term with a character
            // beyond that (an emoji), sent through a utf8mb4 connection, cannot be compared
            // with them ("Illegal mix of collations"), and no client's name can hold it
            if (in_array((int) ($e->errorInfo[1] ?? 0), self::COLLATION_ERRORS, true)) {
                return [];
            }
            throw $e;
        }
    }

    /** @return object|null id, firstname, lastname, companyname, email, status */
    public static function client(int $clientId): ?object
    {
        return Capsule::table('tblclients')
            ->where('id', $clientId)
            ->first(['id', 'firstname', 'lastname', 'companyname', 'email', 'status']);
    }

    public static function clientName(object $client): string
    {
        return trim(($client->firstname ?? '') . ' ' . ($client->lastname ?? ''));
    }

    /**
     * One page of alignment records (newest first), with their request, client, invoice and
     * the service or addon's name.
     *
     * @return array{rows: object[], total: int, page: int, pages: int}
     */
    public static function alignments(string $state, ?int $clientId, int $page): array
    {
        $query = Capsule::table('mod_prorata_records as r')
            ->join('mod_prorata_requests as q', 'q.id', '=', 'r.request_id')
            ->leftJoin('tblclients as c', 'c.id', '=', 'r.client_id')
            ->leftJoin('tblinvoices as i', 'i.id', '=', 'r.invoice_id');
        if ($state !== '') {
            $query->where('r.state', $state);
        }
        if ($clientId !== null) {
            $query->where('r.client_id', $clientId);
        }
        $total = (int) (clone $query)->count();
        $pages = max(1, (int) ceil($total / self::PAGE_SIZE));
        $page = min($page, $pages);
        $rows = $query
            ->orderBy('r.id', 'desc')
            ->offset(($page - 1) * self::PAGE_SIZE)
            ->limit(self::PAGE_SIZE)
            ->get([
                'r.id', 'r.client_id', 'r.kind', 'r.relid', 'r.old_due', 'r.new_due', 'r.amount',
                'r.invoice_id', 'r.requested_by', 'r.state', 'r.created_at',
                'q.event_id', 'c.firstname', 'c.lastname', 'c.companyname',
                'i.status as invoice_status', 'i.total as invoice_total',
            ])
            ->all();
        self::addNames($rows);

        return ['rows' => $rows, 'total' => $total, 'page' => $page, 'pages' => $pages];
    }

    /**
     * The client's pending alignments whose invoice still waits for payment, by invoice, the
     * invoice due first first; each invoice with its status, money paid on it (paid) and who
     * asked for the alignment (requested_by: "client:7", "admin:1", "bulk", "cli").
     *
     * @return array<int, array{invoice: object, requested_by: string, records: object[]}>
     */
    public static function pendingInvoices(int $clientId): array
    {
        $rows = Capsule::table('mod_prorata_records as r')
            ->join('tblinvoices as i', 'i.id', '=', 'r.invoice_id')
            ->leftJoin('mod_prorata_requests as q', 'q.id', '=', 'r.request_id')
            ->where('r.client_id', $clientId)
            ->where('r.state', 'pending')
            ->whereIn('i.status', InvoiceStatuses::AWAITING_PAYMENT)
            ->orderBy('i.duedate')
            ->orderBy('r.invoice_id')
            ->orderBy('r.id')
            ->get([
                'r.id', 'r.kind', 'r.relid', 'r.old_due', 'r.new_due', 'r.amount', 'r.invoice_id', 'q.requested_by',
                'i.status as invoice_status', 'i.total as invoice_total', 'i.duedate as invoice_duedate',
                'i.subtotal as invoice_subtotal', 'i.tax as invoice_tax', 'i.tax2 as invoice_tax2',
                'i.taxrate as invoice_taxrate', 'i.taxrate2 as invoice_taxrate2', 'i.credit as invoice_credit',
            ])
            ->all();
        self::addNames($rows);
        $invoices = [];
        foreach ($rows as $row) {
            $id = (int) $row->invoice_id;
            if (!isset($invoices[$id])) {
                $invoices[$id] = [
                    'invoice' => (object) [
                        'id' => $id,
                        'status' => (string) $row->invoice_status,
                        'total' => (string) $row->invoice_total,
                        'duedate' => (string) $row->invoice_duedate,
                        'subtotal' => (string) $row->invoice_subtotal,
                        'tax' => (string) $row->invoice_tax,
                        'tax2' => (string) $row->invoice_tax2,
                        'taxrate' => (string) $row->invoice_taxrate,
                        'taxrate2' => (string) $row->invoice_taxrate2,
                        'credit' => (string) $row->invoice_credit,
                    ],
                    'requested_by' => (string) ($row->requested_by ?? ''),
                    'records' => [],
                ];
            }
            $invoices[$id]['records'][] = $row;
        }
        self::addDiscounts($invoices);
        foreach (InvoiceSummary::payments(array_keys($invoices)) as $id => $cents) {
            $invoices[$id]['invoice']->paid = Money::format($cents);
        }

        return $invoices;
    }

    /**
     * Each invoice's client group discount (its GroupDiscount lines together, "-3.61"), so its
     * records, the discount and its subtotal add up on the page.
     */
    private static function addDiscounts(array $invoices): void
    {
        if ($invoices === []) {
            return;
        }
        $lines = Capsule::table('tblinvoiceitems')
            ->whereIn('invoiceid', array_keys($invoices))
            ->where('type', 'GroupDiscount')
            ->get(['invoiceid', 'amount'])
            ->all();
        $cents = [];
        foreach ($lines as $line) {
            $id = (int) $line->invoiceid;
            $cents[$id] = ($cents[$id] ?? 0) + Money::toCents((string) $line->amount);
        }
        foreach ($cents as $id => $sum) {
            $invoices[$id]['invoice']->discount = Money::format($sum);
        }
    }

    /** The pending records on an invoice, with the invoice's client and status. */
    public static function pendingOnInvoice(int $invoiceId): array
    {
        return Capsule::table('mod_prorata_records as r')
            ->join('tblinvoices as i', 'i.id', '=', 'r.invoice_id')
            ->where('r.invoice_id', $invoiceId)
            ->where('r.state', 'pending')
            ->get(['r.id', 'r.client_id', 'i.status as invoice_status'])
            ->all();
    }

    /** Adds "name" and "domain" to each row with kind and relid. */
    private static function addNames(array $rows): void
    {
        $ids = ['service' => [], 'addon' => []];
        foreach ($rows as $row) {
            $ids[$row->kind === 'addon' ? 'addon' : 'service'][] = (int) $row->relid;
        }
        $names = ['service' => [], 'addon' => []];
        if ($ids['service'] !== []) {
            $found = Capsule::table('tblhosting as h')
                ->leftJoin('tblproducts as p', 'p.id', '=', 'h.packageid')
                ->whereIn('h.id', array_unique($ids['service']))
                ->get(['h.id', 'h.domain', 'p.name']);
            foreach ($found as $item) {
                $names['service'][(int) $item->id] = [(string) $item->name, (string) $item->domain];
            }
        }
        if ($ids['addon'] !== []) {
            $found = Capsule::table('tblhostingaddons as a')
                ->leftJoin('tbladdons as d', 'd.id', '=', 'a.addonid')
                ->leftJoin('tblhosting as h', 'h.id', '=', 'a.hostingid')
                ->whereIn('a.id', array_unique($ids['addon']))
                ->get(['a.id', 'a.name as own_name', 'd.name', 'h.domain']);
            foreach ($found as $item) {
                $name = trim((string) $item->own_name) !== '' ? (string) $item->own_name : (string) $item->name;
                $names['addon'][(int) $item->id] = [$name, (string) $item->domain];
            }
        }
        foreach ($rows as $row) {
            $kind = $row->kind === 'addon' ? 'addon' : 'service';
            [$row->name, $row->domain] = $names[$kind][(int) $row->relid] ?? ['', ''];
        }
    }

    /** @return string[] every service and addon of the client, as "service:12", "addon:3" */
    public static function everyServiceOf(int $clientId): array
    {
        $all = [];
        foreach (Capsule::table('tblhosting')->where('userid', $clientId)->pluck('id') as $id) {
            $all[] = 'service:' . (int) $id;
        }
        foreach (Capsule::table('tblhostingaddons')->where('userid', $clientId)->pluck('id') as $id) {
            $all[] = 'addon:' . (int) $id;
        }
        sort($all);

        return $all;
    }
}
