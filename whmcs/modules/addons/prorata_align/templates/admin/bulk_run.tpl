{* "Align many clients": one run, its progress (kept up to date by the script while it goes on), Cancel, its failed clients. *}
{strip}
<div class="panel panel-default" id="prorata-bulk-run" data-state="{$state|escape}"{if $run_id !== null} data-run="{$run_id}"{/if}{if !$final} data-poll="{$poll|escape}"{/if} data-here="{$here|escape}">
<div class="panel-heading"><h3 class="panel-title">{$title|escape} <span class="label label-{$state_class} prorata-bulk-state">{$state_label|escape}</span></h3></div>
<div class="panel-body">
{if $facts !== ""}<p class="text-muted prorata-bulk-facts">{$facts|escape}</p>{/if}
{if $stopped !== ""}<p class="text-danger prorata-bulk-stopped">{$stopped|escape}</p>{/if}
<div class="progress prorata-bulk-progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{$progress.percent}">
{foreach $bars as $key => $class}
<div class="progress-bar progress-bar-{$class} prorata-bar-{$key}" style="width: {$progress.widths[$key]}%"></div>
{/foreach}
</div>
<p><strong class="prorata-bulk-percent">{$progress.percent} %</strong> {$handled_html nofilter}</p>
<table class="table table-condensed prorata-bulk-counts" style="width:auto">
<thead><tr>
{foreach $order as $key}<th class="text-right">{$lang["bulk_count_`$key`"]|escape}</th>{/foreach}
</tr></thead>
<tbody><tr>
{foreach $order as $key}<td class="text-right" data-count="{$key}">{$progress.counts[$key]}</td>{/foreach}
</tr></tbody></table>
{if $cancel_confirm !== null}
<form method="post" action="{$action|escape}" class="prorata-bulk-cancel">
<input type="hidden" name="token" value="{$token|escape}">
<input type="hidden" name="action" value="bulk_cancel">
<input type="hidden" name="run_id" value="{$run_id}">
<button type="submit" class="btn btn-danger btn-sm" id="prorata-bulk-cancel" onclick="return confirm({$cancel_confirm|escape});">{$lang.bulk_button_cancel|escape}</button>
</form>
{/if}
<h4>{$lang.bulk_failures_title|escape}</h4>
<p class="text-muted prorata-bulk-no-failures"{if $failures} style="display:none"{/if}>{$lang.bulk_failures_none|escape}</p>
<table class="table table-condensed table-striped" id="prorata-bulk-failures"{if !$failures} style="display:none"{/if}>
<thead><tr><th>{$lang.col_client|escape}</th><th>{$lang.col_reason|escape}</th></tr></thead>
<tbody>
{foreach $failures as $row}
<tr data-client="{$row.id}"><td><a href="clientssummary.php?userid={$row.id}">{$row.name|escape}</a></td><td>{$row.reason|escape}</td></tr>
{/foreach}
</tbody></table>
{if $failures_more !== ""}<p class="text-muted">{$failures_more|escape}</p>{/if}
{if $run_id !== null}
<h4 id="prorata-bulk-skipped">{$lang.bulk_skipped_title|escape} <small class="prorata-bulk-skipped-count">{$skipped_count|escape}</small></h4>
{if !$skipped}
<p class="text-muted prorata-bulk-no-skipped">{$lang.bulk_skipped_none|escape}</p>
{else}
<table class="table table-condensed table-striped prorata-bulk-skipped">
<thead><tr><th>{$lang.col_client|escape}</th><th>{$lang.col_reason|escape}</th></tr></thead>
<tbody>
{foreach $skipped as $row}
<tr data-client="{$row.id}"><td><a href="clientssummary.php?userid={$row.id}">{$row.name|escape}</a></td><td>{$row.reason|escape}</td></tr>
{/foreach}
</tbody></table>
{$skipped_pages_html nofilter}
{/if}
{/if}
<script>{$script_html nofilter}</script>
</div></div>
{/strip}