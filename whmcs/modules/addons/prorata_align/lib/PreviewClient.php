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
        $meta = TaskResults::poll($client, $taskId, $deadline);
        if ($meta === null) {
            throw new PreviewError(
                PreviewError::TIMEOUT,
                sprintf('the worker did not answer preview task %s within %.1f seconds', $taskId, $limit)
            );
        }
        $client->del(CeleryMessage::resultKey($taskId)); // nobody else reads it

        return $this->outcome((string) $meta['status'], $meta);
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
        throw new PreviewError(PreviewError::FAILED, TaskResults::failure($meta));
    }
}
