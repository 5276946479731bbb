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
        self::guard('InvoicePaid', fn () => KeepDayHooks::orderPaid($invoiceId));
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
     * Runs a hook's body; any error is logged and the hook's neutral answer returned (the
     * keep-the-day hooks too: KeepDayHooks).
     */
    public static function guard(string $hook, callable $body, $default = null)
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
