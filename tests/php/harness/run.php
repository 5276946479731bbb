<?php
/**
 * Runs one request against the addon inside the harness and prints the answer as JSON.
 *
 * Usage: PRORATA_HARNESS_DB_URL=... php tests/php/harness/run.php < request.json
 *
 * The request is a JSON object with "action" and, for every action, optional "session"
 * (becomes $_SESSION), "client" (Menu::context('client'): {"id": .., "language": ..}) and
 * "request" (becomes $_REQUEST / $_POST):
 *   {"action": "hook", "hook": "InvoicePaid", "vars": {"invoiceid": 5}}
 *        -> {"results": [...]}; for ClientAreaHomepagePanels the vars are a fresh panel menu
 *           and the answer has "panels" (the menu as arrays)
 *   {"action": "send", "task": "...", "kwargs": {...}} -> EventSender's SentEvent
 *   {"action": "preview", "client_id": 1, "options": {...}, "wait": 2.5}
 *        -> {"plan": {...}} or {"preview_error": {"reason", "detail", "message"}}
 *   {"action": "message", "task", "kwargs", "task_id", "queue", "options"} -> the Celery message
 *   {"action": "list_key", "queue", "priority"} -> the Redis list key
 *   {"action": "settings"} -> {"defaults", "values" (or errors, per getter)}
 *   {"action": "holds_alignment_lines", "invoice_id": 5} -> bool
 *   {"action": "pay_invoice", "invoice_id": 5, "date": "2024-06-02 09:00:00"}
 *        -> {"paid": "16.00", "hooks": {...}}: the invoice's balance paid as WHMCS 8 pays it
 *           (harness_pay_invoice), its hooks run in this one request
 *   {"action": "service_edit", "service_id": 5, "values": {"billingcycle": "Monthly"},
 *    "log": "Modified Product/Service - ...", "date": "2024-06-10 09:00:00"}
 *        -> {"PreServiceEdit": [...], "ServiceEdit": [...]}: staff saving a service in the
 *           admin area (admin/clientsservices.php): PreServiceEdit, the row saved and its
 *           activity log line, ServiceEdit, in this one request
 *   {"action": "admin_page"} -> {"html": ...}: prorata_align_output() as WHMCS calls it (GET)
 *   {"action": "redis", "commands": [["lpush", key, value], ["get", key], ["del", key]]}
 *        -> the replies, through the client PRORATA_HARNESS_REDIS_CLIENT selects
 *
 * Every answer is {"ok": true, "result": ..., "warnings": [...], "transport": ...} or
 * {"ok": false, "error": "Class: message", ...}. PHP warnings and notices are collected in
 * "warnings" (a test asserts there are none) instead of being printed.
 */

$GLOBALS['harness_warnings'] = [];
set_error_handler(function ($severity, $message, $file, $line) {
    if (!(error_reporting() & $severity)) {
        return false; // silenced with @, as the code meant
    }
    $GLOBALS['harness_warnings'][] = sprintf('%s at %s:%d', $message, basename($file), $line);

    return true;
});

$input = stream_get_contents(STDIN);
$request = json_decode($input === false || $input === '' ? '{}' : $input, true);
if (!is_array($request)) {
    fwrite(STDERR, "harness: the request on standard input must be a JSON object\n");
    exit(3);
}

$_SESSION = is_array($request['session'] ?? null) ? $request['session'] : [];
$_REQUEST = $_POST = is_array($request['request'] ?? null) ? $request['request'] : [];
$_GET = [];

require __DIR__ . '/bootstrap.php';

if (is_array($request['client'] ?? null)) {
    Menu::$context['client'] = (object) $request['client'];
}

