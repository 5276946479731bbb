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
