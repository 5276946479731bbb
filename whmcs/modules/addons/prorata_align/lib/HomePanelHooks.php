<?php

namespace ProrataAlign;

use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The client area home page's panel (ClientAreaHomepagePanels, hooks.php): the invoices of
 * an alignment that wait for payment, or what an alignment would bill. It never throws into
 * WHMCS (Hooks::guard).
 */
final class HomePanelHooks
{
    /** The longest the client area home page waits for the worker's preview, in seconds. */
    public const PANEL_WAIT = 0.3;

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
        Hooks::guard('ClientAreaHomepagePanels', function () use ($panels) {
            $client = ClientContext::current();
            if ($client === null || !is_object($panels)) {
                return;
            }
            $settings = Settings::load();
            if (!$settings->clientAreaButton() || !$client->mayAlign()) {
                return;
            }
            $currency = Money::currencyOf($client->id);
            $dayLine = Hooks::clientDayLine($client->id, $client->language);
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
                'btn-link' => Hooks::CLIENT_LINK,
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
            ->whereIn('domainstatus', Hooks::STATUSES)
            ->whereIn('billingcycle', Hooks::CYCLES)
            ->exists();
        if ($services || !$settings->alignAddons()) {
            return $services;
        }

        return Capsule::table('tblhostingaddons')
            ->where('userid', $clientId)
            ->whereIn('status', Hooks::STATUSES)
            ->whereIn('billingcycle', Hooks::CYCLES)
            ->exists();
    }
}
