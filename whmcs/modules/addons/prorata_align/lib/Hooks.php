<?php

namespace ProrataAlign;

use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * What the addon's hooks (hooks.php) do. No hook ever throws into WHMCS: an error is
 * written to the activity log and the page or the payment goes on.
 *
 * Hook points as the WHMCS developer documentation (Hooks reference, developers.whmcs.com)
 * describes them: InvoicePaidPreEmail, InvoicePaid and InvoiceCancelled get "invoiceid"; ClientAreaHomepagePanels
 * gets a WHMCS\View\Menu\Item whose addChild($name, $options) takes label, icon, order,
 * extras (color, btn-link, btn-text, btn-icon), bodyHtml and footerHtml, and the page's
 * client is Menu::context('client'); AdminAreaClientSummaryActionLinks gets "userid" and
 * returns an array of HTML links; AdminAreaClientSummaryPage gets "userid" and returns the
 * HTML to show on the client summary page.
 */
final class Hooks
{
    /** Cycles the worker can align (domain/cycles.py), as WHMCS spells them. */
    public const CYCLES = ['Monthly', 'Quarterly', 'Semi-Annually', 'Annually', 'Biennially', 'Triennially'];

    /** Statuses of services that take part. */
    public const STATUSES = ['Active', 'Suspended'];

    /** The longest the client area home page waits for the worker's preview, in seconds. */
    public const PANEL_WAIT = 0.3;

    /** The "keep client on its day" event (the worker's tasks/days.py). */
    public const KEEP_TASK = 'prorata.keep_on_day';

    /** The values of keep_on_day that send it (off, the default, sends nothing). */
    public const KEEP_SENDS = ['invoice', 'report'];

    /** The product's table of the clients' billing days. */
    public const CLIENT_DAYS = 'mod_prorata_client_days';

    public const MODULE_LINK = 'addonmodules.php?module=prorata_align';
    public const CLIENT_LINK = 'index.php?m=prorata_align';

    /**
     * The dates of an alignment invoice's services and addons as they were before WHMCS
     * processed its lines (InvoicePaidPreEmail), by invoice id, until InvoicePaid sends them:
     * both hooks run in the request that pays the invoice (billing facts 5.2 steps 4 and 7).
     *
     * @var array<int, list<array<string, mixed>>>
     */
    private static array $datesBeforePayment = [];

    /**
     * A service's billing cycle and next due date before staff saved it (PreServiceEdit),
     * by service id, until ServiceEdit compares them.
     *
     * @var array<int, array{0: string, 1: string}>
     */
    private static array $beforeEdit = [];

    /**
     * InvoicePaidPreEmail: WHMCS has marked the invoice Paid and not yet processed its lines;
     * a `ProrataProduct<P>` line then sets the service's dates to P whatever they are. For an
     * alignment invoice the dates they have now are kept (staff may have moved them later
     * while it waited), for the InvoicePaid event.
     */
    public static function invoicePaidPreEmail(array $vars): void
    {
        self::guard('InvoicePaidPreEmail', function () use ($vars) {
            $invoiceId = (int) ($vars['invoiceid'] ?? 0);
            if (AlignmentInvoices::holdsAlignmentLines($invoiceId)) {
                self::$datesBeforePayment[$invoiceId] = AlignmentInvoices::datesOfLines($invoiceId);
            }
        });
    }

    /**
     * InvoicePaid: an alignment invoice was paid; the worker moves the due dates, never below
     * the dates kept by InvoicePaidPreEmail (`dates_before_payment`, when that hook ran).
     */
    public static function invoicePaid(array $vars): void
    {
        $invoiceId = (int) ($vars['invoiceid'] ?? 0);
        self::guard('InvoicePaid', function () use ($invoiceId) {
            $before = self::$datesBeforePayment[$invoiceId] ?? null;
            unset(self::$datesBeforePayment[$invoiceId]);
            self::invoiceEvent(
                'prorata.invoice_paid',
                $invoiceId,
                $before === null ? [] : ['dates_before_payment' => $before]
            );
        });
        // apart: the order's event is sent even when the alignment's could not be
        self::guard('InvoicePaid', fn () => self::orderPaid($invoiceId));
    }

