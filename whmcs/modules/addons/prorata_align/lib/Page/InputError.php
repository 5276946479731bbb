<?php

namespace ProrataAlign\Page;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/** Bad input: the language key of the message to show, and its arguments. */
final class InputError extends \RuntimeException
{
    public function __construct(public readonly string $key, public readonly array $args = [])
    {
        parent::__construct($key);
    }
}
