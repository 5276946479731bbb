<?php
/**
 * Serves the addon's admin and client area pages with PHP's built-in web server, inside the
 * WHMCS test harness (tests/php/harness/bootstrap.php), for the browser tests:
 *
 *   PRORATA_HARNESS_DB_URL=... php -S 127.0.0.1:PORT tests/php/pages/router.php
 *
 * Pages, as WHMCS lays them out:
 *   /admin/addonmodules.php?module=prorata_align  prorata_align_output() in admin chrome
 *   /admin/invoices.php?action=edit&id=N          an invoice, as the admin's link shows it
 *   /admin/clientssummary.php?userid=N             a client's summary page: what the addon's
 *                                                 summary hooks return
 *   /index.php?m=prorata_align                    prorata_align_clientarea(), rendered with
 *                                                 Smarty, in client area chrome
 *   /viewinvoice.php?id=N                         the logged-in client's own invoice
 *   /login.php?uid=N[&user=M]                     logs user M (default: the account's owner)
 *                                                 in to client account N (test shortcut)
 *   /clientarea.php                               the client area home page with its panels
 *                                                 (the ClientAreaHomepagePanels hook)
 * The admin pages run as admin 1. ?language=german (or french) switches the language, as
 * WHMCS's own language switcher does.
 *
 * Environment: PRORATA_HARNESS_DB_URL (the sandbox database), PRORATA_PAGES_STATE (a folder for
 * sessions and compiled templates), PRORATA_PAGES_THEMES (optional: a WHMCS "templates" folder
 * holding <theme>/modules/addons/prorata_align/ overrides), PRORATA_PAGES_THEME (the theme,
 * "twenty-one" by default).
 */

$state = getenv('PRORATA_PAGES_STATE') ?: sys_get_temp_dir() . '/prorata-pages';
foreach (['sessions', 'compiled'] as $folder) {
    if (!is_dir($state . '/' . $folder)) {
        mkdir($state . '/' . $folder, 0700, true);
    }
}
session_save_path($state . '/sessions');
session_name('WHMCSpages');
session_start();

$path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH) ?: '/';
if ($path === '/favicon.ico') {
    http_response_code(404);
    return true;
}

require dirname(__DIR__) . '/harness/bootstrap.php';
require PRORATA_HARNESS_ADDON . '/prorata_align.php';
require __DIR__ . '/chrome.php';
require __DIR__ . '/bootstrap.php';
require __DIR__ . '/users.php';

use WHMCS\Database\Capsule;

// WHMCS's UpdateInvoice, as far as the cancel action uses it: the new status (and, for
// Cancelled, the date). Each call also writes an activity log line the tests can look for.
harness_register_local_api('UpdateInvoice', function (array $params) {
    $id = (int) ($params['invoiceid'] ?? 0);
    $invoice = Capsule::table('tblinvoices')->where('id', $id)->first();
    if ($invoice === null) {
        return ['result' => 'error', 'message' => 'Invoice ID Not Found'];
    }
    $values = ['updated_at' => date('Y-m-d H:i:s')];
    if (isset($params['status'])) {
        $values['status'] = (string) $params['status'];
        if ($params['status'] === 'Cancelled') {
            $values['date_cancelled'] = date('Y-m-d H:i:s');
        }
    }
    Capsule::table('tblinvoices')->where('id', $id)->update($values);
    logActivity('UpdateInvoice ' . $id . ' ' . json_encode($params), (int) $invoice->userid);

    return ['result' => 'success', 'invoiceid' => $id];
});

if (isset($_GET['language']) && is_string($_GET['language']) && preg_match('/^[a-z]+$/', $_GET['language'])) {
    $_SESSION['Language'] = $_GET['language'];
}
$language = (string) ($_SESSION['Language'] ?? 'english');

