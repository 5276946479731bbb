<?php

namespace ProrataAlign\Admin\Controller;

use ProrataAlign\Admin\PageParts;
use ProrataAlign\Admin\PageWindow;
use ProrataAlign\Admin\Words;
use ProrataAlign\Records;
use ProrataAlign\EventNotKept;
use ProrataAlign\InvoiceStatuses;
use ProrataAlign\Page\Format;
use ProrataAlign\Page\Input;
use ProrataAlign\Page\InputError;
use ProrataAlign\Page\Templates;
use ProrataAlign\Page\Text;
use ProrataAlign\Worker\WorkerClient;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The alignments (mod_prorata_records) on the admin page: the list, filtered by state and
 * optionally by client, paged; and "Cancel invoice" on a pending one (cancels the invoice in
 * WHMCS and tells the worker, which puts the dates back).
 *
 * Actions: index() (GET state, page; the client the page shows), cancel() (POST
 * action=cancel, CSRF-checked by the dispatcher).
 */
final class RecordsController
{
    use PageParts;

    private Text $t;
    private string $link;
    private WorkerClient $worker;
    private Format $format;
    private Words $words;

    public function __construct(Text $t, string $link, WorkerClient $worker, Format $format)
    {
        $this->t = $t;
        $this->words = new Words($t);
        $this->link = $link;
        $this->worker = $worker;
        $this->format = $format;
    }

    public function cancel(): void
    {
        try {
            $invoiceId = Input::id($_POST['invoice_id'] ?? null, 'error_invoice');
        } catch (InputError $e) {
            $this->alert('danger', $this->t->html($e->key, ...$e->args));

            return;
        }
        $pending = Records::pendingOnInvoice($invoiceId);
        if ($pending === []) {
            $this->alert('danger', $this->t->html('error_cancel_not_pending', $invoiceId));

            return;
        }
        $status = (string) $pending[0]->invoice_status;
        if (!in_array($status, InvoiceStatuses::REMOVABLE, true)) {
            $this->alert('danger', $this->t->html('error_cancel_status', $invoiceId, $status));

            return;
        }
        if (!function_exists('localAPI')) {
            $this->alert('danger', $this->t->html('error_cancel_api', $invoiceId, 'localAPI'));

            return;
        }
        $answer = localAPI('UpdateInvoice', ['invoiceid' => $invoiceId, 'status' => 'Cancelled']);
        if (($answer['result'] ?? '') !== 'success') {
            $this->alert('danger', $this->t->html('error_cancel_api', $invoiceId, (string) ($answer['message'] ?? '')));

            return;
        }
        try {
            $sent = $this->worker->invoiceCancelled($invoiceId, (int) $pending[0]->client_id);
        } catch (EventNotKept $e) {
            $this->alert('danger', $this->t->html('error_not_kept', $e->getMessage()));

            return;
        }
        $this->alert('success', $this->t->html('cancel_done', $invoiceId));
        if (!$sent->wasSent()) {
            $this->alert('warning', $this->t->html('align_outbox', $sent->eventId));
        }
    }

    public function index(?int $clientId): string
    {
        $state = Input::state($_GET['state'] ?? '');
        $page = Input::page($_GET['page'] ?? 1);
        try {
            $list = Records::alignments($state, $clientId, $page);
        } catch (\Throwable $e) {
            // the worker's tables are missing until `prorata db upgrade` has run
            return Templates::render('admin/records', ['lang' => $this->t->all(), 'no_tables' => true]);
        }

        return Templates::render('admin/records', [
            'lang' => $this->t->all(),
            'no_tables' => false,
            'title' => $clientId === null
                ? $this->t->get('alignments_title')
                : $this->t->get('alignments_title_client', Records::clientName(Records::client($clientId))),
            'form_path' => $this->linkPath(),
            'form_query' => $this->linkQuery(),
            'client_id' => $clientId,
            'states' => Input::STATES,
            'state' => $state,
            'all_clients_href' => $this->url(['state' => $state]),
            'link' => $this->link,
            'token' => $list['rows'] === [] ? '' : $this->token(),
            'rows' => $this->rows($list['rows']),
            'pages_html' => $this->pages($list, $state, $clientId),
            'count_text' => $this->t->get('alignments_count', $list['total']),
        ]);
    }

    /** The list's rows as the template shows them. */
    private function rows(array $records): array
    {
        $formats = [];
        $rows = [];
        foreach ($records as $row) {
            $formats[(int) $row->client_id] ??= $this->format->withCurrency(...Format::currencyOf((int) $row->client_id));
            $format = $formats[(int) $row->client_id];
            $clientName = trim($row->firstname . ' ' . $row->lastname);
            $cancellable = $row->state === 'pending' && $row->invoice_id !== null
                && in_array($row->invoice_status, InvoiceStatuses::REMOVABLE, true);
            $rows[] = [
                'id' => (int) $row->id,
                'state' => (string) $row->state,
                'created' => $format->date((string) $row->created_at),
                'client_href' => $this->url(['client_id' => (int) $row->client_id]),
                'client_name' => $clientName !== '' ? $clientName : '#' . $row->client_id,
                'name' => (string) $row->name,
                'domain' => (string) $row->domain,
                'kind_text' => $this->t->get($row->kind === 'addon' ? 'kind_addon' : 'kind_service'),
                'relid' => (int) $row->relid,
                'old_due' => $format->date((string) $row->old_due),
                'new_due' => $format->date((string) $row->new_due),
                'amount' => $format->money((string) $row->amount),
                'invoice_id' => $row->invoice_id === null ? null : (int) $row->invoice_id,
                'invoice_text' => $row->invoice_id === null ? '' : $this->t->get('invoice_number', (int) $row->invoice_id),
                'invoice_status' => $row->invoice_status === null ? null : $this->words->status((string) $row->invoice_status),
                'requester' => $this->t->requester((string) $row->requested_by),
                'state_class' => self::stateClass((string) $row->state),
                'state_text' => $this->t->get('state_' . (in_array($row->state, Input::STATES, true) ? $row->state : 'pending')),
                // JSON for the confirm() call, escaped for the attribute by the template
                'cancel_confirm' => $cancellable
                    ? json_encode($this->t->get('confirm_cancel', (int) $row->invoice_id), JSON_UNESCAPED_UNICODE | JSON_HEX_TAG)
                    : null,
            ];
        }

        return $rows;
    }

    /** The page links: a window around the current page, never one link per page. */
    private function pages(array $list, string $state, ?int $clientId): string
    {
        $href = function (int $page) use ($state, $clientId): string {
            $params = ['state' => $state, 'page' => $page];
            if ($clientId !== null) {
                $params['client_id'] = $clientId;
            }

            return $this->url($params);
        };

        return Templates::render('admin/pages', [
            'pages' => PageWindow::links($this->t, (int) $list['page'], (int) $list['pages'], $href),
            'label' => $this->t->get('alignments_title'),
            'class' => 'prorata-pages',
        ]);
    }

    private static function stateClass(string $state): string
    {
        return [
            'pending' => 'warning',
            'paid' => 'success',
            'cancelled' => 'default',
            'expired' => 'danger',
            'superseded' => 'info',
            'withdrawn' => 'default',
        ][$state] ?? 'default';
    }
}
