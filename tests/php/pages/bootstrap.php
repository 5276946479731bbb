<?php
/**
 * The few rules of Bootstrap 4 the client area's test chrome needs, read at request time from
 * a real Bootstrap distribution (Debian's libjs-bootstrap4, or npm's bootstrap package under
 * PRORATA_BOOTSTRAP_CSS), not copied into the project: the tables' own rules
 * (.table, .table-sm, .table-responsive), whose widths and scrolling decide whether a page
 * fits a phone. pages.css stands in for the rest of the theme.
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

/** Where Bootstrap 4's stylesheet is: PRORATA_BOOTSTRAP_CSS, else Debian's. */
function pages_bootstrap_file(): ?string
{
    $candidates = array_filter([
        getenv('PRORATA_BOOTSTRAP_CSS') ?: null,
        '/usr/share/javascript/bootstrap4/css/bootstrap.css',
        '/usr/share/nodejs/bootstrap/dist/css/bootstrap.css',
    ]);
    foreach ($candidates as $file) {
        if (is_file($file)) {
            return $file;
        }
    }

    return null;
}

/**
 * The top-level rules (not inside @media) of Bootstrap's stylesheet that style tables: every
 * rule with a selector starting ".table" (".table", ".table th", ".table-sm td",
 * ".table-responsive", ...), as Bootstrap writes them.
 */
function pages_bootstrap_rules(): string
{
    $file = pages_bootstrap_file();
    if ($file === null) {
        return '/* Bootstrap 4 not found: install the Debian package libjs-bootstrap4 */';
    }
    $css = (string) preg_replace('#/\*.*?\*/#s', '', (string) file_get_contents($file));
    $rules = [];
    $depth = 0;
    $start = 0;
    $length = strlen($css);
    for ($i = 0; $i < $length; $i++) {
        if ($css[$i] === '{') {
            $depth++;
        } elseif ($css[$i] === '}') {
            $depth--;
            if ($depth === 0) {
                $rule = trim(substr($css, $start, $i - $start + 1));
                $start = $i + 1;
                if ($rule === '' || $rule[0] === '@') {
                    continue;
                }
                $selectors = array_map('trim', explode(',', substr($rule, 0, (int) strpos($rule, '{'))));
                foreach ($selectors as $selector) {
                    if (preg_match('/^\.table(?:-sm|-responsive)?(?:$|[\s>+~:])/', $selector)) {
                        $rules[] = $rule;
                        break;
                    }
                }
            }
        }
    }

    return '/* from ' . basename(dirname(dirname($file))) . ': ' . basename($file) . " */\n" . implode("\n", $rules);
}
