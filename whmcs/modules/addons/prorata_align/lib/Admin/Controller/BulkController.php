<?php

namespace ProrataAlign\Admin\Controller;

use ProrataAlign\Admin\BulkRuns;
use ProrataAlign\Admin\PageParts;
use ProrataAlign\Currency;
use ProrataAlign\EventNotKept;
use ProrataAlign\Money;
use ProrataAlign\Page\Csrf;
use ProrataAlign\Page\Format;
use ProrataAlign\Page\Input;
use ProrataAlign\Page\InputError;
use ProrataAlign\Page\Templates;
use ProrataAlign\Page\Text;
use ProrataAlign\PreviewError;
use ProrataAlign\Worker\WorkerClient;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * "Align many clients" (the admin page with &view=bulk): filters, a dry run, start, the
 * run's live progress, cancel, its failed clients, and the recent runs.
 *
 * Requests (all on the module link with &view=bulk):
 *   POST action=bulk_dry_run   asks the worker (prorata.bulk_dry_run) and waits, as a preview
 *   POST action=bulk_start     CSRF-checked; sends prorata.bulk_start with the event id the
 *                              dry run's form carries, so a form sent twice starts one run
 *   POST action=bulk_cancel    CSRF-checked; sends prorata.bulk_cancel for run_id
 *   GET  run=ID | event=UUID   the run; with format=json its progress as JSON (the page's
 *                              inline script polls it; prorata_align_output answers it before
 *                              WHMCS's admin template)
 * Progress comes from the worker's tables, never from Redis.
 */
final class BulkController
{
    use PageParts;

    /** Milliseconds between two polls of the progress. */
    public const POLL_MS = 1000;

    private const UUID = '/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/';

    private Text $t;
    private string $link;
    private WorkerClient $worker;
    private Format $format;
    private int $adminId;
    /** @var array<string, array>|null the filters' choices, read once */
    private ?array $choices = null;

    public function __construct(Text $t, string $link, WorkerClient $worker, Format $format, int $adminId)
    {
        $this->t = $t;
        $this->link = $link;
        $this->worker = $worker;
        $this->format = $format;
        $this->adminId = $adminId;
    }

    public function html(): string
    {
        try {
            $main = $this->dispatch();
        } catch (InputError $e) {
            $this->alert('danger', $this->t->html($e->key, ...$e->args));
            $main = $this->formPanel($this->defaults(), null);
        } catch (\PDOException $e) {
            // the worker's tables are missing until `prorata db upgrade` has run
            $this->alert('warning', $this->t->html('error_no_tables'));
            $main = $this->formPanel($this->defaults(), null);
        }

        return Templates::render('admin/bulk', [
            'alerts' => array_map(fn ($alert) => ['type' => $alert[0], 'html' => $alert[1]], $this->takeAlerts()),
            'main_html' => $main,
            'runs_html' => $this->runsPanel(),
        ]);
    }

    /** The run's progress and failed clients, for the page's script: {"run": null} while unknown. */
    public function json(): array
    {
        $run = $this->requestedRun();
        if ($run === null) {
            return ['run' => null];
        }
        $progress = BulkRuns::progress($run);
        $failures = [];
        foreach (BulkRuns::failures((int) $run->id) as $row) {
            $failures[] = [
                'client_id' => (int) $row->client_id,
                'name' => $this->clientName($row),
                'reason' => (string) $row->reason,
                'url' => 'clientssummary.php?userid=' . (int) $row->client_id,
            ];
        }

        return [
            'run' => [
                'id' => (int) $run->id,
                'event_id' => (string) $run->event_id,
                'state' => (string) $run->state,
                'state_label' => $this->stateLabel((string) $run->state),
                'final' => $progress['final'],
                'total' => $progress['total'],
                'handled' => $progress['handled'],
                'percent' => $progress['percent'],
                'counts' => $progress['counts'],
                'widths' => $progress['widths'],
                'url' => $this->url(['run' => (int) $run->id]),
            ],
            'failures' => $failures,
        ];
    }

    /** Sends the JSON answer and ends the request: nothing of WHMCS's page goes with it. */
    public function answerJson(): void
    {
        try {
            $status = 200;
            $document = $this->json();
        } catch (\Throwable $e) {
            $status = 503; // the tables are missing, or the database is away
            $document = ['error' => $this->t->get('error_no_tables')];
        }
        while (ob_get_level() > 0) {
            ob_end_clean();
        }
        if (!headers_sent()) {
            http_response_code($status);
            header('Content-Type: application/json; charset=utf-8');
            header('Cache-Control: no-store');
        }
        echo json_encode($document, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION);
        exit;
    }

    // -- requests -------------------------------------------------------------------------

    private function dispatch(): string
    {
        $post = ($_SERVER['REQUEST_METHOD'] ?? 'GET') === 'POST';
        $action = $post && is_string($_POST['action'] ?? null) ? $_POST['action'] : '';
        if (in_array($action, ['bulk_start', 'bulk_cancel'], true) && !Csrf::validPost(Csrf::ADMIN)) {
            // refused: say why, and send nothing
            $this->alert('danger', $this->t->html('error_token'));

            return $this->formPanel(null, null);
        }
        if ($action === 'bulk_dry_run') {
            return $this->dryRun($this->values());
        }
        if ($action === 'bulk_start') {
            return $this->start();
        }
        if ($action === 'bulk_cancel') {
            $run = $this->cancel();

            return ($run === null ? '' : $this->runPanel($run, null)) . $this->formPanel(null, null);
        }
        $run = $this->requestedRun();
        if ($run !== null) {
            return $this->runPanel($run, null) . $this->formPanel(null, null);
        }
        if (isset($_GET['run']) || isset($_GET['event'])) {
            $this->alert('danger', $this->t->html('error_bulk_run', $this->shown($_GET['run'] ?? $_GET['event'])));
        }

        return $this->formPanel(null, null);
    }

    private function requestedRun(): ?object
    {
        if (isset($_GET['run']) && is_string($_GET['run']) && ctype_digit($_GET['run']) && strlen($_GET['run']) < 11) {
            return BulkRuns::run((int) $_GET['run']);
        }
        if (isset($_GET['event']) && is_string($_GET['event']) && preg_match(self::UUID, $_GET['event'])) {
            return BulkRuns::runByEvent($_GET['event']);
        }

        return null;
    }

    /**
     * The form's day, cycles and filters: what was sent, or the settings' day and cycles and
     * no filter for a new form.
     *
     * @return array{day: int, cycles: string[], filters: array}
     * @throws InputError
     */
    private function values(): array
    {
        $sent = ($_SERVER['REQUEST_METHOD'] ?? 'GET') === 'POST' && isset($_POST['bulk_form']);
        if (!$sent) {
            return $this->defaults();
        }
        $enabled = Input::enabledCycles($this->worker->settings());
        $day = Input::day($_POST['day'] ?? '');
        // the worker aligns only cycles the settings enable; a narrower choice narrows the run
        $cycles = array_values(array_intersect(Input::cycles($_POST['cycles'] ?? []), $enabled));
        if ($cycles === []) {
            throw new InputError('error_no_cycle');
        }
        $choices = $this->choices();
        $filters = [
            'client_group' => $this->choice($_POST['client_group'] ?? '', $choices['client_groups'], 'error_bulk_client_group'),
            'product_group' => $this->choice($_POST['product_group'] ?? '', $choices['product_groups'], 'error_bulk_product_group'),
            'payment_method' => null,
            'several_due_days' => !empty($_POST['several_due_days']),
        ];
        $gateway = $_POST['payment_method'] ?? '';
        if ($gateway !== '') {
            if (!is_string($gateway) || !isset($choices['gateways'][$gateway])) {
                throw new InputError('error_bulk_payment_method', [$this->shown($gateway)]);
            }
            $filters['payment_method'] = $gateway;
        }

        return ['day' => $day, 'cycles' => $cycles, 'filters' => $filters];
    }

    /** @return array{day: int, cycles: string[], filters: array} the settings' day and cycles, no filter */
    private function defaults(): array
    {
        $settings = $this->worker->settings();

        return [
            'day' => $settings->prorataDay(),
            'cycles' => Input::enabledCycles($settings),
            'filters' => ['client_group' => null, 'product_group' => null, 'payment_method' => null, 'several_due_days' => false],
        ];
    }

    /** A group id among the offered ones, or null for "any". @throws InputError */
    private function choice($value, array $offered, string $error): ?int
    {
        if ($value === '' || $value === null) {
            return null;
        }
        $id = Input::id($value, $error);
        if (!isset($offered[$id])) {
            throw new InputError($error, [(string) $id]);
        }

        return $id;
    }

    /** What the admin looked at in the dry run: starting anything else first shows a new one. */
    private static function signature(array $values): string
    {
        return sha1((string) json_encode([$values['day'], $values['cycles'], $values['filters']]));
    }

    private function dryRun(array $values): string
    {
        if (function_exists('set_time_limit')) {
            @set_time_limit((int) ceil($this->worker->dryRunWait()) + 30); // PHP must outlast the wait
        }
        try {
            $result = $this->worker->bulkDryRun($values['day'], $values['filters'], $values['cycles']);
        } catch (PreviewError $e) {
            $this->alert('danger', $this->t->html('bulk_error_' . $e->reason, $e->getMessage()));

            return $this->formPanel($values, null);
        }

        return $this->formPanel($values, $result);
    }

    private function start(): string
    {
        $values = $this->values();
        $eventId = is_string($_POST['event_id'] ?? null) ? $_POST['event_id'] : '';
        if (!preg_match(self::UUID, $eventId)) {
            throw new InputError('error_bulk_event');
        }
        if (!hash_equals(self::signature($values), is_string($_POST['dry_run'] ?? null) ? $_POST['dry_run'] : '')) {
            $this->alert('info', $this->t->html('bulk_options_changed'));

            return $this->dryRun($values);
        }
        $run = BulkRuns::runByEvent($eventId);
        if ($run !== null) {
            $this->alert('info', $this->t->html('bulk_already_started'));

            return $this->runPanel($run, null);
        }
        try {
            $sent = $this->worker->bulkStart($eventId, $values['day'], $values['filters'], $values['cycles'], 'admin:' . $this->adminId);
        } catch (EventNotKept $e) {
            $this->alert('danger', $this->t->html('error_not_kept', $e->getMessage()));

            return $this->formPanel($values, null);
        }
        if (!$sent->wasSent()) {
            $this->alert('warning', $this->t->html('bulk_outbox', $eventId));
        } else {
            $meta = $this->worker->awaitResult($eventId);
            if ($meta !== null && ($meta['status'] ?? '') !== 'SUCCESS') {
                $this->alert('danger', $this->t->html('bulk_start_failed', WorkerClient::failure($meta)));

                return $this->formPanel($values, null);
            }
            if ($meta !== null && is_array($meta['result'] ?? null)) {
                $this->alert('success', $this->t->html('bulk_started', (int) ($meta['result']['run_id'] ?? 0), (int) ($meta['result']['clients'] ?? 0)));
            } else {
                $this->alert('info', $this->t->html('bulk_start_waiting', $eventId));
            }
        }
        $run = BulkRuns::runByEvent($eventId);

        return $this->runPanel($run, $run === null ? $eventId : null);
    }

    private function cancel(): ?object
    {
        $run = BulkRuns::run(Input::id($_POST['run_id'] ?? null, 'error_bulk_run'));
        if ($run === null) {
            throw new InputError('error_bulk_run', [$this->shown($_POST['run_id'])]);
        }
        if (!BulkRuns::markCancelling((int) $run->id)) {
            $this->alert('info', $this->t->html('bulk_cancel_too_late', (int) $run->id, $this->stateLabel((string) $run->state)));

            return $run;
        }
        try {
            $sent = $this->worker->bulkCancel((string) $run->event_id);
        } catch (EventNotKept $e) {
            $this->alert('danger', $this->t->html('error_not_kept', $e->getMessage()));

            return $run;
        }
        $this->alert($sent->wasSent() ? 'success' : 'warning', $this->t->html($sent->wasSent() ? 'bulk_cancel_sent' : 'bulk_cancel_outbox', (int) $run->id));

        return BulkRuns::run((int) $run->id) ?? $run;
    }

    // -- the form and the dry run -----------------------------------------------------------

    private function formPanel(?array $values, ?array $result): string
    {
        if ($values === null) {
            try {
                $values = $this->values();
            } catch (InputError $e) {
                $values = $this->defaults(); // what was sent is refused elsewhere: a clean form
            }
        }
        $choices = $this->choices();
        $filters = $values['filters'];
        $selects = [];
        foreach ([
            ['client_group', 'client_groups'],
            ['product_group', 'product_groups'],
            ['payment_method', 'gateways'],
        ] as [$name, $list]) {
            $options = [];
            foreach ($choices[$list] as $value => $text) {
                $options[] = [
                    'value' => (string) $value,
                    'text' => (string) $text,
                    'selected' => (string) $value === (string) $filters[$name],
                ];
            }
            $selects[] = ['name' => $name, 'label' => 'bulk_' . $name, 'any' => 'bulk_any_' . $name, 'options' => $options];
        }

        return Templates::render('admin/bulk_form', [
            'lang' => $this->t->all(),
            'action' => $this->url([]),
            'token' => $this->token(),
            'selects' => $selects,
            'several_due_days' => (bool) $filters['several_due_days'],
            'options_html' => $this->dayAndCycles(
                'prorata-bulk',
                $values['day'],
                $values['cycles'],
                Input::enabledCycles($this->worker->settings()),
                '<button type="submit" name="action" value="bulk_dry_run" class="btn btn-default btn-sm" id="prorata-bulk-dry-run-button">'
                . $this->t->html('bulk_button_dry_run') . '</button>'
            ),
            'dry_run' => $result === null ? null : $this->dryRunView($values, $result),
        ]);
    }

    /** The dry run's figures, the clients it could not plan, and Start (or why there is nothing to start). */
    private function dryRunView(array $values, array $result): array
    {
        $figure = fn (string $key) => (int) ($result[$key] ?? 0);
        $figures = [];
        foreach (['clients_matched', 'clients', 'services', 'skipped_services', 'invoices'] as $key) {
            $figures[$key] = $figure($key);
        }
        $amounts = [];
        foreach (is_array($result['currencies'] ?? null) ? $result['currencies'] : [] as $currency) {
            $code = (string) ($currency['code'] ?? '');
            $shown = Money::currencyById((int) ($currency['currency_id'] ?? 0))
                ?? new Currency((string) ($currency['prefix'] ?? ''), (string) ($currency['suffix'] ?? ''));
            $amounts[] = [
                'code' => $code,
                'label' => $this->t->get('bulk_fig_amount', $code),
                'amount' => Money::show((string) ($currency['amount'] ?? ''), $shown),
            ];
        }
        // the clients the dry run could not plan (gone meanwhile, or data WHMCS mangled), and why
        $errors = is_array($result['errors'] ?? null) ? $result['errors'] : [];
        $unplanned = [];
        foreach (array_slice($errors, 0, BulkRuns::FAILURES_SHOWN) as $error) {
            $unplanned[] = $this->clientReason((object) [
                'client_id' => (int) ($error['client_id'] ?? 0),
                'reason' => (string) ($error['reason'] ?? ''),
            ]);
        }
        $nothing = null;
        if ($figure('clients_matched') === 0) {
            $nothing = ['type' => 'warning', 'text' => $this->t->get('bulk_nothing_matched')];
        } elseif ($figure('services') === 0) {
            $nothing = ['type' => 'info', 'text' => $this->t->get('bulk_nothing_to_align', $figure('clients_matched'), $values['day'])];
        }
        $confirm = $this->t->get('bulk_confirm_start', $figure('clients'), $figure('services'), $values['day']);

        return [
            'title' => $this->t->get('bulk_dry_run_title', $values['day']),
            'figures' => $figures,
            'amounts' => $amounts,
            'unplanned' => $unplanned,
            'unplanned_text' => $this->t->get('bulk_unplanned', count($errors)),
            'nothing' => $nothing,
            'signature' => self::signature($values),
            // made here, so the same form sent twice is one run (the worker starts an event once)
            'event_id' => $nothing === null ? \ProrataAlign\Uuid::v4() : '',
            'confirm' => json_encode($confirm, JSON_UNESCAPED_UNICODE | JSON_HEX_TAG),
        ];
    }

    /** A client (linked to its summary page by the template) and why it was not aligned. */
    private function clientReason(object $row): array
    {
        return ['id' => (int) $row->client_id, 'name' => $this->clientName($row), 'reason' => (string) $row->reason];
    }

    // -- a run ----------------------------------------------------------------------------

    /** The run's panel; $waitingEvent: a run the worker has not written yet, followed by its event id. */
    private function runPanel(?object $run, ?string $waitingEvent): string
    {
        $vars = [
            'lang' => $this->t->all(),
            'run_id' => $run === null ? null : (int) $run->id,
            'facts' => '',
            'stopped' => '',
            'cancel_confirm' => null,
            'action' => $this->url([]),
            'token' => '',
            'bars' => ['aligned' => 'success', 'skipped' => 'info', 'failed' => 'danger', 'cancelled' => 'warning'],
            'order' => ['aligned', 'failed', 'skipped', 'queued', 'cancelled'],
            'script_html' => Templates::render('admin/bulk_run_script', ['poll_ms' => self::POLL_MS]),
        ];
        if ($run === null) {
            $progress = ['total' => 0, 'handled' => 0, 'percent' => 0, 'final' => false,
                'counts' => array_fill_keys(BulkRuns::CLIENT_STATES, 0), 'widths' => array_fill_keys(BulkRuns::CLIENT_STATES, 0)];
            $poll = $this->url(['event' => (string) $waitingEvent, 'format' => 'json']);
            $title = $this->t->get('bulk_run_waiting_title');
            $state = 'queued';
            $here = $this->url(['event' => (string) $waitingEvent]);
        } else {
            $progress = BulkRuns::progress($run);
            $poll = $this->url(['run' => (int) $run->id, 'format' => 'json']);
            $title = $this->t->get('bulk_run_title', (int) $run->id);
            $state = (string) $run->state;
            $vars['facts'] = $this->facts($run);
            if ($state === 'stopped') {  // the watch stopped it: its chunks could not be sent again
                $vars['stopped'] = $this->t->get('bulk_stopped_reason', (string) ($run->reason ?? ''));
            }
            $here = $this->url(['run' => (int) $run->id]);
            if (in_array($state, BulkRuns::CANCELLABLE_STATES, true)) {
                $vars['cancel_confirm'] = json_encode($this->t->get('bulk_confirm_cancel', (int) $run->id), JSON_UNESCAPED_UNICODE | JSON_HEX_TAG);
                $vars['token'] = $this->token();
            }
        }
        // the two counts stand in the sentence where the language puts them
        $handled = Format::e($this->t->get('bulk_handled', "\x01", "\x02"));
        $rows = $run === null ? [] : BulkRuns::failures((int) $run->id);

        return Templates::render('admin/bulk_run', [
            'state' => $state,
            'state_class' => self::stateClass($state),
            'state_label' => $this->stateLabel($state),
            'final' => (bool) $progress['final'],
            'poll' => $poll,
            'here' => $here,
            'title' => $title,
            'progress' => $progress,
            'handled_html' => strtr($handled, [
                "\x01" => '<span data-count="handled">' . (int) $progress['handled'] . '</span>',
                "\x02" => '<span data-count="total">' . (int) $progress['total'] . '</span>',
            ]),
            'failures' => array_map(fn ($row) => $this->clientReason($row), $rows),
            'failures_more' => count($rows) >= BulkRuns::FAILURES_SHOWN ? $this->t->get('bulk_failures_more', BulkRuns::FAILURES_SHOWN) : '',
        ] + $vars);
    }

    // -- recent runs ----------------------------------------------------------------------

    private function runsPanel(): string
    {
        try {
            $recent = BulkRuns::recent();
        } catch (\Throwable $e) {
            // the worker's tables are missing until `prorata db upgrade` has run
            return Templates::render('admin/bulk_runs', ['lang' => $this->t->all(), 'no_tables' => true, 'runs' => []]);
        }
        $runs = [];
        foreach ($recent as ['run' => $run, 'progress' => $progress]) {
            $counts = $progress['counts'];
            $runs[] = [
                'id' => (int) $run->id,
                'state' => (string) $run->state,
                'href' => $this->url(['run' => (int) $run->id]),
                'title' => $this->t->get('bulk_run_title', (int) $run->id),
                'when' => $this->when((string) $run->created_at),
                'requester' => $this->t->requester((string) $run->requested_by),
                'day' => (int) $run->day,
                'filters' => $this->filtersText((string) $run->filters),
                'progress' => $this->t->get('bulk_progress_short', $counts['aligned'], $counts['failed'], $counts['skipped'], $counts['cancelled'], $progress['total']),
                'state_class' => self::stateClass((string) $run->state),
                'state_label' => $this->stateLabel((string) $run->state),
            ];
        }

        return Templates::render('admin/bulk_runs', ['lang' => $this->t->all(), 'no_tables' => false, 'runs' => $runs]);
    }

    // -- words ----------------------------------------------------------------------------

    private function facts(object $run): string
    {
        $cycles = json_decode((string) ($run->cycles ?? ''), true);
        $cycles = is_array($cycles) ? array_map('strval', $cycles) : [];
        $names = [];
        // in the usual order (the run keeps them sorted by name), then any the page does not know
        foreach ([...array_intersect(Input::CYCLES, $cycles), ...array_diff($cycles, Input::CYCLES)] as $cycle) {
            $names[] = in_array($cycle, Input::CYCLES, true) ? $this->t->get('cycle_' . Input::cycleKey($cycle)) : $cycle;
        }

        return $this->t->get(
            'bulk_run_facts',
            $this->when((string) $run->created_at),
            $this->t->requester((string) $run->requested_by),
            (int) $run->day,
            $this->filtersText((string) $run->filters),
            $names === [] ? $this->t->get('bulk_cycles_settings') : implode(', ', $names)
        );
    }

    /** A run's filters (its JSON) in words, with the groups' and gateways' names. */
    private function filtersText(string $json): string
    {
        $filters = json_decode($json, true);
        $filters = is_array($filters) ? $filters : [];
        $choices = $this->choices();
        $parts = [];
        $named = [
            'client_group' => 'client_groups',
            'product_group' => 'product_groups',
            'payment_method' => 'gateways',
        ];
        foreach ($named as $key => $list) {
            $value = $filters[$key] ?? null;
            if ($value !== null && $value !== '') {
                $parts[] = $this->t->get('bulk_filter_' . $key, $choices[$list][$value] ?? (string) $value);
            }
        }
        if (!empty($filters['several_due_days'])) {
            $parts[] = $this->t->get('bulk_filter_several_due_days');
        }

        return $parts === [] ? $this->t->get('bulk_filters_all') : implode(', ', $parts);
    }

    /** @return array{client_groups: array<int, string>, product_groups: array<int, string>, gateways: array<string, string>} */
    private function choices(): array
    {
        return $this->choices ??= [
            'client_groups' => BulkRuns::clientGroups(),
            'product_groups' => BulkRuns::productGroups(),
            'gateways' => BulkRuns::gateways(),
        ];
    }

    private function stateLabel(string $state): string
    {
        $known = ['queued', 'running', 'cancelling', 'cancelled', 'done', 'stopped'];

        return in_array($state, $known, true) ? $this->t->get('bulk_state_' . $state) : $state;
    }

    private static function stateClass(string $state): string
    {
        return ['queued' => 'default', 'running' => 'info', 'cancelling' => 'warning', 'cancelled' => 'default', 'done' => 'success', 'stopped' => 'danger'][$state] ?? 'default';
    }

    private function clientName(object $row): string
    {
        $name = trim((string) ($row->firstname ?? '') . ' ' . (string) ($row->lastname ?? ''));
        if ($name === '') {
            $name = trim((string) ($row->companyname ?? ''));
        }

        return ($name === '' ? '' : $name . ' ') . '#' . (int) $row->client_id;
    }

    /** A datetime as WHMCS shows dates, with the time. */
    private function when(string $value): string
    {
        $date = $this->format->date($value);

        return $date === '' ? '' : trim($date . ' ' . substr($value, 11, 5));
    }

    /** Something the request sent, for a message. */
    private function shown($value): string
    {
        return is_scalar($value) ? mb_substr((string) $value, 0, 64) : '';
    }

    // -- small pieces ---------------------------------------------------------------------

    private function url(array $params): string
    {
        return $this->link . '&' . http_build_query(['view' => 'bulk'] + $params);
    }
}
