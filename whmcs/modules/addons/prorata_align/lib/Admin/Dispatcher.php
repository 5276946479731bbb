<?php

namespace ProrataAlign\Admin;

use ProrataAlign\Admin\Controller\BulkController;
use ProrataAlign\Admin\Controller\DayController;
use ProrataAlign\Admin\Controller\HealthController;
use ProrataAlign\Admin\Controller\OffDayController;
use ProrataAlign\Admin\Controller\OverpaymentsController;
use ProrataAlign\Admin\Controller\RecordsController;
use ProrataAlign\Admin\Controller\SingleClientController;
use ProrataAlign\Admin\Controller\UnsuspensionsController;
use ProrataAlign\Page\Csrf;
use ProrataAlign\Page\Format;
use ProrataAlign\Page\Templates;
use ProrataAlign\Page\Text;
use ProrataAlign\SettingsError;
use ProrataAlign\Worker\WorkerClient;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The admin page (Addons > Prorated Next Due Date): picks the area the request is for and
 * hands it to that area's controller; the page around them (tabs, alerts, the worker's
 * health, the versions) is the dispatcher's.
 *
 * - view=bulk: BulkController ("Align many clients"; with format=json its progress alone).
 * - view=offday: OffDayController ("Off the day": the daily list, "Align these").
 * - otherwise "Align one client": SingleClientController (search, preview, align), with the
 *   unsuspensions and overpayments to settle, and RecordsController (the alignments, cancel);
 *   with a client, DayController (its billing day, set, clear).
 * - always: HealthController (the worker's health, its test connection).
 *
 * A POST that changes something (align, cancel) is CSRF-checked here, before any controller
 * sees it.
 */
final class Dispatcher
{
    use PageParts;

    private Text $t;
    private string $link;
    private WorkerClient $worker;
    private int $adminId;
    private ?Format $format = null;

    public function __construct(array $vars, WorkerClient $worker, int $adminId)
    {
        $this->t = new Text(is_array($vars['_lang'] ?? null) ? $vars['_lang'] : []);
        $this->link = (string) ($vars['modulelink'] ?? 'addonmodules.php?module=prorata_align');
        $this->worker = $worker;
        $this->adminId = $adminId;
    }

    public static function bulkRequested(): bool
    {
        return ($_GET['view'] ?? '') === 'bulk';
    }

    /** The bulk run's progress for the page's script: JSON alone, then the request ends. */
    public function answerJsonIfAsked(): void
    {
        if (self::bulkRequested() && ($_GET['format'] ?? '') === 'json') {
            $this->bulk()->answerJson();
        }
    }

    public function render(): string
    {
        $bulk = self::bulkRequested();
        $offDay = !$bulk && OffDayController::requested();
        $alerts = [];
        $single = null;
        try {
            $this->format = Format::forClient(null);
            if ($bulk) {
                $main = $this->bulk()->html();
            } elseif ($offDay) {
                $main = $this->offDay();
            } else {
                $single = new SingleClientController($this->t, $this->link, $this->worker, $this->format, $this->adminId);
                $records = new RecordsController($this->t, $this->link, $this->worker, $this->format);
                try {
                    $main = $this->singleClient($single, $records);
                } finally {
                    $alerts = array_merge($this->takeAlerts(), $records->takeAlerts(), $single->takeAlerts());
                }
            }
        } catch (SettingsError $e) {
            $this->alert('danger', $this->t->html('error_settings', $e->getMessage()));
            $main = '';
        }
        if ($single !== null) {
            $main = $single->search() . (new UnsuspensionsController($this->t, $this->format))->html() . $main;
        }
        $this->alerts = array_merge($alerts, $this->takeAlerts());
        // health first: its "Test connection" keeps the answering worker's version
        $health = (new HealthController($this->t, $this->worker->settings(), $this->link))->html();
        $versions = VersionFooter::of($this->t, $this->worker); // after the controllers: their preview counts

        return Templates::render('admin/page', [
            'lang' => $this->t->all(),
            'tabs' => [
                ['key' => 'tab_single', 'href' => $this->link, 'active' => !$bulk && !$offDay, 'id' => 'prorata-tab-single'],
                ['key' => 'tab_bulk', 'href' => $this->link . '&view=bulk', 'active' => $bulk, 'id' => 'prorata-tab-bulk'],
                ['key' => 'tab_offday', 'href' => $this->link . '&view=offday', 'active' => $offDay, 'id' => 'prorata-tab-offday'],
            ],
            'alerts' => array_map(fn ($alert) => ['type' => $alert[0], 'html' => $alert[1]], $this->takeAlerts()),
            'version_warning_html' => $versions->warning(),
            // the bulk page's own panels first, the worker's health below them
            'panels_html' => $bulk || $offDay
                ? $main . $health
                : $health . OverpaymentsController::panel($this->t, $this->format ?? Format::forClient(null), $this->link) . $main,
            'versions_html' => $versions->html(),
        ]);
    }

    /** "Align one client": the action the request asks for, then the alignments' list. */
    private function singleClient(SingleClientController $single, RecordsController $records): string
    {
        $post = ($_SERVER['REQUEST_METHOD'] ?? 'GET') === 'POST';
        $action = $post && is_string($_POST['action'] ?? null) ? $_POST['action'] : '';
        if (in_array($action, ['align', 'cancel', ...DayController::ACTIONS], true) && !Csrf::validPost(Csrf::ADMIN)) {
            // refused: say why, and send nothing (not even a preview)
            $this->alert('danger', $this->t->html('error_token'));

            return $records->index(null);
        }
        if ($action === 'cancel') {
            $records->cancel();
        }
        $clientId = $single->requestedClient();
        $main = '';
        if ($clientId !== null) {
            $day = new DayController($this->t, $this->link, $this->worker, $this->format ?? Format::forClient(null), $this->adminId);
            if ($action === 'set_day') {
                $day->set($clientId);
            } elseif ($action === 'clear_day') {
                $day->clear($clientId);
            }
            $main = $action === 'align' ? $single->align($clientId) : $single->preview($clientId);
            $main = $day->panel($clientId) . $main;
            $this->alerts = array_merge($this->alerts, $day->takeAlerts());
        }

        return $main . $records->index($clientId);
    }

    /** "Off the day": "Align these" when asked (CSRF-checked), then the list. */
    private function offDay(): string
    {
        $controller = new OffDayController($this->t, $this->link, $this->worker, $this->format ?? Format::forClient(null), $this->adminId);
        $post = ($_SERVER['REQUEST_METHOD'] ?? 'GET') === 'POST';
        if ($post && ($_POST['action'] ?? '') === OffDayController::ACTION) {
            if (Csrf::validPost(Csrf::ADMIN)) {
                $controller->align();
            } else {
                $this->alert('danger', $this->t->html('error_token'));
            }
        }
        $html = $controller->html();
        $this->alerts = array_merge($this->alerts, $controller->takeAlerts());

        return $html;
    }

    private function bulk(): BulkController
    {
        $this->format ??= Format::forClient(null);

        return new BulkController($this->t, $this->link, $this->worker, $this->format, $this->adminId);
    }
}
