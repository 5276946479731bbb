<?php

namespace ProrataAlign\Admin;

use ProrataAlign\Page\Format;
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
        $html = '<div class="alert alert-info prorata-withdraw"><p>' . $t->html('withdraw_intro') . '</p><ul>';
        foreach ($items as $item) {
            $kind = ($item['type'] ?? '') === 'addon' ? $t->html('kind_addon') : $t->html('kind_service');
            $html .= '<li data-record="' . (int) ($item['record'] ?? 0) . '">'
                . $kind . ' #' . (int) ($item['id'] ?? 0) . ': '
                . $t->html('invoice_number', (int) ($item['invoice_id'] ?? 0)) . ', '
                . Format::e($format->money((string) ($item['amount'] ?? '0'))) . '</li>';
        }

        return $html . '</ul></div>';
    }
}
