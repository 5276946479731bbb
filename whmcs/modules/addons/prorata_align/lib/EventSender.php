<?php

namespace ProrataAlign;

use ProrataAlign\Redis\RedisClientFactory;
use ProrataAlign\Redis\RedisError;
use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * Sends events to the worker: a Celery task message pushed onto the queue in Redis, or, when
 * Redis cannot be used (not reachable, too slow, wrong password, bad connection settings),
 * a row in mod_prorata_outbox that the worker's beat task relays later. An event is never
 * dropped: when neither works, send() throws EventNotKept.
 *
 * Events carry an event_id (a fresh UUID v4 unless the caller gives one); it is also the
 * Celery task id, as when the worker relays the outbox, so a repeat is recognised.
 */
final class EventSender
{
    /** Tasks whose keyword arguments carry an event id. */
    public const EVENT_TASKS = [
        'prorata.align_client',
        'prorata.align_all_clients',
        'prorata.invoice_paid',
        'prorata.invoice_cancelled',
        'prorata.service_cancellation_requested',
        'prorata.keep_on_day',
    ];

    public const OUTBOX_TABLE = 'mod_prorata_outbox';

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
     * @param array $kwargs the task's keyword arguments (event_id is added when missing)
     * @param int   $clientId for the activity log line, when the event concerns a client
     * @param string|null $taskId the task id (and outbox event id) when it is not the event id:
     *                    a task about another event's run (a bulk cancel names the run's event)
     *
     * @throws EventNotKept when the event could be neither sent nor kept in the outbox
     */
    public function send(string $task, array $kwargs, int $clientId = 0, ?string $taskId = null): SentEvent
    {
        if (in_array($task, self::EVENT_TASKS, true)
            && (!isset($kwargs['event_id']) || $kwargs['event_id'] === '')
        ) {
            $kwargs = ['event_id' => Uuid::v4()] + $kwargs;
        }
        $taskId ??= isset($kwargs['event_id']) ? (string) $kwargs['event_id'] : Uuid::v4();
        $transport = 'none';

        try {
            $this->redis ??= new RedisClientFactory();
            $transport = $this->redis->transport();
            $this->push($this->redis, $task, $kwargs, $taskId);

            return new SentEvent(SentEvent::SENT, $task, $taskId, $kwargs, $transport);
        } catch (\Throwable $e) {
            // Redis away, too slow, refusing the password, or its settings unusable: whatever
            // kept the event from Redis, the outbox keeps it
            $reason = ($e instanceof RedisError || $e instanceof SettingsError)
                ? $e->getMessage()
                : get_class($e) . ': ' . $e->getMessage();
        }

        $this->keep($task, $kwargs, $taskId, $reason, $clientId);
        ActivityLog::write($clientId, 'log_event_outbox', $task, $taskId, $reason);

        return new SentEvent(SentEvent::OUTBOX, $task, $taskId, $kwargs, $transport, $reason);
    }

    /** @throws RedisError|SettingsError */
    private function push(RedisClientFactory $redis, string $task, array $kwargs, string $taskId): void
    {
        $queue = $this->settings->queue();
        $config = $this->settings->redisConfig();
        $message = CeleryMessage::encode(CeleryMessage::build($task, $kwargs, $taskId, $queue));
        $client = $redis->connect($config);
        try {
            $client->lpush(CeleryMessage::redisListKey($queue), $message);
        } finally {
            $client->close();
        }
    }

    /** @throws EventNotKept */
    /** The same row the worker's own producer writes (worker/events.py, write_outbox). */
    private function keep(string $task, array $kwargs, string $eventId, string $reason, int $clientId): void
    {
        $payload = json_encode(
            $kwargs === [] ? new \stdClass() : $kwargs,
            JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES
        );
        try {
            Capsule::table(self::OUTBOX_TABLE)->insert([
                'event_id' => $eventId,
                'task' => $task,
                'payload' => $payload,
                'created_at' => date('Y-m-d H:i:s'),
                'relayed_at' => null,
                'attempts' => 0,
                'last_error' => null,
            ]);

            return;
        } catch (\Throwable $e) {
            if ($this->alreadyKept($eventId)) {
                return; // the same event was kept before (a repeated call): once is enough
            }
            ActivityLog::write($clientId, 'log_event_lost', $task, $eventId, $reason, $e->getMessage(), $payload);
            throw new EventNotKept(
                "event {$eventId} ({$task}) was neither sent ({$reason}) nor kept in the outbox ("
                . $e->getMessage() . ')',
                0,
                $e
            );
        }
    }

    private function alreadyKept(string $eventId): bool
    {
        try {
            return Capsule::table(self::OUTBOX_TABLE)->where('event_id', $eventId)->exists();
        } catch (\Throwable $ignored) {
            return false;
        }
    }
}
