<?php
/**
 * Prorated Next Due Date: hooks. WHMCS loads this file on every page while the addon is
 * active, so it only registers the hooks; the work is in lib/ProrataAlign (Hooks.php,
 * KeepDayHooks.php, HomePanelHooks.php) and runs only when a hook fires. No hook throws:
 * errors go to the activity log.
 *
 * - InvoicePaid / InvoiceCancelled: for invoices holding alignment lines, send the event
 *   (prorata.invoice_paid / prorata.invoice_cancelled) to the worker, or keep it in the
 *   outbox while Redis is unreachable.
 * - InvoicePaidPreEmail: runs before WHMCS writes each prorata line's date over the
 *   service's; the dates the services had are kept for the InvoicePaid event, so that the
 *   worker never moves a date staff moved later back to the alignment's.
 * - AfterInvoicingGenerateInvoiceItems: WHMCS's invoice run made its renewal lines and has
 *   not yet put them on invoices; those of a period an alignment already bills are deleted.
 * - CancellationRequest: a service's pending alignment line is withdrawn by the worker
 *   (prorata.service_cancellation_requested).
 * - InvoicePaid of an order's first invoice, AddonActivation, AfterProductUpgrade /
 *   AfterAddonUpgrade / AfterConfigOptionsUpgrade, and a ServiceEdit that changed the billing
 *   cycle (PreServiceEdit keeps the values before the save): for a client with a billing day
 *   while "Keep services on the client's day" is not off, the new or changed services and
 *   addons are sent to join the day (prorata.keep_on_day), or kept in the outbox.
 * - ClientAreaHomepagePanels: the client's "align your due dates" panel.
 * - AdminAreaClientSummaryActionLinks: "Align due dates" on the client summary page.
 * - AdminAreaClientSummaryPage: the client's billing day on the client summary page.
 */

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

require_once __DIR__ . '/lib/autoload.php';

add_hook('InvoicePaid', 1, function ($vars) {
    \ProrataAlign\Hooks::invoicePaid(is_array($vars) ? $vars : []);
});

add_hook('InvoicePaidPreEmail', 1, function ($vars) {
    \ProrataAlign\Hooks::invoicePaidPreEmail(is_array($vars) ? $vars : []);
});

add_hook('InvoiceCancelled', 1, function ($vars) {
    \ProrataAlign\Hooks::invoiceCancelled(is_array($vars) ? $vars : []);
});

add_hook('AfterInvoicingGenerateInvoiceItems', 1, function ($vars) {
    \ProrataAlign\Hooks::afterInvoicingGenerateInvoiceItems();
});

add_hook('CancellationRequest', 1, function ($vars) {
    \ProrataAlign\Hooks::cancellationRequest(is_array($vars) ? $vars : []);
});

add_hook('AddonActivation', 1, function ($vars) {
    \ProrataAlign\KeepDayHooks::addonActivation(is_array($vars) ? $vars : []);
});

foreach (['AfterProductUpgrade', 'AfterAddonUpgrade', 'AfterConfigOptionsUpgrade'] as $prorataUpgradeHook) {
    add_hook($prorataUpgradeHook, 1, function ($vars) use ($prorataUpgradeHook) {
        \ProrataAlign\KeepDayHooks::upgradePaid($prorataUpgradeHook, is_array($vars) ? $vars : []);
    });
}

add_hook('PreServiceEdit', 1, function ($vars) {
    \ProrataAlign\KeepDayHooks::preServiceEdit(is_array($vars) ? $vars : []);
});

add_hook('ServiceEdit', 1, function ($vars) {
    \ProrataAlign\KeepDayHooks::serviceEdit(is_array($vars) ? $vars : []);
});

add_hook('ClientAreaHomepagePanels', 1, function ($homePagePanels) {
    \ProrataAlign\HomePanelHooks::homepagePanels($homePagePanels);
});

add_hook('AdminAreaClientSummaryActionLinks', 1, function ($vars) {
    return \ProrataAlign\Hooks::adminSummaryLinks(is_array($vars) ? $vars : []);
});

add_hook('AdminAreaClientSummaryPage', 1, function ($vars) {
    return \ProrataAlign\Hooks::adminSummaryPage(is_array($vars) ? $vars : []);
});
