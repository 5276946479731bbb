{* "Align many clients": the recent runs. *}
{strip}
<div class="panel panel-default" id="prorata-bulk-runs">
<div class="panel-heading"><h3 class="panel-title">{$lang.bulk_runs_title|escape}</h3></div>
<div class="panel-body">
{if $no_tables}
<div class="alert alert-warning prorata-alert-warning" role="alert">{$lang.error_no_tables|escape}</div>
{elseif !$runs}
<p class="text-muted prorata-bulk-no-runs">{$lang.bulk_runs_none|escape}</p>
{else}
<table class="table table-striped table-condensed prorata-bulk-runs">
<thead><tr>
<th>{$lang.col_run|escape}</th><th>{$lang.col_started|escape}</th><th>{$lang.col_requested_by|escape}</th><th>{$lang.col_day|escape}</th>
<th>{$lang.col_filters|escape}</th><th>{$lang.col_progress|escape}</th><th>{$lang.col_state|escape}</th>
</tr></thead>
<tbody>
{foreach $runs as $run}
<tr data-run="{$run.id}" data-state="{$run.state|escape}">
<td><a href="{$run.href|escape}">{$run.title|escape}</a></td>
<td class="text-nowrap">{$run.when|escape}</td>
<td>{$run.requester|escape}</td>
<td>{$run.day}</td>
<td>{$run.filters|escape}</td>
<td>{$run.progress|escape}</td>
<td><span class="label label-{$run.state_class}">{$run.state_label|escape}</span></td>
</tr>
{/foreach}
</tbody></table>
{/if}
</div></div>
{/strip}