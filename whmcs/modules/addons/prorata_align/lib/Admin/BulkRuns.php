<?php

namespace ProrataAlign\Admin;

use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * What the bulk page reads from the database: the runs and their clients (the worker's
 * mod_prorata_bulk_runs and mod_prorata_bulk_clients, never Redis), and the choices its
 * filters offer (client groups, product groups, the active payment gateways).
 */
final class BulkRuns
{
    public const RUNS = 'mod_prorata_bulk_runs';
    public const CLIENTS = 'mod_prorata_bulk_clients';

    /** A client's row states, in the order the progress bar shows them. */
    public const CLIENT_STATES = ['aligned', 'unchanged', 'skipped', 'failed', 'cancelled', 'queued'];

    /** Run states after which nothing changes any more. */
    public const FINAL_STATES = ['done', 'cancelled'];

    /** Run states a cancel still acts on (a stopped run waits for a resume or a cancel). */
    public const CANCELLABLE_STATES = ['queued', 'running', 'stopped'];

    public const RECENT = 15;
    public const FAILURES_SHOWN = 200;
    /** Skipped clients shown per page of the run's list. */
    public const SKIPPED_PER_PAGE = 25;

    public static function run(int $id): ?object
    {
        return Capsule::table(self::RUNS)->where('id', $id)->first();
    }

    public static function runByEvent(string $eventId): ?object
    {
        return Capsule::table(self::RUNS)->where('event_id', $eventId)->first();
    }

    /**
     * The run's clients counted by state, with the share of the bar each takes.
     *
     * @return array{total: int, handled: int, percent: int, final: bool, counts: array<string, int>, widths: array<string, float>}
     */
    public static function progress(object $run): array
    {
        $counts = array_fill_keys(self::CLIENT_STATES, 0);
        $rows = Capsule::table(self::CLIENTS)
            ->where('run_id', (int) $run->id)
            ->groupBy('state')
            ->selectRaw('state, COUNT(*) AS n')
            ->get();
        foreach ($rows as $row) {
            $state = (string) $row->state;
            if (isset($counts[$state])) {
                $counts[$state] = (int) $row->n;
            }
        }

        return self::shares($run, $counts);
    }

    /**
     * The recent runs, newest first, each with its progress.
     *
     * @return array<int, array{run: object, progress: array}>
     */
    public static function recent(int $limit = self::RECENT): array
    {
        $runs = Capsule::table(self::RUNS)->orderBy('id', 'desc')->limit($limit)->get()->all();
        if ($runs === []) {
            return [];
        }
        $counts = [];
        $rows = Capsule::table(self::CLIENTS)
            ->whereIn('run_id', array_map(fn ($run) => (int) $run->id, $runs))
            ->groupBy('run_id', 'state')
            ->selectRaw('run_id, state, COUNT(*) AS n')
            ->get();
        foreach ($rows as $row) {
            $counts[(int) $row->run_id][(string) $row->state] = (int) $row->n;
        }
        $list = [];
        foreach ($runs as $run) {
            $mine = array_fill_keys(self::CLIENT_STATES, 0);
            foreach ($counts[(int) $run->id] ?? [] as $state => $n) {
                if (isset($mine[$state])) {
                    $mine[$state] = $n;
                }
            }
            $list[] = ['run' => $run, 'progress' => self::shares($run, $mine)];
        }

        return $list;
    }

    /**
     * The run's failed clients with the reason, the client's name when it still exists.
     *
     * @return object[] client_id, reason, firstname, lastname, companyname
     */
    public static function failures(int $runId, int $limit = self::FAILURES_SHOWN): array
    {
        return Capsule::table(self::CLIENTS . ' AS b')
            ->leftJoin('tblclients AS c', 'c.id', '=', 'b.client_id')
            ->where('b.run_id', $runId)
            ->where('b.state', 'failed')
            ->orderBy('b.client_id')
            ->limit($limit)
            ->get(['b.client_id', 'b.reason', 'c.firstname', 'c.lastname', 'c.companyname'])
            ->all();
    }

