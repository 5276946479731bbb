<?php

namespace ProrataAlign;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/** An event that could be neither sent to Redis nor written to the outbox. */
final class EventNotKept extends \RuntimeException
{
}