function harness_action(array $request)
{
    $action = (string) ($request['action'] ?? '');
    switch ($action) {
        case 'hook':
            $hook = (string) $request['hook'];
            if ($hook === 'ClientAreaHomepagePanels') {
                $panels = new WHMCS\View\Menu\Item('homePagePanels');
                $results = run_hook($hook, $panels);

                return ['results' => $results, 'panels' => (object) $panels->toArray()['children']];
            }

            return ['results' => run_hook($hook, $request['vars'] ?? [])];

        case 'send':
            $sender = ProrataAlign\EventSender::fromWhmcs();

            return $sender->send((string) $request['task'], $request['kwargs'] ?? [], (int) ($request['client_id'] ?? 0))
                ->toArray();

        case 'preview':
            $client = ProrataAlign\PreviewClient::fromWhmcs();
            $wait = isset($request['wait']) ? (float) $request['wait'] : null;
            $started = microtime(true);
            try {
                $plan = $client->preview((int) $request['client_id'], $request['options'] ?? [], $wait);

                return ['plan' => $plan, 'seconds' => microtime(true) - $started];
            } catch (ProrataAlign\PreviewError $e) {
                return [
                    'preview_error' => [
                        'reason' => $e->reason,
                        'detail' => $e->getMessage(),
                        'message' => $e->userMessage(),
                    ],
                    'seconds' => microtime(true) - $started,
                ];
            }

        case 'message':
            return ProrataAlign\CeleryMessage::build(
                (string) $request['task'],
                $request['kwargs'] ?? [],
                (string) $request['task_id'],
                (string) $request['queue'],
                $request['options'] ?? []
            );

        case 'list_key':
            return ProrataAlign\CeleryMessage::redisListKey((string) $request['queue'], (int) ($request['priority'] ?? 0));

        case 'settings':
            $settings = ProrataAlign\Settings::load();
            $values = [];
            $getters = [
                'client_area_button' => 'clientAreaButton', 'prorata_day' => 'prorataDay',
                'align_addons' => 'alignAddons', 'redis_host' => 'redisHost', 'redis_port' => 'redisPort',
                'redis_password' => 'redisPassword', 'redis_db' => 'redisDb', 'queue' => 'queue',
                'preview_timeout' => 'previewTimeout',
            ];
            foreach ($getters as $key => $getter) {
                try {
                    $values[$key] = ['value' => $settings->$getter()];
                } catch (ProrataAlign\SettingsError $e) {
                    $values[$key] = ['error' => $e->getMessage()];
                }
            }

            return [
                'defaults' => ProrataAlign\Settings::defaults(),
                'labels' => array_map(fn ($spec) => $spec[0], ProrataAlign\Settings::SPECS),
                'values' => $values,
            ];

        case 'holds_alignment_lines':
            return ProrataAlign\AlignmentInvoices::holdsAlignmentLines((int) $request['invoice_id']);

        case 'pay_invoice':
            return harness_pay_invoice((int) $request['invoice_id'], (string) ($request['date'] ?? date('Y-m-d H:i:s')));

        case 'service_edit':
            return harness_service_edit(
                (int) $request['service_id'],
                (array) ($request['values'] ?? []),
                (string) ($request['log'] ?? ''),
                (string) ($request['date'] ?? date('Y-m-d H:i:s'))
            );

        case 'admin_page':
            require_once PRORATA_HARNESS_ADDON . '/prorata_align.php';
            $_SERVER['REQUEST_METHOD'] = 'GET';
            ob_start();
            prorata_align_output([
                'modulelink' => 'addonmodules.php?module=prorata_align',
                '_lang' => \ProrataAlign\Lang::strings('english'),
            ]);

            return ['html' => ob_get_clean()];

        case 'redis':
            $settings = ProrataAlign\Settings::load();
            $factory = new ProrataAlign\Redis\RedisClientFactory();
            $client = $factory->connect($settings->redisConfig());
            $replies = [];
            try {
                foreach ($request['commands'] ?? [] as $command) {
                    $name = strtolower((string) array_shift($command));
                    if (!in_array($name, ['lpush', 'get', 'del'], true)) {
                        throw new InvalidArgumentException('unknown command ' . $name);
                    }
                    $replies[] = $client->$name(...$command);
                }
            } finally {
                $client->close();
            }

            return $replies;

        default:
            throw new InvalidArgumentException('unknown action ' . $action);
    }
}

/**
 * addInvoicePayment of the invoice's balance, then processPaidInvoice, in the order of the
 * billing facts (5.1, 5.2), in one request as in WHMCS: the tblaccounts row; for an Unpaid or
 * Payment Pending invoice the status Paid, the hook InvoicePaidPreEmail, the Unpaid mass-pay
 * invoices naming it cancelled, its lines in id order, the hook InvoicePaid last. Of the
 * lines only ProrataProduct<date> / ProrataAddon<date> are processed (both dates := the
 * date, absolutely): the harness pays alignment invoices.
 */