    /**
     * InvoicePaid of an order's first invoice (tblorders.invoiceid): WHMCS has just set the
     * new services' and addons' dates (orders facts 3), so the order's services
     * (tblhosting.orderid) and addons (tblhostingaddons.orderid) are sent to join the
     * client's day. Only for a client with a day while "Keep services on the client's day"
     * is not off; the invoice's id makes the event's, so a second call is one effect.
     */
    public static function orderPaid(int $invoiceId): ?SentEvent
    {
        if ($invoiceId <= 0) {
            return null;
        }
        $clientId = (int) Capsule::table('tblinvoices')->where('id', $invoiceId)->value('userid');
        if (!self::keepsDay($clientId)) {
            return null;
        }
        $orderId = (int) Capsule::table('tblorders')->where('invoiceid', $invoiceId)->value('id');
        if ($orderId <= 0) {
            return null; // a renewal, an alignment, an invoice made by hand
        }
        $lines = self::orderLines($orderId);
        if ($lines === []) {
            return null;
        }

        return self::keepEvent($clientId, 'new-order', $lines, 'keep:new-order:invoice:' . $invoiceId);
    }

    /**
     * AddonActivation (id = tblhostingaddons.id, userid, serviceid, addonid): an addon ordered
     * later or added by staff became active. An addon ordered together with services is left
     * to the order's InvoicePaid, which sends them all at once (one alignment, not two).
     */
    public static function addonActivation(array $vars): ?SentEvent
    {
        return self::guard('AddonActivation', function () use ($vars) {
            $addonId = (int) ($vars['id'] ?? 0);
            $addon = $addonId > 0
                ? Capsule::table('tblhostingaddons')->where('id', $addonId)->first(['userid', 'orderid'])
                : null;
            if ($addon === null) {
                return null;
            }
            $clientId = (int) $addon->userid;
            if (!self::keepsDay($clientId)) {
                return null;
            }
            $orderId = (int) $addon->orderid;
            if ($orderId > 0 && Capsule::table('tblhosting')->where('orderid', $orderId)->exists()) {
                return null;
            }

            return self::keepEvent($clientId, 'addon', ['addon:' . $addonId], 'keep:addon:' . $addonId);
        });
    }

    /**
     * AfterProductUpgrade / AfterAddonUpgrade / AfterConfigOptionsUpgrade (upgradeid): an
     * upgrade was paid and applied; a cart upgrade set the next due date to today + the new
     * cycle (orders facts 5). One that kept the product and gave it a cycle is a cycle change
     * (as the worker's off-the-day list tells them apart).
     */
    public static function upgradePaid(string $hook, array $vars): ?SentEvent
    {
        return self::guard($hook, function () use ($vars) {
            $upgradeId = (int) ($vars['upgradeid'] ?? 0);
            $upgrade = $upgradeId > 0
                ? Capsule::table('tblupgrades')->where('id', $upgradeId)
                    ->first(['userid', 'type', 'relid', 'originalvalue', 'newvalue', 'new_cycle'])
                : null;
            if ($upgrade === null || (int) $upgrade->relid <= 0) {
                return null;
            }
            $clientId = (int) $upgrade->userid;
            if (!self::keepsDay($clientId)) {
                return null;
            }
            $type = strtolower(trim((string) $upgrade->type));
            $kind = $type === 'addon' ? 'addon' : 'service';
            $trigger = self::changesCycleOnly($type, (string) $upgrade->originalvalue, (string) $upgrade->newvalue, (string) $upgrade->new_cycle)
                ? 'cycle-change'
                : 'upgrade';

            return self::keepEvent($clientId, $trigger, [$kind . ':' . (int) $upgrade->relid], 'keep:upgrade:' . $upgradeId);
        });
    }

