{* The worker's health: each check with its state, and "Test connection" with how it went. *}
{strip}
<div class="panel panel-{if $attention}warning{else}default{/if}" id="prorata-health">
<div class="panel-heading"><h3 class="panel-title">{$lang.health_title|escape}</h3></div>
<div class="panel-body">
{if $notice !== null}<div class="alert alert-{$notice.type} prorata-alert-{$notice.type}" id="prorata-test-result" role="alert">{$notice.text|escape}</div>{/if}
<table class="table table-condensed prorata-health"><tbody>
{foreach $rows as $row}
<tr data-check="{$row.check|escape}" data-state="{$row.state}">
<th>{$row.name|escape}</th>
<td><span class="label label-{$row.label}">{$lang["health_`$row.state`"]|escape}</span></td>
<td>{$row.figure|escape}</td>
</tr>
{/foreach}
</tbody></table>
<form method="post" action="{$link|escape}" class="prorata-health-test">
<input type="hidden" name="token" value="{$token|escape}">
<input type="hidden" name="action" value="test_connection">
<button type="submit" class="btn btn-default btn-sm" id="prorata-test-connection">{$lang.health_test_button|escape}</button>
</form>
</div></div>
{/strip}