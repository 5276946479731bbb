<?php

namespace ProrataAlign;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * Money as the worker sends it ("16.05", two decimals), added up in whole cents so no
 * floating point error creeps in.
 */
final class Money
{
    public static function toCents(string $amount): int
    {
        $text = trim($amount);
        if (!preg_match('/^(-?)(\d+)(?:\.(\d{1,2}))?$/', $text, $m)) {
            throw new \InvalidArgumentException('not an amount of money: ' . $amount);
        }
        $cents = (int) $m[2] * 100 + (int) str_pad($m[3] ?? '', 2, '0');

        return $m[1] === '-' ? -$cents : $cents;
    }

    /** "$16.05 USD" from 1605 cents and the currency's prefix and suffix. */
    public static function format(int $cents, string $prefix = '', string $suffix = ''): string
    {
        $sign = $cents < 0 ? '-' : '';
        $cents = abs($cents);

        return $sign . $prefix . intdiv($cents, 100) . '.' . str_pad((string) ($cents % 100), 2, '0', STR_PAD_LEFT) . $suffix;
    }
}