    /**
     * PreServiceEdit (serviceid): staff are about to save a service in the admin area; its
     * billing cycle and next due date are kept for ServiceEdit, in the same request.
     */
    public static function preServiceEdit(array $vars): void
    {
        self::guard('PreServiceEdit', function () use ($vars) {
            $serviceId = (int) ($vars['serviceid'] ?? 0);
            $row = $serviceId > 0
                ? Capsule::table('tblhosting')->where('id', $serviceId)->first(['billingcycle', 'nextduedate'])
                : null;
            if ($row !== null) {
                self::$beforeEdit[$serviceId] = [(string) $row->billingcycle, (string) $row->nextduedate];
            }
        });
    }

    /**
     * ServiceEdit (userid, serviceid): staff saved a service. WHMCS has no hook of its own for
     * a billing cycle change; a save that changed the cycle and kept the next due date is
     * sent as one. A save that changed the next due date is staff's move: never sent, the
     * worker leaves that service alone. Without PreServiceEdit's values nothing is sent (the
     * daily job finds it).
     */
    public static function serviceEdit(array $vars): ?SentEvent
    {
        return self::guard('ServiceEdit', function () use ($vars) {
            $serviceId = (int) ($vars['serviceid'] ?? 0);
            $before = self::$beforeEdit[$serviceId] ?? null;
            unset(self::$beforeEdit[$serviceId]);
            if ($before === null) {
                return null;
            }
            $row = Capsule::table('tblhosting')->where('id', $serviceId)->first(['userid', 'billingcycle', 'nextduedate']);
            if ($row === null || (string) $row->billingcycle === $before[0] || (string) $row->nextduedate !== $before[1]) {
                return null;
            }
            $clientId = (int) $row->userid;
            if (!self::keepsDay($clientId)) {
                return null;
            }

            return self::keepEvent($clientId, 'cycle-change', ['service:' . $serviceId]);
        });
    }

    /** The services and addons an order made, as the worker names them ("service:12"). */
    private static function orderLines(int $orderId): array
    {
        $lines = [];
        foreach (Capsule::table('tblhosting')->where('orderid', $orderId)->orderBy('id')->pluck('id') as $id) {
            $lines[] = 'service:' . (int) $id;
        }
        foreach (Capsule::table('tblhostingaddons')->where('orderid', $orderId)->orderBy('id')->pluck('id') as $id) {
            $lines[] = 'addon:' . (int) $id;
        }

        return $lines;
    }

    /**
     * Whether a change of this client's services is sent: it has a billing day and "Keep
     * services on the client's day" (keep_on_day) is invoice or report. Read from its row
     * (two indexed look-ups), so that a WHMCS with the setting off sends nothing.
     */
    private static function keepsDay(int $clientId): bool
    {
        if ($clientId <= 0) {
            return false;
        }
        $keep = Capsule::table('tbladdonmodules')
            ->where('module', Settings::MODULE)
            ->where('setting', 'keep_on_day')
            ->value('value');
        if (!in_array(strtolower(trim((string) $keep)), self::KEEP_SENDS, true)) {
            return false;
        }

        return Capsule::table(self::CLIENT_DAYS)->where('client_id', $clientId)->exists();
    }

    /** The worker's rule (domain/drift.py changes_cycle_only): the same product, a cycle. */
    private static function changesCycleOnly(string $type, string $original, string $new, string $newCycle): bool
    {
        if ($type === 'configoptions') {
            return false;
        }
        $parts = explode(',', $new, 2);
        $cycle = trim($newCycle) !== '' ? trim($newCycle) : trim($parts[1] ?? '');

        return $cycle !== '' && trim($parts[0]) === trim($original);
    }

    /**
     * The "keep client on its day" event, sent (or kept in the outbox) by the usual path.
     *
     * @param list<string> $services what to align ("service:12", "addon:3")
     */
    private static function keepEvent(int $clientId, string $trigger, array $services, ?string $eventId = null): SentEvent
    {
        $kwargs = ['client_id' => $clientId, 'trigger' => $trigger, 'services' => $services];
        if ($eventId !== null) {
            $kwargs = ['event_id' => $eventId] + $kwargs;
        }

        return EventSender::fromWhmcs()->send(self::KEEP_TASK, $kwargs, $clientId);
    }

