<?php

namespace ProrataAlign\Admin;

use ProrataAlign\Page\Format;
use ProrataAlign\Page\Text;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * "Align one client": the worker's plan as templates/admin/preview.tpl shows it (its facts,
 * lines, invoices and changes), built for Controller\SingleClientController.
 */
final class SingleClientView
{
    private Text $t;
    private Words $words;
    private GatewayNames $gateways;

    public function __construct(Text $t, Words $words, GatewayNames $gateways)
    {
        $this->t = $t;
        $this->words = $words;
        $this->gateways = $gateways;
    }

    /** The worker's plan as the preview shows it: its facts, lines, invoices, and the Align button's confirmation. */
    public function planView(array $plan, string $name, Format $format): array
    {
        $lines = [];
        $aligned = 0;
        foreach (is_array($plan['lines'] ?? null) ? $plan['lines'] : [] as $line) {
            $key = ($line['type'] === 'addon' ? 'addon' : 'service') . ':' . (int) $line['id'];
            $reason = $line['reason'] ?? null;
            $aligned += $reason === null ? 1 : 0;
            $lines[] = [
                'key' => $key,
                'aligned' => $reason === null,
                'box' => $reason === null || $reason === 'not-selected',
                'box_label' => $this->t->get('select_item', (string) $line['name']),
                'name' => (string) ($line['name'] ?? ''),
                'kind_text' => $this->t->get($line['type'] === 'addon' ? 'kind_addon' : 'kind_service'),
                'id' => (int) $line['id'],
                'domain' => (string) ($line['domain'] ?? ''),
                'cycle' => $this->words->cycle((string) ($line['billingcycle'] ?? '')),
                'status' => $this->words->status((string) ($line['status'] ?? '')),
                'old_due' => $format->date($line['old_due'] ?? null),
                'new_due' => $format->date($line['new_due'] ?? null),
                'days' => $line['days'] === null ? '' : (int) $line['days'],
                'amount' => $format->money($line['amount'] ?? null),
                'gateway' => $this->gateways->of((string) ($line['paymentmethod'] ?? '')),
                'moved' => $this->moved($line, $plan, $format),
            ] + $this->note($line);
        }
        $invoices = [];
        foreach (is_array($plan['invoices'] ?? null) ? $plan['invoices'] : [] as $invoice) {
            $discount = (string) ($invoice['discount'] ?? '0.00');
            $invoices[] = [
                'paymentmethod' => (string) ($invoice['paymentmethod'] ?? ''),
                'gateway' => $this->gateways->of((string) ($invoice['paymentmethod'] ?? '')),
                'lines' => count($invoice['lines'] ?? []),
                'duedate' => $format->date($invoice['duedate'] ?? null),
                'subtotal' => $format->money($invoice['subtotal'] ?? null),
                'tax' => $format->money($invoice['tax'] ?? null),
                'tax2' => $format->money($invoice['tax2'] ?? null),
                'total' => $format->money($invoice['total'] ?? null),
                'discount' => $discount !== '0.00' && $discount !== '' ? $format->money($discount) : '',
                'credit' => $format->money($invoice['credit'] ?? '0.00'),
                'balance' => $format->money($invoice['balance'] ?? ($invoice['total'] ?? null)),
            ];
        }
        $withdraw = is_array($plan['withdraw'] ?? null) ? count($plan['withdraw']) : 0;
        $confirm = $aligned > 0
            ? $this->t->get('confirm_align', $aligned, $name, (int) $plan['day'])
            : $this->t->get('confirm_withdraw_only', $withdraw, $name);
        $credit = is_array($plan['credit'] ?? null) ? $plan['credit'] : [];

        return [
            'facts' => $this->t->get('preview_facts', $format->date((string) ($plan['today'] ?? '')), (int) ($plan['day'] ?? 0)),
            'mode' => $this->t->get(($plan['mode'] ?? '') === 'fixed' ? 'mode_fixed' : 'mode_calendar'),
            'lines' => $lines,
            'invoices' => $invoices,
            'changes' => $this->changes($plan, $format),
            'credit_applied' => $format->money($credit['applied'] ?? '0.00'),
            'has_credit' => ($credit['applied'] ?? '0.00') !== '0.00',
            'to_pay' => $format->money($plan['to_pay'] ?? '0.00'),
            'aligned' => $aligned,
            // aligning changes something: lines to align, or pending alignments it withdraws
            'can_align' => $aligned > 0 || $withdraw > 0,
            // JSON for the confirm() call, escaped for the attribute by the template
            'confirm' => json_encode($confirm, JSON_UNESCAPED_UNICODE | JSON_HEX_TAG),
        ];
    }

