<?php

namespace ProrataAlign;

use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The client's billing day as the worker keeps it (mod_prorata_client_days, its history in
 * mod_prorata_client_day_history, the worker's migration 12), read for display only: the
 * pages change it through the worker (prorata.set_client_day / prorata.clear_client_day).
 * Before that migration the tables are missing: no day, nothing shown.
 */
final class ClientDays
{
    /** The newest changes shown on the admin page. */
    public const HISTORY_LIMIT = 20;

    /** @return object|null day, set_by, set_at, request_id; null: no day (or no table yet) */
    public static function of(int $clientId): ?object
    {
        try {
            return Capsule::table('mod_prorata_client_days')
                ->where('client_id', $clientId)
                ->first(['day', 'set_by', 'set_at', 'request_id']);
        } catch (\Throwable $e) {
            return null;
        }
    }

    /** @return object[] action, day, set_by, requested_by, request_id, at; newest first */
    public static function history(int $clientId): array
    {
        try {
            return Capsule::table('mod_prorata_client_day_history')
                ->where('client_id', $clientId)
                ->orderBy('id', 'desc')
                ->limit(self::HISTORY_LIMIT)
                ->get(['action', 'day', 'set_by', 'requested_by', 'request_id', 'at'])
                ->all();
        } catch (\Throwable $e) {
            return [];
        }
    }

    /**
     * The day of the month as a language reads it ("1st" in English, "1." in German, "1er"
     * but "15" in French): the language file's `day_ordinals`, the 31 forms separated by
     * commas, so a translator decides them; a list that is not 31 long gives the number.
     */
    public static function ordinal(int $day, string $ordinals): string
    {
        $forms = array_map('trim', explode(',', $ordinals));

        return count($forms) === 31 && $day >= 1 && $day <= 31 && $forms[$day - 1] !== '' ? $forms[$day - 1] : (string) $day;
    }
}
