<?php

namespace ProrataAlign\Redis;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The few Redis commands the addon needs, whichever client carries them: the phpredis
 * extension when it is loaded, otherwise the bundled RESP client. Every failure (connection
 * refused, timeout, wrong password, error reply) is a RedisError.
 */
interface RedisClient
{
    /** LPUSH: the length of the list afterwards. */
    public function lpush(string $key, string $value): int;

    /** GET: the value, or null when the key does not exist. */
    public function get(string $key): ?string;

    /** SET key value EX seconds: a value that Redis forgets after that many seconds. */
    public function setex(string $key, int $seconds, string $value): void;

    /** LLEN: the length of a list (0 when the key does not exist). */
    public function llen(string $key): int;

    /** DEL: the number of keys removed. */
    public function del(string $key): int;

    public function close(): void;

    /** "phpredis" or "bundled": which client this is (for logs and tests). */
    public function transport(): string;
}
