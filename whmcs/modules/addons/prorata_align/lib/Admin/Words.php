<?php

namespace ProrataAlign\Admin;

use ProrataAlign\Page\Text;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * WHMCS's own words on the admin pages, in the admin's language: billing cycles, service
 * and invoice statuses. WHMCS's admin translations (AdminLang, the admin area's language)
 * where it has the word; the module's strings (word_cycle_*, word_status_*) otherwise, and
 * the word as stored when neither knows it (a custom status, say).
 */
final class Words
{
    private Text $t;

    public function __construct(Text $t)
    {
        $this->t = $t;
    }

    /** "Monthly", "Semi-Annually", "Free Account", ... */
    public function cycle(string $cycle): string
    {
        $slug = self::slug($cycle);

        return $this->word('billingcycles.' . $slug, 'word_cycle_' . $slug, $cycle);
    }

    /** A service's, addon's or invoice's status: "Active", "Unpaid", "Payment Pending", ... */
    public function status(string $status): string
    {
        $slug = self::slug($status);

        return $this->word('status.' . $slug, 'word_status_' . $slug, $status);
    }

    private static function slug(string $word): string
    {
        return strtolower((string) preg_replace('/[^A-Za-z]/', '', $word));
    }

    private function word(string $whmcsKey, string $ownKey, string $asStored): string
    {
        if ($asStored === '') {
            return '';
        }
        if (class_exists('\AdminLang') && method_exists('\AdminLang', 'trans')) {
            // WHMCS answers the key itself for a word it does not have
            $whmcs = (string) \AdminLang::trans($whmcsKey);
            if ($whmcs !== '' && $whmcs !== $whmcsKey) {
                return $whmcs;
            }
        }
        $all = $this->t->all();

        return isset($all[$ownKey]) ? $this->t->get($ownKey) : $asStored;
    }
}
