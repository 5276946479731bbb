<?php

namespace ProrataAlign\Redis;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/** Redis through the phpredis extension (\Redis), every failure turned into a RedisError. */
final class PhpRedisClient implements RedisClient
{
    private ?\Redis $redis;

    private function __construct(\Redis $redis)
    {
        $this->redis = $redis;
    }

    /** @throws RedisError */
    public static function connect(RedisConfig $config): self
    {
        $redis = new \Redis();
        $where = $config->describe();
        try {
            $unixSocket = str_starts_with($config->host, '/');
            $ok = $redis->connect(
                $config->host,
                $unixSocket ? 0 : $config->port,
                $config->connectTimeout,
                null,
                0,
                $config->readTimeout
            );
            if (!$ok) {
                throw new RedisError("cannot connect to Redis at {$where}");
            }
            $client = new self($redis);
            if ($config->password !== '') {
                $client->check($redis->auth($config->password), 'AUTH');
            }
            if ($config->database !== 0) {
                $client->check($redis->select($config->database), 'SELECT');
            }

            return $client;
        } catch (\RedisException $e) {
            self::quietClose($redis);
            throw new RedisError("Redis at {$where}: " . $e->getMessage(), 0, $e);
        } catch (RedisError $e) {
            self::quietClose($redis);
            throw $e;
        }
    }

    public function lpush(string $key, string $value): int
    {
        return (int) $this->check($this->call(fn (\Redis $r) => $r->lPush($key, $value)), 'LPUSH');
    }

    public function get(string $key): ?string
    {
        $value = $this->call(fn (\Redis $r) => $r->get($key));
        if ($value === false) {
            $error = $this->redis?->getLastError();
            if ($error !== null && $error !== '') {
                $this->redis?->clearLastError();
                throw new RedisError('Redis GET failed: ' . $error);
            }

            return null;
        }

        return (string) $value;
    }

    public function setex(string $key, int $seconds, string $value): void
    {
        $this->check($this->call(fn (\Redis $r) => $r->setex($key, max(1, $seconds), $value)), 'SETEX');
    }

    public function llen(string $key): int
    {
        return (int) $this->check($this->call(fn (\Redis $r) => $r->lLen($key)), 'LLEN');
    }

    public function del(string $key): int
    {
        return (int) $this->check($this->call(fn (\Redis $r) => $r->del($key)), 'DEL');
    }

    public function close(): void
    {
        if ($this->redis !== null) {
            self::quietClose($this->redis);
            $this->redis = null;
        }
    }

    public function transport(): string
    {
        return RedisClientFactory::PHPREDIS;
    }

    public function __destruct()
    {
        $this->close();
    }

    private function call(callable $command)
    {
        if ($this->redis === null) {
            throw new RedisError('the Redis connection is closed');
        }
        try {
            return $command($this->redis);
        } catch (\RedisException $e) {
            throw new RedisError('Redis: ' . $e->getMessage(), 0, $e);
        }
    }

    /** phpredis answers false (and keeps the error) where the server answered an error. */
    private function check($result, string $command)
    {
        if ($result === false) {
            $error = $this->redis?->getLastError();
            $this->redis?->clearLastError();
            throw new RedisError("Redis {$command} failed" . ($error ? ': ' . $error : ''));
        }

        return $result;
    }

    private static function quietClose(\Redis $redis): void
    {
        try {
            $redis->close();
        } catch (\Throwable $ignored) {
            // the connection is going away anyway
        }
    }
}
