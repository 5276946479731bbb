<?php

namespace ProrataAlign\Page;

use ProrataAlign\Currency;
use ProrataAlign\Money;
use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * Dates in the WHMCS date format (tblconfiguration DateFormat), money in the client's
 * currency as WHMCS shows it (Money), and HTML escaping.
 */
final class Format
{
    /** tblconfiguration.DateFormat values WHMCS offers, as PHP date() patterns. */
    public const DATE_FORMATS = [
        'DD/MM/YYYY' => 'd/m/Y',
        'DD.MM.YYYY' => 'd.m.Y',
        'DD-MM-YYYY' => 'd-m-Y',
        'MM/DD/YYYY' => 'm/d/Y',
        'YYYY/MM/DD' => 'Y/m/d',
        'YYYY-MM-DD' => 'Y-m-d',
    ];

    private string $datePattern;
    private Currency $currency;

    public function __construct(string $dateFormat, string $prefix = '', string $suffix = '', int $format = 1)
    {
        // an unknown format shows ISO dates, as the worker's invoice lines do (never a guess)
        $this->datePattern = self::DATE_FORMATS[strtoupper(trim($dateFormat))] ?? 'Y-m-d';
        $this->currency = new Currency($prefix, $suffix, $format);
    }

    /** The format for a page: WHMCS's date format and, when known, the client's currency. */
    public static function forClient(?int $clientId): self
    {
        $dateFormat = (string) Capsule::table('tblconfiguration')
            ->where('setting', 'DateFormat')
            ->value('value');

        return new self($dateFormat, ...self::currencyOf($clientId));
    }

    /** @return array{0: string, 1: string, 2: int} the prefix, suffix and format of a client's currency */
    public static function currencyOf(?int $clientId): array
    {
        $currency = Money::currencyOf($clientId);

        return [$currency->prefix, $currency->suffix, $currency->format];
    }

    public function withCurrency(string $prefix, string $suffix, int $format = 1): self
    {
        $copy = clone $this;
        $copy->currency = new Currency($prefix, $suffix, $format);

        return $copy;
    }

    public function currency(): Currency
    {
        return $this->currency;
    }

    /** A YYYY-MM-DD date (or a datetime) as WHMCS shows it; empty for none. */
    public function date(?string $value): string
    {
        $value = trim((string) $value);
        if (!preg_match('/^(\d{4})-(\d{2})-(\d{2})/', $value, $m) || $m[1] === '0000') {
            return '';
        }
        $date = \DateTimeImmutable::createFromFormat('!Y-m-d', $m[1] . '-' . $m[2] . '-' . $m[3]);

        return $date === false ? $value : $date->format($this->datePattern);
    }

    /** An amount of the worker's ("16.05") as WHMCS shows it in the currency. */
    public function money(?string $amount): string
    {
        return Money::show($amount, $this->currency);
    }

    /** Text for HTML: element content and quoted attribute values alike. */
    public static function e($value): string
    {
        return htmlspecialchars((string) $value, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
    }
}
