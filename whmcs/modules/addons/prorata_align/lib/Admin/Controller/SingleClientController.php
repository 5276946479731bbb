<?php

namespace ProrataAlign\Admin\Controller;

use ProrataAlign\Admin\GatewayNames;
use ProrataAlign\ClientDays;
use ProrataAlign\Admin\PageParts;
use ProrataAlign\Admin\SingleClientView;
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
    private SingleClientView $view;

    public function __construct(Text $t, string $link, WorkerClient $worker, Format $format, int $adminId)
    {
        $this->t = $t;
        $this->words = new Words($t);
        $this->link = $link;
        $this->worker = $worker;
        $this->format = $format;
        $this->adminId = $adminId;
        $this->gateways = new GatewayNames();
        $this->view = new SingleClientView($t, $this->words, $this->gateways);
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
            'plan' => $this->view->planView($plan, $name, $format),
        ] + $vars);
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
