<?php

namespace ProrataAlign\Admin;

use ProrataAlign\Page\Format;
use ProrataAlign\Page\Templates;
use ProrataAlign\Page\Text;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The preview's note on what aligning withdraws first: the client's pending alignments
 * whose lines leave their unpaid invoices (the worker's preview lists them under
 * "withdraw": record, type, id, invoice_id, amount).
 */
final class Withdrawals
{
    public static function notice(Text $t, array $plan, Format $format): string
    {
        $items = is_array($plan['withdraw'] ?? null) ? $plan['withdraw'] : [];
        if ($items === []) {
            return '';
        }
        $view = [];
        foreach ($items as $item) {
            $view[] = [
                'record' => (int) ($item['record'] ?? 0),
                'kind_text' => $t->get(($item['type'] ?? '') === 'addon' ? 'kind_addon' : 'kind_service'),
                'id' => (int) ($item['id'] ?? 0),
                'invoice_text' => $t->get('invoice_number', (int) ($item['invoice_id'] ?? 0)),
                'amount' => $format->money((string) ($item['amount'] ?? '0')),
            ];
        }

        return Templates::render('admin/withdrawals', ['lang' => $t->all(), 'items' => $view]);
    }
}
