{* The services waiting to be unsuspended by hand (no WHMCS API credentials), for staff. *}
{strip}
<div class="panel panel-warning" id="prorata-unsuspensions">
<div class="panel-heading"><h3 class="panel-title">{$lang.unsuspend_title|escape}</h3></div>
<div class="panel-body"><p>{$lang.unsuspend_intro|escape}</p>
<table class="table table-condensed prorata-unsuspensions">
<thead><tr>
<th>{$lang.unsuspend_col_service|escape}</th><th>{$lang.col_client|escape}</th><th>{$lang.col_invoice|escape}</th>
<th>{$lang.unsuspend_col_since|escape}</th><th>{$lang.col_state|escape}</th>
</tr></thead>
<tbody>
{foreach $rows as $row}
<tr data-service="{$row.service_id}">
<td><a href="clientsservices.php?userid={$row.client_id}&amp;id={$row.service_id}">{$row.service_text|escape}</a>{if $row.item !== ""} <small class="text-muted">{$row.item|escape}</small>{/if}</td>
<td><a href="clientssummary.php?userid={$row.client_id}">{$row.client|escape}</a></td>
<td><a href="invoices.php?action=edit&amp;id={$row.invoice_id}">{$row.invoice_text|escape}</a></td>
<td class="text-nowrap">{$row.since|escape}</td>
<td><span class="label label-{if $row.failed}danger{else}warning{/if}"{if $row.error !== null} title="{$row.error|escape}"{/if}>{if $row.failed}{$lang.unsuspend_state_failed|escape}{else}{$lang.unsuspend_state_waiting|escape}{/if}</span></td>
</tr>
{/foreach}
</tbody></table></div></div>
{/strip}