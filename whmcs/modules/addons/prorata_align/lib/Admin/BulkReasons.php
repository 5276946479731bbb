<?php

namespace ProrataAlign\Admin;

use ProrataAlign\Page\Text;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * Why a bulk run's client was skipped, cancelled or failed, in the admin's language. The
 * worker keeps the reason as English text (mod_prorata_bulk_clients.reason, also read by
 * `prorata bulk`); the shapes it writes are translated here, and a failure's technical
 * message (an error the worker caught) is kept as written behind a translated lead.
 */
final class BulkReasons
{
    private Text $t;

    public function __construct(Text $t)
    {
        $this->t = $t;
    }

    public function of(string $state, string $reason): string
    {
        if ($state === 'unplanned') {
            return $this->t->get('bulk_reason_unplanned', $reason);
        }
        if ($state === 'failed') {
            return $this->t->get('bulk_reason_failed', $reason);
        }
        if ($reason === 'cancelled before its turn') {
            return $this->t->get('bulk_reason_cancelled');
        }
        if (preg_match('/^client (\d+) does not exist$/', $reason, $m)) {
            return $this->t->get('bulk_reason_no_client', (int) $m[1]);
        }
        if ($reason === 'nothing to align: no service to align') {
            return $this->t->get('bulk_reason_no_service');
        }
        if (str_starts_with($reason, 'nothing to align: ')) {
            $parts = [];
            foreach (explode('; ', substr($reason, strlen('nothing to align: '))) as $part) {
                $parts[] = $this->item($part);
            }

            return $this->t->get('bulk_reason_nothing', implode('; ', $parts));
        }

        return $reason;
    }

    /** "service 3: blocked (invoice #5)" -> "Service #3: waiting for invoice #5 ..." */
    private function item(string $part): string
    {
        if (!preg_match('/^(service|addon) (\d+): ([a-z-]+)(?: \(invoice #(\d+)\))?$/', $part, $m)) {
            return $part;
        }
        $all = $this->t->all();
        $key = 'client_reason_' . str_replace('-', '_', $m[3]);
        $why = isset($all[$key]) ? $this->t->get($key, (int) ($m[4] ?? 0)) : $m[3];

        return $this->t->get($m[1] === 'addon' ? 'bulk_reason_addon' : 'bulk_reason_service', (int) $m[2], $why);
    }
}
