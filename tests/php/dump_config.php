<?php
/**
 * Prints prorata_align_config() as JSON, the way WHMCS would see it.
 *
 * Usage: php tests/php/dump_config.php
 *
 * Any PHP notice or warning (a missing language string, an undefined key) is turned into an
 * error, so the script fails instead of printing a half-right configuration.
 */

set_error_handler(function ($severity, $message, $file, $line) {
    throw new ErrorException($message, 0, $severity, $file, $line);
});

define('WHMCS', true);

require dirname(__DIR__, 2) . '/whmcs/modules/addons/prorata_align/prorata_align.php';

echo json_encode(
    prorata_align_config(),
    JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE
), "\n";
