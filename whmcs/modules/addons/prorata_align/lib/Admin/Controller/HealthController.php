<?php

namespace ProrataAlign\Admin\Controller;

use ProrataAlign\CeleryMessage;
use ProrataAlign\Page\Csrf;
use ProrataAlign\Page\Format;
use ProrataAlign\Page\Templates;
use ProrataAlign\Page\Text;
use ProrataAlign\PreviewClient;
use ProrataAlign\Redis\RedisClient;
use ProrataAlign\Redis\RedisClientFactory;
use ProrataAlign\Redis\RedisConfig;
use ProrataAlign\Redis\RedisError;
use ProrataAlign\Settings;
use ProrataAlign\SettingsError;
use ProrataAlign\TaskResults;
use ProrataAlign\Uuid;
use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The admin page's health panel, the same checks as the worker's `prorata status`: the
 * worker (its answer to the last test, or a preview or test it did not answer), the last run
 * of each beat job (mod_prorata_job_runs), the failed jobs still open, the outbox and the
 * dead-letter list. Read straight from the database and Redis: showing it sends nothing.
 *
 * "Test connection" (POST action=test_connection with the admin CSRF token) sends the
 * worker a prorata.ping task and waits at most PING_WAIT seconds for its answer.
 */
final class HealthController
{
    public const PING_TASK = 'prorata.ping';

    /** Seconds the test waits for the worker's answer. */
    public const PING_WAIT = 2.0;

    /** Seconds between two runs of each beat job: worker/celery_app.py's beat schedule. */
    public const JOB_PERIODS = [
        'reconcile_invoices' => 3600,
        'record_dead_letters' => 60,
        'relay_outbox' => 30,
        'reoffer_failed' => 600,
        'reoffer_unsuspensions' => 300,
        'watch_bulk_runs' => 60,
        'find_off_day' => 86400,
    ];

    /**
     * A bulk run none of whose queued clients was handled for this long has lost its chunks
     * (or no worker takes them): the worker's PRORATA_BULK_STALL_SECONDS default.
     */
    public const BULK_STALL = 600;

    /** An outbox event waits one relay (30 s) while Redis is up: older than this, it is stuck. */
    public const OUTBOX_LATE = 300;

    /** Seconds the last test's answer is shown. */
    private const ANSWER_TTL = 86400;

    private Text $t;
    private Settings $settings;
    private string $link;
    private RedisClientFactory $redis;
    private int $now;

    public function __construct(Text $t, Settings $settings, string $link, ?RedisClientFactory $redis = null)
    {
        $this->t = $t;
        $this->settings = $settings;
        $this->link = $link;
        $this->redis = $redis ?? new RedisClientFactory();
        $this->now = time();
    }

    public function html(): string
    {
        $notice = $this->testConnection();
        $rows = [];
        $client = null;
        $redisError = '';
        try {
            $client = $this->connect();
        } catch (RedisError|SettingsError|\InvalidArgumentException $e) {
            $redisError = $e->getMessage();
        }
        try {
            $rows[] = $this->workerRow($client, $redisError);
            array_push($rows, ...$this->beatRows());
            $rows[] = $this->failedJobsRow();
            $rows[] = $this->outboxRow();
            $rows[] = $this->bulkRunsRow();
            $rows[] = $this->deadLettersRow($client, $redisError);
            $rows[] = $this->rejectedRow($client, $redisError);
        } finally {
            $client?->close();
        }
        $attention = in_array('attention', array_column($rows, 0), true);
        $view = [];
        foreach ($rows as [$state, $check, $name, $figure]) {
            $label = ['ok' => 'success', 'attention' => 'danger', 'unknown' => 'default'][$state];
            $view[] = ['state' => $state, 'check' => $check, 'name' => $name, 'figure' => $figure, 'label' => $label];
        }

        return Templates::render('admin/health', [
            'lang' => $this->t->all(),
            'attention' => $attention,
            'notice' => $notice,
            'rows' => $view,
            'link' => $this->link,
            'token' => Csrf::token(),
        ]);
    }

