<?php

namespace ProrataAlign\Admin\Controller;

use ProrataAlign\Admin\BulkRuns;
use ProrataAlign\Admin\BulkView;
use ProrataAlign\Admin\PageParts;
use ProrataAlign\EventNotKept;
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
    private BulkView $view;

    public function __construct(Text $t, string $link, WorkerClient $worker, Format $format, int $adminId)
    {
        $this->t = $t;
        $this->link = $link;
        $this->worker = $worker;
        $this->format = $format;
        $this->adminId = $adminId;
        $this->view = new BulkView($t, $link, $worker, $format);
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
            'runs_html' => $this->view->runs(),
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
                'name' => $this->view->clientName($row),
                'reason' => $this->view->clientReason($row)['reason'],
                'url' => 'clientssummary.php?userid=' . (int) $row->client_id,
            ];
        }

        return [
            'run' => [
                'id' => (int) $run->id,
                'event_id' => (string) $run->event_id,
                'state' => (string) $run->state,
                'state_label' => $this->view->stateLabel((string) $run->state),
                'final' => $progress['final'],
                'total' => $progress['total'],
                'handled' => $progress['handled'],
                'percent' => $progress['percent'],
                'counts' => $progress['counts'],
                'widths' => $progress['widths'],
                'url' => $this->view->url(['run' => (int) $run->id]),
            ],
            'failures' => $failures,
            // "Recent bulk runs" as it stands now: the page's script puts it in place
            'runs_html' => $this->view->runs(),
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

            return ($run === null ? '' : $this->view->run($run, null)) . $this->formPanel(null, null);
        }
        $run = $this->requestedRun();
        if ($run !== null) {
            return $this->view->run($run, null) . $this->formPanel(null, null);
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
        $choices = $this->view->choices();
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
    public static function signature(array $values): string
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

            return $this->view->run($run, null);
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

        return $this->view->run($run, $run === null ? $eventId : null);
    }

    private function cancel(): ?object
    {
        $run = BulkRuns::run(Input::id($_POST['run_id'] ?? null, 'error_bulk_run'));
        if ($run === null) {
            throw new InputError('error_bulk_run', [$this->shown($_POST['run_id'])]);
        }
        if (!BulkRuns::markCancelling((int) $run->id)) {
            $this->alert('info', $this->t->html('bulk_cancel_too_late', (int) $run->id, $this->view->stateLabel((string) $run->state)));

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

    private function formPanel(?array $values, ?array $result): string
    {
        if ($values === null) {
            try {
                $values = $this->values();
            } catch (InputError $e) {
                $values = $this->defaults(); // what was sent is refused elsewhere: a clean form
            }
        }

        return $this->view->form($values, $result);
    }

    /** Something the request sent, for a message. */
    private function shown($value): string
    {
        return is_scalar($value) ? mb_substr((string) $value, 0, 64) : '';
    }
}
