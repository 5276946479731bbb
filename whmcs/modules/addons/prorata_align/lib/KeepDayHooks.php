<?php

namespace ProrataAlign;

use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The keep-the-day hooks (hooks.php): a new order paid, an addon activated, an upgrade
 * applied, a service's billing cycle changed by staff. For a client with a billing day
 * while "Keep services on the client's day" is not off, the new or changed services and
 * addons are sent to join the day (prorata.keep_on_day), or kept in the outbox. No hook
 * ever throws into WHMCS (Hooks::guard).
 */
final class KeepDayHooks
{
    /** The "keep client on its day" event (the worker's tasks/days.py). */
    public const KEEP_TASK = 'prorata.keep_on_day';

    /** The values of keep_on_day that send it (off, the default, sends nothing). */
    public const KEEP_SENDS = ['invoice', 'report'];

    /** The product's table of the clients' billing days. */
    public const CLIENT_DAYS = 'mod_prorata_client_days';

    /**
     * A service's billing cycle and next due date before staff saved it (PreServiceEdit),
     * by service id, until ServiceEdit compares them.
     *
     * @var array<int, array{0: string, 1: string}>
     */
    private static array $beforeEdit = [];

    /**
     * InvoicePaid of an order's first invoice (tblorders.invoiceid): WHMCS has just set the
     * new services' and addons' dates (orders facts 3), so the order's services
     * (tblhosting.orderid) and addons (tblhostingaddons.orderid) are sent to join the
     * client's day. Only for a client with a day while "Keep services on the client's day"
     * is not off; the invoice's id makes the event's, so a second call is one effect.
     */
    public static function orderPaid(int $invoiceId): ?SentEvent
    {
        if ($invoiceId <= 0) {
            return null;
        }
        $clientId = (int) Capsule::table('tblinvoices')->where('id', $invoiceId)->value('userid');
        if (!self::keepsDay($clientId)) {
            return null;
        }
        $orderId = (int) Capsule::table('tblorders')->where('invoiceid', $invoiceId)->value('id');
        if ($orderId <= 0) {
            return null; // a renewal, an alignment, an invoice made by hand
        }
        $lines = self::orderLines($orderId);
        if ($lines === []) {
            return null;
        }

        return self::keepEvent($clientId, 'new-order', $lines, 'keep:new-order:invoice:' . $invoiceId);
    }

    /**
     * AddonActivation (id = tblhostingaddons.id, userid, serviceid, addonid): an addon ordered
     * later or added by staff became active. An addon ordered together with services is left
     * to the order's InvoicePaid, which sends them all at once (one alignment, not two).
     */
    public static function addonActivation(array $vars): ?SentEvent
    {
        return Hooks::guard('AddonActivation', function () use ($vars) {
            $addonId = (int) ($vars['id'] ?? 0);
            $addon = $addonId > 0
                ? Capsule::table('tblhostingaddons')->where('id', $addonId)->first(['userid', 'orderid'])
                : null;
            if ($addon === null) {
                return null;
            }
            $clientId = (int) $addon->userid;
            if (!self::keepsDay($clientId)) {
                return null;
            }
            $orderId = (int) $addon->orderid;
            if ($orderId > 0 && Capsule::table('tblhosting')->where('orderid', $orderId)->exists()) {
                return null;
            }

            return self::keepEvent($clientId, 'addon', ['addon:' . $addonId], 'keep:addon:' . $addonId);
        });
    }

    /**
     * AfterProductUpgrade / AfterAddonUpgrade / AfterConfigOptionsUpgrade (upgradeid): an
     * upgrade was paid and applied; a cart upgrade set the next due date to today + the new
     * cycle (orders facts 5). One that kept the product and gave it a cycle is a cycle change
     * (as the worker's off-the-day list tells them apart).
     */
    public static function upgradePaid(string $hook, array $vars): ?SentEvent
    {
        return Hooks::guard($hook, function () use ($vars) {
            $upgradeId = (int) ($vars['upgradeid'] ?? 0);
            $upgrade = $upgradeId > 0
                ? Capsule::table('tblupgrades')->where('id', $upgradeId)
                    ->first(['userid', 'type', 'relid', 'originalvalue', 'newvalue', 'new_cycle'])
                : null;
            if ($upgrade === null || (int) $upgrade->relid <= 0) {
                return null;
            }
            $clientId = (int) $upgrade->userid;
            if (!self::keepsDay($clientId)) {
                return null;
            }
            $type = strtolower(trim((string) $upgrade->type));
            $kind = $type === 'addon' ? 'addon' : 'service';
            $trigger = self::changesCycleOnly($type, (string) $upgrade->originalvalue, (string) $upgrade->newvalue, (string) $upgrade->new_cycle)
                ? 'cycle-change'
                : 'upgrade';

            return self::keepEvent($clientId, $trigger, [$kind . ':' . (int) $upgrade->relid], 'keep:upgrade:' . $upgradeId);
        });
    }