    // -- the test -------------------------------------------------------------------------

    /**
     * Handles "Test connection": the alert saying how it went, or null for other requests.
     *
     * @return array{type: string, text: string}|null
     */
    private function testConnection(): ?array
    {
        $post = ($_SERVER['REQUEST_METHOD'] ?? 'GET') === 'POST';
        if (!$post || ($_POST['action'] ?? '') !== 'test_connection') {
            return null;
        }
        if (!Csrf::validPost(Csrf::ADMIN)) {
            return $this->alert('danger', $this->t->get('error_token'));
        }
        try {
            $queue = $this->settings->queue();
            $client = $this->connect();
        } catch (RedisError|SettingsError|\InvalidArgumentException $e) {
            return $this->alert('danger', $this->t->get('health_test_unreachable', $e->getMessage()));
        }
        try {
            return $this->ping($client, $queue);
        } catch (RedisError $e) {
            return $this->alert('danger', $this->t->get('health_test_unreachable', $e->getMessage()));
        } finally {
            $client->close();
        }
    }

    /**
     * @return array{type: string, text: string}
     * @throws RedisError
     */
    private function ping(RedisClient $client, string $queue): array
    {
        $taskId = Uuid::v4();
        // a worker that comes back later need not answer a test nobody waits for any more
        $expires = (new \DateTimeImmutable('now', new \DateTimeZone('UTC')))
            ->modify('+' . ((int) ceil(self::PING_WAIT) + 10) . ' seconds');
        $message = CeleryMessage::build(self::PING_TASK, [], $taskId, $queue, ['expires' => $expires]);
        $started = microtime(true);
        $client->lpush(CeleryMessage::redisListKey($queue), CeleryMessage::encode($message));
        $meta = TaskResults::poll($client, $taskId, $started + self::PING_WAIT);
        if ($meta === null) {
            $client->setex($this->downKey($queue), PreviewClient::WORKER_DOWN_TTL, (string) $this->now);

            return $this->alert('danger', $this->t->get('health_test_timeout', self::PING_WAIT, $queue));
        }
        $elapsed = (int) round((microtime(true) - $started) * 1000);
        $client->del(CeleryMessage::resultKey($taskId));
        $result = $meta['result'] ?? null;
        if (($meta['status'] ?? '') !== 'SUCCESS' || !is_array($result)) {
            return $this->alert('danger', $this->t->get('health_test_failed', TaskResults::failure($meta)));
        }
        $answer = ['hostname' => (string) ($result['hostname'] ?? ''), 'version' => (string) ($result['version'] ?? ''), 'at' => $this->now];
        $client->setex($this->answerKey($queue), self::ANSWER_TTL, (string) json_encode($answer));
        $client->del($this->downKey($queue)); // it answers again
        if ($answer['version'] !== '') {
            // the footer's version warning follows the worker that answered, not the last preview
            $client->setex('prorata:worker-version:' . $queue, PreviewClient::WORKER_VERSION_TTL, $answer['version']);
        }

        return $this->alert('success', $this->t->get('health_test_ok', $elapsed, $answer['hostname'], $answer['version']));
    }

    // -- the rows: [state, check, name, figure] -------------------------------------------

    private function workerRow(?RedisClient $client, string $redisError): array
    {
        $name = $this->t->get('health_worker');
        if ($client === null) {
            return ['attention', 'worker', $name, $this->t->get('health_redis_down', $redisError)];
        }
        try {
            $queue = $this->settings->queue();
            $down = $client->get($this->downKey($queue));
            $answer = json_decode((string) $client->get($this->answerKey($queue)), true);
        } catch (RedisError|SettingsError $e) {
            return ['attention', 'worker', $name, $this->t->get('health_redis_down', $e->getMessage())];
        }
        if ($down !== null) {
            return ['attention', 'worker', $name, $this->t->get('health_worker_down', $this->ago((int) $down))];
        }
        if (is_array($answer)) {
            $figure = $this->t->get(
                'health_worker_answered',
                $this->ago((int) ($answer['at'] ?? 0)),
                (string) ($answer['hostname'] ?? ''),
                (string) ($answer['version'] ?? '')
            );

            return ['ok', 'worker', $name, $figure];
        }

        return ['unknown', 'worker', $name, $this->t->get('health_worker_untested')];
    }

