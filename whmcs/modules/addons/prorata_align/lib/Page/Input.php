<?php

namespace ProrataAlign\Page;

use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * Checks what a form sent, before anything is sent to the worker. Each check returns the
 * clean value or throws InputError naming what was wrong.
 */
final class Input
{
    /** The cycles the worker aligns, as WHMCS spells them in billingcycle. */
    public const CYCLES = ['Monthly', 'Quarterly', 'Semi-Annually', 'Annually', 'Biennially', 'Triennially'];

    /** The "Prorate ..." setting of each cycle. */
    public const CYCLE_SETTINGS = [
        'Monthly' => 'prorate_monthly',
        'Quarterly' => 'prorate_quarterly',
        'Semi-Annually' => 'prorate_semiannually',
        'Annually' => 'prorate_annually',
        'Biennially' => 'prorate_biennially',
        'Triennially' => 'prorate_triennially',
    ];

    /** @return string[] the cycles the "Prorate ..." settings enable */
    public static function enabledCycles(\ProrataAlign\Settings $settings): array
    {
        return array_values(array_filter(
            self::CYCLES,
            fn ($cycle) => $settings->flag(self::CYCLE_SETTINGS[$cycle])
        ));
    }

    /** The language key's part for a cycle: "Semi-Annually" -> "semiannually" (cycle_semiannually). */
    public static function cycleKey(string $cycle): string
    {
        return strtolower(str_replace('-', '', $cycle));
    }

    public const STATES = ['pending', 'paid', 'cancelled', 'expired', 'superseded', 'withdrawn'];

    /** A day of the month, 1 to 31, written as a whole number. */
    public static function day($value): int
    {
        $text = is_scalar($value) ? trim((string) $value) : '';
        if ($text === '' || !ctype_digit($text) || strlen($text) > 2 || (int) $text < 1 || (int) $text > 31) {
            throw new InputError('error_day', [is_scalar($value) ? (string) $value : '']);
        }

        return (int) $text;
    }

    /** A positive whole number id, or InputError($key). */
    public static function id($value, string $key): int
    {
        $text = is_scalar($value) ? trim((string) $value) : '';
        if ($text === '' || !ctype_digit($text) || strlen($text) > 10 || (int) $text < 1) {
            throw new InputError($key, [is_scalar($value) ? (string) $value : '']);
        }

        return (int) $text;
    }

    /** A client that exists: its id. */
    public static function client($value): int
    {
        $id = self::id($value, 'error_client');
        if (!Capsule::table('tblclients')->where('id', $id)->exists()) {
            throw new InputError('error_client', [(string) $id]);
        }

        return $id;
    }

    /** @return string[] billing cycles among the six, in the usual order */
    public static function cycles($value): array
    {
        $chosen = is_array($value) ? $value : [];
        foreach ($chosen as $cycle) {
            if (!is_string($cycle) || !in_array($cycle, self::CYCLES, true)) {
                throw new InputError('error_cycle', [is_scalar($cycle) ? (string) $cycle : '']);
            }
        }
        if ($chosen === []) {
            throw new InputError('error_no_cycle');
        }

        return array_values(array_intersect(self::CYCLES, $chosen));
    }

    /**
     * Services and addons ("service:12", "addon:3") that all belong to the client; one that
     * does not, or that does not exist, refuses the whole request.
     *
     * @return string[] sorted
     */
    public static function services($value, int $clientId): array
    {
        $entries = is_array($value) ? array_values($value) : [];
        $wanted = ['service' => [], 'addon' => []];
        foreach ($entries as $entry) {
            if (!is_string($entry) || !preg_match('/^(service|addon):([1-9][0-9]{0,9})$/', $entry, $m)) {
                throw new InputError('error_service', [is_scalar($entry) ? (string) $entry : '']);
            }
            $wanted[$m[1]][(int) $m[2]] = true;
        }
        $owned = [
            'service' => self::ownedIds('tblhosting', array_keys($wanted['service']), $clientId),
            'addon' => self::ownedIds('tblhostingaddons', array_keys($wanted['addon']), $clientId),
        ];
        $clean = [];
        foreach ($wanted as $kind => $ids) {
            foreach (array_keys($ids) as $id) {
                if (!in_array($id, $owned[$kind], true)) {
                    throw new InputError('error_not_owned', [$kind . ':' . $id]);
                }
                $clean[] = $kind . ':' . $id;
            }
        }
        sort($clean);

        return $clean;
    }

    /** @return int[] those of the ids that are rows of the client's in the table */
    private static function ownedIds(string $table, array $ids, int $clientId): array
    {
        if ($ids === []) {
            return [];
        }

        return array_map(
            'intval',
            Capsule::table($table)->where('userid', $clientId)->whereIn('id', $ids)->pluck('id')->all()
        );
    }

    /** A record state to filter by, or '' for all. */
    public static function state($value): string
    {
        $text = is_string($value) ? $value : '';

        return in_array($text, self::STATES, true) ? $text : '';
    }

    /** A page number, 1 or more (anything else is page 1). */
    public static function page($value): int
    {
        $text = is_scalar($value) ? (string) $value : '';

        return ctype_digit($text) && strlen($text) < 7 && (int) $text > 0 ? (int) $text : 1;
    }
}