    /** InvoiceCancelled: the worker puts back the next invoice dates of its alignment. */
    public static function invoiceCancelled(array $vars): void
    {
        self::guard('InvoiceCancelled', function () use ($vars) {
            self::invoiceEvent('prorata.invoice_cancelled', (int) ($vars['invoiceid'] ?? 0));
        });
    }

    /**
     * AfterInvoicingGenerateInvoiceItems: WHMCS's invoice run has written its lines and not yet
     * grouped them into invoices; the renewal lines of periods already being aligned go.
     */
    public static function afterInvoicingGenerateInvoiceItems(): void
    {
        self::guard('AfterInvoicingGenerateInvoiceItems', function () {
            StagedRenewals::remove();
        });
    }

    /**
     * CancellationRequest (userid, relid = the service id, reason, type; it runs while WHMCS
     * creates the request): WHMCS's own cancellation strips only Hosting/Addon lines, so
     * the worker withdraws the service's pending alignment line. Sent only for a service
     * with a pending alignment; the worker's daily reconcile finds any request missed here.
     */
    public static function cancellationRequest(array $vars): ?SentEvent
    {
        return self::guard('CancellationRequest', function () use ($vars) {
            $serviceId = (int) ($vars['relid'] ?? 0);
            if ($serviceId <= 0 || !AlignmentInvoices::servicePending($serviceId)) {
                return null;
            }
            $clientId = (int) ($vars['userid'] ?? 0);

            return EventSender::fromWhmcs()->send(
                'prorata.service_cancellation_requested',
                ['service_id' => $serviceId],
                $clientId
            );
        });
    }

    /**
     * Sends the event for an invoice that holds alignment lines; other invoices send nothing.
     * Returns what became of the event, or null when nothing was sent.
     */
    public static function invoiceEvent(string $task, int $invoiceId, array $more = []): ?SentEvent
    {
        if (!AlignmentInvoices::holdsAlignmentLines($invoiceId)) {
            return null;
        }
        $clientId = (int) Capsule::table('tblinvoices')->where('id', $invoiceId)->value('userid');

        return EventSender::fromWhmcs()->send($task, ['invoice_id' => $invoiceId] + $more, $clientId);
    }

    /** AdminAreaClientSummaryActionLinks: a link to the module's page for this client. */
    public static function adminSummaryLinks(array $vars): array
    {
        return self::guard('AdminAreaClientSummaryActionLinks', function () use ($vars) {
            $clientId = (int) ($vars['userid'] ?? 0);
            if ($clientId <= 0) {
                return [];
            }
            $href = self::MODULE_LINK . '&client_id=' . $clientId;

            return [
                '<a href="' . htmlspecialchars($href, ENT_QUOTES) . '">'
                . '<i class="fas fa-calendar-alt fa-fw"></i> '
                . htmlspecialchars(Lang::get('admin_summary_link'), ENT_QUOTES)
                . '</a>',
            ];
        }, []);
    }

    /**
     * AdminAreaClientSummaryPage: the client's billing day (or that it has none), who set it
     * and when, and a link to the module's page for the client, in the admin's language
     * (tbladmins.language, as WHMCS picks the addon's language file for its pages).
     */
    public static function adminSummaryPage(array $vars): string
    {
        return self::guard('AdminAreaClientSummaryPage', function () use ($vars) {
            $clientId = (int) ($vars['userid'] ?? 0);
            if ($clientId <= 0) {
                return '';
            }
            $language = self::adminLanguage();
            $e = fn (string $text) => htmlspecialchars($text, ENT_QUOTES, 'UTF-8');
            $day = ClientDays::of($clientId);
            if ($day === null) {
                $text = '<span class="prorata-summary-none">' . $e(Lang::get('summary_no_day', $language)) . '</span>';
            } else {
                $setAt = (string) $day->set_at;
                $when = \ProrataAlign\Page\Format::forClient(null)->date($setAt);
                $text = '<strong class="prorata-summary-current" data-day="' . (int) $day->day . '">'
                    . $e(Lang::format('summary_day', $language, ClientDays::ordinal((int) $day->day, Lang::get('day_ordinals', $language))))
                    . '</strong> <small class="text-muted">'
                    . $e(Lang::format('summary_set', $language, Lang::get('summary_by_' . (in_array($day->set_by, ['client', 'bulk', 'cli'], true) ? $day->set_by : 'admin'), $language), $when))
                    . '</small>';
            }
            $href = self::MODULE_LINK . '&client_id=' . $clientId;

            return '<div class="panel panel-default prorata-summary" id="prorata-summary-day"><div class="panel-body">'
                . '<i class="fas fa-calendar-alt fa-fw"></i> ' . $e(Lang::get('summary_title', $language)) . ': ' . $text
                . ' <a href="' . $e($href) . '" class="prorata-summary-link">' . $e(Lang::get('summary_link', $language)) . '</a>'
                . '</div></div>';
        }, '');
    }

