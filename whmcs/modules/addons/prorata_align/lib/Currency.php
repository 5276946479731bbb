<?php

namespace ProrataAlign;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/** How a currency is shown: tblcurrencies prefix, suffix and format. */
final class Currency
{
    public function __construct(
        public readonly string $prefix = '',
        public readonly string $suffix = '',
        public readonly int $format = 1
    ) {
    }
}
