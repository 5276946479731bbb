<?php
/**
 * WHMCS 8's users, as far as the pages use them: WHMCS\Authentication\CurrentUser
 * (developers.whmcs.com, "Authentication via CurrentUser"), whose user() is the logged-in user
 * (tblusers) and client() the client account they work in. The router logs in with
 * /login.php?uid=CLIENT[&user=USER]; without a user, as the account's owner (tblusers_clients).
 */

namespace WHMCS\Authentication {
    class CurrentUser
    {
        public function user(): ?object
        {
            $id = (int) ($_SESSION['harness_user_id'] ?? 0);

            return $id > 0 ? (object) ['id' => $id] : null;
        }

        public function client(): ?object
        {
            $id = (int) ($_SESSION['uid'] ?? 0);

            return $id > 0 ? (object) ['id' => $id, 'language' => (string) ($_SESSION['Language'] ?? '')] : null;
        }
    }
}

namespace {
    use WHMCS\Database\Capsule;

    /** Logs in to a client account as a user: the one given, else the account's owner. */
    function pages_login(int $clientId, int $userId): void
    {
        if ($userId <= 0) {
            $userId = (int) Capsule::table('tblusers_clients')
                ->where('client_id', $clientId)
                ->where('owner', 1)
                ->value('auth_user_id');
        }
        $_SESSION['uid'] = $clientId;
        $_SESSION['harness_user_id'] = $userId;
    }
}
