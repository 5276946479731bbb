{* The overpayments to settle: money on an alignment invoice beyond what it asks, and the like. *}
{strip}
{if $notice !== null}<div class="alert alert-{$notice.type}">{$notice.text|escape}</div>{/if}
<div class="panel {if $rows}panel-warning{else}panel-default{/if}" id="prorata-overpayments">
<div class="panel-heading"><h3 class="panel-title">{$lang.overpayments_title|escape}</h3></div>
<div class="panel-body">
{if !$rows}
<p class="text-muted prorata-no-overpayments">{$lang.overpayments_none|escape}</p>
{else}
<p class="text-muted">{$lang.overpayments_intro|escape}</p>
<table class="table table-condensed prorata-overpayments">
<thead><tr>
<th>{$lang.col_date|escape}</th><th>{$lang.col_client|escape}</th>
<th>{$lang.col_invoice|escape}</th><th>{$lang.overpayments_reason|escape}</th>
<th class="text-right">{$lang.overpayments_received|escape}</th>
<th class="text-right">{$lang.overpayments_charged|escape}</th>
<th class="text-right">{$lang.overpayments_credited|escape}</th>
<th>{$lang.overpayments_records|escape}</th><th></th>
</tr></thead>
<tbody>
{foreach $rows as $row}
<tr data-invoice="{$row.invoice_id}" data-reason="{$row.reason|escape}">
<td class="text-nowrap">{$row.date|escape}</td>
<td>{$row.client|escape}</td>
<td><a href="invoices.php?action=edit&amp;id={$row.invoice_id}">{$row.invoice_text|escape}</a></td>
<td>{$lang["overpayments_reason_`$row.reason`"]|escape}</td>
<td class="text-right text-nowrap">{$row.received|escape}</td>
<td class="text-right text-nowrap">{$row.charged|escape}</td>
<td class="text-right text-nowrap">{if $row.credited !== null}{$row.credited|escape}{else}&mdash;{/if}</td>
<td>{$row.records|escape}</td>
<td class="text-right">
<form method="post" action="{$link|escape}" class="form-inline prorata-settle-form" style="display:inline">
<input type="hidden" name="token" value="{$token|escape}">
<input type="hidden" name="action" value="resolve_overpayment">
<input type="hidden" name="invoice_id" value="{$row.invoice_id}">
<input type="text" name="note" class="form-control input-sm" maxlength="{$note_max}" placeholder="{$lang.overpayments_note|escape}" aria-label="{$lang.overpayments_note|escape}">
 <button type="submit" class="btn btn-default btn-xs" onclick="return confirm({$row.confirm|escape});">{$lang.overpayments_resolve|escape}</button>
</form>
</td>
</tr>
{/foreach}
</tbody></table>
{/if}
{if $history}
<h4>{$lang.overpayments_history_title|escape}</h4>
<table class="table table-condensed prorata-settled-history">
<thead><tr><th>{$lang.col_date|escape}</th><th>{$lang.overpayments_settled_by|escape}</th><th>{$lang.col_invoice|escape}</th><th>{$lang.overpayments_note|escape}</th></tr></thead>
<tbody>
{foreach $history as $item}
<tr data-settled-invoice="{$item.invoice_id}" class="prorata-settled">
<td class="text-nowrap">{$item.date|escape}</td><td>{$item.who|escape}</td>
<td><a href="invoices.php?action=edit&amp;id={$item.invoice_id}">{$item.invoice_text|escape}</a></td><td>{$item.note|escape}</td>
</tr>
{/foreach}
</tbody></table>
{/if}
</div></div>
{/strip}