    /** Why P is later than the first day D ("Minimum days to charge"), or ''. */
    private function moved(array $line, array $plan, Format $format): string
    {
        $before = $line['new_due_before_minimum'] ?? null;
        if (($line['new_due_reason'] ?? null) !== 'minimum-days' || !is_string($before) || empty($line['old_due'])) {
            return '';
        }
        $days = (int) round((strtotime($before . ' 00:00:00 UTC') - strtotime($line['old_due'] . ' 00:00:00 UTC')) / 86400);

        return $this->t->get(
            'new_due_reason_minimum_days',
            $format->date($line['new_due'] ?? null),
            $format->date($before),
            $days,
            (int) ($plan['minimum_days'] ?? 0)
        );
    }

    /**
     * The existing invoices aligning deletes, cancels or reduces: before and after, and the
     * lines that go (renewals, promotions, late fees, discounts), as the worker plans them.
     */
    private function changes(array $plan, Format $format): array
    {
        $changes = [];
        foreach (is_array($plan['changes'] ?? null) ? $plan['changes'] : [] as $change) {
            $id = (int) ($change['invoice_id'] ?? 0);
            $action = (string) ($change['action'] ?? '');
            $reason = str_replace('-', '_', (string) ($change['reason'] ?? ''));
            // a reason this page does not know (a newer worker's) reads as the plain one
            $reason = in_array($reason, ['emptied', 'only_fees_left', 'lines_removed', 'mass_pay'], true) ? $reason : 'lines_removed';
            $removed = [];
            foreach (is_array($change['removed_lines'] ?? null) ? $change['removed_lines'] : [] as $item) {
                $removed[] = [
                    'description' => (string) ($item['description'] ?? ''),
                    'kind' => $this->t->get(self::itemKind((string) ($item['type'] ?? ''))),
                    'amount' => $format->money($item['amount'] ?? null),
                ];
            }
            $paidFor = array_map(
                fn ($invoice) => $this->t->get('invoice_number', (int) $invoice),
                is_array($change['mass_pay_for'] ?? null) ? $change['mass_pay_for'] : []
            );
            $changes[] = [
                'id' => $id,
                'text' => $this->t->get('invoice_number', $id),
                'action' => $action,
                'action_text' => $this->t->get('change_' . ($action === 'delete' ? 'delete' : ($action === 'cancel' ? 'cancel' : 'reduce'))),
                'why' => $this->t->get('change_reason_' . $reason, implode(', ', $paidFor)),
                'before' => $format->money($change['before']['total'] ?? null),
                'after' => $action === 'reduce' ? $format->money($change['total'] ?? null) : $this->t->get('change_nothing_to_pay'),
                'removed' => $removed,
            ];
        }

        return $changes;
    }

    /** The language key naming an invoice line's kind. */
    private static function itemKind(string $type): string
    {
        if ($type === 'PromoHosting' || $type === 'PromoDomain') {
            return 'item_promotion';
        }
        if ($type === 'LateFee') {
            return 'item_late_fee';
        }
        if ($type === 'GroupDiscount') {
            return 'item_discount';
        }
        if ($type === 'Addon' || str_starts_with($type, 'ProrataAddon')) {
            return 'item_addon';
        }

        return 'item_renewal';
    }

    /**
     * Why a line is left out (note), or the invoice that blocks it (blocked_by, blocked_text).
     *
     * @return array{note: string, blocked_by: ?int, blocked_text: string}
     */
    private function note(array $line): array
    {
        $reason = $line['reason'] ?? null;
        if ($reason === 'blocked' && !empty($line['blocked_by_invoice'])) {
            $id = (int) $line['blocked_by_invoice'];

            return ['note' => '', 'blocked_by' => $id, 'blocked_text' => $this->t->get('invoice_number', $id)];
        }
        if ($reason === null) {
            $note = ($line['immediate'] ?? false) ? $this->t->get('note_immediate') : '';
        } else {
            $note = $this->t->get('reason_' . str_replace('-', '_', (string) $reason), $this->words->status((string) ($line['status'] ?? '')));
        }

        return ['note' => $note, 'blocked_by' => null, 'blocked_text' => ''];
    }
}
