{* "Align one client": what the worker did with an alignment, and the invoices it created. *}
{strip}
<div class="panel panel-default" id="prorata-result">
<div class="panel-heading"><h3 class="panel-title">{$title|escape}</h3></div>
<div class="panel-body">
{if $outcome.type !== "success"}
<div class="alert alert-{$outcome.type} prorata-alert-{$outcome.type}" role="alert">{$outcome.message|escape}</div>
{else}
<div class="alert alert-success prorata-alert-success" id="prorata-aligned-message" role="alert">{$outcome.message|escape}</div>
{if $outcome.invoices}
<table class="table table-condensed prorata-created-invoices">
<thead><tr>
<th>{$lang.col_invoice|escape}</th><th>{$lang.col_payment_method|escape}</th><th>{$lang.col_invoice_due|escape}</th>
<th class="text-right">{$lang.col_lines|escape}</th><th class="text-right">{$lang.col_total|escape}</th>
</tr></thead>
<tbody>
{foreach $outcome.invoices as $invoice}
<tr>
<td><a href="invoices.php?action=edit&amp;id={$invoice.id}" class="prorata-invoice-link">{$invoice.text|escape}</a></td>
<td>{$invoice.gateway|escape}</td>
<td>{$invoice.duedate|escape}</td>
<td class="text-right">{$invoice.lines}</td>
<td class="text-right">{$invoice.total|escape}</td>
</tr>
{/foreach}
</tbody></table>
{/if}
{if $outcome.notes}
<ul class="prorata-result-notes">
{foreach $outcome.notes as $note}<li>{$note|escape}</li>{/foreach}
</ul>
{/if}
<p class="help-block">{$lang.align_pay_note|escape}</p>
{/if}
<p><a class="btn btn-default" href="{$back_href|escape}">{$lang.button_back_to_preview|escape}</a></p>
</div></div>
{/strip}