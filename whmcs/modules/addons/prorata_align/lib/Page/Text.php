<?php

namespace ProrataAlign\Page;

use ProrataAlign\Lang;

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
        $text = $this->strings[$key] ?? Lang::get($key, 'english');

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
        return $this->strings + Lang::strings('english');
    }

    /** "admin:3" -> "Admin #3", "client:7" -> "Client", "bulk" -> "Bulk run", "cli" -> "Command line". */
    public function requester(string $requestedBy): string
    {
        if (preg_match('/^admin:(\d+)$/', $requestedBy, $m)) {
            return $this->get('requested_by_admin', (int) $m[1]);
        }
        if (str_starts_with($requestedBy, 'client')) {
            return $this->get('requested_by_client');
        }
        if ($requestedBy === 'bulk') {
            return $this->get('requested_by_bulk');
        }
        if ($requestedBy === 'cli') {
            return $this->get('requested_by_cli');
        }

        return $requestedBy;
    }
}
