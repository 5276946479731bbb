<?php

namespace ProrataAlign\Admin\Controller;

use ProrataAlign\ActivityLog;
use ProrataAlign\Money;
use ProrataAlign\Page\Csrf;
use ProrataAlign\Page\Format;
use ProrataAlign\Page\Templates;
use ProrataAlign\Page\Text;
use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The admin page's list of invoices the worker flagged (mod_prorata_overpayments), each
 * with its reason: paid for days the client had already paid for (or staff had given), or
 * for an alignment that was no longer pending (expired, cancelled, withdrawn, superseded);
 * refunded or sent to Collections after it was paid; or ended unpaid after WHMCS had
 * invoiced the period from the new due date, leaving days billed by nobody. Each shows the
 * money the invoice received (tax included) next to what the alignment lines charge, in
 * the invoice's currency. The worker kept the due dates; staff refund, credit or bill, then
 * mark the row settled (POST action=resolve_overpayment, invoice_id, admin CSRF token).
 */
final class OverpaymentsController
{
    public const LIMIT = 50;

    /** Why a row is listed (mod_prorata_overpayments.reason, the worker's migration 11). */
    public const REASONS = ['overpaid', 'refunded', 'collections', 'unbilled'];
    /** Settled rows shown in the history. */
    public const HISTORY = 20;
    /** The longest note kept with "Mark settled". */
    public const NOTE_MAX = 500;
    /**
     * The history lives in WHMCS's activity log (no table or column of the module's own:
     * the line says which invoice, which admin and the note); this finds those lines.
     */
    private const LOG_PREFIX = 'Prorated Next Due Date: overpayment on invoice #';

    /** The invoice's currency the worker kept, else its client's. */
    private static function money(Format $format, object $row): Format
    {
        $currency = (int) ($row->currency ?? 0) > 0 ? Money::currencyById((int) $row->currency) : null;
        if ($currency === null) {
            return $format->withCurrency(...Format::currencyOf((int) $row->client_id));
        }

        return $format->withCurrency($currency->prefix, $currency->suffix, $currency->format);
    }

    /** The unresolved overpayments, newest first; an empty string when there are none. */
    public static function panel(Text $t, Format $format, string $link): string
    {
        $notice = self::resolve($t);
        try {
            $rows = Capsule::table('mod_prorata_overpayments as o')
                ->leftJoin('tblclients as c', 'c.id', '=', 'o.client_id')
                ->whereNull('o.resolved_at')
                ->orderBy('o.id', 'desc')
                ->limit(self::LIMIT)
                // o.*: `credited` (migration 10), `received`, `charged`, `currency` and `reason`
                // (migration 11) arrive with the worker's upgrade, which may come later
                ->get(['o.*', 'c.firstname', 'c.lastname'])
                ->all();
        } catch (\Throwable $e) {
            return ''; // the table arrives with the worker's migration 4
        }
        $history = self::history($t, $format);
        $view = [];
        foreach ($rows as $row) {
            $money = self::money($format, $row);
            $records = json_decode((string) $row->records, true);
            $name = trim(($row->firstname ?? '') . ' ' . ($row->lastname ?? ''));
            $reason = in_array($row->reason ?? 'overpaid', self::REASONS, true) ? (string) ($row->reason ?? 'overpaid') : 'overpaid';
            // before the worker's migration 11 the amount was all there was
            $received = isset($row->received) ? (string) $row->received : (string) $row->amount;
            $charged = isset($row->charged) ? (string) $row->charged : (string) $row->amount;
            $view[] = [
                'invoice_id' => (int) $row->invoice_id,
                'reason' => $reason,
                'date' => $format->date((string) $row->detected_at),
                'client' => $name !== '' ? $name : '#' . (int) $row->client_id,
                'invoice_text' => $t->get('invoice_number', (int) $row->invoice_id),
                'received' => $money->money($received),
                'charged' => $money->money($charged),
                'credited' => (float) ($row->credited ?? 0) > 0 ? $money->money((string) $row->credited) : null,
                'records' => implode(', ', array_map(static fn ($id) => '#' . (int) $id, is_array($records) ? $records : [])),
                // JSON for the confirm() call, escaped for the attribute by the template
                'confirm' => json_encode($t->get('overpayments_confirm', (int) $row->invoice_id), JSON_UNESCAPED_UNICODE | JSON_HEX_TAG),
            ];
        }
        if ($view === [] && $history === [] && $notice === null) {
            return '';
        }

        return Templates::render('admin/overpayments', [
            'lang' => $t->all(),
            'notice' => $notice,
            'rows' => $view,
            'history' => $history,
            'note_max' => self::NOTE_MAX,
            'link' => $link,
            'token' => $view === [] ? '' : Csrf::token(),
        ]);
    }

    /**
     * Handles "mark settled": the row leaves the list; the activity log says who and when.
     *
     * @return array{type: string, text: string}|null the notice to show
     */
    private static function resolve(Text $t): ?array
    {
        $post = ($_SERVER['REQUEST_METHOD'] ?? 'GET') === 'POST';
        if (!$post || ($_POST['action'] ?? '') !== 'resolve_overpayment') {
            return null;
        }
        if (!Csrf::validPost(Csrf::ADMIN)) {
            return ['type' => 'danger', 'text' => $t->get('error_token')];
        }
        $invoiceId = (int) ($_POST['invoice_id'] ?? 0);
        $done = $invoiceId > 0 && Capsule::table('mod_prorata_overpayments')
            ->where('invoice_id', $invoiceId)
            ->whereNull('resolved_at')
            ->update(['resolved_at' => date('Y-m-d H:i:s')]) > 0;
        if (!$done) {
            return null;
        }
        $clientId = (int) Capsule::table('mod_prorata_overpayments')->where('invoice_id', $invoiceId)->value('client_id');
        $note = is_string($_POST['note'] ?? null) ? trim(preg_replace('/\s+/u', ' ', $_POST['note']) ?? '') : '';
        $note = mb_substr($note, 0, self::NOTE_MAX);
        ActivityLog::write($clientId, 'log_overpayment_settled', $invoiceId, (int) ($_SESSION['adminid'] ?? 0), $note);

        return ['type' => 'success', 'text' => $t->get('overpayments_resolved', $invoiceId)];
    }

    /**
     * The rows marked settled, newest first, from the activity log lines "Mark settled" wrote:
     * when, who, which invoice, the note.
     *
     * @return list<array{date: string, who: string, invoice_id: int, invoice_text: string, note: string}>
     */
    private static function history(Text $t, Format $format): array
    {
        try {
            $lines = Capsule::table('tblactivitylog')
                ->where('description', 'like', self::LOG_PREFIX . '%')
                ->orderBy('id', 'desc')
                ->limit(self::HISTORY)
                ->get(['date', 'description', 'admin_id'])
                ->all();
        } catch (\Throwable $e) {
            return [];
        }
        $history = [];
        foreach ($lines as $line) {
            $text = (string) $line->description;
            if (!preg_match('/#(\d+) marked settled(?: by admin #(\d+)(?:\. Note: (.*))?)?$/su', $text, $m)) {
                continue;
            }
            $admin = (int) ($m[2] ?? 0) ?: (int) ($line->admin_id ?? 0);
            $history[] = [
                'date' => trim($format->date((string) $line->date) . ' ' . substr((string) $line->date, 11, 5)),
                'who' => $admin > 0 ? $t->requester('admin:' . $admin) : '',
                'invoice_id' => (int) $m[1],
                'invoice_text' => $t->get('invoice_number', (int) $m[1]),
                'note' => (string) ($m[3] ?? ''),
            ];
        }

        return $history;
    }
}
