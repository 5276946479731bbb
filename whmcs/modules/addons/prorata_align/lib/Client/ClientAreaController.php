<?php

namespace ProrataAlign\Client;

use ProrataAlign\Records;
use ProrataAlign\ClientContext;
use ProrataAlign\ClientDays;
use ProrataAlign\EventNotKept;
use ProrataAlign\InvoiceSummary;
use ProrataAlign\Money;
use ProrataAlign\Page\Csrf;
use ProrataAlign\Page\Format;
use ProrataAlign\Page\Input;
use ProrataAlign\Page\InputError;
use ProrataAlign\Page\Text;
use ProrataAlign\Page\WhmcsWords;
use ProrataAlign\PreviewClient;
use ProrataAlign\PreviewError;
use ProrataAlign\SettingsError;
use ProrataAlign\Worker\WorkerClient;
use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The client area page (index.php?m=prorata_align): the logged-in client's own services with
 * their new dates and amounts, a confirm button, then the invoice to pay. The day is always
 * the module's Prorata Date. Builds the variables of templates/clientarea.tpl; every value
 * is plain text that the template escapes.
 *
 * What the template shows is "view": login, disabled, error, refused, pending, offer,
 * nothing, confirmed, queued. Amounts read as the invoices will: each invoice's lines, then its
 * subtotal, each tax level (name and rate), credit and total. Users of the account who may not
 * pay its invoices (ClientContext::mayAlign) see the page without the confirm button
 * ("can_align" false) and cannot confirm.
 *
 * (Just over 400 lines: the client area is one area, one controller as WHMCS's sample module
 * lays it out; each of its views is built here from the same client, preview and records;
 * the offer's lines, invoices and changes are shaped in ClientAreaView.)
 */
final class ClientAreaController
{
    public const LINK = 'index.php?m=prorata_align';

    /** Session key of the alignments sent but not handled yet, by client id: event id, time. */
    public const QUEUED_SESSION_KEY = 'prorata_align_queued';

    /** Seconds a sent alignment is shown as queued at most (the outbox relays within a minute). */
    private const QUEUED_FOR = 86400;

    private Text $t;
    private WorkerClient $worker;
    private int $clientId;
    private Format $format;
    private ClientAreaView $view;
    private ?bool $mayAlign;
    /** @var array<int, string> */
    private array $taxNames = [];
    /** @var string[] */
    private array $errors = [];

    /** @param bool|null $mayAlign whether the user may align; null: ask ClientContext */
    public function __construct(array $vars, WorkerClient $worker, int $clientId, ?bool $mayAlign = null)
    {
        $this->t = new Text(is_array($vars['_lang'] ?? null) ? $vars['_lang'] : []);
        $this->worker = $worker;
        $this->clientId = $clientId;
        $this->mayAlign = $mayAlign;
    }

    /** The _clientarea answer: title, breadcrumb, template and its variables. */
    public function build(): array
    {
        $title = $this->t->get('client_title');
        $vars = [
            'modulelink' => self::LINK,
            'lang' => $this->t->all(),
            'view' => 'error',
            'errors' => [],
        ];
        try {
            $vars = array_merge($vars, $this->content());
        } catch (SettingsError $e) {
            $this->errors[] = $this->t->get('client_error_unavailable');
            $vars['view'] = 'error';
        }
        $vars['errors'] = $this->errors;

        return [
            'pagetitle' => $title,
            'breadcrumb' => [self::LINK => $title],
            'templatefile' => 'clientarea',
            'requirelogin' => true,
            'forcessl' => false,
            'vars' => $vars,
        ];
    }

    private function content(): array
    {
        if ($this->clientId <= 0) {
            return ['view' => 'login'];
        }
        if (!$this->worker->settings()->clientAreaButton()) {
            return ['view' => 'disabled'];
        }
        $this->format = Format::forClient($this->clientId);
        $this->view = new ClientAreaView($this->t, $this->format, $this->clientId);
        $this->taxNames = InvoiceSummary::taxNames($this->clientId);
        $day = $this->worker->settings()->prorataDay();
        $canAlign = $this->mayAlign();
        $base = [
            'day' => $day,
            'intro' => $this->t->get('client_offer_intro', $day),
            'day_warning' => $day >= 29 ? $this->t->get('client_day_warning', $day) : '',
            'can_align' => $canAlign,
            'read_only' => $canAlign ? '' : $this->t->get('client_read_only'),
            'client_day_line' => $this->dayLine(),
        ];

        $post = ($_SERVER['REQUEST_METHOD'] ?? 'GET') === 'POST';
        if ($post && ($_POST['action'] ?? '') === 'confirm') {
            if (!$canAlign) {
                // read-only users never send anything: not an alignment, not a preview
                $this->errors[] = $this->t->get('client_read_only');

                return array_merge($base, ['view' => 'refused', 'read_only' => '']);
            }
            // a refused request shows why and a way back; it sends nothing, not even a preview
            return $base + ($this->confirm() ?? ['view' => 'refused']);
        }

        if ($this->queuedEvent() !== null) {
            // sent, not handled yet: say so at once, no preview to wait for
            return $base + ['view' => 'queued', 'queued_message' => $this->t->get('client_queued_waiting')];
        }
        $pending = $this->pending();
        if ($pending !== []) {
            return $base + ['view' => 'pending', 'pending' => $pending, 'pending_intro' => $this->pendingIntro()];
        }

        return $base + $this->offer();
    }

    /** "Your services renew on the 1st.": the client's billing day; '' when it has none. */
    private function dayLine(): string
    {
        $day = ClientDays::of($this->clientId);

        return $day === null ? '' : $this->t->get('client_day_line', ClientDays::ordinal((int) $day->day, $this->t->get('day_ordinals')));
    }

    /** Whether the person logged in may align this account (and so create its invoice). */
    private function mayAlign(): bool
    {
        if ($this->mayAlign === null) {
            $context = ClientContext::current();
            $this->mayAlign = $context !== null && $context->id === $this->clientId && $context->mayAlign();
        }

        return $this->mayAlign;
    }

    /** An invoice's subtotal, taxes, credit and total, formatted, for the template. */
    private function totals(array $invoice): array
    {
        return InvoiceSummary::totals($invoice, $this->format->currency(), $this->taxNames, $this->t->get('tax_default_name'));
    }

    /** Who asked for the pending alignments, by invoice id ("client:7", "admin:1", "bulk"). */
    private array $requestedBy = [];

    /**
     * The pending alignment invoices, for the template, the one due first first: each with its
     * credit, the money already paid and what is left; one in Payment Pending gets no pay
     * button (its payment is on its way), and "to pay now" only once it is due.
     */
    private function pending(): array
    {
        $list = [];
        $today = date('Y-m-d');
        foreach (Records::pendingInvoices($this->clientId) as $id => $entry) {
            $this->requestedBy[(int) $id] = (string) ($entry['requested_by'] ?? '');
            $items = [];
            foreach ($entry['records'] as $record) {
                $items[] = [
                    'name' => (string) $record->name,
                    'domain' => (string) $record->domain,
                    'old_due' => $this->format->date((string) $record->old_due),
                    'new_due' => $this->format->date((string) $record->new_due),
                    'amount' => $this->format->money((string) $record->amount),
                ];
            }
            $invoice = $entry['invoice'];
            $totals = $this->totals((array) $invoice);
            $inProgress = (string) $invoice->status === 'Payment Pending';
            $list[] = [
                'id' => (int) $id,
                'label' => $this->t->get('invoice_number', (int) $id),
                'status' => WhmcsWords::invoiceStatus((string) $invoice->status, $this->t),
                'duedate' => $this->format->date($invoice->duedate),
                'due_now' => substr((string) $invoice->duedate, 0, 10) <= $today,
                'in_progress' => $inProgress,
                'payable' => !$inProgress && $totals['balance_cents'] > 0,
                'url' => 'viewinvoice.php?id=' . (int) $id,
                'items' => $items,
            ] + $totals;
        }

        return $list;
    }

    /** Who made the alignment (the client, staff, a bulk run), then what to do, in plural. */
    private function pendingIntro(): string
    {
        $by = array_values(array_filter($this->requestedBy));
        $client = array_filter($by, fn ($who) => str_starts_with($who, 'client'));
        if ($client !== [] || $by === []) {
            $who = $this->t->get('client_pending_by_client');
        } elseif (in_array('bulk', $by, true)) {
            $who = $this->t->get('client_pending_by_bulk');
        } else {
            $who = $this->t->get('client_pending_by_staff');
        }

        return $who . ' ' . $this->t->get(count($this->requestedBy) > 1 ? 'client_pending_pay_many' : 'client_pending_pay_one');
    }

    /**
     * The alignment this client's session sent without an answer yet, while the worker has
     * not handled it (no mod_prorata_requests row with its event id): its event id, or null.
     */
    private function queuedEvent(): ?string
    {
        $queued = $_SESSION[self::QUEUED_SESSION_KEY][$this->clientId] ?? null;
        if (!is_array($queued) || !is_string($queued['event'] ?? null)) {
            return null;
        }
        $handled = true;
        try {
            $handled = Capsule::table('mod_prorata_requests')->where('event_id', $queued['event'])->exists();
        } catch (\Throwable $e) {
            $handled = true; // the worker's tables cannot be read: show the page as it is
        }
        if ($handled || time() - (int) ($queued['at'] ?? 0) > self::QUEUED_FOR) {
            unset($_SESSION[self::QUEUED_SESSION_KEY][$this->clientId]);

            return null;
        }

        return $queued['event'];
    }

    /**
     * The offer: the preview for the module's Prorata Date, grouped as the invoices it makes
     * (each with its subtotal, taxes and total), then the lines that cost nothing. While the
     * worker is known to be down the page says so at once instead of waiting for it again.
     */
    private function offer(): array
    {
        try {
            if ((new PreviewClient($this->worker->settings()))->workerKnownDown()) {
                throw new PreviewError(PreviewError::TIMEOUT, 'the worker did not answer a preview a moment ago');
            }
            $plan = $this->worker->preview($this->clientId, []);
        } catch (PreviewError $e) {
            $this->errors[] = $this->t->get('client_error_preview');

            return ['view' => 'error'];
        }
        $lines = [];
        $skipped = [];
        foreach ($plan['lines'] ?? [] as $line) {
            $key = ($line['type'] === 'addon' ? 'addon' : 'service') . ':' . (int) $line['id'];
            $entry = [
                'key' => $key,
                'name' => (string) ($line['name'] ?? ''),
                'domain' => (string) ($line['domain'] ?? ''),
                'cycle' => $this->view->cycleName((string) ($line['billingcycle'] ?? '')),
                'old_due' => $this->format->date($line['old_due'] ?? null),
                'new_due' => $this->format->date($line['new_due'] ?? null),
                'days' => $line['days'] === null ? '' : (string) (int) $line['days'],
                'amount' => $this->format->money($line['amount'] ?? null),
                'immediate' => (bool) ($line['immediate'] ?? false),
                'new_due_note' => $this->view->newDueNote($line),
            ];
            if (($line['reason'] ?? null) === null) {
                $lines[$key] = $entry;
            } else {
                $entry['reason'] = $this->view->reason($line);
                $skipped[] = $entry;
            }
        }
        $planned = array_values(array_filter($plan['invoices'] ?? [], 'is_array'));
        $invoices = [];
        foreach ($planned as $n => $invoice) {
            $rows = [];
            foreach ($invoice['lines'] ?? [] as $item) {
                $kind = str_starts_with((string) ($item['type'] ?? ''), 'ProrataAddon') ? 'addon' : 'service';
                $key = $kind . ':' . (int) ($item['relid'] ?? 0);
                if (isset($lines[$key])) {
                    // the amount as the invoice line will read
                    $rows[] = ['amount' => $this->format->money((string) ($item['amount'] ?? ''))] + $lines[$key];
                    unset($lines[$key]);
                }
            }
            $invoices[] = [
                'title' => count($planned) > 1 ? $this->t->get('client_invoice_of', $n + 1, count($planned)) : '',
                'duedate' => $this->format->date($invoice['duedate'] ?? null),
                'rows' => $rows,
            ] + $this->totals(ClientAreaView::afterCredit($invoice));
        }

        $rows = array_merge(array_merge(...array_column($invoices, 'rows')), array_values($lines));
        $cents = 0;
        foreach ($invoices as $invoice) {
            $cents += $invoice['balance_cents'];
        }

        return [
            'view' => $rows === [] ? 'nothing' : 'offer',
            'invoices' => $invoices,
            'free' => array_values($lines), // aligned at no charge: no invoice line
            'skipped' => $skipped,
            'token' => $this->mayAlign() ? Csrf::token() : '',
            'changes' => $this->view->changes($plan['changes'] ?? []),
            'confirm_label' => $this->t->get(count($invoices) > 1 ? 'client_confirm_many' : 'client_confirm'),
            // for copies of the template made before invoices were shown one by one
            'lines' => $rows,
            'total' => $this->format->money(sprintf('%d.%02d', intdiv($cents, 100), $cents % 100)),
        ];
    }

    /**
     * The confirm button: check the token and that every service is the client's own, send
     * the alignment, wait briefly for its invoices. Null: refused, show the page as before.
     */
    private function confirm(): ?array
    {
        if (!Csrf::validPost(Csrf::CLIENT)) {
            $this->errors[] = $this->t->get('client_error_token');

            return null;
        }
        try {
            $services = Input::services($_POST['services'] ?? [], $this->clientId);
        } catch (InputError $e) {
            $this->errors[] = $this->t->get($e->key === 'error_not_owned' ? 'client_error_not_owned' : 'client_error_input');

            return null;
        }
        if ($services === []) {
            $this->errors[] = $this->t->get('client_error_nothing_selected');

            return null;
        }
        if (Records::pendingInvoices($this->clientId) !== []) {
            $this->errors[] = $this->t->get('client_error_pending');

            return null;
        }
        try {
            // no day: the worker takes the module's Prorata Date, which clients cannot choose
            $sent = $this->worker->align($this->clientId, ['services' => $services], 'client:' . $this->clientId);
        } catch (EventNotKept $e) {
            $this->errors[] = $this->t->get('client_error_unavailable');

            return null;
        }
        // a worker known not to answer is not waited for: the request is queued, and said so
        $down = $sent->wasSent() && (new PreviewClient($this->worker->settings()))->workerKnownDown();
        $meta = $sent->wasSent() && !$down ? $this->worker->awaitResult($sent->eventId) : null;
        if ($meta === null) {
            $_SESSION[self::QUEUED_SESSION_KEY][$this->clientId] = ['event' => $sent->eventId, 'at' => time()];

            return ['view' => 'queued', 'queued_message' => $this->t->get('client_queued')];
        }
        $result = ($meta['status'] ?? '') === 'SUCCESS' && is_array($meta['result'] ?? null) ? $meta['result'] : null;
        if ($result === null || ($result['status'] ?? '') === 'rejected') {
            $this->errors[] = $this->t->get('client_error_failed');

            return ['view' => 'error'];
        }
        $invoices = [];
        foreach ($result['invoices'] ?? [] as $invoice) {
            $id = (int) ($invoice['id'] ?? 0);
            $paid = ($invoice['status'] ?? '') === 'Paid';
            $invoices[] = [
                'id' => $id,
                'label' => $this->t->get('invoice_number', $id),
                // what is left to pay: WHMCS's total, after the credit applied
                'total' => $this->format->money((string) ($invoice['total'] ?? '')),
                'credit' => Money::toCents((string) ($invoice['credit'] ?? '0')) > 0
                    ? $this->format->money((string) $invoice['credit']) : '',
                'duedate' => $this->format->date($invoice['duedate'] ?? null),
                'payable' => !$paid,
                'url' => 'viewinvoice.php?id=' . $id,
            ];
        }
        $services = count($result['aligned'] ?? []);
        $done = $invoices === [] ? 'client_done_free_' : 'client_done_';
        $message = $this->t->get($done . ($services === 1 ? 'one' : 'many'), $services);
        if ($invoices !== []) {
            $message .= ' ' . $this->t->get(count($invoices) === 1 ? 'client_ready_one' : 'client_ready_many');
        }

        return [
            'view' => 'confirmed',
            'created' => $invoices,
            'confirmed_message' => $message,
        ];
    }
}