    /** The language of the admin logged in (tbladmins.language); '' (English) when unknown. */
    private static function adminLanguage(): string
    {
        $adminId = (int) ($_SESSION['adminid'] ?? 0);
        if ($adminId <= 0) {
            return '';
        }
        try {
            return (string) Capsule::table('tbladmins')->where('id', $adminId)->value('language');
        } catch (\Throwable $e) {
            return '';
        }
    }

    /**
     * The client's billing day as the client area says it ("Your services renew on the
     * 1st."), in their language; '' when the client has none.
     */
    public static function clientDayLine(int $clientId, ?string $language): string
    {
        $day = ClientDays::of($clientId);
        if ($day === null) {
            return '';
        }

        return Lang::format('client_day_line', $language, ClientDays::ordinal((int) $day->day, Lang::get('day_ordinals', $language)));
    }

    /**
     * ClientAreaHomepagePanels: when "Button on client area" is on and the person logged in
     * may align the account (ClientContext::mayAlign), a panel: the invoices of an alignment
     * that wait for payment, each with its total and a link to pay it; else, when there is
     * something to align, the day, the number of services, each invoice's subtotal, taxes and
     * total, and a button to the module's page.
     *
     * The home page never waits long for it: the plan is kept a minute per client, the worker
     * gets PANEL_WAIT seconds, and it is not asked at all while it is known to be down
     * (PreviewClient::cachedPreview); without an answer the home page is left as it is.
     *
     * @param object $panels WHMCS\View\Menu\Item
     */
    public static function homepagePanels($panels): void
    {
        self::guard('ClientAreaHomepagePanels', function () use ($panels) {
            $client = ClientContext::current();
            if ($client === null || !is_object($panels)) {
                return;
            }
            $settings = Settings::load();
            if (!$settings->clientAreaButton() || !$client->mayAlign()) {
                return;
            }
            $currency = Money::currencyOf($client->id);
            $dayLine = self::clientDayLine($client->id, $client->language);
            $waiting = InvoiceSummary::waiting($client->id);
            if ($waiting !== []) {
                $taxNames = InvoiceSummary::taxNames($client->id);
                $panels->addChild('prorata_align', self::withDayLine(self::waitingPanel($waiting, $currency, $taxNames, $client->language), $dayLine));

                return;
            }
            $panel = null;
            if (self::hasCandidates($client->id, $settings)) {
                try {
                    $plan = (new PreviewClient($settings))->cachedPreview($client->id, self::PANEL_WAIT);
                    $panel = self::panelFor($plan, $client->language, $currency, InvoiceSummary::taxNames($client->id));
                } catch (PreviewError $e) {
                    $panel = null; // the worker is away or busy: no offer this time
                }
            }
            if ($panel === null && $dayLine !== '') {
                // nothing to align or pay: the day alone
                $panel = self::panel('panel_day_title', '', 'panel_day_button', $client->language);
            }
            if ($panel !== null) {
                $panels->addChild('prorata_align', self::withDayLine($panel, $dayLine));
            }
        });
    }

