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
     * The tax names of a client by level (1, 2), read from tbltax and tblclients.
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

        return self::namesFor(
            array_map(fn ($rule) => (array) $rule, $rules),
            (string) ($client->country ?? ''),
            (string) ($client->state ?? '')
        );
    }

    /**
     * The name of the rule each level applies, chosen as WHMCS's getTaxRate chooses the rate
     * (and as the worker does, domain/tax.py's tax_names; a test runs both on the same cases):
     * the rule of the client's state and country, else the country's with no state, else the
     * one with neither. Plain equality at each step, so a rule with a state but no country
     * never applies to a client who has a country. The oldest rule wins a tie.
     *
     * @param list<array{level: int|string, name: string, country: string, state: string}> $rules by id
     *
     * @return array<int, string>
     */
    public static function namesFor(array $rules, string $country, string $state): array
    {
        $wanted = [
            [self::collationKey($state), self::collationKey($country)],
            ['', self::collationKey($country)],
            ['', ''],
        ];
        $names = [];
        foreach ([1, 2] as $level) {
            foreach ($wanted as $keys) {
                foreach ($rules as $rule) {
                    if ((int) $rule['level'] === $level
                        && [self::collationKey((string) $rule['state']), self::collationKey((string) $rule['country'])] === $keys
                    ) {
                        $names[$level] = trim((string) $rule['name']);
                        break 2;
                    }
                }
            }
        }

        return $names;
    }

    /**
     * Equality as MySQL's utf8_unicode_ci sees it (case, accents and trailing spaces ignored);
     * without PHP's intl extension, accents count.
     */
    private static function collationKey(string $text): string
    {
        $text = rtrim($text, ' ');
        if (class_exists(\Normalizer::class)) {
            $decomposed = \Normalizer::normalize($text, \Normalizer::FORM_KD);
            if (is_string($decomposed)) {
                $text = (string) preg_replace('/\p{Mn}/u', '', $decomposed);
            }
        }

        return mb_convert_case($text, MB_CASE_FOLD, 'UTF-8');
    }

    /**
     * @param array<string, mixed> $invoice  subtotal, tax, tax2, taxrate, taxrate2, total (as
     *                                      WHMCS keeps it: after credit), credit, discount,
     *                                      paid (payments less refunds, tblaccounts)
     * @param array<int, string>   $taxNames from taxNames()
     * @param string               $defaultName the name of a tax level without one ("Tax")
     *
     * @return array{discount: string, subtotal: string, taxes: list<array{label: string, amount: string}>, credit: string, total: string, paid: string, balance: string, balance_cents: int}
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
        $cents = static function ($value): int {
            try {
                return Money::toCents((string) ($value ?? '0'));
            } catch (\InvalidArgumentException $e) {
                return 0;
            }
        };
        $credit = $cents($invoice['credit'] ?? '0');
        $discount = $cents($invoice['discount'] ?? '0'); // the GroupDiscount lines (negative)
        $paid = $cents($invoice['paid'] ?? '0');
        $total = $cents($invoice['total'] ?? '0');
        $balance = max(0, $total - $paid);

        return [
            'discount' => $discount !== 0 ? Money::show(Money::format($discount), $currency) : '',
            'subtotal' => Money::show((string) ($invoice['subtotal'] ?? ''), $currency),
            'taxes' => $taxes,
            'credit' => $credit > 0 ? Money::show(Money::format($credit), $currency) : '',
            'total' => Money::show((string) ($invoice['total'] ?? ''), $currency),
            'paid' => $paid > 0 ? Money::show(Money::format($paid), $currency) : '',
            'balance' => Money::show(Money::format($balance), $currency),
            'balance_cents' => $balance,
        ];
    }

    /**
     * Money received on each invoice, as WHMCS counts it in the balance: the payments less
     * the refunds of its tblaccounts rows (whmcs8-billing 1.5), in cents, by invoice id.
     *
     * @param int[] $invoiceIds
     *
     * @return array<int, int>
     */
    public static function payments(array $invoiceIds): array
    {
        if ($invoiceIds === []) {
            return [];
        }
        $rows = Capsule::table('tblaccounts')
            ->whereIn('invoiceid', $invoiceIds)
            ->get(['invoiceid', 'amountin', 'amountout'])
            ->all();
        $paid = [];
        foreach ($rows as $row) {
            $id = (int) $row->invoiceid;
            $paid[$id] = ($paid[$id] ?? 0) + Money::toCents((string) $row->amountin) - Money::toCents((string) $row->amountout);
        }

        return $paid;
    }

    /**
     * The client's invoices holding a pending alignment that still wait for payment, by due
     * date, with their status, totals and the money already paid on them. None while the module's tables are not there yet.
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
                ->orderBy('i.duedate')
                ->orderBy('i.id')
                ->get(['i.id', 'i.status', 'i.duedate', 'i.subtotal', 'i.tax', 'i.tax2', 'i.taxrate', 'i.taxrate2', 'i.credit', 'i.total'])
                ->all();
            $paid = self::payments(array_map(fn ($row) => (int) $row->id, $rows));
        } catch (\Throwable $e) {
            return [];
        }
        $invoices = [];
        foreach ($rows as $row) {
            $invoices[(int) $row->id] = array_map('strval', (array) $row)
                + ['paid' => Money::format($paid[(int) $row->id] ?? 0)];
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
