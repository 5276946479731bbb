<?php

namespace ProrataAlign\Admin\Controller;

use ProrataAlign\Admin\PageParts;
use ProrataAlign\Records;
use ProrataAlign\Admin\Withdrawals;
use ProrataAlign\EventNotKept;
use ProrataAlign\Page\Format;
use ProrataAlign\Page\Input;
use ProrataAlign\Page\InputError;
use ProrataAlign\Page\Templates;
use ProrataAlign\Page\Text;
use ProrataAlign\PreviewError;
use ProrataAlign\SentEvent;
use ProrataAlign\Worker\WorkerClient;
use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * "Align one client": find a client, preview and align, and the created invoices. Bootstrap 3
 * markup, as WHMCS's admin area. Everything printed goes through Format::e() or Text::html().
 *
 * Actions: search() (GET q), preview() (GET client_id, POST action=preview), align()
 * (POST action=align, CSRF-checked by the dispatcher).
 */
final class SingleClientController
{
    use PageParts;

    private Text $t;
    private string $link;
    private WorkerClient $worker;
    private Format $format;
    private int $adminId;
    /** @var array<string, string> gateway system name => display name */
    private array $gatewayNames = [];

    public function __construct(Text $t, string $link, WorkerClient $worker, Format $format, int $adminId)
    {
        $this->t = $t;
        $this->link = $link;
        $this->worker = $worker;
        $this->format = $format;
        $this->adminId = $adminId;
    }

    /** The client the request names (GET or POST client_id), or null; bad input is an alert. */
    public function requestedClient(): ?int
    {
        $post = ($_SERVER['REQUEST_METHOD'] ?? 'GET') === 'POST';
        $rawClient = $post ? ($_POST['client_id'] ?? null) : ($_GET['client_id'] ?? null);
        if ($rawClient === null || $rawClient === '') {
            return null;
        }
        try {
            return Input::client($rawClient);
        } catch (InputError $e) {
            $this->alert('danger', $this->t->html($e->key, ...$e->args));

            return null;
        }
    }

    // -- search ---------------------------------------------------------------------------

    public function search(): string
    {
        $term = is_string($_GET['q'] ?? null) ? trim($_GET['q']) : '';
        $clients = $term === '' ? [] : Records::searchClients($term);
        $rows = [];
        foreach ($clients as $client) {
            $rows[] = [
                'id' => (int) $client->id,
                'href' => $this->url(['client_id' => (int) $client->id]),
                'name' => Records::clientName($client),
                'company' => (string) $client->companyname,
                'email' => (string) $client->email,
                'status' => (string) $client->status,
            ];
        }

        return Templates::render('admin/search', [
            'lang' => $this->t->all(),
            'form_path' => $this->linkPath(),
            'form_query' => $this->linkQuery(),
            'term' => $term,
            'clients' => $rows,
            'none_text' => $this->t->get('search_none', $term),
            'more_text' => count($clients) >= Records::SEARCH_LIMIT ? $this->t->get('search_more', Records::SEARCH_LIMIT) : '',
        ]);
    }

    // -- preview --------------------------------------------------------------------------

    /**
     * The run's options from the request: day, cycles, and the services left out.
     *
     * @return array{day: int, cycles: string[], excluded: string[], services: ?array}
     * @throws InputError
     */
    private function options(int $clientId): array
    {
        $source = ($_SERVER['REQUEST_METHOD'] ?? 'GET') === 'POST' ? $_POST : $_GET;
        $settings = $this->worker->settings();
        $day = isset($source['day']) ? Input::day($source['day']) : $settings->prorataDay();
        $enabled = $this->enabledCycles();
        if (isset($source['selection'])) {
            $cycles = Input::cycles($source['cycles'] ?? []);
            $offered = Input::services($source['offered'] ?? [], $clientId);
            $ticked = Input::services($source['services'] ?? [], $clientId);
            $excluded = array_values(array_diff($offered, $ticked));
        } else {
            $cycles = $enabled;
            $excluded = [];
        }
        // the worker aligns only cycles the settings enable; a narrower choice narrows the run
        $runCycles = array_values(array_intersect($cycles, $enabled));
        if ($runCycles === []) {
            throw new InputError('error_no_cycle');
        }
        $services = null;
        if ($excluded !== []) {
            $services = array_values(array_diff(self::everyServiceOf($clientId), $excluded));
        }

        return ['day' => $day, 'cycles' => $runCycles, 'excluded' => $excluded, 'services' => $services];
    }

