<?php

namespace ProrataAlign\Pages;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The module's strings for one page (the $vars['_lang'] WHMCS passes), each escaped for HTML
 * on request, with the English string for any key the chosen language lacks.
 */
final class Text
{
    /** @var array<string, string> */
    private array $strings;

    /** @param array<string, string> $strings the page's $vars['_lang'] */
    public function __construct(array $strings)
    {
        $this->strings = $strings;
    }

    /** A string with sprintf() arguments filled in (positional: %1$s, %2$s). */
    public function get(string $key, ...$args): string
    {
        $text = $this->strings[$key] ?? \prorata_align_lang_string($key, 'english');

        return $args === [] ? $text : vsprintf($text, $args);
    }

    /** The same, escaped for HTML text and attribute values. */
    public function html(string $key, ...$args): string
    {
        return Format::e($this->get($key, ...$args));
    }

    /** Every string the page may use, English filling the gaps (for Smarty templates). */
    public function all(): array
    {
        return $this->strings + \prorata_align_pages_strings('english');
    }
}
