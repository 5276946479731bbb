<?php

namespace ProrataAlign;

use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * Money as the worker sends it ("16.05", two decimals), added up in whole cents so no
 * floating point error creeps in, and shown as WHMCS shows money: the currency's prefix,
 * the amount in the currency's format (tblcurrencies.format), the suffix.
 *
 * WHMCS's formats (Configuration > System Settings > Currencies, "Format"):
 * 1 = 1234.56, 2 = 1,234.56, 3 = 1.234,56, 4 = 1,234 (no decimals: WHMCS requires it for
 * currencies without minor units; the amount is rounded to a whole unit, half away from
 * zero, as PHP's number_format() that WHMCS uses rounds).
 */
final class Money
{
    /** format => [decimals, decimal point, thousands separator] */
    public const FORMATS = [
        1 => [2, '.', ''],
        2 => [2, '.', ','],
        3 => [2, ',', '.'],
        4 => [0, '', ','],
    ];

    public static function toCents(string $amount): int
    {
        $text = trim($amount);
        if (!preg_match('/^(-?)(\d+)(?:\.(\d{1,2}))?$/', $text, $m)) {
            throw new \InvalidArgumentException('not an amount of money: ' . $amount);
        }
        $cents = (int) $m[2] * 100 + (int) str_pad($m[3] ?? '', 2, '0');

        return $m[1] === '-' ? -$cents : $cents;
    }

    /** "$1,605.00 USD" from 160500 cents, the currency's prefix and suffix and its format. */
    public static function format(int $cents, string $prefix = '', string $suffix = '', int $format = 1): string
    {
        [$decimals, $point, $thousands] = self::FORMATS[$format] ?? self::FORMATS[1];
        $sign = $cents < 0 ? '-' : '';
        $cents = abs($cents);
        if ($decimals === 0) {
            // whole units, half away from zero (the sign is already set aside)
            $units = intdiv($cents + 50, 100);
            $fraction = '';
        } else {
            $units = intdiv($cents, 100);
            $fraction = $point . str_pad((string) ($cents % 100), 2, '0', STR_PAD_LEFT);
        }
        $digits = (string) $units;
        if ($thousands !== '') {
            $digits = ltrim(strrev(chunk_split(strrev($digits), 3, strrev($thousands))), $thousands);
        }

        return $sign . $prefix . $digits . $fraction . $suffix;
    }

    /** A worker amount ("1605.00") in a currency; the text as it came when it is no amount. */
    public static function show(?string $amount, Currency $currency): string
    {
        if ($amount === null || trim($amount) === '') {
            return '';
        }
        try {
            return self::format(self::toCents($amount), $currency->prefix, $currency->suffix, $currency->format);
        } catch (\InvalidArgumentException $e) {
            return $amount;
        }
    }

    /** The client's currency (tblclients.currency), else WHMCS's default currency. */
    public static function currencyOf(?int $clientId): Currency
    {
        $columns = ['tblcurrencies.prefix', 'tblcurrencies.suffix', 'tblcurrencies.format'];
        $row = null;
        if ($clientId !== null && $clientId > 0) {
            $row = Capsule::table('tblclients')
                ->join('tblcurrencies', 'tblcurrencies.id', '=', 'tblclients.currency')
                ->where('tblclients.id', $clientId)
                ->first($columns);
        }
        if ($row === null) {
            $row = Capsule::table('tblcurrencies')
                ->orderBy('default', 'desc')
                ->orderBy('id')
                ->first($columns);
        }

        return self::currency($row);
    }

    /** A currency by its id (tblcurrencies.id); null when there is no such currency. */
    public static function currencyById(int $currencyId): ?Currency
    {
        $row = Capsule::table('tblcurrencies')->where('id', $currencyId)->first(['prefix', 'suffix', 'format']);

        return $row === null ? null : self::currency($row);
    }

    private static function currency(?object $row): Currency
    {
        // WHMCS prints prefix and suffix as HTML, and many are saved as entities ("&euro;"):
        // as text here, so every page escapes them once
        $text = fn ($value) => html_entity_decode((string) $value, ENT_QUOTES | ENT_HTML5, 'UTF-8');

        return new Currency($text($row->prefix ?? ''), $text($row->suffix ?? ''), (int) ($row->format ?? 1));
    }
}