    /**
     * One page of the run's skipped clients with why, the client's name when it still exists.
     *
     * @return array{rows: object[], total: int, page: int, pages: int}
     */
    public static function skipped(int $runId, int $page, int $perPage = self::SKIPPED_PER_PAGE): array
    {
        $query = fn () => Capsule::table(self::CLIENTS . ' AS b')
            ->where('b.run_id', $runId)
            ->where('b.state', 'skipped');
        $total = (int) $query()->count();
        $pages = max(1, (int) ceil($total / $perPage));
        $page = max(1, min($page, $pages));
        $rows = $query()
            ->leftJoin('tblclients AS c', 'c.id', '=', 'b.client_id')
            ->orderBy('b.client_id')
            ->offset(($page - 1) * $perPage)
            ->limit($perPage)
            ->get(['b.client_id', 'b.reason', 'c.firstname', 'c.lastname', 'c.companyname'])
            ->all();

        return ['rows' => $rows, 'total' => $total, 'page' => $page, 'pages' => $pages];
    }

    /**
     * Marks a queued or running run "cancelling" at once: its chunks still waiting on the
     * queue then cancel their clients instead of aligning them (each chunk reads the run's
     * state when it starts), rather than waiting for prorata.bulk_cancel, which is queued
     * behind them. The worker's bulk_cancel does the rest and finishes the run.
     *
     * @return bool whether the run was still cancellable
     */
    public static function markCancelling(int $runId): bool
    {
        return Capsule::table(self::RUNS)
            ->where('id', $runId)
            ->whereIn('state', self::CANCELLABLE_STATES)
            ->update(['state' => 'cancelling', 'updated_at' => date('Y-m-d H:i:s')]) > 0;
    }

    /** @return array<int, string> client group id => name */
    public static function clientGroups(): array
    {
        $groups = [];
        foreach (Capsule::table('tblclientgroups')->orderBy('groupname')->get(['id', 'groupname']) as $row) {
            $groups[(int) $row->id] = (string) $row->groupname;
        }

        return $groups;
    }

    /** @return array<int, string> product group id => name */
    public static function productGroups(): array
    {
        $groups = [];
        try {
            foreach (Capsule::table('tblproductgroups')->orderBy('order')->orderBy('name')->get(['id', 'name']) as $row) {
                $groups[(int) $row->id] = (string) $row->name;
            }
        } catch (\Throwable $e) {
            // no product group table (an install that never had one): the groups products name
            foreach (Capsule::table('tblproducts')->where('gid', '>', 0)->distinct()->orderBy('gid')->pluck('gid') as $gid) {
                $groups[(int) $gid] = '#' . (int) $gid;
            }
        }

        return $groups;
    }

    /**
     * The active payment gateways (WHMCS keeps rows in tblpaymentgateways only for those), by
     * their display name, in WHMCS's order.
     *
     * @return array<string, string> system name => display name
     */
    public static function gateways(): array
    {
        $order = [];
        $names = [];
        foreach (Capsule::table('tblpaymentgateways')->whereIn('setting', ['name', 'order'])->get(['gateway', 'setting', 'value', 'order']) as $row) {
            $gateway = (string) $row->gateway;
            if ($row->setting === 'name') {
                $names[$gateway] = (string) $row->value !== '' ? (string) $row->value : $gateway;
                $order[$gateway] ??= (int) ($row->order ?? 0);
            }
        }
        uksort($names, fn ($a, $b) => [$order[$a], $names[$a]] <=> [$order[$b], $names[$b]]);

        return $names;
    }

    /** @param array<string, int> $counts */
    private static function shares(object $run, array $counts): array
    {
        $rows = array_sum($counts);
        // the run's rows are written with it; before that only its total is known
        $total = max($rows, (int) ($run->total ?? 0));
        $final = in_array((string) $run->state, self::FINAL_STATES, true);
        // a cancelled client was not handled: a cancelled run's bar shows how far it got
        $handled = $rows - $counts['queued'] - $counts['cancelled'];
        $widths = [];
        foreach ($counts as $state => $n) {
            $widths[$state] = $total > 0 ? round($n * 100 / $total, 2) : 0.0;
        }
        $percent = $total > 0 ? intdiv($handled * 100, $total) : ((string) $run->state === 'done' ? 100 : 0);

        return [
            'total' => $total,
            'handled' => $handled,
            'percent' => $percent,
            'final' => $final,
            'counts' => $counts,
            'widths' => $widths,
        ];
    }
}
