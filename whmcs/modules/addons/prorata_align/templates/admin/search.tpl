{* "Align one client": find a client by name, email, company or id. *}
{strip}
<div class="panel panel-default" id="prorata-search">
<div class="panel-heading"><h3 class="panel-title">{$lang.search_title|escape}</h3></div>
<div class="panel-body">
<form method="get" action="{$form_path|escape}" class="form-inline">
{foreach $form_query as $name => $value}
<input type="hidden" name="{$name|escape}" value="{$value|escape}">
{/foreach}
<div class="form-group">
<label class="sr-only" for="prorata-q">{$lang.search_label|escape}</label>
<input type="text" class="form-control" id="prorata-q" name="q" size="40" value="{$term|escape}" placeholder="{$lang.search_placeholder|escape}">
</div> <button type="submit" class="btn btn-default">{$lang.search_button|escape}</button>
</form>
{if $term !== ''}
{if !$clients}
<p class="text-muted prorata-no-match">{$none_text|escape}</p>
{else}
<table class="table table-condensed table-hover prorata-clients">
<thead><tr>
<th>{$lang.col_id|escape}</th><th>{$lang.col_name|escape}</th><th>{$lang.col_company|escape}</th>
<th>{$lang.col_email|escape}</th><th>{$lang.col_status|escape}</th><th></th>
</tr></thead>
<tbody>
{foreach $clients as $client}
<tr>
<td>{$client.id}</td>
<td><a href="{$client.href|escape}">{$client.name|escape}</a></td>
<td>{$client.company|escape}</td>
<td>{$client.email|escape}</td>
<td>{$client.status|escape}</td>
<td class="text-right"><a class="btn btn-default btn-xs" href="{$client.href|escape}">{$lang.search_preview|escape}</a></td>
</tr>
{/foreach}
</tbody></table>
{if $more_text !== ''}<p class="help-block">{$more_text|escape}</p>{/if}
{/if}
{/if}
</div></div>
{/strip}