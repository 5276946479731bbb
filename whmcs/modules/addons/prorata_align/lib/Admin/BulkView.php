<?php

namespace ProrataAlign\Admin;

use ProrataAlign\Admin\Controller\BulkController;
use ProrataAlign\Currency;
use ProrataAlign\Money;
use ProrataAlign\Page\Format;
use ProrataAlign\Page\Input;
use ProrataAlign\Page\Templates;
use ProrataAlign\Page\Text;
use ProrataAlign\Worker\WorkerClient;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * What "Align many clients" shows, for BulkController: the data its templates
 * (templates/admin/bulk_*.tpl) print, and the run's words (facts, filters, states).
 */
final class BulkView
{
    use PageParts;

    private Text $t;
    private string $link;
    private WorkerClient $worker;
    private Format $format;
    /** @var array<string, array>|null the filters' choices, read once */
    private ?array $choices = null;

    public function __construct(Text $t, string $link, WorkerClient $worker, Format $format)
    {
        $this->t = $t;
        $this->link = $link;
        $this->worker = $worker;
        $this->format = $format;
    }

    // -- the form and the dry run -----------------------------------------------------------

    /** The filters, the day and cycles, and the dry run's figures with Start. */
    public function form(array $values, ?array $result): string
    {
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
                ['value' => 'bulk_dry_run', 'id' => 'prorata-bulk-dry-run-button', 'key' => 'bulk_button_dry_run']
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
            ], 'unplanned');
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
            'signature' => BulkController::signature($values),
            // made here, so the same form sent twice is one run (the worker starts an event once)
            'event_id' => $nothing === null ? \ProrataAlign\Uuid::v4() : '',
            'confirm' => json_encode($confirm, JSON_UNESCAPED_UNICODE | JSON_HEX_TAG),
        ];
    }

    /** A client (linked to its summary page by the template) and why it was not aligned, in the admin's language. */
    public function clientReason(object $row, string $state = 'failed'): array
    {
        return [
            'id' => (int) $row->client_id,
            'name' => $this->clientName($row),
            'reason' => (new BulkReasons($this->t))->of($state, (string) $row->reason),
        ];
    }

    /** The run's skipped clients with why, one page of them, and the page links. */
    private function skippedView(int $runId): array
    {
        $page = Input::page($_GET['skipped_page'] ?? 1);
        $list = BulkRuns::skipped($runId, $page);
        $href = fn (int $number) => $this->url(['run' => $runId, 'skipped_page' => $number]) . '#prorata-bulk-skipped';

        return [
            'skipped' => array_map(fn ($row) => $this->clientReason($row, 'skipped'), $list['rows']),
            'skipped_count' => $list['total'] === 0 ? '' : $this->t->get($list['total'] === 1 ? 'bulk_skipped_count_one' : 'bulk_skipped_count', $list['total']),
            'skipped_pages_html' => Templates::render('admin/pages', [
                'pages' => PageWindow::links($this->t, $list['page'], $list['pages'], $href),
                'label' => $this->t->get('bulk_skipped_title'),
                'class' => 'prorata-skipped-pages',
            ]),
        ];
    }

    // -- a run ----------------------------------------------------------------------------

    /** The run's panel; $waitingEvent: a run the worker has not written yet, followed by its event id. */
    public function run(?object $run, ?string $waitingEvent): string
    {
        $vars = [
            'lang' => $this->t->all(),
            'run_id' => $run === null ? null : (int) $run->id,
            'facts' => '',
            'stopped' => '',
            'cancel_confirm' => null,
            'action' => $this->url([]),
            'token' => '',
            'bars' => ['aligned' => 'success', 'unchanged' => 'primary', 'skipped' => 'info', 'failed' => 'danger', 'cancelled' => 'warning'],
            'order' => ['aligned', 'unchanged', 'failed', 'skipped', 'queued', 'cancelled'],
            'script_html' => Templates::render('admin/bulk_run_script', ['poll_ms' => BulkController::POLL_MS]),
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
        ] + ($run === null ? ['skipped' => [], 'skipped_count' => '', 'skipped_pages_html' => ''] : $this->skippedView((int) $run->id)) + $vars);
    }

    // -- recent runs ----------------------------------------------------------------------

    public function runs(): string
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
    public function choices(): array
    {
        return $this->choices ??= [
            'client_groups' => BulkRuns::clientGroups(),
            'product_groups' => BulkRuns::productGroups(),
            'gateways' => BulkRuns::gateways(),
        ];
    }

    public function stateLabel(string $state): string
    {
        $known = ['queued', 'running', 'cancelling', 'cancelled', 'done', 'stopped'];

        return in_array($state, $known, true) ? $this->t->get('bulk_state_' . $state) : $state;
    }

    private static function stateClass(string $state): string
    {
        return ['queued' => 'default', 'running' => 'info', 'cancelling' => 'warning', 'cancelled' => 'default', 'done' => 'success', 'stopped' => 'danger'][$state] ?? 'default';
    }

    public function clientName(object $row): string
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

    /** The bulk page's address with more query parameters. */
    public function url(array $params): string
    {
        return $this->link . '&' . http_build_query(['view' => 'bulk'] + $params);
    }
}
