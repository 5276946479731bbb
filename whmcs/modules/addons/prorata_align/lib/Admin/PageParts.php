<?php

namespace ProrataAlign\Admin;

use ProrataAlign\Page\Csrf;
use ProrataAlign\Page\Input;
use ProrataAlign\Page\Templates;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * What the admin pages' controllers share: their alerts (escaped HTML, printed by the page's
 * template), the CSRF token, the day-and-cycles well and the module link. The class using
 * it has the page's strings in $this->t and the module link in $this->link.
 */
trait PageParts
{
    /** @var array<int, array{0: string, 1: string}> [Bootstrap alert type, HTML] */
    private array $alerts = [];
    private ?string $token = null;

    /** WHMCS's CSRF token for the forms' hidden "token" field, made once per page. */
    private function token(): string
    {
        return $this->token ??= Csrf::token();
    }

    private function alert(string $type, string $html): void
    {
        $this->alerts[] = [$type, $html];
    }

    /**
     * The alerts this controller raised, handed to the dispatcher, which prints them above
     * the page's panels.
     *
     * @return array<int, array{0: string, 1: string}>
     */
    public function takeAlerts(): array
    {
        $alerts = $this->alerts;
        $this->alerts = [];

        return $alerts;
    }

    /**
     * The day and cycles of a run, and its button, in a well (templates/admin/
     * day_and_cycles.tpl): the day 1-31 ($prefix-day), a box per cycle (those the settings
     * turn off shown but disabled), then the short months' warning for days 29 to 31
     * ($prefix-day-warning).
     *
     * @param array{value: string, id: string, key: string} $button the submit button: its
     *        action value, its id and its label's language key
     * @param string[] $chosen the ticked cycles
     * @param string[] $enabled the cycles the settings allow
     */
    private function dayAndCycles(string $prefix, int $chosenDay, array $chosen, array $enabled, array $button): string
    {
        $cycles = [];
        foreach (Input::CYCLES as $cycle) {
            $cycles[] = [
                'value' => $cycle,
                'label' => $this->t->get('cycle_' . Input::cycleKey($cycle)),
                'enabled' => in_array($cycle, $enabled, true),
                'chosen' => in_array($cycle, $chosen, true),
            ];
        }

        return Templates::render('admin/day_and_cycles', [
            'lang' => $this->t->all(),
            'prefix' => $prefix,
            'chosen_day' => $chosenDay,
            'cycles' => $cycles,
            'button' => $button,
            'warning' => $chosenDay >= 29 ? $this->t->get('warning_short_months', $chosenDay) : '',
        ]);
    }

    /** The module link with more query parameters. */
    private function url(array $params): string
    {
        $params = array_filter($params, fn ($value) => $value !== '' && $value !== null);

        return $this->link . ($params === [] ? '' : '&' . http_build_query($params));
    }

    /** The module link's path ("addonmodules.php"), for GET forms. */
    private function linkPath(): string
    {
        return (string) (parse_url($this->link, PHP_URL_PATH) ?? 'addonmodules.php');
    }

    /** The module link's query, for a GET form's hidden fields: a GET form replaces the action's query. */
    private function linkQuery(): array
    {
        parse_str((string) (parse_url($this->link, PHP_URL_QUERY) ?? ''), $query);

        return array_filter($query, 'is_string');
    }
}
