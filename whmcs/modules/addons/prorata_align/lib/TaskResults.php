<?php

namespace ProrataAlign;

use ProrataAlign\Redis\RedisClient;
use ProrataAlign\Redis\RedisError;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * Reading a Celery task's result from Redis: the key celery-task-meta-<task id> holds JSON
 * with "status" and "result" once the worker has finished the task.
 */
final class TaskResults
{
    /** Celery states after which the result key no longer changes. */
    public const FINAL_STATES = ['SUCCESS', 'FAILURE', 'REVOKED'];

    /**
     * Polls until the task is finished or the deadline (microtime) passes; the result's
     * JSON as an array, or null when it is not finished by then.
     *
     * @throws RedisError
     */
    public static function poll(RedisClient $client, string $taskId, float $deadline): ?array
    {
        $key = CeleryMessage::resultKey($taskId);
        $pause = 20000; // microseconds, doubling up to a fifth of a second
        while (true) {
            $raw = $client->get($key);
            $meta = $raw === null ? null : json_decode($raw, true);
            if (is_array($meta) && in_array($meta['status'] ?? '', self::FINAL_STATES, true)) {
                return $meta;
            }
            $left = $deadline - microtime(true);
            if ($left <= 0) {
                return null;
            }
            usleep((int) min($pause, $left * 1000000));
            $pause = min($pause * 2, 200000);
        }
    }

    /** A failed task's exception as one line ("AlignmentRejected: ..."). */
    public static function failure(array $meta): string
    {
        $result = $meta['result'] ?? null;
        if (!is_array($result)) {
            return (string) ($meta['status'] ?? '');
        }
        $detail = $result['exc_message'] ?? '';
        if (is_array($detail)) {
            $detail = implode('; ', array_map(
                fn ($part) => is_scalar($part) ? (string) $part : json_encode($part),
                $detail
            ));
        }

        return trim((string) ($result['exc_type'] ?? 'Error') . ': ' . $detail);
    }
}
