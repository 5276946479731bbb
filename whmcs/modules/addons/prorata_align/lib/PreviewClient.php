<?php

namespace ProrataAlign;

use ProrataAlign\Redis\RedisClient;
use ProrataAlign\Redis\RedisClientFactory;
use ProrataAlign\Redis\RedisConfig;
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
 * compute previews nobody waits for any more. A preview that gets no answer within the whole
 * "Preview wait (seconds)" marks the worker as down for a short while (a Redis key with a
 * TTL), so pages that must stay fast skip it; a shorter wait (the home page panel's) says
 * only that the worker is busy, and marks nothing.
 */
final class PreviewClient
{
    public const TASK = 'prorata.preview_client';

    /** Seconds a preview task stays worth running after the caller stopped waiting. */
    private const EXPIRES_AFTER_WAIT = 10;

    /** Seconds a client's plan is kept for the home page panel. */
    public const PLAN_CACHE_TTL = 60;

    /** Seconds the worker counts as down after a preview it did not answer in time. */
    public const WORKER_DOWN_TTL = 30;

    /** Seconds the worker version of the last preview is kept (a worker upgraded since then
     *  reports its new version with the next preview). */
    public const WORKER_VERSION_TTL = 30 * 86400;

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
        try {
            $limit = max(0.1, $wait ?? (float) $this->settings->previewTimeout());
        } catch (SettingsError $e) {
            throw new PreviewError(PreviewError::UNREACHABLE, $e->getMessage(), $e);
        }
        $client = $this->connect(null);
        try {
            return $this->ask($client, $clientId, $options, $limit);
        } finally {
            $client->close();
        }
    }

    /**
     * Another task whose answer a page waits for (a bulk dry run): sent and waited on as a
     * preview is, and the same "worker did not answer" flag set when it does not come.
     *
     * @param float $times how long to wait, in "Preview wait (seconds)": a task that does more
     *                     than one client's preview may take longer
     *
     * @throws PreviewError
     */
    public function call(string $task, array $kwargs, float $times = 1.0): array
    {
        try {
            $limit = max(0.1, $times * (float) $this->settings->previewTimeout());
        } catch (SettingsError $e) {
            throw new PreviewError(PreviewError::UNREACHABLE, $e->getMessage(), $e);
        }
        $client = $this->connect(null);
        try {
            return $this->outcome($this->await($client, $task, $kwargs, $limit), 'answer');
        } finally {
            $client->close();
        }
    }

    /**
     * The plan for a page that must not wait (the client area's home page): the one kept for
     * this client a short while (PLAN_CACHE_TTL), else the worker's answer within $budget
     * seconds, then kept. While the worker is known to be down (a preview timed out less than
     * WORKER_DOWN_TTL seconds ago) the worker is not asked at all. A busy worker that misses
     * the budget is not called down: its answer, when it comes, is picked up by the next
     * page (the task's id is kept for PLAN_CACHE_TTL), and no second task is sent meanwhile.
     *
     * @throws PreviewError
     */
    public function cachedPreview(int $clientId, float $budget): array
    {
        $client = $this->connect($budget);
        try {
            $key = $this->planKey($clientId);
            $kept = json_decode((string) $client->get($key), true);
            if (is_array($kept)) {
                return $kept;
            }
            if ($client->get($this->downKey()) !== null) {
                throw new PreviewError(PreviewError::TIMEOUT, 'the worker did not answer a preview a moment ago');
            }
            $asked = $client->get($this->askedKey($clientId));
            if (is_string($asked) && $asked !== '') {
                $meta = json_decode((string) $client->get(CeleryMessage::resultKey($asked)), true);
                if (!is_array($meta) || !in_array($meta['status'] ?? '', ['SUCCESS', 'FAILURE', 'REVOKED'], true)) {
                    throw new PreviewError(PreviewError::TIMEOUT, 'the worker has not answered the last preview yet');
                }
                $client->del($this->askedKey($clientId));
                $client->del(CeleryMessage::resultKey($asked));
                $plan = $this->outcome($meta, 'plan');
                $this->rememberWorkerVersion($client, $plan);
            } else {
                $limit = max(0.1, $budget);
                $full = $limit >= (float) $this->settings->previewTimeout();
                try {
                    $plan = $this->ask($client, $clientId, [], $limit, $full);
                } catch (PreviewError $e) {
                    if ($e->reason === PreviewError::TIMEOUT && !$full && $this->lastTaskId !== null) {
                        $client->setex($this->askedKey($clientId), self::PLAN_CACHE_TTL, $this->lastTaskId);
                    }
                    throw $e;
                }
            }
            $client->setex($key, self::PLAN_CACHE_TTL, (string) json_encode($plan));

            return $plan;
        } catch (RedisError|SettingsError $e) {
            throw new PreviewError(PreviewError::UNREACHABLE, $e->getMessage(), $e);
        } finally {
            $client->close();
        }
    }

    /**
     * Whether a preview timed out less than WORKER_DOWN_TTL seconds ago: pages then say the
     * service is unavailable instead of waiting for it again. Redis away: not known.
     */
    public function workerKnownDown(): bool
    {
        try {
            $client = $this->connect(RedisConfig::CONNECT_TIMEOUT);
        } catch (PreviewError $e) {
            return false;
        }
        try {
            return $client->get($this->downKey()) !== null;
        } catch (RedisError|SettingsError $e) {
            return false;
        } finally {
            $client->close();
        }
    }

    /** @throws PreviewError */
    private function connect(?float $timeout): RedisClient
    {
        try {
            $config = $this->settings->redisConfig();
            $this->redis ??= new RedisClientFactory();
            if ($timeout !== null) {
                $wait = max(0.1, min($timeout, $config->connectTimeout));
                $config = new RedisConfig($config->host, $config->port, $config->password, $config->database, $wait, max($wait, 0.5));
            }

            return $this->redis->connect($config);
        } catch (SettingsError|\InvalidArgumentException|RedisError $e) {
            throw new PreviewError(PreviewError::UNREACHABLE, $e->getMessage(), $e);
        }
    }

    /** The id of the last task sent (a preview the caller may pick up later). */
    private ?string $lastTaskId = null;

    /**
     * Sends the preview task and waits up to $limit seconds for its answer; $markDown: a
     * timeout marks the worker as down (the whole preview wait went by).
     *
     * @throws PreviewError
     */
    private function ask(RedisClient $client, int $clientId, array $options, float $limit, bool $markDown = true): array
    {
        $kwargs = ['client_id' => $clientId];
        foreach (['day', 'cycles', 'services', 'mode', 'today'] as $key) {
            if (array_key_exists($key, $options) && $options[$key] !== null) {
                $kwargs[$key] = $options[$key];
            }
        }
        $plan = $this->outcome($this->await($client, self::TASK, $kwargs, $limit, $markDown), 'plan');
        $this->rememberWorkerVersion($client, $plan);

        return $plan;
    }

    /**
     * Sends a task and waits up to $limit seconds for its result (Celery's meta document).
     *
     * @throws PreviewError
     */
    private function await(RedisClient $client, string $task, array $kwargs, float $limit, bool $markDown = true): array
    {
        try {
            $queue = $this->settings->queue();
        } catch (SettingsError $e) {
            throw new PreviewError(PreviewError::UNREACHABLE, $e->getMessage(), $e);
        }
        $taskId = $this->lastTaskId = Uuid::v4();
        $expires = (new \DateTimeImmutable('now', new \DateTimeZone('UTC')))
            ->modify('+' . ((int) ceil($limit) + self::EXPIRES_AFTER_WAIT) . ' seconds');
        $message = CeleryMessage::build($task, $kwargs, $taskId, $queue, ['expires' => $expires]);
        $deadline = microtime(true) + $limit;
        $kind = $task === self::TASK ? 'preview task' : 'task ' . $task;
        try {
            $client->lpush(CeleryMessage::redisListKey($queue), CeleryMessage::encode($message));
            $meta = TaskResults::poll($client, $taskId, $deadline);
            if ($meta === null) {
                if ($markDown) {
                    $client->setex($this->downKey(), self::WORKER_DOWN_TTL, (string) time());
                }
                throw new PreviewError(
                    PreviewError::TIMEOUT,
                    sprintf('the worker did not answer %s %s within %.1f seconds', $kind, $taskId, $limit)
                );
            }
            $client->del(CeleryMessage::resultKey($taskId)); // nobody else reads it
            $client->del($this->downKey()); // it answers again
        } catch (RedisError $e) {
            throw new PreviewError(PreviewError::UNREACHABLE, $e->getMessage(), $e);
        }

        return $meta;
    }

    /**
     * The worker version the last answered preview reported (the admin page footer compares
     * it with the addon's), or null when no preview has said it yet or Redis cannot tell.
     */
    public function lastWorkerVersion(): ?string
    {
        try {
            $client = $this->connect(RedisConfig::CONNECT_TIMEOUT);
        } catch (PreviewError $e) {
            return null;
        }
        try {
            $version = $client->get($this->versionKey());
        } catch (RedisError|SettingsError $e) {
            return null;
        } finally {
            $client->close();
        }

        return is_string($version) && $version !== '' ? $version : null;
    }

    /** Keeps the plan's worker_version; a failure to keep it never fails the preview. */
    private function rememberWorkerVersion(RedisClient $client, array $plan): void
    {
        $version = $plan['worker_version'] ?? null;
        if (!is_string($version) || $version === '') {
            return;
        }
        try {
            $client->setex($this->versionKey(), self::WORKER_VERSION_TTL, $version);
        } catch (RedisError $e) {
            return;
        }
    }

    /** Redis key of the last reported worker version, per queue (one worker pool per queue). */
    private function versionKey(): string
    {
        return 'prorata:worker-version:' . $this->settings->queue();
    }

    /** Redis key of the "worker did not answer" flag, per queue (one worker pool per queue). */
    private function downKey(): string
    {
        return 'prorata:worker-down:' . $this->settings->queue();
    }

    /** Redis key of the preview task the home page panel sent and did not get in time. */
    private function askedKey(int $clientId): string
    {
        return 'prorata:plan-asked:' . $this->settings->queue() . ':' . $clientId;
    }

    private function planKey(int $clientId): string
    {
        return 'prorata:plan:' . $this->settings->queue() . ':' . $clientId;
    }

    /** The task's result; $what names it in the errors ("plan"). @throws PreviewError */
    private function outcome(array $meta, string $what): array
    {
        $status = (string) ($meta['status'] ?? '');
        $result = $meta['result'] ?? null;
        if ($status === 'SUCCESS' && is_array($result)) {
            return $result;
        }
        if ($status === 'SUCCESS') {
            throw new PreviewError(PreviewError::FAILED, 'the worker answered with no ' . $what);
        }
        if ($status === 'REVOKED') {
            throw new PreviewError(PreviewError::TIMEOUT, 'the task expired before the worker ran it');
        }
        throw new PreviewError(PreviewError::FAILED, TaskResults::failure($meta));
    }
}
