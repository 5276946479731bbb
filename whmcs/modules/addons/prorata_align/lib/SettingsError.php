<?php

namespace ProrataAlign;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/** A saved setting that cannot be used; the message names it, as the worker's does. */
final class SettingsError extends \RuntimeException
{
    public function __construct(
        public readonly string $key,
        public readonly string $label,
        public readonly string $value,
        string $expected
    ) {
        parent::__construct(sprintf(
            'setting "%s" (%s) has the value %s: expected %s',
            $label,
            $key,
            CeleryMessage::pyRepr($value),
            $expected
        ));
    }
}
