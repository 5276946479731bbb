<?php

namespace ProrataAlign;

use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/** The client logged in to the client area, as hooks that get no client id find it. */
final class ClientContext
{
    public function __construct(
        public readonly int $id,
        public readonly string $language = ''
    ) {
    }

    /** The logged-in client, or null on a page without one. */
    public static function current(): ?self
    {
        $client = null;
        // WHMCS 8: the Menu facade knows the client the page is rendered for
        if (class_exists('Menu') && is_callable(['Menu', 'context'])) {
            try {
                $client = \Menu::context('client');
            } catch (\Throwable $ignored) {
                $client = null;
            }
        }
        if (is_object($client) && (int) ($client->id ?? 0) > 0) {
            return new self((int) $client->id, (string) ($client->language ?? ''));
        }
        $id = (int) ($_SESSION['uid'] ?? 0);
        if ($id <= 0) {
            return null;
        }
        $language = (string) ($_SESSION['Language'] ?? '');
        if ($language === '') {
            $language = (string) Capsule::table('tblclients')->where('id', $id)->value('language');
        }

        return new self($id, $language);
    }
}
