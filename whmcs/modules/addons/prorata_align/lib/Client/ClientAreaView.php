<?php

namespace ProrataAlign\Client;

use ProrataAlign\Page\Format;
use ProrataAlign\Page\Input;
use ProrataAlign\Page\Text;
use ProrataAlign\Page\WhmcsWords;
use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The client area page's offer as templates/clientarea.tpl shows it: each line's cycle, new
 * due date note and reason, each invoice after the client's credit, and what happens to the
 * client's open invoices. Built for ClientAreaController once the client's format is known.
 */
final class ClientAreaView
{
    private Text $t;
    private Format $format;
    private int $clientId;

    public function __construct(Text $t, Format $format, int $clientId)
    {
        $this->t = $t;
        $this->format = $format;
        $this->clientId = $clientId;
    }

    /**
     * A planned invoice as WHMCS will keep it once the client's credit is applied: "total"
     * after the credit, as on any WHMCS invoice. A worker that does not say the credit yet
     * (an earlier version) leaves it as it is.
     */
    public static function afterCredit(array $invoice): array
    {
        if (isset($invoice['balance'], $invoice['credit'])) {
            $invoice['total'] = (string) $invoice['balance'];
        } else {
            unset($invoice['credit']);
        }

        return $invoice;
    }

    /** Why P is not the next chosen day: "Minimum days to charge" moved it on. */
    public function newDueNote(array $line): string
    {
        if (($line['new_due_reason'] ?? null) !== 'minimum-days' || ($line['reason'] ?? null) !== null) {
            return '';
        }

        return $this->t->get(
            'client_new_due_reason_minimum_days',
            $this->format->date($line['new_due'] ?? null),
            $this->format->date($line['new_due_before_minimum'] ?? null),
            (int) ($line['days'] ?? 0)
        );
    }

    /**
     * What the alignment does to the client's open invoices (the plan's "changes"), in the
     * client's words: each invoice deleted, reduced or cancelled, its total now and after,
     * and the lines that leave it (a renewal with its promotion and discount lines). Read
     * from the client's own invoices only.
     */
    public function changes(array $changes): array
    {
        $changes = array_values(array_filter($changes, 'is_array'));
        if ($changes === []) {
            return [];
        }
        $ids = array_map(fn ($change) => (int) ($change['invoice_id'] ?? 0), $changes);
        $items = [];
        foreach ($changes as $change) {
            foreach ($change['removed_item_ids'] ?? [] as $item) {
                $items[] = (int) $item;
            }
        }
        $invoices = Capsule::table('tblinvoices')
            ->whereIn('id', $ids)
            ->where('userid', $this->clientId)
            ->get(['id', 'total', 'credit'])
            ->keyBy('id')
            ->all();
        // the lines that leave, and those left on an invoice that is cancelled (its late fees)
        $cancelled = array_map(
            fn ($change) => (int) ($change['invoice_id'] ?? 0),
            array_filter($changes, fn ($change) => ($change['action'] ?? '') === 'cancel' && ($change['mass_pay_for'] ?? []) === [])
        );
        $lines = Capsule::table('tblinvoiceitems')
            ->where('userid', $this->clientId)
            ->where(function ($query) use ($items, $cancelled) {
                $query->whereIn('id', $items === [] ? [0] : $items)->orWhereIn('invoiceid', $cancelled === [] ? [0] : $cancelled);
            })
            ->orderBy('id')
            ->get(['id', 'invoiceid', 'description', 'amount'])
            ->all();
        $leaving = array_flip($items);
        $list = [];
        foreach ($changes as $change) {
            $id = (int) ($change['invoice_id'] ?? 0);
            $invoice = $invoices[$id] ?? null;
            if ($invoice === null) {
                continue;
            }
            $action = (string) ($change['action'] ?? 'reduce');
            $massPay = array_map('intval', $change['mass_pay_for'] ?? []);
            $removed = [];
            $kept = [];
            foreach ($lines as $line) {
                if ((int) $line->invoiceid === $id) {
                    $entry = [
                        // WHMCS's descriptions hold line breaks (the period on a second line)
                        'description' => trim(preg_replace('/\s+/u', ' ', (string) $line->description)),
                        'amount' => $this->format->money((string) $line->amount),
                    ];
                    if (isset($leaving[(int) $line->id])) {
                        $removed[] = $entry;
                    } else {
                        $kept[] = $entry;
                    }
                }
            }
            if ($massPay !== []) {
                $summary = $this->t->get('client_change_mass_pay', $id, implode(', ', array_map(fn ($n) => '#' . $n, $massPay)));
            } else {
                $key = [
                    'delete' => 'client_change_delete',
                    'cancel' => 'client_change_cancel',
                    // setting "Unpaid renewal invoices" reissue: the issued invoice is never edited
                    'reissue' => 'client_change_reissue',
                ][$action] ?? 'client_change_reduce';
                $summary = $this->t->get($key, $id);
            }
            $after = match ($action) {
                'delete' => $this->t->get('client_change_gone'),
                'cancel' => $this->t->get('client_change_cancelled'),
                default => $this->format->money((string) ($change['total'] ?? '')),
            };
            $list[] = [
                'id' => $id,
                'action' => $action,
                'summary' => $summary,
                'before' => $this->format->money((string) $invoice->total),
                'after' => $after,
                'lines' => $removed,
                // left on a cancelled invoice, no longer due
                'kept' => $action === 'cancel' ? $kept : [],
            ];
        }

        return $list;
    }

    public function reason(array $line): string
    {
        $reason = (string) ($line['reason'] ?? '');
        if ($reason === 'blocked') {
            return $this->t->get('client_reason_blocked', (int) ($line['blocked_by_invoice'] ?? 0));
        }
        $key = 'client_reason_' . str_replace('-', '_', $reason);

        return $this->t->get($key, (int) ($line['days'] ?? 0));
    }

    public function cycleName(string $cycle): string
    {
        return in_array($cycle, Input::CYCLES, true) ? WhmcsWords::cycle($cycle, $this->t) : $cycle;
    }
}
