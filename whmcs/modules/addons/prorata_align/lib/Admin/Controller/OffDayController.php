<?php

namespace ProrataAlign\Admin\Controller;

use ProrataAlign\Admin\PageParts;
use ProrataAlign\ClientDays;
use ProrataAlign\EventNotKept;
use ProrataAlign\Page\Format;
use ProrataAlign\Page\Input;
use ProrataAlign\Page\InputError;
use ProrataAlign\Page\Templates;
use ProrataAlign\Page\Text;
use ProrataAlign\Records;
use ProrataAlign\Worker\WorkerClient;
use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The "Off the day" tab (&view=offday, templates/admin/offday.tpl): the services and addons
 * the worker's daily check found off their client's billing day (mod_prorata_off_day, written
 * whole by each run), by client, paged: the item, its next due date, the day, why it is off
 * and what the product does about it; per client "Align these", which aligns the client's
 * listed items to its day as the single-client page aligns (prorata.align_client,
 * requested by admin:<id>).
 *
 * Actions: html() (GET page), align() (POST action=align_offday, client_id; CSRF-checked by
 * the dispatcher).
 */
final class OffDayController
{
    use PageParts;

    public const VIEW = 'offday';
    public const ACTION = 'align_offday';
    public const PAGE_SIZE = 20;

    /** The reasons (domain/drift.py DriftReason) and actions (DriftAction) the list holds. */
    public const REASONS = ['new-order', 'addon', 'upgrade', 'cycle-change', 'moved-by-staff', 'unknown'];
    public const ACTIONS = ['report', 'wait'];

    private Text $t;
    private string $link;
    private WorkerClient $worker;
    private Format $format;
    private int $adminId;

    public function __construct(Text $t, string $link, WorkerClient $worker, Format $format, int $adminId)
    {
        $this->t = $t;
        $this->link = $link;
        $this->worker = $worker;
        $this->format = $format;
        $this->adminId = $adminId;
    }

    public static function requested(): bool
    {
        return ($_GET['view'] ?? '') === self::VIEW;
    }

    /** "Align these": the client's listed services and addons, to the client's day. */
    public function align(): void
    {
        try {
            $clientId = Input::client($_POST['client_id'] ?? null);
        } catch (InputError $e) {
            $this->alert('danger', $this->t->html($e->key, ...$e->args));

            return;
        }
        $current = ClientDays::of($clientId);
        $items = self::itemsOf($clientId);
        $name = Records::clientName(Records::client($clientId));
        if ($current === null || $items === []) {
            $this->alert('warning', $this->t->html('offday_nothing', $name));

            return;
        }
        if (self::waiting([$clientId]) !== []) {
            // aligning again would withdraw the alignment the client may be paying right now
            $this->alert('warning', $this->t->html('offday_refused_waiting', $name));

            return;
        }
        try {
            $sent = $this->worker->align($clientId, ['day' => (int) $current->day, 'services' => $items], 'admin:' . $this->adminId);
        } catch (EventNotKept $e) {
            $this->alert('danger', $this->t->html('error_not_kept', $e->getMessage()));

            return;
        }
        if (!$sent->wasSent()) {
            $this->alert('warning', $this->t->html('align_outbox', $sent->eventId));

            return;
        }
        $meta = $this->worker->awaitResult($sent->eventId);
        $result = is_array($meta['result'] ?? null) ? $meta['result'] : [];
        $status = (string) ($result['status'] ?? '');
        if ($meta === null) {
            $this->alert('info', $this->t->html('align_queued', $sent->eventId));
        } elseif (($meta['status'] ?? '') !== 'SUCCESS' || $result === []) {
            $this->alert('danger', $this->t->html('align_failed', WorkerClient::failure($meta)));
        } elseif ($status === 'rejected') {
            $this->alert('danger', $this->t->html('align_rejected', (string) ($result['message'] ?? '')));
        } elseif ($status === 'nothing-to-align') {
            $this->alert('info', $this->t->html('align_nothing'));
        } else {
            $this->alert('success', $this->t->html(
                'offday_aligned',
                $name,
                ClientDays::ordinal((int) $current->day, $this->t->get('day_ordinals')),
                count($result['aligned'] ?? []),
                count($result['invoices'] ?? [])
            ));
        }
    }

    /**
     * Of these clients, those with an alignment waiting for payment now (a pending record):
     * the daily list may be older than the last alignment.
     *
     * @param int[] $clientIds
     * @return int[]
     */
    private static function waiting(array $clientIds): array
    {
        if ($clientIds === []) {
            return [];
        }
        try {
            return array_map('intval', Capsule::table('mod_prorata_records')
                ->whereIn('client_id', $clientIds)
                ->where('state', 'pending')
                ->distinct()
                ->pluck('client_id')
                ->all());
        } catch (\Throwable $e) {
            return [];
        }
    }

    /** @return string[] the client's listed items as the worker names them ("service:12", "addon:3") */
    private static function itemsOf(int $clientId): array
    {
        try {
            $rows = Capsule::table('mod_prorata_off_day')->where('client_id', $clientId)->get(['kind', 'relid'])->all();
        } catch (\Throwable $e) {
            return [];
        }
        $items = [];
        foreach ($rows as $row) {
            $items[] = ($row->kind === 'addon' ? 'addon' : 'service') . ':' . (int) $row->relid;
        }
        sort($items);

        return array_values(array_unique($items));
    }

