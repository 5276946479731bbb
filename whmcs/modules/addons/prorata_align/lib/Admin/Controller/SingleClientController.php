<?php

namespace ProrataAlign\Admin\Controller;

use ProrataAlign\Admin\GatewayNames;
use ProrataAlign\ClientDays;
use ProrataAlign\Admin\PageParts;
use ProrataAlign\Admin\Words;
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

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * "Align one client": find a client, preview and align, and the created invoices. The markup
 * (Bootstrap 3, as WHMCS's admin area) is in templates/admin/: search.tpl, preview.tpl,
 * result.tpl; this class hands them the data.
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
    private GatewayNames $gateways;
    private Words $words;

    public function __construct(Text $t, string $link, WorkerClient $worker, Format $format, int $adminId)
    {
        $this->t = $t;
        $this->words = new Words($t);
        $this->link = $link;
        $this->worker = $worker;
        $this->format = $format;
        $this->adminId = $adminId;
        $this->gateways = new GatewayNames();
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
                'status' => $this->words->status((string) $client->status),
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
        // a client with a billing day keeps it unless staff choose another for this alignment
        $clientDay = ClientDays::of($clientId);
        $default = $clientDay !== null ? (int) $clientDay->day : $settings->prorataDay();
        $day = isset($source['day']) ? Input::day($source['day']) : $default;
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
            $services = array_values(array_diff(Records::everyServiceOf($clientId), $excluded));
        }

        return ['day' => $day, 'cycles' => $runCycles, 'excluded' => $excluded, 'services' => $services];
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
        $vars = [
            'lang' => $this->t->all(),
            'title' => $this->t->get('preview_title', $name, $clientId),
            'details' => implode(' · ', array_filter([(string) $client->companyname, (string) $client->email])),
            'error' => '',
            'withdraw_html' => '',
            'form' => false,
        ];
        try {
            $options ??= $this->options($clientId);
        } catch (InputError $e) {
            return Templates::render('admin/preview', ['error' => $this->t->get($e->key, ...$e->args)] + $vars);
        }
        $format = $this->format->withCurrency(...Format::currencyOf($clientId));
        $vars = [
            'form' => true,
            'link' => $this->link,
            'token' => $this->token(),
            'client_id' => $clientId,
            'signature' => self::signature($options),
            'options_html' => $this->dayAndCycles(
                'prorata',
                $options['day'],
                $options['cycles'],
                $this->enabledCycles(),
                ['value' => 'preview', 'id' => 'prorata-refresh', 'key' => 'button_refresh']
            ),
            'plan' => null,
        ] + $vars;
        try {
            $plan = $this->worker->preview($clientId, [
                'day' => $options['day'],
                'cycles' => $options['cycles'],
                'services' => $options['services'],
            ]);
        } catch (PreviewError $e) {
            return Templates::render('admin/preview', ['error' => $this->t->get('error_preview_' . $e->reason, $e->getMessage())] + $vars);
        }

        return Templates::render('admin/preview', [
            'withdraw_html' => Withdrawals::notice($this->t, $plan, $format),
            'plan' => $this->planView($plan, $name, $format),
        ] + $vars);
    }

    /** The worker's plan as the preview shows it: its facts, lines, invoices, and the Align button's confirmation. */
    private function planView(array $plan, string $name, Format $format): array
    {
        $lines = [];
        $aligned = 0;
        foreach (is_array($plan['lines'] ?? null) ? $plan['lines'] : [] as $line) {
            $key = ($line['type'] === 'addon' ? 'addon' : 'service') . ':' . (int) $line['id'];
            $reason = $line['reason'] ?? null;
            $aligned += $reason === null ? 1 : 0;
            $lines[] = [
                'key' => $key,
                'aligned' => $reason === null,
                'box' => $reason === null || $reason === 'not-selected',
                'box_label' => $this->t->get('select_item', (string) $line['name']),
                'name' => (string) ($line['name'] ?? ''),
                'kind_text' => $this->t->get($line['type'] === 'addon' ? 'kind_addon' : 'kind_service'),
                'id' => (int) $line['id'],
                'domain' => (string) ($line['domain'] ?? ''),
                'cycle' => $this->words->cycle((string) ($line['billingcycle'] ?? '')),
                'status' => $this->words->status((string) ($line['status'] ?? '')),
                'old_due' => $format->date($line['old_due'] ?? null),
                'new_due' => $format->date($line['new_due'] ?? null),
                'days' => $line['days'] === null ? '' : (int) $line['days'],
                'amount' => $format->money($line['amount'] ?? null),
                'gateway' => $this->gateways->of((string) ($line['paymentmethod'] ?? '')),
                'moved' => $this->moved($line, $plan, $format),
            ] + $this->note($line);
        }
        $invoices = [];
        foreach (is_array($plan['invoices'] ?? null) ? $plan['invoices'] : [] as $invoice) {
            $discount = (string) ($invoice['discount'] ?? '0.00');
            $invoices[] = [
                'paymentmethod' => (string) ($invoice['paymentmethod'] ?? ''),
                'gateway' => $this->gateways->of((string) ($invoice['paymentmethod'] ?? '')),
                'lines' => count($invoice['lines'] ?? []),
                'duedate' => $format->date($invoice['duedate'] ?? null),
                'subtotal' => $format->money($invoice['subtotal'] ?? null),
                'tax' => $format->money($invoice['tax'] ?? null),
                'tax2' => $format->money($invoice['tax2'] ?? null),
                'total' => $format->money($invoice['total'] ?? null),
                'discount' => $discount !== '0.00' && $discount !== '' ? $format->money($discount) : '',
                'credit' => $format->money($invoice['credit'] ?? '0.00'),
                'balance' => $format->money($invoice['balance'] ?? ($invoice['total'] ?? null)),
            ];
        }
        $withdraw = is_array($plan['withdraw'] ?? null) ? count($plan['withdraw']) : 0;
        $confirm = $aligned > 0
            ? $this->t->get('confirm_align', $aligned, $name, (int) $plan['day'])
            : $this->t->get('confirm_withdraw_only', $withdraw, $name);
        $credit = is_array($plan['credit'] ?? null) ? $plan['credit'] : [];

        return [
            'facts' => $this->t->get('preview_facts', $format->date((string) ($plan['today'] ?? '')), (int) ($plan['day'] ?? 0)),
            'mode' => $this->t->get(($plan['mode'] ?? '') === 'fixed' ? 'mode_fixed' : 'mode_calendar'),
            'lines' => $lines,
            'invoices' => $invoices,
            'changes' => $this->changes($plan, $format),
            'credit_applied' => $format->money($credit['applied'] ?? '0.00'),
            'has_credit' => ($credit['applied'] ?? '0.00') !== '0.00',
            'to_pay' => $format->money($plan['to_pay'] ?? '0.00'),
            'aligned' => $aligned,
            // aligning changes something: lines to align, or pending alignments it withdraws
            'can_align' => $aligned > 0 || $withdraw > 0,
            // JSON for the confirm() call, escaped for the attribute by the template
            'confirm' => json_encode($confirm, JSON_UNESCAPED_UNICODE | JSON_HEX_TAG),
        ];
    }

    /** Why P is later than the first day D ("Minimum days to charge"), or ''. */
    private function moved(array $line, array $plan, Format $format): string
    {
        $before = $line['new_due_before_minimum'] ?? null;
        if (($line['new_due_reason'] ?? null) !== 'minimum-days' || !is_string($before) || empty($line['old_due'])) {
            return '';
        }
        $days = (int) round((strtotime($before . ' 00:00:00 UTC') - strtotime($line['old_due'] . ' 00:00:00 UTC')) / 86400);

        return $this->t->get(
            'new_due_reason_minimum_days',
            $format->date($line['new_due'] ?? null),
            $format->date($before),
            $days,
            (int) ($plan['minimum_days'] ?? 0)
        );
    }

    /**
     * The existing invoices aligning deletes, cancels or reduces: before and after, and the
     * lines that go (renewals, promotions, late fees, discounts), as the worker plans them.
     */
    private function changes(array $plan, Format $format): array
    {
        $changes = [];
        foreach (is_array($plan['changes'] ?? null) ? $plan['changes'] : [] as $change) {
            $id = (int) ($change['invoice_id'] ?? 0);
            $action = (string) ($change['action'] ?? '');
            $reason = str_replace('-', '_', (string) ($change['reason'] ?? ''));
            // a reason this page does not know (a newer worker's) reads as the plain one
            $reason = in_array($reason, ['emptied', 'only_fees_left', 'lines_removed', 'mass_pay'], true) ? $reason : 'lines_removed';
            $removed = [];
            foreach (is_array($change['removed_lines'] ?? null) ? $change['removed_lines'] : [] as $item) {
                $removed[] = [
                    'description' => (string) ($item['description'] ?? ''),
                    'kind' => $this->t->get(self::itemKind((string) ($item['type'] ?? ''))),
                    'amount' => $format->money($item['amount'] ?? null),
                ];
            }
            $paidFor = array_map(
                fn ($invoice) => $this->t->get('invoice_number', (int) $invoice),
                is_array($change['mass_pay_for'] ?? null) ? $change['mass_pay_for'] : []
            );
            $changes[] = [
                'id' => $id,
                'text' => $this->t->get('invoice_number', $id),
                'action' => $action,
                'action_text' => $this->t->get('change_' . ($action === 'delete' ? 'delete' : ($action === 'cancel' ? 'cancel' : 'reduce'))),
                'why' => $this->t->get('change_reason_' . $reason, implode(', ', $paidFor)),
                'before' => $format->money($change['before']['total'] ?? null),
                'after' => $action === 'reduce' ? $format->money($change['total'] ?? null) : $this->t->get('change_nothing_to_pay'),
                'removed' => $removed,
            ];
        }

        return $changes;
    }

    /** The language key naming an invoice line's kind. */
    private static function itemKind(string $type): string
    {
        if ($type === 'PromoHosting' || $type === 'PromoDomain') {
            return 'item_promotion';
        }
        if ($type === 'LateFee') {
            return 'item_late_fee';
        }
        if ($type === 'GroupDiscount') {
            return 'item_discount';
        }
        if ($type === 'Addon' || str_starts_with($type, 'ProrataAddon')) {
            return 'item_addon';
        }

        return 'item_renewal';
    }

    /**
     * Why a line is left out (note), or the invoice that blocks it (blocked_by, blocked_text).
     *
     * @return array{note: string, blocked_by: ?int, blocked_text: string}
     */
    private function note(array $line): array
    {
        $reason = $line['reason'] ?? null;
        if ($reason === 'blocked' && !empty($line['blocked_by_invoice'])) {
            $id = (int) $line['blocked_by_invoice'];

            return ['note' => '', 'blocked_by' => $id, 'blocked_text' => $this->t->get('invoice_number', $id)];
        }
        if ($reason === null) {
            $note = ($line['immediate'] ?? false) ? $this->t->get('note_immediate') : '';
        } else {
            $note = $this->t->get('reason_' . str_replace('-', '_', (string) $reason), $this->words->status((string) ($line['status'] ?? '')));
        }

        return ['note' => $note, 'blocked_by' => null, 'blocked_text' => ''];
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
        $offered = Input::services($_POST['offered'] ?? [], $clientId);
        // nothing offered at all: aligning only withdraws the pending alignments (as the
        // command line does); boxes offered and none ticked is a mistake
        if ($ticked === [] && $offered !== []) {
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
        if (!$sent->wasSent()) {
            $outcome = ['type' => 'warning', 'message' => $this->t->get('align_outbox', $sent->eventId)];
        } else {
            $outcome = $this->outcome($clientId, $sent, $this->worker->awaitResult($sent->eventId));
        }

        return Templates::render('admin/result', [
            'lang' => $this->t->all(),
            'title' => $this->t->get('result_title', Records::clientName($client), $clientId),
            'outcome' => $outcome,
            'back_href' => $this->url(['client_id' => $clientId]),
        ]);
    }

    /**
     * What the worker answered: an alert (type, message), or for a success also the created
     * invoices and the notes (changed and deleted invoices, lines moved at once, a repeat).
     */
    private function outcome(int $clientId, SentEvent $sent, ?array $meta): array
    {
        if ($meta === null) {
            return ['type' => 'info', 'message' => $this->t->get('align_queued', $sent->eventId)];
        }
        if (($meta['status'] ?? '') !== 'SUCCESS' || !is_array($meta['result'] ?? null)) {
            return ['type' => 'danger', 'message' => $this->t->get('align_failed', WorkerClient::failure($meta))];
        }
        $result = $meta['result'];
        $status = (string) ($result['status'] ?? '');
        if ($status === 'rejected') {
            return ['type' => 'danger', 'message' => $this->t->get('align_rejected', (string) ($result['message'] ?? ''))];
        }
        if ($status === 'nothing-to-align') {
            $withdrawn = count(is_array($result['withdrawn'] ?? null) ? $result['withdrawn'] : []);

            return ['type' => 'info', 'message' => $withdrawn > 0
                ? $this->t->get($withdrawn === 1 ? 'align_withdrawn_only_one' : 'align_withdrawn_only', $withdrawn)
                : $this->t->get('align_nothing')];
        }
        $format = $this->format->withCurrency(...Format::currencyOf($clientId));
        $invoices = [];
        foreach (is_array($result['invoices'] ?? null) ? $result['invoices'] : [] as $invoice) {
            $id = (int) ($invoice['id'] ?? 0);
            $invoices[] = [
                'id' => $id,
                'text' => $this->t->get('invoice_number', $id),
                'gateway' => $this->gateways->of((string) ($invoice['paymentmethod'] ?? '')),
                'duedate' => $format->date($invoice['duedate'] ?? null),
                'lines' => (int) ($invoice['lines'] ?? 0),
                'total' => $format->money($invoice['total'] ?? null),
            ];
        }
        $immediate = 0;
        foreach ($result['aligned'] ?? [] as $line) {
            $immediate += !empty($line['immediate']) ? 1 : 0;
        }
        $notes = [];
        if ($immediate > 0) {
            $notes[] = $this->t->get('align_immediate', $immediate);
        }
        foreach ($result['changed_invoices'] ?? [] as $id) {
            $notes[] = $this->t->get('align_changed_invoice', (int) $id);
        }
        foreach ($result['deleted_invoices'] ?? [] as $id) {
            $notes[] = $this->t->get('align_deleted_invoice', (int) $id);
        }
        if ($status === 'repeat') {
            $notes[] = $this->t->get('align_repeat');
        }

        return [
            'type' => 'success',
            'message' => $this->t->get('align_done', count($result['aligned'] ?? []), count($invoices)),
            'invoices' => $invoices,
            'notes' => $notes,
        ];
    }
}
