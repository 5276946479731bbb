<?php

namespace ProrataAlign\Pages;

use ProrataAlign\Money;
use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * Dates in the WHMCS date format (tblconfiguration DateFormat), money with the client's
 * currency prefix and suffix, and HTML escaping.
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
    private string $prefix;
    private string $suffix;

    public function __construct(string $dateFormat, string $prefix = '', string $suffix = '')
    {
        // an unknown format shows ISO dates, as the worker's invoice lines do (never a guess)
        $this->datePattern = self::DATE_FORMATS[strtoupper(trim($dateFormat))] ?? 'Y-m-d';
        $this->prefix = $prefix;
        $this->suffix = $suffix;
    }

    /** The format for a page: WHMCS's date format and, when known, the client's currency. */
    public static function forClient(?int $clientId): self
    {
        $dateFormat = (string) Capsule::table('tblconfiguration')
            ->where('setting', 'DateFormat')
            ->value('value');
        [$prefix, $suffix] = self::currencyOf($clientId);

        return new self($dateFormat, $prefix, $suffix);
    }

    /** @return array{0: string, 1: string} the prefix and suffix of a client's currency */
    public static function currencyOf(?int $clientId): array
    {
        $currency = null;
        if ($clientId !== null && $clientId > 0) {
            $currency = Capsule::table('tblclients')
                ->join('tblcurrencies', 'tblcurrencies.id', '=', 'tblclients.currency')
                ->where('tblclients.id', $clientId)
                ->first(['tblcurrencies.prefix', 'tblcurrencies.suffix']);
        }
        if ($currency === null) {
            $currency = Capsule::table('tblcurrencies')
                ->orderBy('default', 'desc')
                ->orderBy('id')
                ->first(['prefix', 'suffix']);
        }

        return [(string) ($currency->prefix ?? ''), (string) ($currency->suffix ?? '')];
    }

    public function withCurrency(string $prefix, string $suffix): self
    {
        $copy = clone $this;
        $copy->prefix = $prefix;
        $copy->suffix = $suffix;

        return $copy;
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

    /** An amount of the worker's ("16.05") with the currency's prefix and suffix. */
    public function money(?string $amount): string
    {
        if ($amount === null || trim($amount) === '') {
            return '';
        }
        try {
            return Money::format(Money::toCents($amount), $this->prefix, $this->suffix);
        } catch (\InvalidArgumentException $e) {
            return $amount;
        }
    }

    /** Text for HTML: element content and quoted attribute values alike. */
    public static function e($value): string
    {
        return htmlspecialchars((string) $value, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
    }
}