    public function html(): string
    {
        $page = Input::page($_GET['page'] ?? 1);
        try {
            $total = (int) Capsule::table('mod_prorata_off_day')->count();
            $pages = max(1, (int) ceil($total / self::PAGE_SIZE));
            $page = min($page, $pages);
            $rows = $this->rows($page);
            $foundAt = (string) Capsule::table('mod_prorata_off_day')->max('found_at');
        } catch (\Throwable $e) {
            // the table arrives with the worker's migration 12 (`prorata db upgrade`)
            return Templates::render('admin/offday', ['lang' => $this->t->all(), 'no_tables' => true]);
        }
        $clients = [];
        foreach ($rows as $row) {
            $id = (int) $row->client_id;
            if (!isset($clients[$id])) {
                $name = trim(($row->firstname ?? '') . ' ' . ($row->lastname ?? ''));
                $clients[$id] = [
                    'id' => $id,
                    'name' => $name !== '' ? $name : '#' . $id,
                    'href' => $this->url(['client_id' => $id]),
                    'day' => ClientDays::ordinal((int) $row->day, $this->t->get('day_ordinals')),
                    'waiting' => false,
                    'confirm' => json_encode(
                        $this->t->get('offday_confirm', $name, ClientDays::ordinal((int) $row->day, $this->t->get('day_ordinals'))),
                        JSON_UNESCAPED_UNICODE | JSON_HEX_TAG
                    ),
                    'rows' => [],
                ];
            }
            $reason = in_array($row->reason, self::REASONS, true) ? (string) $row->reason : 'unknown';
            $action = in_array($row->action, self::ACTIONS, true) ? (string) $row->action : 'report';
            $clients[$id]['waiting'] = $clients[$id]['waiting'] || $action === 'wait';
            $clients[$id]['rows'][] = [
                'kind' => $row->kind === 'addon' ? 'addon' : 'service',
                'kind_text' => $this->t->get($row->kind === 'addon' ? 'kind_addon' : 'kind_service'),
                'relid' => (int) $row->relid,
                'name' => (string) ($row->item_name ?? ''),
                'domain' => (string) ($row->domain ?? ''),
                'next_due' => $this->format->date((string) $row->next_due),
                'reason' => $reason,
                'reason_text' => $this->t->get('offday_reason_' . str_replace('-', '_', $reason)),
                'action' => $action,
                'action_text' => $this->t->get('offday_action_' . $action),
            ];
        }
        foreach (self::waiting(array_keys($clients)) as $id) {
            $clients[$id]['waiting'] = true;
        }
        $pageLinks = [];
        for ($n = 1; $pages > 1 && $n <= $pages; $n++) {
            $pageLinks[] = ['number' => $n, 'href' => $this->url(['view' => self::VIEW, 'page' => $n]), 'active' => $n === $page];
        }

        return Templates::render('admin/offday', [
            'lang' => $this->t->all(),
            'no_tables' => false,
            'link' => $this->link . '&view=' . self::VIEW . ($page > 1 ? '&page=' . $page : ''),
            'token' => $clients === [] ? '' : $this->token(),
            'clients' => array_values($clients),
            'pages' => $pageLinks,
            'count_text' => $total === 0 ? '' : $this->t->get('offday_count', $total, $this->format->date($foundAt) . ' ' . substr($foundAt, 11, 5)),
        ]);
    }

    /** One page of the list, by client, with each item's name (product or addon) and domain. */
    private function rows(int $page): array
    {
        return Capsule::table('mod_prorata_off_day as o')
            ->leftJoin('tblclients as c', 'c.id', '=', 'o.client_id')
            ->leftJoin('tblhosting as h', function ($join) {
                $join->on('h.id', '=', 'o.relid')->where('o.kind', '=', 'service');
            })
            ->leftJoin('tblproducts as p', 'p.id', '=', 'h.packageid')
            ->leftJoin('tblhostingaddons as a', function ($join) {
                $join->on('a.id', '=', 'o.relid')->where('o.kind', '=', 'addon');
            })
            ->leftJoin('tbladdons as d', 'd.id', '=', 'a.addonid')
            ->leftJoin('tblhosting as ah', 'ah.id', '=', 'a.hostingid')
            ->orderBy('o.client_id')
            ->orderBy('o.kind', 'desc') // services first, then their addons
            ->orderBy('o.relid')
            ->offset(($page - 1) * self::PAGE_SIZE)
            ->limit(self::PAGE_SIZE)
            ->get([
                'o.client_id', 'o.kind', 'o.relid', 'o.next_due', 'o.day', 'o.reason', 'o.action',
                'c.firstname', 'c.lastname',
                Capsule::raw("COALESCE(p.name, NULLIF(a.name, ''), d.name) as item_name"),
                Capsule::raw('COALESCE(h.domain, ah.domain) as domain'),
            ])
            ->all();
    }
}
