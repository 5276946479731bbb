{* The client's billing day on "Align one client": the day, who set it, Set day / Clear, its history. *}
{strip}
<div class="panel panel-default" id="prorata-client-day"{if $day} data-day="{$day.number}"{/if}>
<div class="panel-heading"><h3 class="panel-title">{$lang.day_title|escape}</h3></div>
<div class="panel-body">
{if $day}
<p class="prorata-client-day-current"><strong>{$day.text|escape}</strong></p>
<p class="text-muted prorata-client-day-origin">{$day.set|escape} · {$day.request|escape}</p>
{if $short_months !== ""}<p class="help-block">{$short_months|escape}</p>{/if}
{else}
<p class="text-muted prorata-client-day-none">{$lang.day_none|escape}</p>
{/if}
<form method="post" action="{$link|escape}" class="form-inline prorata-day-form" style="display:inline-block;margin-right:10px">
<input type="hidden" name="token" value="{$token|escape}">
<input type="hidden" name="client_id" value="{$client_id}">
<input type="hidden" name="action" value="set_day">
<div class="form-group">
<label for="prorata-client-day-input">{$lang.day_label|escape}</label> <input type="number" min="1" max="31" name="day" id="prorata-client-day-input" class="form-control input-sm" style="width:5em" value="{if $day}{$day.number}{/if}" required>
</div> <button type="submit" class="btn btn-default btn-sm" id="prorata-set-day">{$lang.day_button_set|escape}</button>
</form>
{if $day}
<form method="post" action="{$link|escape}" class="prorata-day-clear-form" style="display:inline-block">
<input type="hidden" name="token" value="{$token|escape}">
<input type="hidden" name="client_id" value="{$client_id}">
<input type="hidden" name="action" value="clear_day">
<button type="submit" class="btn btn-danger btn-sm" id="prorata-clear-day" onclick="return confirm({$clear_confirm|escape});">{$lang.day_button_clear|escape}</button>
</form>
{/if}
<p class="help-block">{$lang.day_help|escape}</p>
{if $history}
<h4>{$lang.day_history_title|escape}</h4>
<table class="table table-condensed prorata-day-history">
<thead><tr><th>{$lang.col_date|escape}</th><th>{$lang.day_col_change|escape}</th><th>{$lang.day_col_day|escape}</th><th>{$lang.col_requested_by|escape}</th><th>{$lang.day_col_alignment|escape}</th></tr></thead>
<tbody>
{foreach $history as $change}
<tr data-action="{$change.action|escape}">
<td class="text-nowrap">{$change.at|escape}</td>
<td>{$change.action_text|escape}</td>
<td>{$change.day|escape}</td>
<td>{$change.by|escape}</td>
<td>{$change.request|escape}</td>
</tr>
{/foreach}
</tbody></table>
{/if}
</div></div>
{/strip}
