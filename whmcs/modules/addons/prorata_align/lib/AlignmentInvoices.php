<?php

namespace ProrataAlign;

use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * Which invoices concern the module. Hooks run for every invoice WHMCS pays or cancels, so
 * the check is one indexed query: the worker's records of alignments made on that invoice
 * (mod_prorata_records.invoice_id). Where the worker's tables are missing, the invoice's own
 * lines answer instead (tblinvoiceitems, invoiceid = ?, type LIKE 'Prorata%').
 */
final class AlignmentInvoices
{
    public static function holdsAlignmentLines(int $invoiceId): bool
    {
        if ($invoiceId <= 0) {
            return false;
        }
        try {
            return Capsule::table('mod_prorata_records')->where('invoice_id', $invoiceId)->exists();
        } catch (\Throwable $e) {
            return Capsule::table('tblinvoiceitems')
                ->where('invoiceid', $invoiceId)
                ->where('type', 'like', 'Prorata%')
                ->exists();
        }
    }

    /**
     * The current dates of the services and addons the invoice's prorata lines name, in line
     * order, in one query: [{kind: service|addon, id, nextduedate, nextinvoicedate}], a date
     * as WHMCS keeps it ("YYYY-MM-DD") or null for none (0000-00-00). A line whose service
     * is gone is left out.
     *
     * @return list<array<string, mixed>>
     */
    public static function datesOfLines(int $invoiceId): array
    {
        $rows = Capsule::table('tblinvoiceitems as i')
            ->leftJoin('tblhosting as h', function ($join) {
                $join->on('h.id', '=', 'i.relid')->where('i.type', 'like', 'ProrataProduct%');
            })
            ->leftJoin('tblhostingaddons as a', function ($join) {
                $join->on('a.id', '=', 'i.relid')->where('i.type', 'like', 'ProrataAddon%');
            })
            ->where('i.invoiceid', $invoiceId)
            ->where('i.type', 'like', 'Prorata%')
            ->orderBy('i.id')
            ->get([
                'i.relid', 'h.id as service', 'h.nextduedate as service_due', 'h.nextinvoicedate as service_invoice',
                'a.id as addon', 'a.nextduedate as addon_due', 'a.nextinvoicedate as addon_invoice',
            ]);
        $dates = [];
        foreach ($rows as $row) {
            $kind = $row->service !== null ? 'service' : ($row->addon !== null ? 'addon' : null);
            if ($kind === null) {
                continue;
            }
            $dates[] = [
                'kind' => $kind,
                'id' => (int) $row->relid,
                'nextduedate' => self::date($row->{$kind . '_due'}),
                'nextinvoicedate' => self::date($row->{$kind . '_invoice'}),
            ];
        }

        return $dates;
    }

    private static function date($value): ?string
    {
        $text = $value === null ? '' : substr((string) $value, 0, 10);

        return ($text === '' || $text === '0000-00-00') ? null : $text;
    }

    /**
     * Whether a service (or one of its addons) has a pending alignment. When the worker's
     * table cannot be read the answer is yes: the worker then decides, nothing is missed.
     */
    public static function servicePending(int $serviceId): bool
    {
        try {
            $addons = Capsule::table('tblhostingaddons')->where('hostingid', $serviceId)->pluck('id')->all();

            return Capsule::table('mod_prorata_records')
                ->where('state', 'pending')
                ->where(function ($query) use ($serviceId, $addons) {
                    $query->where(function ($q) use ($serviceId) {
                        $q->where('kind', 'service')->where('relid', $serviceId);
                    });
                    if ($addons !== []) {
                        $query->orWhere(function ($q) use ($addons) {
                            $q->where('kind', 'addon')->whereIn('relid', $addons);
                        });
                    }
                })
                ->exists();
        } catch (\Throwable $e) {
            return true;
        }
    }
}