    /**
     * The panel's options for a preview, or null when it aligns nothing. Without a currency,
     * the prefix and suffix the worker sent along.
     *
     * @param array<int, string> $taxNames InvoiceSummary::taxNames()
     */
    public static function panelFor(array $plan, ?string $language = null, ?Currency $currency = null, array $taxNames = []): ?array
    {
        $count = 0;
        foreach ($plan['lines'] ?? [] as $line) {
            if (is_array($line) && ($line['reason'] ?? null) === null) {
                $count++;
            }
        }
        if ($count === 0) {
            return null;
        }
        $client = is_array($plan['client'] ?? null) ? $plan['client'] : [];
        $currency ??= new Currency((string) ($client['currency_prefix'] ?? ''), (string) ($client['currency_suffix'] ?? ''));
        $invoices = array_values(array_filter($plan['invoices'] ?? [], 'is_array'));
        $body = '<p>' . htmlspecialchars(Lang::format(
            $count === 1 ? 'panel_body_one' : 'panel_body_many',
            $language,
            $count,
            (int) ($plan['day'] ?? 0)
        ), ENT_QUOTES) . '</p>';
        foreach ($invoices as $n => $invoice) {
            $title = count($invoices) > 1 ? Lang::format('panel_invoice_of', $language, $n + 1, count($invoices)) : '';
            if (isset($invoice['balance'], $invoice['credit'])) {
                $invoice['total'] = (string) $invoice['balance']; // as WHMCS keeps it: after the credit
            } else {
                unset($invoice['credit']); // a worker that does not say the credit yet
            }
            $totals = InvoiceSummary::totals($invoice, $currency, $taxNames, Lang::get('tax_default_name', $language));
            $body .= self::invoiceBlock(htmlspecialchars($title, ENT_QUOTES), $totals, $language, 0, self::dueNote($invoice, $totals, $language));
        }

        return self::panel('panel_title', $body, 'panel_button', $language);
    }

    /**
     * The panel for a client whose alignment invoices wait for payment: each invoice with
     * its own total and a link to pay it, and no new offer.
     *
     * @param array<int, array<string, string>> $waiting InvoiceSummary::waiting()
     */
    private static function waitingPanel(array $waiting, Currency $currency, array $taxNames, ?string $language): array
    {
        $body = '<p>' . htmlspecialchars(Lang::get(count($waiting) === 1 ? 'panel_waiting_body_one' : 'panel_waiting_body', $language), ENT_QUOTES) . '</p>';
        foreach ($waiting as $id => $invoice) {
            $label = htmlspecialchars(Lang::format('panel_waiting_invoice', $language, (int) $id), ENT_QUOTES);
            $totals = InvoiceSummary::totals($invoice, $currency, $taxNames, Lang::get('tax_default_name', $language));
            // Payment Pending: its payment is on its way, so no link inviting to pay it again
            $title = ($invoice['status'] ?? '') === 'Payment Pending' || $totals['balance_cents'] <= 0
                ? $label
                : '<a href="viewinvoice.php?id=' . (int) $id . '" class="prorata-panel-pay">' . $label . '</a>';
            $body .= self::invoiceBlock($title, $totals, $language, (int) $id, self::dueNote($invoice, $totals, $language));
        }

        return self::panel('panel_waiting_title', $body, 'panel_waiting_button', $language);
    }

    /**
     * What the client has to do about an invoice, in bold: "To pay now" only once it is due,
     * "To pay by <date>" before, "Payment in progress" while WHMCS waits for a payment.
     */
    private static function dueNote(array $invoice, array $totals, ?string $language): string
    {
        if (($invoice['status'] ?? '') === 'Payment Pending') {
            return Lang::format('panel_in_progress', $language, $totals['balance']);
        }
        $due = substr((string) ($invoice['duedate'] ?? ''), 0, 10);
        if ($due !== '' && $due > date('Y-m-d')) {
            $shown = $due;
            try {
                $shown = \ProrataAlign\Page\Format::forClient(null)->date($due);
            } catch (\Throwable $e) {
                $shown = $due;
            }

            return Lang::format('panel_due_later', $language, $shown, $totals['balance']);
        }

        return Lang::format('panel_cost', $language, $totals['balance']);
    }