    /** @return string[] every service and addon of the client, as "service:12", "addon:3" */
    private static function everyServiceOf(int $clientId): array
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

    /** @return string[] the cycles the "Prorate ..." settings enable */
    private function enabledCycles(): array
    {
        return Input::enabledCycles($this->worker->settings());
    }

    /** What the admin looked at: aligning anything else first shows the new preview. */
    private static function signature(array $options): string
    {
        return sha1(json_encode([$options['day'], $options['cycles'], $options['excluded']]));
    }

    public function preview(int $clientId, ?array $options = null): string
    {
        $client = Records::client($clientId);
        $name = Records::clientName($client);
        $title = $this->t->html('preview_title', $name, $clientId);
        $html = '<div class="panel panel-default" id="prorata-preview">'
            . '<div class="panel-heading"><h3 class="panel-title">' . $title . '</h3></div><div class="panel-body">';
        $details = array_filter([(string) $client->companyname, (string) $client->email]);
        if ($details !== []) {
            $html .= '<p class="text-muted">' . Format::e(implode(' · ', $details)) . '</p>';
        }
        try {
            $options ??= $this->options($clientId);
        } catch (InputError $e) {
            return $html . $this->inlineAlert('danger', $this->t->html($e->key, ...$e->args)) . '</div></div>';
        }
        $format = $this->format->withCurrency(...Format::currencyOf($clientId));
        try {
            $plan = $this->worker->preview($clientId, [
                'day' => $options['day'],
                'cycles' => $options['cycles'],
                'services' => $options['services'],
            ]);
        } catch (PreviewError $e) {
            return $html . $this->inlineAlert('danger', $this->t->html('error_preview_' . $e->reason, $e->getMessage()))
                . $this->optionsForm($clientId, $name, $options, null, $format) . '</div></div>';
        }

        return $html . Withdrawals::notice($this->t, $plan, $format)
            . $this->optionsForm($clientId, $name, $options, $plan, $format) . '</div></div>';
    }

    /** The preview form: options, the lines with their boxes, totals, and the buttons. */
    private function optionsForm(int $clientId, string $name, array $options, ?array $plan, Format $format): string
    {
        $enabled = $this->enabledCycles();
        $html = '<form method="post" action="' . Format::e($this->link) . '" class="prorata-preview-form">'
            . $this->tokenField()
            . '<input type="hidden" name="client_id" value="' . $clientId . '">'
            . '<input type="hidden" name="selection" value="1">'
            . '<input type="hidden" name="previewed" value="' . Format::e(self::signature($options)) . '">'
            . $this->dayAndCycles('prorata', $options['day'], $options['cycles'], $enabled,
                '<button type="submit" name="action" value="preview" class="btn btn-default btn-sm" id="prorata-refresh">'
                . $this->t->html('button_refresh') . '</button>');
        if ($plan === null) {
            return $html . '</form>';
        }

        $html .= '<p class="prorata-plan-facts">'
            . $this->t->html('preview_facts', $format->date((string) ($plan['today'] ?? '')), (int) ($plan['day'] ?? 0))
            . ' ' . $this->t->html(($plan['mode'] ?? '') === 'fixed' ? 'mode_fixed' : 'mode_calendar') . '</p>';
        $html .= $this->linesTable($plan, $format);
        $html .= $this->totalsTable($plan, $format);

        $aligned = 0;
        foreach ($plan['lines'] ?? [] as $line) {
            $aligned += ($line['reason'] ?? null) === null ? 1 : 0;
        }
        $confirm = $this->t->get('confirm_align', $aligned, $name, (int) $plan['day']);
        $html .= '<p><button type="submit" name="action" value="align" class="btn btn-primary" id="prorata-align"'
            . ($aligned === 0 ? ' disabled' : '')
            . ' onclick="return confirm(' . Format::e(json_encode($confirm, JSON_UNESCAPED_UNICODE | JSON_HEX_TAG)) . ');">'
            . $this->t->html('button_align') . '</button> '
            . '<span class="help-block" style="display:inline">' . $this->t->html('align_help') . '</span></p>';

        return $html . '</form>';
    }