switch ($path) {
    case '/':
        pages_client_chrome('Test WHMCS', [], '<ul>'
            . '<li><a href="/admin/addonmodules.php?module=prorata_align">Admin: Prorated Next Due Date</a></li>'
            . '<li><a href="/index.php?m=prorata_align">Client area page</a></li></ul>');
        break;

    case '/admin/addonmodules.php':
        $_SESSION['adminid'] = 1;
        if (($_GET['module'] ?? '') !== 'prorata_align') {
            pages_not_found();
            break;
        }
        $vars = pages_module_settings() + [
            'modulelink' => 'addonmodules.php?module=prorata_align',
            'version' => prorata_align_config()['version'],
            '_lang' => \ProrataAlign\Lang::strings($language),
        ];
        ob_start();
        prorata_align_output($vars);
        pages_admin_chrome('Prorated Next Due Date', ob_get_clean());
        break;

    case '/admin/clientssummary.php':
        // the client summary page's parts the addon fills: its action links and the
        // AdminAreaClientSummaryPage output (HTML strings, printed one after another)
        $_SESSION['adminid'] = 1;
        $userId = (int) ($_GET['userid'] ?? 0);
        $client = Capsule::table('tblclients')->where('id', $userId)->first();
        if ($client === null) {
            pages_not_found();
            break;
        }
        $links = array_merge(...array_map(
            fn ($answer) => is_array($answer) ? $answer : [],
            run_hook('AdminAreaClientSummaryActionLinks', ['userid' => $userId]) ?: [[]]
        ));
        $summary = implode('', array_map('strval', run_hook('AdminAreaClientSummaryPage', ['userid' => $userId])));
        pages_admin_chrome(
            'Client Profile: ' . $client->firstname . ' ' . $client->lastname,
            $summary . '<ul class="client-summary-links">' . implode('', array_map(fn ($link) => '<li>' . $link . '</li>', $links)) . '</ul>'
        );
        break;

    case '/admin/invoices.php':
        $_SESSION['adminid'] = 1;
        $invoice = Capsule::table('tblinvoices')->where('id', (int) ($_GET['id'] ?? 0))->first();
        if ($invoice === null) {
            pages_not_found();
            break;
        }
        pages_admin_chrome('Invoice #' . (int) $invoice->id, pages_invoice_html($invoice));
        break;

    case '/login.php':
        $uid = (int) ($_GET['uid'] ?? 0);
        if ($uid > 0) {
            pages_login($uid, (int) ($_GET['user'] ?? 0));
            header('Location: /index.php?m=prorata_align');
            break;
        }
        pages_client_chrome('Login', [], '<p>Not logged in.</p>');
        break;

    case '/index.php':
        if (($_GET['m'] ?? '') !== 'prorata_align') {
            pages_not_found();
            break;
        }
        $vars = pages_module_settings() + [
            'modulelink' => 'index.php?m=prorata_align',
            'version' => prorata_align_config()['version'],
            '_lang' => \ProrataAlign\Lang::strings($language),
        ];
        $page = prorata_align_clientarea($vars);
        if (!empty($page['requirelogin']) && empty($_SESSION['uid'])) {
            header('Location: /login.php');
            break;
        }
        $breadcrumb = is_array($page['breadcrumb'] ?? null) ? $page['breadcrumb'] : [];
        pages_client_chrome(
            (string) ($page['pagetitle'] ?? ''),
            $breadcrumb,
            pages_render_template((string) $page['templatefile'], (array) ($page['vars'] ?? []), $state)
        );
        break;

    case '/viewinvoice.php':
        $invoice = Capsule::table('tblinvoices')->where('id', (int) ($_GET['id'] ?? 0))->first();
        if ($invoice === null || empty($_SESSION['uid']) || (int) $invoice->userid !== (int) $_SESSION['uid']) {
            pages_not_found();
            break;
        }
        pages_client_chrome('Invoice #' . (int) $invoice->id, [], pages_invoice_html($invoice));
        break;

    case '/clientarea.php':
        $panels = new WHMCS\View\Menu\Item('homePagePanels');
        run_hook('ClientAreaHomepagePanels', $panels);
        pages_client_chrome('Client Area', [], '<p>Welcome back.</p>' . pages_home_panels($panels));
        break;

    default:
        pages_not_found();
}
