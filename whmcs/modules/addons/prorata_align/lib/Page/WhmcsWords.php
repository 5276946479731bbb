<?php

namespace ProrataAlign\Page;

use ProrataAlign\Lang;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * Billing cycles and invoice statuses in WHMCS's own words where WHMCS has them: the client
 * area's language strings ($_LANG, loaded by WHMCS in the client's language), so the module
 * says "Monthly" exactly as the rest of the client area does; the module's own strings
 * where $_LANG is not loaded or lacks the key (a hook run outside a client area page).
 */
final class WhmcsWords
{
    /** WHMCS's $_LANG keys of the billing cycles (its order form's "orderpaymentterm..."). */
    private const CYCLE_KEYS = [
        'Monthly' => 'orderpaymenttermmonthly',
        'Quarterly' => 'orderpaymenttermquarterly',
        'Semi-Annually' => 'orderpaymenttermsemiannually',
        'Annually' => 'orderpaymenttermannually',
        'Biennially' => 'orderpaymenttermbiennially',
        'Triennially' => 'orderpaymenttermtriennially',
    ];

    /** WHMCS's $_LANG keys of the invoice statuses (its invoice list's "invoices..."). */
    private const STATUS_KEYS = [
        'Unpaid' => 'invoicesunpaid',
        'Draft' => 'invoicesdraft',
        'Payment Pending' => 'invoicespaymentpending',
        'Collections' => 'invoicescollections',
    ];

    /** @param string|Text|null $language the client's language, or the page's strings */
    public static function cycle(string $cycle, $language = null): string
    {
        $own = 'cycle_' . strtolower(str_replace('-', '', $cycle));

        return self::word(self::CYCLE_KEYS[$cycle] ?? null, $own, $cycle, $language);
    }

    /** @param string|Text|null $language the client's language, or the page's strings */
    public static function invoiceStatus(string $status, $language = null): string
    {
        $own = 'client_invoice_status_' . strtolower(str_replace(' ', '_', $status));

        return self::word(self::STATUS_KEYS[$status] ?? null, $own, $status, $language);
    }

    /** @param string|Text|null $language */
    private static function word(?string $whmcsKey, string $ownKey, string $asIs, $language): string
    {
        if ($whmcsKey === null) {
            return $asIs; // not a word WHMCS or the module translates: shown as WHMCS keeps it
        }
        $whmcs = $GLOBALS['_LANG'][$whmcsKey] ?? null;
        if (is_string($whmcs) && trim($whmcs) !== '') {
            return $whmcs;
        }

        return $language instanceof Text ? $language->get($ownKey) : Lang::get($ownKey, $language);
    }
}
