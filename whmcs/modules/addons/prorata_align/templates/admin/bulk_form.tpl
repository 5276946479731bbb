{* "Align many clients": the filters, the day and cycles, and the dry run's figures with Start. *}
{strip}
<div class="panel panel-default" id="prorata-bulk">
<div class="panel-heading"><h3 class="panel-title">{$lang.bulk_title|escape}</h3></div>
<div class="panel-body"><p class="text-muted">{$lang.bulk_intro|escape}</p>
<form method="post" action="{$action|escape}" class="prorata-bulk-form">
<input type="hidden" name="token" value="{$token|escape}">
<input type="hidden" name="bulk_form" value="1">
<div class="row">
{foreach $selects as $select}
<div class="col-sm-3 form-group"><label for="prorata-bulk-{$select.name}">{$lang[$select.label]|escape}</label>
<select name="{$select.name}" id="prorata-bulk-{$select.name}" class="form-control input-sm">
<option value="">{$lang[$select.any]|escape}</option>
{foreach $select.options as $option}
<option value="{$option.value|escape}"{if $option.selected} selected{/if}>{$option.text|escape}</option>
{/foreach}
</select></div>
{/foreach}
<div class="col-sm-3"><div class="checkbox"><label><input type="checkbox" name="several_due_days" value="1" id="prorata-bulk-several_due_days"{if $several_due_days} checked{/if}> {$lang.bulk_several_due_days|escape}</label></div></div>
</div>
{$options_html nofilter}
{if $dry_run}
<div id="prorata-bulk-dry-run"><h4>{$dry_run.title|escape}</h4>
<table class="table table-condensed prorata-bulk-figures" style="width:auto"><tbody>
{foreach $dry_run.figures as $key => $figure}
<tr data-figure="{$key}"><th>{$lang["bulk_fig_`$key`"]|escape}</th><td class="text-right">{$figure}</td></tr>
{/foreach}
{foreach $dry_run.amounts as $amount}
<tr data-figure="amount" data-currency="{$amount.code|escape}"><th>{$amount.label|escape}</th><td class="text-right text-nowrap"><strong>{$amount.amount|escape}</strong></td></tr>
{/foreach}
</tbody></table>
{if $dry_run.unplanned}
<div class="alert alert-warning prorata-alert-warning" id="prorata-bulk-unplanned" role="alert">{$dry_run.unplanned_text|escape}</div>
<table class="table table-condensed prorata-bulk-unplanned">
<thead><tr><th>{$lang.col_client|escape}</th><th>{$lang.col_reason|escape}</th></tr></thead>
<tbody>
{foreach $dry_run.unplanned as $row}
<tr data-client="{$row.id}"><td><a href="clientssummary.php?userid={$row.id}">{$row.name|escape}</a></td><td>{$row.reason|escape}</td></tr>
{/foreach}
</tbody></table>
{/if}
{if $dry_run.nothing !== null}
<div class="alert alert-{$dry_run.nothing.type} prorata-alert-{$dry_run.nothing.type}" id="prorata-bulk-nothing" role="alert">{$dry_run.nothing.text|escape}</div>
{else}
<input type="hidden" name="dry_run" value="{$dry_run.signature|escape}">
<input type="hidden" name="event_id" value="{$dry_run.event_id|escape}">
<p><button type="submit" name="action" value="bulk_start" class="btn btn-primary" id="prorata-bulk-start" onclick="return confirm({$dry_run.confirm|escape});">{$lang.bulk_button_start|escape}</button> <span class="help-block" style="display:inline">{$lang.bulk_start_help|escape}</span></p>
{/if}
</div>
{/if}
</form></div></div>
{/strip}