<?php

namespace ProrataAlign;

use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * An invoice's money as the invoice itself will read in WHMCS: subtotal, one line per tax
 * level charged ("8.25% Sales Tax"), credit, total. The same for the worker's planned
 * invoices (preview: subtotal, tax, tax2, taxrate, taxrate2, total) and for invoices already
 * in tblinvoices (the same columns, plus credit).
 */
final class InvoiceSummary
{
    /** Invoice statuses in which an alignment invoice still waits for its money. */
    public const WAITING = InvoiceStatuses::AWAITING_PAYMENT;

    /**
     * The tax names of a client by level (1, 2), chosen among tbltax's rules as WHMCS chooses
     * the rate: state and country, then country, then the rule for everyone (an empty state or
     * country matches any; on a tie the oldest rule).
     *
     * @return array<int, string>
     */
    public static function taxNames(int $clientId): array
    {
        try {
            $client = Capsule::table('tblclients')->where('id', $clientId)->first(['country', 'state']);
            $rules = Capsule::table('tbltax')->orderBy('id')->get(['level', 'name', 'country', 'state'])->all();
        } catch (\Throwable $e) {
            return []; // no tax table: the default name
        }
        $country = strtoupper(trim((string) ($client->country ?? '')));
        $state = mb_strtolower(trim((string) ($client->state ?? '')));
        $best = [];
        foreach ($rules as $rule) {
            $score = 0;
            if (trim((string) $rule->country) !== '') {
                if (strtoupper(trim((string) $rule->country)) !== $country) {
                    continue;
                }
                $score += 2;
            }
            if (trim((string) $rule->state) !== '') {
                if (mb_strtolower(trim((string) $rule->state)) !== $state) {
                    continue;
                }
                $score += 1;
            }
            $level = (int) $rule->level;
            if (!isset($best[$level]) || $score > $best[$level][0]) {
                $best[$level] = [$score, trim((string) $rule->name)];
            }
        }

        return array_map(fn ($found) => $found[1], $best);
    }

    /**
     * @param array<string, mixed> $invoice  subtotal, tax, tax2, taxrate, taxrate2, total, credit, discount
     * @param array<int, string>   $taxNames from taxNames()
     * @param string               $defaultName the name of a tax level without one ("Tax")
     *
     * @return array{discount: string, subtotal: string, taxes: list<array{label: string, amount: string}>, credit: string, total: string}
     */
    public static function totals(array $invoice, Currency $currency, array $taxNames, string $defaultName): array
    {
        $taxes = [];
        foreach ([1 => ['tax', 'taxrate'], 2 => ['tax2', 'taxrate2']] as $level => [$amountKey, $rateKey]) {
            $rate = self::rate((string) ($invoice[$rateKey] ?? ''));
            if ($rate === null) {
                continue;
            }
            $name = ($taxNames[$level] ?? '') !== '' ? $taxNames[$level] : $defaultName;
            $taxes[] = [
                'label' => $rate . '% ' . $name,
                'amount' => Money::show((string) ($invoice[$amountKey] ?? '0.00'), $currency),
            ];
        }
        $credit = '';
        try {
            if (Money::toCents((string) ($invoice['credit'] ?? '0')) > 0) {
                $credit = Money::show((string) $invoice['credit'], $currency);
            }
        } catch (\InvalidArgumentException $e) {
            $credit = '';
        }

        // the client group's GroupDiscount lines together (negative), shown above the subtotal
        $discount = '';
        try {
            if (Money::toCents((string) ($invoice['discount'] ?? '0')) !== 0) {
                $discount = Money::show((string) $invoice['discount'], $currency);
            }
        } catch (\InvalidArgumentException $e) {
            $discount = '';
        }

        return [
            'discount' => $discount,
            'subtotal' => Money::show((string) ($invoice['subtotal'] ?? ''), $currency),
            'taxes' => $taxes,
            'credit' => $credit,
            'total' => Money::show((string) ($invoice['total'] ?? ''), $currency),
        ];
    }

    /**
     * The client's invoices holding a pending alignment that still wait for payment, oldest
     * first, with their totals. None while the module's tables are not there yet.
     *
     * @return array<int, array<string, string>> by invoice id
     */
    public static function waiting(int $clientId): array
    {
        try {
            $rows = Capsule::table('tblinvoices as i')
                ->whereIn('i.id', function ($query) use ($clientId) {
                    $query->select('invoice_id')
                        ->from('mod_prorata_records')
                        ->where('client_id', $clientId)
                        ->where('state', 'pending');
                })
                ->whereIn('i.status', self::WAITING)
                ->orderBy('i.id')
                ->get(['i.id', 'i.duedate', 'i.subtotal', 'i.tax', 'i.tax2', 'i.taxrate', 'i.taxrate2', 'i.credit', 'i.total'])
                ->all();
        } catch (\Throwable $e) {
            return [];
        }
        $invoices = [];
        foreach ($rows as $row) {
            $invoices[(int) $row->id] = array_map('strval', (array) $row);
        }

        return $invoices;
    }

    /** "8.25" for 8.250, "8.125" for 8.125 (WHMCS keeps two places when the third is 0); null for none. */
    private static function rate(string $rate): ?string
    {
        if (!preg_match('/^(\d+)(?:\.(\d+))?$/', trim($rate), $m)) {
            return null;
        }
        $decimals = str_pad(substr($m[2] ?? '', 0, 3), 3, '0');
        if ((int) $m[1] === 0 && (int) $decimals === 0) {
            return null;
        }

        $whole = ltrim($m[1], '0');

        return ($whole === '' ? '0' : $whole) . '.' . ($decimals[2] === '0' ? substr($decimals, 0, 2) : $decimals);
    }
}
