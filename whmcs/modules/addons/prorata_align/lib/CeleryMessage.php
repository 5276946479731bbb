<?php

namespace ProrataAlign;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * A Celery task message (protocol version 2) as the worker's Celery 5 reads it from Redis.
 *
 * It is the document Celery's own producer writes (celery/app/amqp.py, as_task_v2) after
 * kombu's Redis transport has added its delivery properties (kombu/transport/virtual/base.py
 * and kombu/transport/redis.py):
 *
 *   {"body": base64(json([args, kwargs, embed])), "content-encoding": "utf-8",
 *    "content-type": "application/json", "headers": {...}, "properties": {...}}
 *
 * It is pushed with LPUSH onto a Redis list; the worker takes from the other end (BRPOP),
 * so messages are handled in the order they were sent. The list's key is the queue name
 * itself for priority 0; kombu keeps other priorities in separate lists named
 * "<queue>\x06\x16<step>" (steps 0, 3, 6, 9), which redisListKey() reproduces.
 */
final class CeleryMessage
{
    /** kombu.transport.redis.PRIORITY_STEPS */
    public const PRIORITY_STEPS = [0, 3, 6, 9];

    /** kombu.transport.redis.Channel.sep */
    public const PRIORITY_SEPARATOR = "\x06\x16";

    /** celery.app.amqp.AMQP.kwargsrepr_maxsize */
    private const REPR_MAX = 1024;

    /**
     * The message for one task, called with keyword arguments only (the worker's tasks take
     * no positional arguments).
     *
     * @param array $kwargs  keyword arguments (string keys); sent as a JSON object
     * @param array $options eta / expires (DateTimeInterface or ISO 8601 string), priority (0-9)
     */
    public static function build(
        string $task,
        array $kwargs,
        string $taskId,
        string $queue,
        array $options = []
    ): array {
        if ($task === '' || $taskId === '' || $queue === '') {
            throw new \InvalidArgumentException('a Celery message needs a task name, a task id and a queue');
        }
        foreach (array_keys($kwargs) as $key) {
            if (!is_string($key)) {
                throw new \InvalidArgumentException('task keyword arguments need string keys, not ' . var_export($key, true));
            }
        }
        $embed = ['callbacks' => null, 'errbacks' => null, 'chain' => null, 'chord' => null];
        $body = self::json([[], self::object($kwargs), $embed]);
        $priority = (int) ($options['priority'] ?? 0);

        return [
            'body' => base64_encode($body),
            'content-encoding' => 'utf-8',
            'content-type' => 'application/json',
            'headers' => [
                'lang' => 'py',
                'task' => $task,
                'id' => $taskId,
                'shadow' => null,
                'eta' => self::isoTime($options['eta'] ?? null),
                'expires' => self::isoTime($options['expires'] ?? null),
                'group' => null,
                'group_index' => null,
                'retries' => 0,
                'timelimit' => [null, null],
                'root_id' => $taskId,
                'parent_id' => null,
                'argsrepr' => '()',
                'kwargsrepr' => self::truncate($kwargs === [] ? '{}' : self::pyRepr($kwargs)),
                'origin' => self::origin(),
                'ignore_result' => false,
                'replaced_task_nesting' => 0,
                'stamped_headers' => null,
                'stamps' => new \stdClass(),
            ],
            'properties' => [
                'correlation_id' => $taskId,
                'reply_to' => '',
                'delivery_mode' => 2,
                'delivery_info' => ['exchange' => '', 'routing_key' => $queue],
                'priority' => max(0, min(9, $priority)),
                'body_encoding' => 'base64',
                'delivery_tag' => Uuid::v4(),
            ],
        ];
    }

    /** The message as the JSON text that goes into Redis. */
    public static function encode(array $message): string
    {
        return self::json($message);
    }

    /** The Redis list a message of this priority goes to (kombu's Channel._q_for_pri). */
    public static function redisListKey(string $queue, int $priority = 0): string
    {
        $priority = max(0, min(9, $priority));
        $step = 0;
        foreach (self::PRIORITY_STEPS as $candidate) {
            if ($candidate <= $priority) {
                $step = $candidate;
            }
        }

        return $step === 0 ? $queue : $queue . self::PRIORITY_SEPARATOR . $step;
    }

    /** Celery's result backend key for a task's state and result (celery-task-meta-<id>). */
    public static function resultKey(string $taskId): string
    {
        return 'celery-task-meta-' . $taskId;
    }

    private static function json($value): string
    {
        return json_encode($value, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION);
    }

    /** Keyword arguments always travel as a JSON object, even when there are none. */
    private static function object(array $kwargs)
    {
        return $kwargs === [] ? new \stdClass() : $kwargs;
    }

    private static function isoTime($value): ?string
    {
        if ($value === null || $value === '') {
            return null;
        }
        if ($value instanceof \DateTimeInterface) {
            // Python's datetime.isoformat() of an aware datetime
            return $value->format('Y-m-d\TH:i:s.uP');
        }

        return (string) $value;
    }

    /** The producer's name, like Celery's anon_nodename(): gen<pid>@<host>. */
    private static function origin(): string
    {
        $host = gethostname();

        return 'gen' . getmypid() . '@' . ($host === false ? 'whmcs' : $host);
    }

    private static function truncate(string $text): string
    {
        return strlen($text) > self::REPR_MAX ? substr($text, 0, self::REPR_MAX - 3) . '...' : $text;
    }

    /** Python's repr() of the JSON value, for the kwargsrepr header (shown by monitoring tools). */
    public static function pyRepr($value): string
    {
        if ($value === null) {
            return 'None';
        }
        if (is_bool($value)) {
            return $value ? 'True' : 'False';
        }
        if (is_int($value)) {
            return (string) $value;
        }
        if (is_float($value)) {
            return json_encode($value, JSON_PRESERVE_ZERO_FRACTION);
        }
        if (is_string($value)) {
            return "'" . addcslashes($value, "\\'\n\r\t") . "'";
        }
        if (is_array($value)) {
            // json_encode() writes an empty or list-shaped array as a JSON list
            if (array_is_list($value)) {
                return '[' . implode(', ', array_map([self::class, 'pyRepr'], $value)) . ']';
            }
            $parts = [];
            foreach ($value as $key => $item) {
                $parts[] = self::pyRepr(is_int($key) ? $key : (string) $key) . ': ' . self::pyRepr($item);
            }

            return '{' . implode(', ', $parts) . '}';
        }
        if ($value instanceof \stdClass) {
            $fields = (array) $value;

            return $fields === [] ? '{}' : self::pyRepr($fields);
        }

        return "'" . addcslashes(get_debug_type($value), "\\'") . "'";
    }
}
