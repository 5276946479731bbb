<?php

namespace ProrataAlign\Page;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The addon's Smarty templates (templates/*.tpl), rendered with the Smarty WHMCS ships. WHMCS
 * renders the client area's template itself (ClientAreaController names it); the admin page's
 * are rendered here, since WHMCS prints what _output echoes. Every value a template prints is
 * escaped there (|escape), except the pieces a controller already made HTML (named *_html).
 */
final class Templates
{
    private static ?\Smarty $smarty = null;

    /** templates/<name>.tpl ("admin/records") with $vars. */
    public static function render(string $name, array $vars): string
    {
        if (!preg_match('#^[a-z0-9_]+(/[a-z0-9_]+)*$#', $name)) {
            throw new \InvalidArgumentException('bad template name ' . $name);
        }
        $smarty = self::smarty();
        $template = $smarty->createTemplate(self::directory() . '/' . $name . '.tpl', null, null, $smarty);
        $template->assign($vars);

        return $template->fetch();
    }

    public static function directory(): string
    {
        return dirname(__DIR__, 2) . '/templates';
    }

    private static function smarty(): \Smarty
    {
        if (self::$smarty !== null) {
            return self::$smarty;
        }
        if (!class_exists(\Smarty::class)) {
            throw new \RuntimeException('prorata_align: Smarty is missing (WHMCS ships it)');
        }
        $smarty = new \Smarty();
        // WHMCS's compile folder (configuration.php's $templates_compiledir) when it can be
        // written, else one of the addon's own in the system's temporary folder
        $compiled = $GLOBALS['templates_compiledir'] ?? '';
        if (is_string($compiled) && $compiled !== '' && $compiled[0] !== '/' && defined('ROOTDIR')) {
            $compiled = ROOTDIR . '/' . $compiled; // WHMCS's default, "templates_c", is relative to its folder
        }
        if (!is_string($compiled) || $compiled === '' || !is_dir($compiled) || !is_writable($compiled)) {
            $compiled = sys_get_temp_dir() . '/prorata_align_templates_c';
            if (!is_dir($compiled)) {
                @mkdir($compiled, 0700, true);
            }
        }
        $smarty->setCompileDir($compiled);
        $smarty->setCacheDir($compiled);
        // Smarty 3.1 is older than PHP 8.2: its own deprecation notices are muted while it renders
        $smarty->error_reporting = E_ALL & ~E_DEPRECATED;

        return self::$smarty = $smarty;
    }
}
