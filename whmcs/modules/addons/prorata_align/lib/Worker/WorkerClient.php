<?php

namespace ProrataAlign\Worker;

use ProrataAlign\EventSender;
use ProrataAlign\PreviewClient;
use ProrataAlign\Redis\RedisClientFactory;
use ProrataAlign\Redis\RedisError;
use ProrataAlign\SentEvent;
use ProrataAlign\Settings;
use ProrataAlign\SettingsError;
use ProrataAlign\TaskResults;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * What the pages ask of the worker: a preview (PreviewClient), an alignment (EventSender,
 * with its outbox fallback), and a short wait for that alignment's result.
 */
final class WorkerClient
{
    /** A bulk dry run plans every selected client: it waits this many "Preview wait (seconds)". */
    public const DRY_RUN_WAITS = 6;

    private Settings $settings;
    private RedisClientFactory $redis;

    public function __construct(Settings $settings, ?RedisClientFactory $redis = null)
    {
        $this->settings = $settings;
        $this->redis = $redis ?? new RedisClientFactory();
    }

    public function settings(): Settings
    {
        return $this->settings;
    }

    /**
     * The worker's plan for a client.
     *
     * @throws \ProrataAlign\PreviewError
     */
    public function preview(int $clientId, array $options): array
    {
        return (new PreviewClient($this->settings, $this->redis))->preview($clientId, $options);
    }

    /** The worker's version as the last preview reported it; null when not known. */
    public function lastWorkerVersion(): ?string
    {
        return (new PreviewClient($this->settings, $this->redis))->lastWorkerVersion();
    }

    /** Sends "align this client"; throws EventNotKept when it could be neither sent nor kept. */
    public function align(int $clientId, array $options, string $requestedBy): SentEvent
    {
        $kwargs = ['client_id' => $clientId];
        foreach (['day', 'cycles', 'services'] as $key) {
            if (isset($options[$key])) {
                $kwargs[$key] = $options[$key];
            }
        }
        $kwargs['requested_by'] = $requestedBy;
        // WHMCS's local time, as it writes its own: a failed alignment offered again later is
        // dropped when the client asked for another one after it, not merely after it failed
        $kwargs['requested_at'] = date('Y-m-d H:i:s');

        return (new EventSender($this->settings, $this->redis))->send('prorata.align_client', $kwargs, $clientId);
    }

    public function invoiceCancelled(int $invoiceId, int $clientId): SentEvent
    {
        return (new EventSender($this->settings, $this->redis))
            ->send('prorata.invoice_cancelled', ['invoice_id' => $invoiceId], $clientId);
    }

    /**
     * What a bulk run would do (prorata.bulk_dry_run), changing nothing: counts of clients,
     * services and invoices, and the amount per currency.
     *
     * @param array $filters client_group, product_group, payment_method, several_due_days
     *
     * @throws \ProrataAlign\PreviewError
     */
    public function bulkDryRun(int $day, array $filters, array $cycles): array
    {
        $kwargs = ['day' => $day, 'filters' => $filters, 'cycles' => $cycles];

        return (new PreviewClient($this->settings, $this->redis))
            ->call('prorata.bulk_dry_run', $kwargs, self::DRY_RUN_WAITS);
    }

    /** Seconds a bulk dry run may take: it plans every selected client. */
    public function dryRunWait(): float
    {
        return self::DRY_RUN_WAITS * (float) $this->settings->previewTimeout();
    }

    /**
     * Starts a bulk run (prorata.bulk_start). The page makes the event id, so sending the same
     * form twice starts one run; the worker answers {run_id, event_id, clients}.
     */
    public function bulkStart(string $eventId, int $day, array $filters, array $cycles, string $requestedBy): SentEvent
    {
        $kwargs = [
            'event_id' => $eventId,
            'day' => $day,
            'filters' => $filters,
            'cycles' => $cycles,
            'requested_by' => $requestedBy,
        ];

        return (new EventSender($this->settings, $this->redis))->send('prorata.bulk_start', $kwargs);
    }

    /**
     * Cancels the run started with $runEventId. The task gets an id of its own, named after
     * the run as its chunks are ("<run event id>:cancel:<8 hex>", at most 64 characters).
     */
    public function bulkCancel(string $runEventId): SentEvent
    {
        $taskId = $runEventId . ':cancel:' . bin2hex(random_bytes(4));

        return (new EventSender($this->settings, $this->redis))
            ->send('prorata.bulk_cancel', ['event_id' => $runEventId], 0, $taskId);
    }

    /**
     * Waits up to the "Preview wait (seconds)" setting for a sent task's result (Celery's
     * celery-task-meta-<id> key, the same polling as a preview): ['status' => ..., 'result'
     * => ...], or null when it is not done by then (it is queued and will still run).
     */
    public function awaitResult(string $taskId): ?array
    {
        try {
            $limit = max(0.1, (float) $this->settings->previewTimeout());
            $client = $this->redis->connect($this->settings->redisConfig());
        } catch (RedisError|SettingsError $e) {
            return null;
        }
        try {
            return TaskResults::poll($client, $taskId, microtime(true) + $limit);
        } catch (RedisError $e) {
            return null;
        } finally {
            $client->close();
        }
    }

    /** A failed task's exception as one line ("AlignmentRejected: ..."). */
    public static function failure(array $meta): string
    {
        return TaskResults::failure($meta);
    }
}
