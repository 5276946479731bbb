<?php

namespace ProrataAlign\Page;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * WHMCS's CSRF token: generate_token('plain') for the forms' hidden "token" field,
 * check_token() for every request that changes something.
 */
final class Csrf
{
    public const ADMIN = 'WHMCS.admin.default';
    public const CLIENT = 'WHMCS.default';

    public static function token(): string
    {
        return function_exists('generate_token') ? (string) generate_token('plain') : '';
    }

    /**
     * Whether this is a POST with a valid token. WHMCS's check_token() itself ends the
     * request on a bad token; a version that returns false or throws is refused here too.
     */
    public static function validPost(string $namespace): bool
    {
        if (($_SERVER['REQUEST_METHOD'] ?? 'GET') !== 'POST') {
            return false;
        }
        $token = $_POST['token'] ?? '';
        if (!is_string($token) || $token === '' || !function_exists('check_token')) {
            return false;
        }
        try {
            return check_token($namespace) !== false;
        } catch (\Throwable $e) {
            return false;
        }
    }
}
