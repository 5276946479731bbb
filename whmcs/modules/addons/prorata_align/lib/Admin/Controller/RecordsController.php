<?php

namespace ProrataAlign\Admin\Controller;

use ProrataAlign\Admin\PageParts;
use ProrataAlign\Records;
use ProrataAlign\EventNotKept;
use ProrataAlign\InvoiceStatuses;
use ProrataAlign\Page\Format;
use ProrataAlign\Page\Input;
use ProrataAlign\Page\InputError;
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

    public function __construct(Text $t, string $link, WorkerClient $worker, Format $format)
    {
        $this->t = $t;
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
            return '<div class="panel panel-default" id="prorata-alignments"><div class="panel-body">'
                . $this->inlineAlert('warning', $this->t->html('error_no_tables')) . '</div></div>';
        }
        $title = $clientId === null
            ? $this->t->html('alignments_title')
            : $this->t->html('alignments_title_client', Records::clientName(Records::client($clientId)));
        $html = '<div class="panel panel-default" id="prorata-alignments">'
            . '<div class="panel-heading"><h3 class="panel-title">' . $title . '</h3></div><div class="panel-body">'
            . '<form method="get" action="' . Format::e($this->linkPath()) . '" class="form-inline prorata-filter">'
            . $this->linkHiddenFields()
            . ($clientId !== null ? '<input type="hidden" name="client_id" value="' . $clientId . '">' : '')
            . '<div class="form-group"><label for="prorata-state">' . $this->t->html('label_state') . '</label> '
            . '<select name="state" id="prorata-state" class="form-control input-sm">'
            . '<option value="">' . $this->t->html('state_all') . '</option>';
        foreach (Input::STATES as $option) {
            $html .= '<option value="' . $option . '"' . ($option === $state ? ' selected' : '') . '>'
                . $this->t->html('state_' . $option) . '</option>';
        }
        $html .= '</select></div> <button type="submit" class="btn btn-default btn-sm">' . $this->t->html('button_filter') . '</button>';
        if ($clientId !== null) {
            $html .= ' <a href="' . Format::e($this->url(['state' => $state])) . '">' . $this->t->html('alignments_all_clients') . '</a>';
        }
        $html .= '</form>';
        if ($list['rows'] === []) {
            return $html . '<p class="text-muted prorata-no-alignments">' . $this->t->html('alignments_none') . '</p></div></div>';
        }
        $html .= '<table class="table table-striped table-condensed prorata-alignments"><thead><tr>'
            . $this->th('col_date') . $this->th('col_client') . $this->th('col_item') . $this->th('col_current_due')
            . $this->th('col_new_due') . $this->th('col_amount', 'text-right') . $this->th('col_invoice')
            . $this->th('col_requested_by') . $this->th('col_state') . '<th></th></tr></thead><tbody>';
        $formats = [];
        foreach ($list['rows'] as $row) {
            $formats[(int) $row->client_id] ??= $this->format->withCurrency(...Format::currencyOf((int) $row->client_id));
            $format = $formats[(int) $row->client_id];
            $invoice = '';
            if ($row->invoice_id !== null) {
                $invoice = '<a href="invoices.php?action=edit&amp;id=' . (int) $row->invoice_id . '">'
                    . $this->t->html('invoice_number', (int) $row->invoice_id) . '</a>'
                    . ($row->invoice_status !== null ? ' <small class="text-muted">' . Format::e($row->invoice_status) . '</small>' : '');
            }
            $clientName = trim($row->firstname . ' ' . $row->lastname);
            $html .= '<tr data-record="' . (int) $row->id . '" data-state="' . Format::e($row->state) . '">'
                . '<td class="text-nowrap">' . Format::e($format->date((string) $row->created_at)) . '</td>'
                . '<td><a href="' . Format::e($this->url(['client_id' => (int) $row->client_id])) . '">'
                . Format::e($clientName !== '' ? $clientName : '#' . $row->client_id) . '</a></td>'
                . '<td>' . Format::e($row->name) . ($row->domain !== '' ? ' <small class="text-muted">' . Format::e($row->domain) . '</small>' : '')
                . ' <small class="text-muted">' . ($row->kind === 'addon' ? $this->t->html('kind_addon') : $this->t->html('kind_service'))
                . ' #' . (int) $row->relid . '</small></td>'
                . '<td class="text-nowrap">' . Format::e($format->date((string) $row->old_due)) . '</td>'
                . '<td class="text-nowrap">' . Format::e($format->date((string) $row->new_due)) . '</td>'
                . '<td class="text-right text-nowrap">' . Format::e($format->money((string) $row->amount)) . '</td>'
                . '<td>' . $invoice . '</td>'
                . '<td>' . Format::e($this->requester((string) $row->requested_by)) . '</td>'
                . '<td><span class="label label-' . self::stateClass((string) $row->state) . '">'
                . $this->t->html('state_' . (in_array($row->state, Input::STATES, true) ? $row->state : 'pending')) . '</span></td>'
                . '<td class="text-right text-nowrap">' . $this->cancelForm($row, $clientId) . '</td></tr>';
        }
        $html .= '</tbody></table>' . $this->pagination($list, $state, $clientId);

        return $html . '</div></div>';
    }

    private function cancelForm(object $row, ?int $clientId): string
    {
        if ($row->state !== 'pending' || $row->invoice_id === null
            || !in_array($row->invoice_status, InvoiceStatuses::REMOVABLE, true)
        ) {
            return '';
        }
        $confirm = $this->t->get('confirm_cancel', (int) $row->invoice_id);

        return '<form method="post" action="' . Format::e($this->link) . '" class="prorata-cancel-form" style="display:inline">'
            . $this->tokenField()
            . '<input type="hidden" name="action" value="cancel">'
            . '<input type="hidden" name="invoice_id" value="' . (int) $row->invoice_id . '">'
            . ($clientId !== null ? '<input type="hidden" name="client_id" value="' . $clientId . '">' : '')
            . '<button type="submit" class="btn btn-danger btn-xs" data-invoice="' . (int) $row->invoice_id . '"'
            . ' onclick="return confirm(' . Format::e(json_encode($confirm, JSON_UNESCAPED_UNICODE | JSON_HEX_TAG)) . ');">'
            . $this->t->html('button_cancel_invoice') . '</button></form>';
    }

    private function pagination(array $list, string $state, ?int $clientId): string
    {
        if ($list['pages'] <= 1) {
            return '<p class="text-muted">' . $this->t->html('alignments_count', $list['total']) . '</p>';
        }
        $html = '<nav><ul class="pagination pagination-sm prorata-pages">';
        for ($page = 1; $page <= $list['pages']; $page++) {
            $params = ['state' => $state, 'page' => $page];
            if ($clientId !== null) {
                $params['client_id'] = $clientId;
            }
            $html .= '<li' . ($page === $list['page'] ? ' class="active"' : '') . '>'
                . '<a href="' . Format::e($this->url($params)) . '">' . $page . '</a></li>';
        }

        return $html . '</ul></nav><p class="text-muted">' . $this->t->html('alignments_count', $list['total']) . '</p>';
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

    private function requester(string $requestedBy): string
    {
        return $this->t->requester($requestedBy);
    }
}
