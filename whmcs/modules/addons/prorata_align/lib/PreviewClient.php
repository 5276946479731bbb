<?php

namespace ProrataAlign;

use ProrataAlign\Redis\RedisClient;
use ProrataAlign\Redis\RedisClientFactory;
use ProrataAlign\Redis\RedisError;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * Asks the worker for a client's plan (task prorata.preview_client) and waits for the answer
 * by polling Celery's result key in Redis, celery-task-meta-<task id>, which holds JSON with
 * "status" and "result".
 *
 * It waits at most the "Preview wait (seconds)" setting (or a shorter wait given by the
 * caller). The task expires shortly after that, so a worker that comes back late does not
 * compute previews nobody waits for any more.
 */
final class PreviewClient
{
    public const TASK = 'prorata.preview_client';

    /** Seconds a preview task stays worth running after the caller stopped waiting. */
    private const EXPIRES_AFTER_WAIT = 10;

    /** Celery states after which the result key no longer changes. */
    private const FINAL_STATES = ['SUCCESS', 'FAILURE', 'REVOKED'];

    private Settings $settings;
    private ?RedisClientFactory $redis;

    public function __construct(Settings $settings, ?RedisClientFactory $redis = null)
    {
        $this->settings = $settings;
        $this->redis = $redis;
    }

    public static function fromWhmcs(): self
    {
        return new self(Settings::load());
    }

    /**
     * The worker's plan for one client (see the worker's preview task for its shape).
     *
     * @param array      $options day, cycles, services (["service:12", "addon:3"]), mode, today
     * @param float|null $wait    seconds to wait; null: the "Preview wait (seconds)" setting
     *
     * @throws PreviewError
     */
    public function preview(int $clientId, array $options = [], ?float $wait = null): array
    {
        $kwargs = ['client_id' => $clientId];
        foreach (['day', 'cycles', 'services', 'mode', 'today'] as $key) {
            if (array_key_exists($key, $options) && $options[$key] !== null) {
                $kwargs[$key] = $options[$key];
            }
        }
        try {
            $limit = $wait ?? (float) $this->settings->previewTimeout();
            $queue = $this->settings->queue();
            $config = $this->settings->redisConfig();
            $this->redis ??= new RedisClientFactory();
        } catch (SettingsError|\InvalidArgumentException $e) {
            throw new PreviewError(PreviewError::UNREACHABLE, $e->getMessage(), $e);
        }
        $limit = max(0.1, $limit);
        $taskId = Uuid::v4();
        $expires = (new \DateTimeImmutable('now', new \DateTimeZone('UTC')))
            ->modify('+' . ((int) ceil($limit) + self::EXPIRES_AFTER_WAIT) . ' seconds');
        $message = CeleryMessage::build(self::TASK, $kwargs, $taskId, $queue, ['expires' => $expires]);

        $deadline = microtime(true) + $limit;
        try {
            $client = $this->redis->connect($config);
        } catch (RedisError $e) {
            throw new PreviewError(PreviewError::UNREACHABLE, $e->getMessage(), $e);
        }
        try {
            $client->lpush(CeleryMessage::redisListKey($queue), CeleryMessage::encode($message));

            return $this->await($client, $taskId, $deadline, $limit);
        } catch (RedisError $e) {
            throw new PreviewError(PreviewError::UNREACHABLE, $e->getMessage(), $e);
        } finally {
            $client->close();
        }
    }

    /** @throws PreviewError|RedisError */
    private function await(RedisClient $client, string $taskId, float $deadline, float $limit): array
    {
        $key = CeleryMessage::resultKey($taskId);
        $pause = 20000; // microseconds, doubling up to a fifth of a second
        while (true) {
            $raw = $client->get($key);
            if ($raw !== null) {
                $meta = json_decode($raw, true);
                $status = is_array($meta) ? (string) ($meta['status'] ?? '') : '';
                if (in_array($status, self::FINAL_STATES, true)) {
                    $client->del($key); // nobody else reads it
                    return $this->outcome($status, $meta);
                }
            }
            $left = $deadline - microtime(true);
            if ($left <= 0) {
                throw new PreviewError(
                    PreviewError::TIMEOUT,
                    sprintf('the worker did not answer preview task %s within %.1f seconds', $taskId, $limit)
                );
            }
            usleep((int) min($pause, $left * 1000000));
            $pause = min($pause * 2, 200000);
        }
    }

    /** @throws PreviewError */
    private function outcome(string $status, array $meta): array
    {
        $result = $meta['result'] ?? null;
        if ($status === 'SUCCESS' && is_array($result)) {
            return $result;
        }
        if ($status === 'SUCCESS') {
            throw new PreviewError(PreviewError::FAILED, 'the worker answered with no plan');
        }
        if ($status === 'REVOKED') {
            throw new PreviewError(PreviewError::TIMEOUT, 'the preview task expired before the worker ran it');
        }
        $type = is_array($result) ? (string) ($result['exc_type'] ?? 'Error') : 'Error';
        $detail = is_array($result) ? ($result['exc_message'] ?? '') : (string) $result;
        if (is_array($detail)) {
            $detail = implode('; ', array_map(fn ($part) => is_scalar($part) ? (string) $part : json_encode($part), $detail));
        }

        throw new PreviewError(PreviewError::FAILED, trim($type . ': ' . $detail));
    }
}