    /**
     * PreServiceEdit (serviceid): staff are about to save a service in the admin area; its
     * billing cycle and next due date are kept for ServiceEdit, in the same request.
     */
    public static function preServiceEdit(array $vars): void
    {
        Hooks::guard('PreServiceEdit', function () use ($vars) {
            $serviceId = (int) ($vars['serviceid'] ?? 0);
            $row = $serviceId > 0
                ? Capsule::table('tblhosting')->where('id', $serviceId)->first(['billingcycle', 'nextduedate'])
                : null;
            if ($row !== null) {
                self::$beforeEdit[$serviceId] = [(string) $row->billingcycle, (string) $row->nextduedate];
            }
        });
    }

    /**
     * ServiceEdit (userid, serviceid): staff saved a service. WHMCS has no hook of its own for
     * a billing cycle change; a save that changed the cycle and kept the next due date is
     * sent as one. A save that changed the next due date is staff's move: never sent, the
     * worker leaves that service alone. Without PreServiceEdit's values nothing is sent (the
     * daily job finds it).
     */
    public static function serviceEdit(array $vars): ?SentEvent
    {
        return Hooks::guard('ServiceEdit', function () use ($vars) {
            $serviceId = (int) ($vars['serviceid'] ?? 0);
            $before = self::$beforeEdit[$serviceId] ?? null;
            unset(self::$beforeEdit[$serviceId]);
            if ($before === null) {
                return null;
            }
            $row = Capsule::table('tblhosting')->where('id', $serviceId)->first(['userid', 'billingcycle', 'nextduedate']);
            if ($row === null || (string) $row->billingcycle === $before[0] || (string) $row->nextduedate !== $before[1]) {
                return null;
            }
            $clientId = (int) $row->userid;
            if (!self::keepsDay($clientId)) {
                return null;
            }

            return self::keepEvent($clientId, 'cycle-change', ['service:' . $serviceId]);
        });
    }

    /** The services and addons an order made, as the worker names them ("service:12"). */
    private static function orderLines(int $orderId): array
    {
        $lines = [];
        foreach (Capsule::table('tblhosting')->where('orderid', $orderId)->orderBy('id')->pluck('id') as $id) {
            $lines[] = 'service:' . (int) $id;
        }
        foreach (Capsule::table('tblhostingaddons')->where('orderid', $orderId)->orderBy('id')->pluck('id') as $id) {
            $lines[] = 'addon:' . (int) $id;
        }

        return $lines;
    }

    /**
     * Whether a change of this client's services is sent: it has a billing day and "Keep
     * services on the client's day" (keep_on_day) is invoice or report, so that a WHMCS with
     * the setting off sends nothing.
     */
    private static function keepsDay(int $clientId): bool
    {
        if ($clientId <= 0) {
            return false;
        }
        $keep = Settings::load()->raw('keep_on_day');
        if (!in_array(strtolower(trim((string) $keep)), self::KEEP_SENDS, true)) {
            return false;
        }

        return Capsule::table(self::CLIENT_DAYS)->where('client_id', $clientId)->exists();
    }

    /** The worker's rule (domain/drift.py changes_cycle_only): the same product, a cycle. */
    private static function changesCycleOnly(string $type, string $original, string $new, string $newCycle): bool
    {
        if ($type === 'configoptions') {
            return false;
        }
        $parts = explode(',', $new, 2);
        $cycle = trim($newCycle) !== '' ? trim($newCycle) : trim($parts[1] ?? '');

        return $cycle !== '' && trim($parts[0]) === trim($original);
    }

    /**
     * The "keep client on its day" event, sent (or kept in the outbox) by the usual path.
     *
     * @param list<string> $services what to align ("service:12", "addon:3")
     */
    private static function keepEvent(int $clientId, string $trigger, array $services, ?string $eventId = null): SentEvent
    {
        $kwargs = ['client_id' => $clientId, 'trigger' => $trigger, 'services' => $services];
        if ($eventId !== null) {
            $kwargs = ['event_id' => $eventId] + $kwargs;
        }

        return EventSender::fromWhmcs()->send(self::KEEP_TASK, $kwargs, $clientId);
    }
}
