{* The alignments (mod_prorata_records): filter by state, the list, "Cancel invoice", pages. *}
{strip}
<div class="panel panel-default" id="prorata-alignments">
{if $no_tables}
<div class="panel-body"><div class="alert alert-warning prorata-alert-warning" role="alert">{$lang.error_no_tables|escape}</div></div>
{else}
<div class="panel-heading"><h3 class="panel-title">{$title|escape}</h3></div>
<div class="panel-body">
<form method="get" action="{$form_path|escape}" class="form-inline prorata-filter">
{foreach $form_query as $name => $value}
<input type="hidden" name="{$name|escape}" value="{$value|escape}">
{/foreach}
{if $client_id !== null}<input type="hidden" name="client_id" value="{$client_id}">{/if}
<div class="form-group">
<label for="prorata-state">{$lang.label_state|escape}</label> <select name="state" id="prorata-state" class="form-control input-sm">
<option value="">{$lang.state_all|escape}</option>
{foreach $states as $option}
<option value="{$option}"{if $option === $state} selected{/if}>{$lang["state_`$option`"]|escape}</option>
{/foreach}
</select>
</div> <button type="submit" class="btn btn-default btn-sm">{$lang.button_filter|escape}</button>
{if $client_id !== null} <a href="{$all_clients_href|escape}">{$lang.alignments_all_clients|escape}</a>{/if}
</form>
{if !$rows}
<p class="text-muted prorata-no-alignments">{$lang.alignments_none|escape}</p>
{else}
<table class="table table-striped table-condensed prorata-alignments">
<thead><tr>
<th>{$lang.col_date|escape}</th><th>{$lang.col_client|escape}</th><th>{$lang.col_item|escape}</th>
<th>{$lang.col_current_due|escape}</th><th>{$lang.col_new_due|escape}</th>
<th class="text-right">{$lang.col_amount|escape}</th><th>{$lang.col_invoice|escape}</th>
<th>{$lang.col_requested_by|escape}</th><th>{$lang.col_state|escape}</th><th></th>
</tr></thead>
<tbody>
{foreach $rows as $row}
<tr data-record="{$row.id}" data-state="{$row.state|escape}">
<td class="text-nowrap">{$row.created|escape}</td>
<td><a href="{$row.client_href|escape}">{$row.client_name|escape}</a></td>
<td>{$row.name|escape}{if $row.domain !== ''} <small class="text-muted">{$row.domain|escape}</small>{/if} <small class="text-muted">{$row.kind_text|escape} #{$row.relid}</small></td>
<td class="text-nowrap">{$row.old_due|escape}</td>
<td class="text-nowrap">{$row.new_due|escape}</td>
<td class="text-right text-nowrap">{$row.amount|escape}</td>
<td>
{if $row.invoice_id !== null}
<a href="invoices.php?action=edit&amp;id={$row.invoice_id}">{$row.invoice_text|escape}</a>
{if $row.invoice_status !== null} <small class="text-muted">{$row.invoice_status|escape}</small>{/if}
{/if}
</td>
<td>{$row.requester|escape}</td>
<td><span class="label label-{$row.state_class}">{$row.state_text|escape}</span></td>
<td class="text-right text-nowrap">
{if $row.cancel_confirm !== null}
<form method="post" action="{$link|escape}" class="prorata-cancel-form" style="display:inline">
<input type="hidden" name="token" value="{$token|escape}">
<input type="hidden" name="action" value="cancel">
<input type="hidden" name="invoice_id" value="{$row.invoice_id}">
{if $client_id !== null}<input type="hidden" name="client_id" value="{$client_id}">{/if}
<button type="submit" class="btn btn-danger btn-xs" data-invoice="{$row.invoice_id}" onclick="return confirm({$row.cancel_confirm|escape});">{$lang.button_cancel_invoice|escape}</button>
</form>
{/if}
</td>
</tr>
{/foreach}
</tbody></table>
{$pages_html nofilter}
<p class="text-muted">{$count_text|escape}</p>
{/if}
</div>
{/if}
</div>
{/strip}