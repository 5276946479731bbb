<?php

namespace ProrataAlign\Admin\Controller;

use ProrataAlign\Admin\PageParts;
use ProrataAlign\ClientDays;
use ProrataAlign\EventNotKept;
use ProrataAlign\EventSender;
use ProrataAlign\Page\Format;
use ProrataAlign\Page\Input;
use ProrataAlign\Page\InputError;
use ProrataAlign\Page\Templates;
use ProrataAlign\Page\Text;
use ProrataAlign\Records;
use ProrataAlign\SentEvent;
use ProrataAlign\Uuid;
use ProrataAlign\Worker\WorkerClient;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The client's billing day on "Align one client" (templates/admin/client_day.tpl): the day,
 * who set it, when and from which alignment, its history, and "Set day" / "Clear".
 *
 * The day is read from the worker's tables (ClientDays); a change goes to the worker as a
 * task (prorata.set_client_day, prorata.clear_client_day; the outbox keeps it while Redis is
 * away), requested by "admin:<id>", and the page waits up to "Preview wait (seconds)" for it.
 *
 * Actions: panel() (the client the page shows), set() (POST action=set_day, day), clear()
 * (POST action=clear_day); both CSRF-checked by the dispatcher.
 */
final class DayController
{
    use PageParts;

    public const ACTIONS = ['set_day', 'clear_day'];

    private Text $t;
    private string $link;
    private WorkerClient $worker;
    private Format $format;
    private int $adminId;

    public function __construct(Text $t, string $link, WorkerClient $worker, Format $format, int $adminId)
    {
        $this->t = $t;
        $this->link = $link;
        $this->worker = $worker;
        $this->format = $format;
        $this->adminId = $adminId;
    }

    public function set(int $clientId): void
    {
        try {
            $day = Input::day($_POST['day'] ?? null);
        } catch (InputError $e) {
            $this->alert('danger', $this->t->html($e->key, ...$e->args));

            return;
        }
        $this->send('prorata.set_client_day', $clientId, ['day' => $day]);
    }

    public function clear(int $clientId): void
    {
        $this->send('prorata.clear_client_day', $clientId, []);
    }

    private function send(string $task, int $clientId, array $more): void
    {
        // the event id is the task id: the worker writes a change once per id
        $kwargs = ['event_id' => Uuid::v4(), 'client_id' => $clientId] + $more
            + ['requested_by' => 'admin:' . $this->adminId];
        try {
            $sent = (new EventSender($this->worker->settings()))->send($task, $kwargs, $clientId);
        } catch (EventNotKept $e) {
            $this->alert('danger', $this->t->html('error_not_kept', $e->getMessage()));

            return;
        }
        $this->outcome($sent);
    }

    private function outcome(SentEvent $sent): void
    {
        if (!$sent->wasSent()) {
            $this->alert('warning', $this->t->html('day_outbox', $sent->eventId));

            return;
        }
        $meta = $this->worker->awaitResult($sent->eventId);
        if ($meta === null) {
            $this->alert('info', $this->t->html('day_queued', $sent->eventId));

            return;
        }
        $result = is_array($meta['result'] ?? null) ? $meta['result'] : [];
        if (($meta['status'] ?? '') !== 'SUCCESS' || $result === []) {
            $this->alert('danger', $this->t->html('day_failed', WorkerClient::failure($meta)));

            return;
        }
        $status = (string) ($result['status'] ?? '');
        $day = (int) ($result['client_day']['day'] ?? 0);
        if ($status === 'unknown-client') {
            $this->alert('danger', $this->t->html('day_failed', $status));
        } elseif ($day > 0) {
            $this->alert('success', $this->t->html('day_set_done', $this->ordinal($day)));
        } else {
            $this->alert('success', $this->t->html('day_cleared_done'));
        }
    }

    private function ordinal(int $day): string
    {
        return ClientDays::ordinal($day, $this->t->get('day_ordinals'));
    }

    private function when(?string $at): string
    {
        $at = (string) $at;

        return trim($this->format->date($at) . ' ' . substr($at, 11, 5));
    }

    /** The day of the client the page shows, its history, and the two forms. */
    public function panel(int $clientId): string
    {
        if (Records::client($clientId) === null) {
            return '';
        }
        $current = ClientDays::of($clientId);
        $changes = ClientDays::history($clientId);
        $history = [];
        foreach ($changes as $change) {
            $history[] = [
                'action' => (string) $change->action === 'clear' ? 'clear' : 'set',
                'action_text' => $this->t->get((string) $change->action === 'clear' ? 'day_history_cleared' : 'day_history_set'),
                'day' => $this->ordinal((int) $change->day),
                'by' => $this->t->requester((string) $change->requested_by),
                'at' => $this->when((string) $change->at),
                'request' => $change->request_id === null ? '' : $this->t->get('day_alignment', (int) $change->request_id),
            ];
        }
        $day = null;
        if ($current !== null) {
            // who set it: the newest "set" row was written with the day row and names the
            // admin; the day row keeps only the kind
            $by = $this->t->requester((string) $current->set_by);
            foreach ($changes as $change) {
                if ((string) $change->action === 'set') {
                    $by = $this->t->requester((string) $change->requested_by);
                    break;
                }
            }
            $day = [
                'number' => (int) $current->day,
                'text' => $this->t->get('day_current', $this->ordinal((int) $current->day)),
                'set' => $this->t->get('day_set_by', $by, $this->when((string) $current->set_at)),
                'request' => $current->request_id === null
                    ? $this->t->get('day_by_hand')
                    : $this->t->get('day_from_alignment', (int) $current->request_id),
            ];
        }

        return Templates::render('admin/client_day', [
            'lang' => $this->t->all(),
            'link' => $this->link,
            'token' => $this->token(),
            'client_id' => $clientId,
            'day' => $day,
            'history' => $history,
            'short_months' => $day !== null && $day['number'] >= 29 ? $this->t->get('warning_short_months', $day['number']) : '',
            'clear_confirm' => json_encode(
                $this->t->get('day_clear_confirm', Records::clientName(Records::client($clientId))),
                JSON_UNESCAPED_UNICODE | JSON_HEX_TAG
            ),
        ]);
    }
}
