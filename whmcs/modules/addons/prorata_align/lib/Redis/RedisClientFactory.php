<?php

namespace ProrataAlign\Redis;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * Opens a Redis connection: AUTH when a password is set, SELECT when the database is not 0.
 *
 * The phpredis extension is used when it is loaded, else the bundled RESP client. The
 * constant PRORATA_ALIGN_REDIS_CLIENT (for example in WHMCS's configuration.php) can force
 * one: "phpredis", "bundled" or "auto" (the default).
 */
final class RedisClientFactory
{
    public const AUTO = 'auto';
    public const PHPREDIS = 'phpredis';
    public const BUNDLED = 'bundled';

    private string $mode;

    public function __construct(?string $mode = null)
    {
        if ($mode === null) {
            $mode = defined('PRORATA_ALIGN_REDIS_CLIENT') ? (string) constant('PRORATA_ALIGN_REDIS_CLIENT') : self::AUTO;
        }
        $mode = strtolower(trim($mode));
        if (!in_array($mode, [self::AUTO, self::PHPREDIS, self::BUNDLED], true)) {
            throw new \InvalidArgumentException(
                'PRORATA_ALIGN_REDIS_CLIENT must be "auto", "phpredis" or "bundled", not "' . $mode . '"'
            );
        }
        $this->mode = $mode;
    }

    public static function phpredisAvailable(): bool
    {
        return extension_loaded('redis') && class_exists('Redis', false);
    }

    /** The client connect() uses: "phpredis" or "bundled". */
    public function transport(): string
    {
        if ($this->mode === self::AUTO) {
            return self::phpredisAvailable() ? self::PHPREDIS : self::BUNDLED;
        }

        return $this->mode;
    }

    /** @throws RedisError */
    public function connect(RedisConfig $config): RedisClient
    {
        if ($this->transport() === self::PHPREDIS) {
            if (!self::phpredisAvailable()) {
                throw new RedisError('the phpredis extension is not loaded');
            }

            return PhpRedisClient::connect($config);
        }

        return RespClient::connect($config);
    }
}
