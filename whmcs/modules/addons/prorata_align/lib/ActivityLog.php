<?php

namespace ProrataAlign;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/** Lines in WHMCS's activity log (logActivity(), which writes tblactivitylog). */
final class ActivityLog
{
    /** Writes a line made from a language string (sprintf arguments after the key). */
    public static function write(int $clientId, string $key, ...$args): void
    {
        try {
            $line = Lang::format($key, null, ...$args);
        } catch (\Throwable $e) {
            $line = $key . ' ' . json_encode($args);
        }
        try {
            if (function_exists('logActivity')) {
                logActivity($line, $clientId);

                return;
            }
        } catch (\Throwable $e) {
            $line .= ' (activity log unavailable: ' . $e->getMessage() . ')';
        }
        error_log($line);
    }
}
