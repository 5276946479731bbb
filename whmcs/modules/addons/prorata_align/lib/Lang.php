<?php

namespace ProrataAlign;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The module's one language loader: the strings of lang/<language>.php. WHMCS passes them to
 * _output and _clientarea ($vars['_lang']) but not to _config, _activate, the hooks or the
 * classes they call; all of those read them here. A string missing from a language falls
 * back to English; an unknown language is English.
 */
final class Lang
{
    /** @var array<string, array<string, string>> */
    private static array $loaded = [];

    public static function get(string $key, ?string $language = null): string
    {
        $language = self::language($language);
        $strings = self::strings($language);
        if (isset($strings[$key])) {
            return $strings[$key];
        }
        $english = self::strings('english');
        if (isset($english[$key])) {
            return $english[$key];
        }
        trigger_error('prorata_align: missing language string ' . $key, E_USER_WARNING);

        return $key;
    }

    /** A string with sprintf() arguments filled in. */
    public static function format(string $key, ?string $language, ...$args): string
    {
        return vsprintf(self::get($key, $language), $args);
    }

    private static function language(?string $language): string
    {
        $language = strtolower(trim((string) $language));
        if ($language === '' || !preg_match('/^[a-z][a-z_-]*$/', $language)
            || !is_file(self::file($language))
        ) {
            return 'english';
        }

        return $language;
    }

    private static function file(string $language): string
    {
        return dirname(__DIR__) . '/lang/' . $language . '.php';
    }

    /**
     * Every string of a language file as it is (no English filling): what WHMCS would pass
     * as $vars['_lang']; an unknown language gives English's.
     *
     * @return array<string, string>
     */
    public static function strings(?string $language): array
    {
        $language = self::language($language);
        if (!isset(self::$loaded[$language])) {
            $_ADDONLANG = [];
            include self::file($language);
            self::$loaded[$language] = is_array($_ADDONLANG) ? $_ADDONLANG : [];
        }

        return self::$loaded[$language];
    }
}