    private function linesTable(array $plan, Format $format): string
    {
        $lines = is_array($plan['lines'] ?? null) ? $plan['lines'] : [];
        if ($lines === []) {
            return '<p class="text-muted">' . $this->t->html('preview_no_services') . '</p>';
        }
        $html = '<table class="table table-striped table-condensed prorata-lines"><thead><tr><th></th>'
            . $this->th('col_item') . $this->th('col_domain') . $this->th('col_cycle') . $this->th('col_status')
            . $this->th('col_current_due') . $this->th('col_new_due') . $this->th('col_days', 'text-right')
            . $this->th('col_amount', 'text-right') . $this->th('col_payment_method') . $this->th('col_note')
            . '</tr></thead><tbody>';
        foreach ($lines as $line) {
            $key = ($line['type'] === 'addon' ? 'addon' : 'service') . ':' . (int) $line['id'];
            $reason = $line['reason'] ?? null;
            $box = '';
            if ($reason === null || $reason === 'not-selected') {
                $box = '<input type="hidden" name="offered[]" value="' . Format::e($key) . '">'
                    . '<input type="checkbox" name="services[]" value="' . Format::e($key) . '"'
                    . ' aria-label="' . $this->t->html('select_item', (string) $line['name']) . '"'
                    . ($reason === null ? ' checked' : '') . '>';
            }
            $kind = $line['type'] === 'addon' ? $this->t->html('kind_addon') : $this->t->html('kind_service');
            $html .= '<tr class="' . ($reason === null ? 'prorata-aligned' : 'prorata-skipped text-muted') . '"'
                . ' data-item="' . Format::e($key) . '">'
                . '<td>' . $box . '</td>'
                . '<td>' . Format::e($line['name'] ?? '') . ' <small class="text-muted">' . $kind . ' #' . (int) $line['id'] . '</small></td>'
                . '<td>' . Format::e($line['domain'] ?? '') . '</td>'
                . '<td>' . Format::e($line['billingcycle'] ?? '') . '</td>'
                . '<td>' . Format::e($line['status'] ?? '') . '</td>'
                . '<td class="text-nowrap">' . Format::e($format->date($line['old_due'] ?? null)) . '</td>'
                . '<td class="text-nowrap">' . ($reason === null ? '<strong>' . Format::e($format->date($line['new_due'] ?? null)) . '</strong>' : '') . '</td>'
                . '<td class="text-right">' . ($line['days'] === null ? '' : (int) $line['days']) . '</td>'
                . '<td class="text-right text-nowrap">' . Format::e($format->money($line['amount'] ?? null)) . '</td>'
                . '<td>' . Format::e($this->gatewayName((string) ($line['paymentmethod'] ?? ''))) . '</td>'
                . '<td>' . $this->noteHtml($line) . '</td></tr>';
        }

        return $html . '</tbody></table>';
    }

    /** Why a line is left out, with a link to the invoice that blocks it. */
    private function noteHtml(array $line): string
    {
        $reason = $line['reason'] ?? null;
        if ($reason === null) {
            return ($line['immediate'] ?? false) ? $this->t->html('note_immediate') : '';
        }
        if ($reason === 'blocked' && !empty($line['blocked_by_invoice'])) {
            $id = (int) $line['blocked_by_invoice'];

            return '<span class="label label-danger">' . $this->t->html('reason_blocked_short') . '</span> '
                . $this->t->html('reason_blocked_before') . ' '
                . '<a href="invoices.php?action=edit&amp;id=' . $id . '" class="prorata-blocking-invoice">'
                . $this->t->html('invoice_number', $id) . '</a>, ' . $this->t->html('reason_blocked_after');
        }

        return $this->t->html('reason_' . str_replace('-', '_', (string) $reason), (string) ($line['status'] ?? ''));
    }