    /** @return array[] one row per beat job */
    private function beatRows(): array
    {
        try {
            $runs = [];
            foreach (Capsule::table('mod_prorata_job_runs')->get()->all() as $row) {
                $runs[(string) $row->job] = $row;
            }
        } catch (\Throwable $e) {
            return [['attention', 'beat', $this->t->get('health_beat_jobs'), $this->t->get('health_no_tables')]];
        }
        $rows = [];
        // beat's own row: when the running beat started (worker/steps/health.py, "beat")
        $beat = $runs['beat'] ?? null;
        $started = $beat === null || $beat->last_started_at === null ? false : strtotime((string) $beat->last_started_at);
        foreach (self::JOB_PERIODS as $job => $period) {
            $name = $this->t->get('health_beat', $job);
            $run = $runs[$job] ?? null;
            $last = $run === null ? null : ($run->last_finished_at ?? $run->last_started_at);
            $when = $last === null ? false : strtotime((string) $last);
            // a job that has not run since beat started waits for its first run, as
            // `prorata status` says, until twice its schedule after that start
            if ($started !== false && ($when === false || $when < $started) && $this->now - $started <= 2 * $period) {
                $rows[] = ['ok', 'beat-' . $job, $name, $this->t->get('health_beat_waiting', $this->ago($started), $period)];
                continue;
            }
            if ($when === false) {
                $rows[] = ['attention', 'beat-' . $job, $name, $this->t->get('health_beat_never')];
                continue;
            }
            $outcome = (string) ($run->last_outcome ?? '');
            if ($outcome === 'failed') {
                $figure = $this->t->get('health_beat_failed', $this->ago($when), (string) ($run->last_error ?? ''));
                $rows[] = ['attention', 'beat-' . $job, $name, $figure];
                continue;
            }
            $done = $this->t->get($outcome === 'idle' ? 'health_outcome_idle' : 'health_outcome_ok');
            if ($this->now - $when > 2 * $period) {
                $rows[] = ['attention', 'beat-' . $job, $name, $this->t->get('health_beat_stale', $this->ago($when), $done, $period)];
            } else {
                $rows[] = ['ok', 'beat-' . $job, $name, $this->t->get('health_beat_last', $this->ago($when), $done)];
            }
        }

        return $rows;
    }

    private function failedJobsRow(): array
    {
        $name = $this->t->get('health_failed_jobs');
        try {
            $open = (int) Capsule::table('mod_prorata_failed_jobs')->whereNull('resolved_at')->count();
        } catch (\Throwable $e) {
            return ['attention', 'failed-jobs', $name, $this->t->get('health_no_tables')];
        }

        return [$open > 0 ? 'attention' : 'ok', 'failed-jobs', $name, $this->t->get('health_failed_jobs_count', $open)];
    }

    private function outboxRow(): array
    {
        $name = $this->t->get('health_outbox');
        try {
            $waiting = Capsule::table('mod_prorata_outbox')->whereNull('relayed_at');
            $count = (int) (clone $waiting)->count();
            $oldest = $count > 0 ? strtotime((string) (clone $waiting)->min('created_at')) : false;
        } catch (\Throwable $e) {
            return ['attention', 'outbox', $name, $this->t->get('health_no_tables')];
        }
        if ($count === 0) {
            return ['ok', 'outbox', $name, $this->t->get('health_outbox_empty')];
        }
        $late = $oldest !== false && $this->now - $oldest > self::OUTBOX_LATE;
        $figure = $this->t->get($count === 1 ? 'health_outbox_count_one' : 'health_outbox_count', $count, $oldest === false ? '?' : $this->ago($oldest));

        return [$late ? 'attention' : 'ok', 'outbox', $name, $figure];
    }

