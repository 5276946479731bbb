{* "Off the day": what the daily check found off the clients' billing days, by client, with "Align these". *}
{strip}
<div class="panel panel-default" id="prorata-offday">
<div class="panel-heading"><h3 class="panel-title">{$lang.offday_title|escape}</h3></div>
<div class="panel-body">
{if $no_tables}
<div class="alert alert-warning prorata-alert-warning" role="alert">{$lang.error_no_tables|escape}</div>
{else}
<p class="text-muted">{$lang.offday_intro|escape}</p>
{if !$clients}
<p class="text-muted prorata-offday-none">{$lang.offday_none|escape}</p>
{else}
<table class="table table-condensed prorata-offday">
<thead><tr>
<th>{$lang.col_item|escape}</th><th>{$lang.col_domain|escape}</th><th>{$lang.col_current_due|escape}</th>
<th>{$lang.day_col_day|escape}</th><th>{$lang.col_reason|escape}</th><th>{$lang.offday_col_action|escape}</th>
</tr></thead>
{foreach $clients as $client}
<tbody data-client="{$client.id}">
<tr class="active prorata-offday-client">
<th colspan="5"><a href="{$client.href|escape}">{$client.name|escape}</a> <small class="text-muted">#{$client.id}</small></th>
<th class="text-right">
{if $client.waiting}
<span class="label label-warning">{$lang.offday_waiting|escape}</span>
{else}
<form method="post" action="{$link|escape}" class="prorata-offday-align" style="display:inline">
<input type="hidden" name="token" value="{$token|escape}">
<input type="hidden" name="action" value="align_offday">
<input type="hidden" name="client_id" value="{$client.id}">
<button type="submit" class="btn btn-primary btn-xs" data-client="{$client.id}" onclick="return confirm({$client.confirm|escape});">{$lang.offday_button_align|escape}</button>
</form>
{/if}
</th>
</tr>
{foreach $client.rows as $row}
<tr data-item="{$row.kind|escape}:{$row.relid}" data-reason="{$row.reason|escape}" data-action="{$row.action|escape}">
<td>{$row.name|escape} <small class="text-muted">{$row.kind_text|escape} #{$row.relid}</small></td>
<td>{$row.domain|escape}</td>
<td class="text-nowrap">{$row.next_due|escape}</td>
<td>{$client.day|escape}</td>
<td>{$row.reason_text|escape}</td>
<td>{$row.action_text|escape}</td>
</tr>
{/foreach}
</tbody>
{/foreach}
</table>
{if $pages}
<nav><ul class="pagination pagination-sm prorata-pages">
{foreach $pages as $page}
<li{if $page.active} class="active"{/if}><a href="{$page.href|escape}">{$page.number}</a></li>
{/foreach}
</ul></nav>
{/if}
{/if}
{if $count_text !== ""}<p class="text-muted prorata-offday-count">{$count_text|escape}</p>{/if}
{/if}
</div></div>
{/strip}
