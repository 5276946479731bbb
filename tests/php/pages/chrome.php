<?php
/**
 * The page around the addon's output for the browser tests: a minimal WHMCS admin layout
 * (Bootstrap 3 class names) and a minimal Twenty-One client area layout (Bootstrap 4 class
 * names), with a small inline stylesheet standing in for Bootstrap (nothing is fetched from
 * the network). Also the Smarty rendering of the client area template, looked up as WHMCS
 * does: the theme's override first, then the module's templates/ folder.
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

use WHMCS\Database\Capsule;

function pages_e($value): string
{
    return htmlspecialchars((string) $value, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
}

/** The module's saved settings, as WHMCS passes them in $vars. */
function pages_module_settings(): array
{
    $settings = [];
    foreach (Capsule::table('tbladdonmodules')->where('module', 'prorata_align')->get() as $row) {
        $settings[(string) $row->setting] = (string) $row->value;
    }

    return $settings;
}

function pages_not_found(): void
{
    http_response_code(404);
    pages_client_chrome('Not found', [], '<p>Page not found.</p>');
}

function pages_stylesheet(): string
{
    return (string) file_get_contents(__DIR__ . '/pages.css');
}

function pages_admin_chrome(string $title, string $content): void
{
    echo '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>', pages_e($title), ' - WHMCS Admin</title>',
        '<style>', pages_stylesheet(), '</style></head><body class="admin">',
        '<header class="admin-header"><span class="brand">WHMCS</span>',
        '<nav><a href="#">Clients</a><a href="#">Orders</a><a href="#">Billing</a><a href="#">Support</a>',
        '<a href="/admin/addonmodules.php?module=prorata_align" class="active">Addons</a></nav>',
        '<span class="admin-user">Admin #1</span></header>',
        '<div class="contentarea"><h1>', pages_e($title), '</h1>', $content, '</div></body></html>';
}

function pages_client_chrome(string $title, array $breadcrumb, string $content): void
{
    $crumbs = '<li class="breadcrumb-item"><a href="/clientarea.php">Portal Home</a></li>';
    foreach ($breadcrumb as $href => $label) {
        $crumbs .= '<li class="breadcrumb-item"><a href="/' . pages_e(ltrim((string) $href, '/')) . '">' . pages_e($label) . '</a></li>';
    }
    $user = empty($_SESSION['uid']) ? '' : 'Client #' . (int) $_SESSION['uid'];
    echo '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>', pages_e($title), ' - Client Area</title>',
        '<style>', pages_stylesheet(), "\n", pages_bootstrap_rules(), '</style></head><body class="client primary-bg-color">',
        '<header class="header"><div class="container"><span class="brand">Example Hosting</span>',
        '<nav><a href="/clientarea.php">Home</a><a href="#">Services</a><a href="#">Billing</a><a href="#">Support</a></nav>',
        '<span class="client-user">', pages_e($user), '</span></div></header>',
        '<nav class="master-breadcrumb"><div class="container"><ol class="breadcrumb">', $crumbs, '</ol></div></nav>',
        '<section id="main-body"><div class="container"><h1 class="page-title">', pages_e($title), '</h1>',
        $content, '</div></section><footer class="footer"><div class="container">Powered by WHMCompleteSolution</div></footer>',
        '</body></html>';
}

/** The home page's panels as Twenty-One shows them: a card each, its body, its button. */
function pages_home_panels(WHMCS\View\Menu\Item $panels): string
{
    $html = '<div class="row home-panels">';
    foreach ($panels->getChildren() as $panel) {
        $button = '';
        if ($panel->getExtra('btn-link')) {
            $button = '<div class="card-footer"><a class="btn btn-default btn-sm panel-button" href="/'
                . pages_e(ltrim((string) $panel->getExtra('btn-link'), '/')) . '">' . pages_e($panel->getExtra('btn-text')) . '</a></div>';
        }
        $html .= '<div class="col card card-accent-' . pages_e($panel->getExtra('color')) . '" id="panel-' . pages_e($panel->getName()) . '">'
            . '<div class="card-header"><h3 class="card-title">' . pages_e($panel->getLabel()) . '</h3></div>'
            . (string) $panel->getBodyHtml() . $button . '</div>';
    }

    return $html . '</div>';
}

function pages_invoice_html(object $invoice): string
{
    $items = Capsule::table('tblinvoiceitems')->where('invoiceid', (int) $invoice->id)->orderBy('id')->get();
    $html = '<div class="invoice" data-invoice="' . (int) $invoice->id . '" data-status="' . pages_e($invoice->status) . '">'
        . '<p>Status: <strong class="invoice-status">' . pages_e($invoice->status) . '</strong>'
        . ' &middot; Due: ' . pages_e($invoice->duedate) . ' &middot; ' . pages_e($invoice->paymentmethod) . '</p>'
        . '<table class="table"><thead><tr><th>Description</th><th>Type</th><th class="text-right">Amount</th></tr></thead><tbody>';
    foreach ($items as $item) {
        $html .= '<tr><td>' . pages_e($item->description) . '</td><td>' . pages_e($item->type) . '</td>'
            . '<td class="text-right">' . pages_e($item->amount) . '</td></tr>';
    }

    return $html . '</tbody><tfoot><tr><th colspan="2">Total</th><th class="text-right">' . pages_e($invoice->total)
        . '</th></tr></tfoot></table></div>';
}

/**
 * Smarty from Debian's smarty3 package (WHMCS 8 ships Smarty 3.1), or smarty4. Smarty 3.1's
 * own code is older than PHP 8.2 and sets dynamic properties: its deprecation notices are
 * muted while it renders, every other notice and warning stays on.
 */
function pages_smarty(string $state): Smarty
{
    if (!class_exists('Smarty')) {
        foreach (['/usr/share/php/smarty3/Smarty.class.php', '/usr/share/php/smarty4/Smarty.class.php'] as $file) {
            if (is_file($file)) {
                require_once $file;
                break;
            }
        }
    }
    if (!class_exists('Smarty')) {
        http_response_code(500);
        echo 'Smarty is missing: install the Debian package smarty3 (or smarty4)';
        exit;
    }
    $smarty = new Smarty();
    $smarty->setCompileDir($state . '/compiled');
    $smarty->setCacheDir($state . '/compiled');
    $smarty->error_reporting = E_ALL & ~E_DEPRECATED;

    return $smarty;
}

/**
 * Renders the client area template as WHMCS does: templates/<theme>/modules/addons/<module>/
 * <file>.tpl when the active theme has one, else the module's own templates/<file>.tpl.
 */
function pages_render_template(string $file, array $vars, string $state): string
{
    if (!preg_match('/^[a-z0-9_]+$/', $file)) {
        return '<p>bad template name</p>';
    }
    $candidates = [];
    $themes = getenv('PRORATA_PAGES_THEMES');
    if ($themes !== false && $themes !== '') {
        $theme = getenv('PRORATA_PAGES_THEME') ?: 'twenty-one';
        $candidates[] = $themes . '/' . $theme . '/modules/addons/prorata_align/' . $file . '.tpl';
    }
    $candidates[] = PRORATA_HARNESS_ADDON . '/templates/' . $file . '.tpl';
    foreach ($candidates as $template) {
        if (is_file($template)) {
            $smarty = pages_smarty($state);
            $smarty->assign($vars);

            return $smarty->fetch($template);
        }
    }

    return '<p>template ' . pages_e($file) . ' not found</p>';
}
