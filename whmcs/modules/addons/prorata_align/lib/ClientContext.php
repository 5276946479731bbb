<?php

namespace ProrataAlign;

use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The client account open in the client area and the user looking at it, as hooks that get
 * no client id find them.
 *
 * WHMCS 8 separates users (tblusers, who log in) from client accounts (tblclients): one user
 * can reach several accounts and one account can have several users. tblusers_clients links
 * them (auth_user_id, client_id, owner, permissions); "permissions" is a comma-separated list
 * of what a user who is not the owner may do, and "invoices" is the permission to view and pay
 * invoices (WHMCS API GetPermissionsList). Aligning creates an invoice to pay, so only the
 * account's owner and users with that permission may do it.
 */
final class ClientContext
{
    /** The tblusers_clients permission to view and pay invoices. */
    public const PAY_PERMISSION = 'invoices';

    /**
     * @param int|null $userId the logged-in user (WHMCS 8), or null when nobody is
     * @param bool     $usersKnown whether this WHMCS has users at all (8.0 and later)
     */
    public function __construct(
        public readonly int $id,
        public readonly string $language = '',
        public readonly ?int $userId = null,
        public readonly bool $usersKnown = false
    ) {
    }

    /** The client account the page is shown for, or null on a page without one. */
    public static function current(): ?self
    {
        [$user, $client, $usersKnown] = self::currentUser();
        if (!is_object($client) || (int) ($client->id ?? 0) <= 0) {
            $client = null;
            // the Menu facade knows the client the page is rendered for
            if (class_exists('Menu') && is_callable(['Menu', 'context'])) {
                try {
                    $client = \Menu::context('client');
                } catch (\Throwable $ignored) {
                    $client = null;
                }
            }
        }
        $userId = is_object($user) && (int) ($user->id ?? 0) > 0 ? (int) $user->id : null;
        if (is_object($client) && (int) ($client->id ?? 0) > 0) {
            return new self((int) $client->id, (string) ($client->language ?? ''), $userId, $usersKnown);
        }
        $id = (int) ($_SESSION['uid'] ?? 0);
        if ($id <= 0) {
            return null;
        }
        $language = (string) ($_SESSION['Language'] ?? '');
        if ($language === '') {
            $language = (string) Capsule::table('tblclients')->where('id', $id)->value('language');
        }

        return new self($id, $language, $userId, $usersKnown);
    }

    /**
     * Whether the person looking at the account may align it (and so create an invoice):
     * its owner, or a user holding the "invoices" permission on it. Before WHMCS 8 whoever is
     * logged in is the account holder. Anything unreadable refuses.
     */
    public function mayAlign(): bool
    {
        if (!$this->usersKnown) {
            return true;
        }
        if ($this->userId === null) {
            return false;
        }
        try {
            $link = Capsule::table('tblusers_clients')
                ->where('auth_user_id', $this->userId)
                ->where('client_id', $this->id)
                ->first(['owner', 'permissions']);
        } catch (\Throwable $e) {
            return false;
        }
        if ($link === null) {
            return false;
        }
        if ((int) ($link->owner ?? 0) === 1) {
            return true;
        }
        $permissions = array_map('trim', explode(',', strtolower((string) ($link->permissions ?? ''))));

        return in_array(self::PAY_PERMISSION, $permissions, true);
    }

    /**
     * WHMCS 8's WHMCS\Authentication\CurrentUser (developers.whmcs.com, "Authentication via
     * CurrentUser"): user() is the logged-in WHMCS\User\User, client() the client account
     * they are working in.
     *
     * @return array{0: ?object, 1: ?object, 2: bool} user, client, whether users exist
     */
    private static function currentUser(): array
    {
        $class = 'WHMCS\\Authentication\\CurrentUser';
        if (!class_exists($class)) {
            return [null, null, false];
        }
        try {
            $current = new $class();
            $user = is_callable([$current, 'user']) ? $current->user() : null;
            $client = is_callable([$current, 'client']) ? $current->client() : null;
        } catch (\Throwable $e) {
            return [null, null, true];
        }

        return [is_object($user) ? $user : null, is_object($client) ? $client : null, true];
    }
}
