<?php
/**
 * Class loader for the addon's own classes (namespace ProrataAlign), without Composer:
 * ProrataAlign\Redis\RespClient is lib/Redis/RespClient.php.
 */

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

if (!defined('PRORATA_ALIGN_LIB')) {
    define('PRORATA_ALIGN_LIB', __DIR__);

    spl_autoload_register(static function ($class) {
        $prefix = 'ProrataAlign\\';
        if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
            return;
        }
        $relative = substr($class, strlen($prefix));
        if (!preg_match('/^[A-Za-z0-9_\\\\]+$/', $relative)) {
            return;
        }
        $file = PRORATA_ALIGN_LIB . '/' . str_replace('\\', '/', $relative) . '.php';
        if (is_file($file)) {
            require_once $file;
        }
    });
}