    /** One invoice's lines: subtotal, each tax, credit, payments, then what to pay in bold. */
    private static function invoiceBlock(string $titleHtml, array $totals, ?string $language, int $invoiceId = 0, string $due = ''): string
    {
        $e = fn (string $text) => htmlspecialchars($text, ENT_QUOTES, 'UTF-8', false);
        $lines = ($totals['discount'] ?? '') !== ''
            ? '<li class="prorata-panel-discount">' . $e(Lang::format('panel_discount', $language, $totals['discount'])) . '</li>'
            : '';
        $lines .= '<li>' . $e(Lang::format('panel_subtotal', $language, $totals['subtotal'])) . '</li>';
        foreach ($totals['taxes'] as $tax) {
            $lines .= '<li class="prorata-panel-tax">' . $e(Lang::format('panel_tax', $language, $tax['label'], $tax['amount'])) . '</li>';
        }
        if ($totals['credit'] !== '') {
            $lines .= '<li>' . $e(Lang::format('panel_credit', $language, $totals['credit'])) . '</li>';
        }
        if (($totals['paid'] ?? '') !== '') {
            $lines .= '<li class="prorata-panel-paid">' . $e(Lang::format('panel_paid', $language, $totals['paid'])) . '</li>';
        }
        $due = $due !== '' ? $due : Lang::format('panel_cost', $language, $totals['balance'] ?? $totals['total']);

        return '<div class="prorata-panel-invoice"' . ($invoiceId > 0 ? ' data-invoice="' . $invoiceId . '"' : '') . '>'
            . ($titleHtml !== '' ? '<p class="mb-1">' . $titleHtml . '</p>' : '')
            . '<ul class="list-unstyled small mb-1">' . $lines . '</ul>'
            . '<p><strong class="prorata-panel-total">' . $e($due) . '</strong></p></div>';
    }

    /** A panel with the client's day as its first line (none: the panel as it is). */
    private static function withDayLine(array $panel, string $dayLine): array
    {
        if ($dayLine === '') {
            return $panel;
        }
        $line = '<p class="prorata-panel-day">' . htmlspecialchars($dayLine, ENT_QUOTES, 'UTF-8') . '</p>';
        $panel['bodyHtml'] = '<div class="panel-body card-body">' . $line
            . substr((string) $panel['bodyHtml'], strlen('<div class="panel-body card-body">'));

        return $panel;
    }

    private static function panel(string $titleKey, string $body, string $buttonKey, ?string $language): array
    {
        return [
            'label' => Lang::get($titleKey, $language),
            'icon' => 'fas fa-calendar-alt',
            'order' => 150,
            'extras' => [
                'color' => 'teal',
                'btn-link' => self::CLIENT_LINK,
                'btn-text' => Lang::get($buttonKey, $language),
                'btn-icon' => 'fas fa-arrow-right',
            ],
            'bodyHtml' => '<div class="panel-body card-body">' . $body . '</div>',
        ];
    }

    /**
     * Whether the client has any service or addon the worker could align at all (status and
     * cycle): two indexed look-ups that spare the worker a preview for everyone else.
     */
    private static function hasCandidates(int $clientId, Settings $settings): bool
    {
        $services = Capsule::table('tblhosting')
            ->where('userid', $clientId)
            ->whereIn('domainstatus', self::STATUSES)
            ->whereIn('billingcycle', self::CYCLES)
            ->exists();
        if ($services || !$settings->alignAddons()) {
            return $services;
        }

        return Capsule::table('tblhostingaddons')
            ->where('userid', $clientId)
            ->whereIn('status', self::STATUSES)
            ->whereIn('billingcycle', self::CYCLES)
            ->exists();
    }

    /** Runs a hook's body; any error is logged and the hook's neutral answer returned. */
    private static function guard(string $hook, callable $body, $default = null)
    {
        try {
            return $body();
        } catch (\Throwable $e) {
            try {
                ActivityLog::write(0, 'log_hook_failed', $hook, get_class($e) . ': ' . $e->getMessage());
            } catch (\Throwable $ignored) {
                // the activity log is the last resort; nothing more to do
            }

            return $default;
        }
    }
}
