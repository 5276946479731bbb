<?php
/**
 * Prorated Next Due Date (prorata_align): WHMCS addon module.
 *
 * Aligns the next due dates of a client's services to one day of the month and invoices the
 * days in between. The rules run in the prorata-align worker (Python, Celery); this addon is
 * the WHMCS side: its settings, and later its admin page, client area page and hooks.
 *
 * The settings below must match SETTING_SPECS in domain/settings.py: same keys, same order,
 * same labels, same defaults (tests/test_php_config.py checks that).
 */

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

// the addon's one class loader (namespace ProrataAlign, lib/)
require_once __DIR__ . '/lib/autoload.php';

// The functions are declared inside this block rather than at the top level: PHP binds
// top-level functions while it compiles a file, before the guard above runs, so opening the
// file directly would still define them. Inside a block they exist only once WHMCS includes it.
if (!function_exists('prorata_align_config')) {
    /**
     * Module name, version and settings, as WHMCS shows them under
     * System Settings > Addon Modules. WHMCS saves each setting as a string in tbladdonmodules.
     */
    function prorata_align_config()
    {
        // A yesno field is a checkbox: WHMCS saves "on" in tbladdonmodules when it is ticked and
        // "" when it is not. WHMCS's developer docs and sample modules never show a Default for
        // a yesno field; a ticked default here is "on", the very value WHMCS itself saves for a
        // ticked box, so what ends up stored is the same whether WHMCS copies the Default
        // verbatim or only uses it to pre-tick the box. An unticked default is "".
        $ticked = 'on';
        $unticked = '';

        $yesno = function ($label, $default) {
            return ['FriendlyName' => $label, 'Type' => 'yesno', 'Default' => $default];
        };
        $text = function ($label, $size, $default) {
            return [
                'FriendlyName' => $label,
                'Type' => 'text',
                'Size' => $size,
                'Default' => $default,
            ];
        };

        $fields = [
            'client_area_button' => $yesno('Button on client area', $unticked),
            'prorata_day' => [
                'FriendlyName' => 'Prorata Date',
                'Type' => 'dropdown',
                'Options' => implode(',', range(1, 31)),
                'Default' => '1',
            ],
            'prorate_monthly' => $yesno('Prorate monthly', $ticked),
            'prorate_quarterly' => $yesno('Prorate quarterly', $ticked),
            'prorate_semiannually' => $yesno('Prorate semi-annual', $ticked),
            'prorate_annually' => $yesno('Prorate annual', $ticked),
            'prorate_biennially' => $yesno('Prorate biennial', $ticked),
            'prorate_triennially' => $yesno('Prorate triennial', $ticked),
            'calculate_days_by_use' => $yesno('Calculate days by date of use', $ticked),
            'days_month' => $text('Days month', '5', '30'),
            'days_quarter' => $text('Days quarter', '5', '90'),
            'days_half_year' => $text('Days half year', '5', '180'),
            'days_year' => $text('Days year', '5', '365'),
            'days_two_year' => $text('Days two year', '5', '730'),
            'days_three_year' => $text('Days three year', '5', '1095'),
            'align_addons' => $yesno('Align product addons', $ticked),
            'cancel_unpaid_after_days' => $text(
                'Cancel unpaid alignment invoices after (days)',
                '5',
                '30'
            ),
            'minimum_days' => $text('Minimum days to charge', '3', '0'),
            'exclude_products' => $text('Excluded products', '40', ''),
            'exclude_product_groups' => $text('Excluded product groups', '40', ''),
            'exclude_addons' => $text('Excluded addons', '40', ''),
            'keep_on_day' => [
                'FriendlyName' => "Keep services on the client's day",
                'Type' => 'dropdown',
                'Options' => 'off,invoice,report',
                'Default' => 'off',
            ],
            'renewal_invoices' => [
                'FriendlyName' => 'Unpaid renewal invoices',
                'Type' => 'dropdown',
                'Options' => 'edit,reissue,leave',
                'Default' => 'edit',
            ],
            'redis_host' => $text('Redis host', '30', '127.0.0.1'),
            'redis_port' => $text('Redis port', '6', '6379'),
            'redis_password' => [
                'FriendlyName' => 'Redis password',
                'Type' => 'password',
                'Size' => '30',
                'Default' => '',
            ],
            'redis_db' => $text('Redis database', '3', '0'),
            'queue' => $text('Queue', '20', 'prorata'),
            'preview_timeout' => $text('Preview wait (seconds)', '3', '5'),
        ];
        foreach (array_keys($fields) as $key) {
            $fields[$key]['Description'] = \ProrataAlign\Lang::get('setting_' . $key . '_desc');
        }

        return [
            'name' => 'Prorated Next Due Date',
            'description' => \ProrataAlign\Lang::get('module_description'),
            'author' => 'Prorata Align',
            'language' => 'english',
            'version' => '1.1.0.dev0',
            'fields' => $fields,
        ];
    }

    /**
     * Called by WHMCS when an admin activates the module. Creates nothing: the worker's
     * `prorata db upgrade` command owns the module's tables.
     */
    function prorata_align_activate()
    {
        return [
            'status' => 'success',
            'description' => \ProrataAlign\Lang::get('activate_success'),
        ];
    }

    /**
     * Called by WHMCS when an admin deactivates the module. Drops nothing: the module's tables
     * and the alignment history in them stay; the worker's own commands manage them.
     */
    function prorata_align_deactivate()
    {
        return [
            'status' => 'success',
            'description' => \ProrataAlign\Lang::get('deactivate_success'),
        ];
    }
}

// The admin page and the client area page, as WHMCS's sample addon module lays them out:
// each hands the request to its area's controller (lib/Admin/Dispatcher.php picks the admin
// page's; lib/Client/ClientAreaController.php is the client area's), whose markup is in
// templates/. Declared inside a block for the same reason as above.
if (!function_exists('prorata_align_output')) {
    /**
     * The admin page, Addons > Prorated Next Due Date: find a client, preview, align, and the
     * list of alignments; with &view=bulk, align many clients. WHMCS prints what this echoes
     * inside its admin layout; the bulk run's progress (&format=json) is answered alone.
     */
    function prorata_align_output($vars)
    {
        $worker = new \ProrataAlign\Worker\WorkerClient(\ProrataAlign\Settings::load());
        $adminId = (int) ($_SESSION['adminid'] ?? 0);
        $dispatcher = new \ProrataAlign\Admin\Dispatcher(is_array($vars) ? $vars : [], $worker, $adminId);
        $dispatcher->answerJsonIfAsked();

        echo $dispatcher->render();
    }

    /**
     * The client area page, index.php?m=prorata_align: the logged-in client's own services,
     * aligned to the module's Prorata Date once they confirm.
     */
    function prorata_align_clientarea($vars)
    {
        $client = \ProrataAlign\ClientContext::current();
        $worker = new \ProrataAlign\Worker\WorkerClient(\ProrataAlign\Settings::load());
        $vars = is_array($vars) ? $vars : [];
        if ($client !== null && $client->language !== '' && empty($vars['_lang'])) {
            $vars['_lang'] = \ProrataAlign\Lang::strings($client->language);
        }
        $controller = new \ProrataAlign\Client\ClientAreaController($vars, $worker, $client === null ? 0 : $client->id);

        return $controller->build();
    }
}
