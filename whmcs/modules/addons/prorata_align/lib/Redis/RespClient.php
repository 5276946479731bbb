<?php

namespace ProrataAlign\Redis;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * A small Redis client speaking RESP over a plain socket, for WHMCS servers without the
 * phpredis extension. It sends commands as arrays of bulk strings and reads the five RESP2
 * reply types; connect and read timeouts are short so a page never hangs on Redis.
 */
final class RespClient implements RedisClient
{
    /** @var resource|null */
    private $stream;

    private string $where;

    /** @param resource $stream */
    private function __construct($stream, string $where)
    {
        $this->stream = $stream;
        $this->where = $where;
    }

    /** @throws RedisError */
    public static function connect(RedisConfig $config): self
    {
        $where = $config->describe();
        $address = self::address($config->host, $config->port);
        $errno = 0;
        $errstr = '';
        // the @ keeps PHP's own warning out of the page: the failure is reported below
        $stream = @stream_socket_client(
            $address,
            $errno,
            $errstr,
            $config->connectTimeout,
            STREAM_CLIENT_CONNECT
        );
        if ($stream === false) {
            $reason = $errstr !== '' ? $errstr : 'error ' . $errno;
            throw new RedisError("cannot connect to Redis at {$where}: {$reason}");
        }
        $seconds = (int) floor($config->readTimeout);
        $micro = (int) round(($config->readTimeout - $seconds) * 1000000);
        stream_set_timeout($stream, $seconds, $micro);

        $client = new self($stream, $where);
        try {
            if ($config->password !== '') {
                $client->command('AUTH', $config->password);
            }
            if ($config->database !== 0) {
                $client->command('SELECT', (string) $config->database);
            }
        } catch (RedisError $e) {
            $client->close();
            throw $e;
        }

        return $client;
    }

    public function lpush(string $key, string $value): int
    {
        return $this->integer($this->command('LPUSH', $key, $value), 'LPUSH');
    }

    public function get(string $key): ?string
    {
        $reply = $this->command('GET', $key);
        if ($reply !== null && !is_string($reply)) {
            throw new RedisError('Redis GET: unexpected reply');
        }

        return $reply;
    }

    public function setex(string $key, int $seconds, string $value): void
    {
        $this->command('SET', $key, $value, 'EX', (string) max(1, $seconds));
    }

    public function llen(string $key): int
    {
        return $this->integer($this->command('LLEN', $key), 'LLEN');
    }

    public function del(string $key): int
    {
        return $this->integer($this->command('DEL', $key), 'DEL');
    }

    public function close(): void
    {
        if (is_resource($this->stream)) {
            @fclose($this->stream);
        }
        $this->stream = null;
    }

    public function transport(): string
    {
        return RedisClientFactory::BUNDLED;
    }

    public function __destruct()
    {
        $this->close();
    }

    /**
     * Send one command and read its reply: a string, an integer, null, or a list of these.
     * An error reply (-ERR ...) is a RedisError, and so is a timeout or a closed connection;
     * after either, the connection is closed (its state is unknown).
     *
     * @throws RedisError
     */
    public function command(string ...$args)
    {
        if (!is_resource($this->stream)) {
            throw new RedisError("the connection to Redis at {$this->where} is closed");
        }
        $request = '*' . count($args) . "\r\n";
        foreach ($args as $arg) {
            $request .= '$' . strlen($arg) . "\r\n" . $arg . "\r\n";
        }
        try {
            $this->write($request);
            $reply = $this->readReply();
        } catch (RedisError $e) {
            $this->close();
            throw $e;
        }
        if ($reply instanceof ReplyError) {
            throw new RedisError("Redis {$args[0]} failed: {$reply->message}");
        }

        return $reply;
    }

    private static function address(string $host, int $port): string
    {
        if (str_starts_with($host, '/')) {
            return 'unix://' . $host;
        }
        if (str_contains($host, ':') && !str_starts_with($host, '[')) {
            $host = '[' . $host . ']'; // an IPv6 address
        }

        return 'tcp://' . $host . ':' . $port;
    }

    private function write(string $data): void
    {
        $length = strlen($data);
        $sent = 0;
        while ($sent < $length) {
            $written = @fwrite($this->stream, substr($data, $sent));
            if ($written === false || $written === 0) {
                $this->failIfTimedOut('writing to');
                throw new RedisError("cannot write to Redis at {$this->where}: the connection was closed");
            }
            $sent += $written;
        }
    }

    private function readLine(): string
    {
        $line = @fgets($this->stream);
        if ($line === false || !str_ends_with($line, "\r\n")) {
            $this->failIfTimedOut('reading from');
            throw new RedisError("Redis at {$this->where} closed the connection");
        }

        return substr($line, 0, -2);
    }

    private function readBytes(int $length): string
    {
        $data = '';
        while (strlen($data) < $length) {
            $chunk = @fread($this->stream, $length - strlen($data));
            if ($chunk === false || $chunk === '') {
                $this->failIfTimedOut('reading from');
                throw new RedisError("Redis at {$this->where} closed the connection");
            }
            $data .= $chunk;
        }

        return $data;
    }

    private function failIfTimedOut(string $doing): void
    {
        $meta = is_resource($this->stream) ? stream_get_meta_data($this->stream) : [];
        if (!empty($meta['timed_out'])) {
            throw new RedisError("timed out {$doing} Redis at {$this->where}");
        }
    }

    private function readReply()
    {
        $line = $this->readLine();
        $type = $line[0] ?? '';
        $rest = substr($line, 1);
        switch ($type) {
            case '+':
                return $rest;
            case '-':
                return new ReplyError($rest);
            case ':':
                return (int) $rest;
            case '$':
                $length = (int) $rest;
                if ($length < 0) {
                    return null;
                }
                $data = $this->readBytes($length + 2);

                return substr($data, 0, $length);
            case '*':
                $count = (int) $rest;
                if ($count < 0) {
                    return null;
                }
                $items = [];
                for ($i = 0; $i < $count; $i++) {
                    $items[] = $this->readReply();
                }

                return $items;
            default:
                throw new RedisError("Redis at {$this->where} sent a reply this client does not understand");
        }
    }

    private function integer($reply, string $command): int
    {
        if (!is_int($reply)) {
            throw new RedisError("Redis {$command}: unexpected reply");
        }

        return $reply;
    }
}

/** An error reply read off the wire (kept apart from a string reply). */
final class ReplyError
{
    public function __construct(public readonly string $message)
    {
    }
}