function harness_pay_invoice(int $invoiceId, string $when): array
{
    $db = WHMCS\Database\Capsule::class;
    $invoice = $db::table('tblinvoices')->where('id', $invoiceId)->first();
    if ($invoice === null) {
        throw new InvalidArgumentException("invoice {$invoiceId} does not exist");
    }
    $cents = ProrataAlign\Money::toCents((string) $invoice->total);
    foreach ($db::table('tblaccounts')->where('invoiceid', $invoiceId)->get() as $row) {
        $cents -= ProrataAlign\Money::toCents((string) $row->amountin) - ProrataAlign\Money::toCents((string) $row->amountout);
    }
    $amount = ProrataAlign\Money::format($cents);
    $db::table('tblaccounts')->insert([
        'userid' => $invoice->userid, 'currency' => 0, 'gateway' => (string) $invoice->paymentmethod,
        'date' => $when, 'description' => 'Invoice Payment', 'amountin' => $amount, 'fees' => '0.00',
        'amountout' => '0.00', 'rate' => '1.00000', 'transid' => 'HARNESS-' . $invoiceId,
        'invoiceid' => $invoiceId, 'refundid' => 0,
    ]);
    $hooks = [];
    if (in_array($invoice->status, ['Unpaid', 'Payment Pending'], true)) {
        $db::table('tblinvoices')->where('id', $invoiceId)->update(['status' => 'Paid', 'datepaid' => $when]);
        $hooks['InvoicePaidPreEmail'] = run_hook('InvoicePaidPreEmail', ['invoiceid' => $invoiceId]);
        $massPay = $db::table('tblinvoiceitems')->where('type', 'Invoice')->where('relid', $invoiceId)->pluck('invoiceid')->all();
        if ($massPay !== []) {
            $db::table('tblinvoices')->whereIn('id', $massPay)->where('status', 'Unpaid')->update(['status' => 'Cancelled']);
        }
        foreach ($db::table('tblinvoiceitems')->where('invoiceid', $invoiceId)->orderBy('id')->get() as $line) {
            foreach (['ProrataProduct' => 'tblhosting', 'ProrataAddon' => 'tblhostingaddons'] as $prefix => $table) {
                if (strncmp((string) $line->type, $prefix, strlen($prefix)) === 0) {
                    $date = substr((string) $line->type, strlen($prefix));
                    $db::table($table)->where('id', $line->relid)->update(['nextduedate' => $date, 'nextinvoicedate' => $date]);
                }
            }
        }
        $hooks['InvoicePaid'] = run_hook('InvoicePaid', ['invoiceid' => $invoiceId]);
    }

    return ['paid' => $amount, 'hooks' => $hooks];
}

function harness_service_edit(int $serviceId, array $values, string $log, string $when): array
{
    $db = WHMCS\Database\Capsule::class;
    $hooks = ['PreServiceEdit' => run_hook('PreServiceEdit', ['serviceid' => $serviceId])];
    $userId = (int) $db::table('tblhosting')->where('id', $serviceId)->value('userid');
    if ($values !== []) {
        $db::table('tblhosting')->where('id', $serviceId)->update($values);
    }
    if ($log !== '') {
        $db::table('tblactivitylog')->insert([
            'date' => $when, 'description' => $log, 'user' => 'Admin', 'userid' => $userId,
            'admin_id' => 1, 'ipaddr' => '',
        ]);
    }
    $hooks['ServiceEdit'] = run_hook('ServiceEdit', ['userid' => $userId, 'serviceid' => $serviceId]);

    return $hooks;
}

$answer = ['ok' => true];
try {
    $answer['result'] = harness_action($request);
} catch (Throwable $e) {
    $answer = ['ok' => false, 'error' => get_class($e) . ': ' . $e->getMessage()];
}
$answer['warnings'] = $GLOBALS['harness_warnings'];
$answer['transport'] = (new ProrataAlign\Redis\RedisClientFactory())->transport();
$answer['local_api_calls'] = $GLOBALS['harness_local_api_calls'];

echo json_encode($answer, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE), "\n";
