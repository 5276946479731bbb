<?php

namespace ProrataAlign\Redis;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/** Where Redis is and how long to wait for it. */
final class RedisConfig
{
    /** Seconds to wait for the connection; WHMCS pages must not hang on a Redis that is away. */
    public const CONNECT_TIMEOUT = 1.0;

    /** Seconds to wait for any one reply. */
    public const READ_TIMEOUT = 2.0;

    public function __construct(
        public readonly string $host,
        public readonly int $port,
        public readonly string $password = '',
        public readonly int $database = 0,
        public readonly float $connectTimeout = self::CONNECT_TIMEOUT,
        public readonly float $readTimeout = self::READ_TIMEOUT
    ) {
    }

    /** "host:port/db", never the password. */
    public function describe(): string
    {
        return $this->host . ':' . $this->port . '/' . $this->database;
    }
}