    private function totalsTable(array $plan, Format $format): string
    {
        $invoices = is_array($plan['invoices'] ?? null) ? $plan['invoices'] : [];
        $html = '<h4>' . $this->t->html('totals_title') . '</h4>';
        if ($invoices === []) {
            return $html . '<p class="text-muted prorata-no-invoice">' . $this->t->html('totals_none') . '</p>';
        }
        $html .= '<table class="table table-condensed prorata-totals"><thead><tr>'
            . $this->th('col_payment_method') . $this->th('col_lines', 'text-right') . $this->th('col_invoice_due')
            . $this->th('col_subtotal', 'text-right') . $this->th('col_tax', 'text-right') . $this->th('col_tax2', 'text-right')
            . $this->th('col_total', 'text-right') . '</tr></thead><tbody>';
        foreach ($invoices as $invoice) {
            $html .= '<tr data-gateway="' . Format::e($invoice['paymentmethod'] ?? '') . '">'
                . '<td>' . Format::e($this->gatewayName((string) ($invoice['paymentmethod'] ?? ''))) . '</td>'
                . '<td class="text-right">' . count($invoice['lines'] ?? []) . '</td>'
                . '<td>' . Format::e($format->date($invoice['duedate'] ?? null)) . '</td>'
                . '<td class="text-right">' . Format::e($format->money($invoice['subtotal'] ?? null)) . '</td>'
                . '<td class="text-right">' . Format::e($format->money($invoice['tax'] ?? null)) . '</td>'
                . '<td class="text-right">' . Format::e($format->money($invoice['tax2'] ?? null)) . '</td>'
                . '<td class="text-right"><strong>' . Format::e($format->money($invoice['total'] ?? null)) . '</strong></td></tr>';
            // the client group's discount lines, already in the subtotal: the lines plus this row make it
            if (($invoice['discount'] ?? '0.00') !== '0.00' && ($invoice['discount'] ?? '') !== '') {
                $html .= '<tr class="prorata-discount"><td colspan="3" class="text-right">' . $this->t->html('client_discount') . '</td>'
                    . '<td class="text-right">' . Format::e($format->money($invoice['discount'])) . '</td><td colspan="3"></td></tr>';
            }
        }

        return $html . '</tbody></table>';
    }

    // -- align ----------------------------------------------------------------------------

    public function align(int $clientId): string
    {
        try {
            $options = $this->options($clientId);
            $ticked = Input::services($_POST['services'] ?? [], $clientId);
        } catch (InputError $e) {
            $this->alert('danger', $this->t->html($e->key, ...$e->args));

            return '';
        }
        if ($ticked === []) {
            $this->alert('warning', $this->t->html('error_nothing_selected'));

            return $this->preview($clientId, $options);
        }
        if (!hash_equals(self::signature($options), is_string($_POST['previewed'] ?? null) ? $_POST['previewed'] : '')) {
            $this->alert('info', $this->t->html('align_options_changed'));

            return $this->preview($clientId, $options);
        }
        try {
            $sent = $this->worker->align(
                $clientId,
                ['day' => $options['day'], 'cycles' => $options['cycles'], 'services' => $options['services']],
                'admin:' . $this->adminId
            );
        } catch (EventNotKept $e) {
            $this->alert('danger', $this->t->html('error_not_kept', $e->getMessage()));

            return '';
        }

        return $this->resultPanel($clientId, $sent);
    }

    private function resultPanel(int $clientId, SentEvent $sent): string
    {
        $client = Records::client($clientId);
        $html = '<div class="panel panel-default" id="prorata-result">'
            . '<div class="panel-heading"><h3 class="panel-title">'
            . $this->t->html('result_title', Records::clientName($client), $clientId) . '</h3></div><div class="panel-body">';
        if (!$sent->wasSent()) {
            $html .= $this->inlineAlert('warning', $this->t->html('align_outbox', $sent->eventId));
        } else {
            $meta = $this->worker->awaitResult($sent->eventId);
            $html .= $this->outcomeHtml($clientId, $sent, $meta);
        }
        $html .= '<p><a class="btn btn-default" href="' . Format::e($this->url(['client_id' => $clientId])) . '">'
            . $this->t->html('button_back_to_preview') . '</a></p>';

        return $html . '</div></div>';
    }