    /** Stopped bulk runs, and runs queued or running whose queued clients do not move. */
    private function bulkRunsRow(): array
    {
        $name = $this->t->get('health_bulk_runs');
        try {
            $runs = Capsule::table('mod_prorata_bulk_runs')
                ->whereIn('state', ['queued', 'running', 'stopped'])->orderBy('id')->get()->all();
            $problems = [];
            foreach ($runs as $run) {
                if ((string) $run->state === 'stopped') {
                    $problems[] = $this->t->get('health_bulk_run_stopped', (int) $run->id, (string) $run->event_id, (string) ($run->reason ?? ''));
                    continue;
                }
                $clients = Capsule::table('mod_prorata_bulk_clients')->where('run_id', (int) $run->id);
                $queued = (int) (clone $clients)->where('state', 'queued')->count();
                $handled = (clone $clients)->where('state', '<>', 'queued')->max('updated_at');
                $moved = max((int) strtotime((string) $run->updated_at), $handled === null ? 0 : (int) strtotime((string) $handled));
                if ($queued > 0 && $this->now - $moved > self::BULK_STALL) {
                    $problems[] = $this->t->get('health_bulk_run_stalled', (int) $run->id, (string) $run->event_id, $queued, $this->ago($moved));
                }
            }
        } catch (\Throwable $e) {
            return ['attention', 'bulk-runs', $name, $this->t->get('health_no_tables')];
        }
        if ($problems !== []) {
            return ['attention', 'bulk-runs', $name, implode(' ', $problems)];
        }
        $running = count(array_filter($runs, static fn ($run) => (string) $run->state !== 'stopped'));

        return ['ok', 'bulk-runs', $name, $this->t->get('health_bulk_runs_ok', $running)];
    }

    private function deadLettersRow(?RedisClient $client, string $redisError): array
    {
        return $this->redisListRow($client, $redisError, '.dead', 'dead-letters', 'health_dead_letters');
    }

    /** Messages the worker could not read or run, kept with their reason (`<queue>.rejected`). */
    private function rejectedRow(?RedisClient $client, string $redisError): array
    {
        return $this->redisListRow($client, $redisError, '.rejected', 'rejected-messages', 'health_rejected');
    }

    /** A Redis list beside the queue that must stay empty: attention while it holds anything. */
    private function redisListRow(?RedisClient $client, string $redisError, string $suffix, string $check, string $nameKey): array
    {
        $name = $this->t->get($nameKey);
        try {
            if ($client === null) {
                throw new RedisError($redisError);
            }
            $list = $this->settings->queue() . $suffix;
            $count = $client->llen($list);
        } catch (RedisError|SettingsError $e) {
            return ['attention', $check, $name, $this->t->get('health_redis_down', $e->getMessage())];
        }

        return [$count > 0 ? 'attention' : 'ok', $check, $name, $this->t->get('health_dead_letters_count', $count, $list)];
    }

    // -- small pieces ---------------------------------------------------------------------

    /** @throws RedisError|SettingsError|\InvalidArgumentException */
    private function connect(): RedisClient
    {
        $config = $this->settings->redisConfig();
        // the page must not wait long for a Redis that is away
        $config = new RedisConfig($config->host, $config->port, $config->password, $config->database, 0.5, 1.0);

        return $this->redis->connect($config);
    }

    /** The flag PreviewClient sets when the worker did not answer a preview. */
    private function downKey(string $queue): string
    {
        return 'prorata:worker-down:' . $queue;
    }

    private function answerKey(string $queue): string
    {
        return 'prorata:worker-answer:' . $queue;
    }

    private function ago(int $when): string
    {
        $seconds = max(0, $this->now - $when);
        if ($seconds < 120) {
            return $this->t->get('health_age_s', $seconds);
        }
        if ($seconds < 7200) {
            return $this->t->get('health_age_min', intdiv($seconds, 60));
        }

        return $this->t->get('health_age_h', intdiv($seconds, 3600));
    }

    /** @return array{type: string, text: string} the test's alert (#prorata-test-result) */
    private function alert(string $type, string $text): array
    {
        return ['type' => $type, 'text' => $text];
    }
}
