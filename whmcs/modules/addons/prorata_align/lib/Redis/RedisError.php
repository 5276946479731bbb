<?php

namespace ProrataAlign\Redis;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/** Redis cannot be used: not reachable, too slow, refused the password, or answered an error. */
class RedisError extends \RuntimeException
{
}