    private function outcomeHtml(int $clientId, SentEvent $sent, ?array $meta): string
    {
        if ($meta === null) {
            return $this->inlineAlert('info', $this->t->html('align_queued', $sent->eventId));
        }
        if (($meta['status'] ?? '') !== 'SUCCESS' || !is_array($meta['result'] ?? null)) {
            return $this->inlineAlert('danger', $this->t->html('align_failed', WorkerClient::failure($meta)));
        }
        $result = $meta['result'];
        $status = (string) ($result['status'] ?? '');
        if ($status === 'rejected') {
            return $this->inlineAlert('danger', $this->t->html('align_rejected', (string) ($result['message'] ?? '')));
        }
        if ($status === 'nothing-to-align') {
            return $this->inlineAlert('info', $this->t->html('align_nothing'));
        }
        $format = $this->format->withCurrency(...Format::currencyOf($clientId));
        $invoices = is_array($result['invoices'] ?? null) ? $result['invoices'] : [];
        $html = $this->inlineAlert(
            'success',
            $this->t->html('align_done', count($result['aligned'] ?? []), count($invoices)),
            'prorata-aligned-message'
        );
        if ($invoices !== []) {
            $html .= '<table class="table table-condensed prorata-created-invoices"><thead><tr>'
                . $this->th('col_invoice') . $this->th('col_payment_method') . $this->th('col_invoice_due')
                . $this->th('col_lines', 'text-right') . $this->th('col_total', 'text-right') . '</tr></thead><tbody>';
            foreach ($invoices as $invoice) {
                $id = (int) ($invoice['id'] ?? 0);
                $html .= '<tr><td><a href="invoices.php?action=edit&amp;id=' . $id . '" class="prorata-invoice-link">'
                    . $this->t->html('invoice_number', $id) . '</a></td>'
                    . '<td>' . Format::e($this->gatewayName((string) ($invoice['paymentmethod'] ?? ''))) . '</td>'
                    . '<td>' . Format::e($format->date($invoice['duedate'] ?? null)) . '</td>'
                    . '<td class="text-right">' . (int) ($invoice['lines'] ?? 0) . '</td>'
                    . '<td class="text-right">' . Format::e($format->money($invoice['total'] ?? null)) . '</td></tr>';
            }
            $html .= '</tbody></table>';
        }
        $immediate = 0;
        foreach ($result['aligned'] ?? [] as $line) {
            $immediate += !empty($line['immediate']) ? 1 : 0;
        }
        $notes = [];
        if ($immediate > 0) {
            $notes[] = $this->t->html('align_immediate', $immediate);
        }
        foreach ($result['changed_invoices'] ?? [] as $id) {
            $notes[] = $this->t->html('align_changed_invoice', (int) $id);
        }
        foreach ($result['deleted_invoices'] ?? [] as $id) {
            $notes[] = $this->t->html('align_deleted_invoice', (int) $id);
        }
        if ($status === 'repeat') {
            $notes[] = $this->t->html('align_repeat');
        }
        if ($notes !== []) {
            $html .= '<ul class="prorata-result-notes"><li>' . implode('</li><li>', $notes) . '</li></ul>';
        }

        return $html . '<p class="help-block">' . $this->t->html('align_pay_note') . '</p>';
    }

    // -- small pieces ---------------------------------------------------------------------

    private function gatewayName(string $gateway): string
    {
        if ($gateway === '') {
            return '';
        }
        if (!isset($this->gatewayNames[$gateway])) {
            $name = null;
            try {
                $name = Capsule::table('tblpaymentgateways')
                    ->where('gateway', $gateway)
                    ->where('setting', 'name')
                    ->value('value');
            } catch (\Throwable $e) {
                $name = null; // no gateway table: show the system name
            }
            $this->gatewayNames[$gateway] = is_string($name) && $name !== '' ? $name : $gateway;
        }

        return $this->gatewayNames[$gateway];
    }
}
