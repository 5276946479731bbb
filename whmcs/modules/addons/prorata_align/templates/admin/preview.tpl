{* "Align one client": the preview of a client's alignment, its options, and the Align button. *}
{strip}
<div class="panel panel-default" id="prorata-preview">
<div class="panel-heading"><h3 class="panel-title">{$title|escape}</h3></div>
<div class="panel-body">
{if $details !== ""}<p class="text-muted">{$details|escape}</p>{/if}
{if $error !== ""}<div class="alert alert-danger prorata-alert-danger" role="alert">{$error|escape}</div>{/if}
{$withdraw_html nofilter}
{if $form}
<form method="post" action="{$link|escape}" class="prorata-preview-form">
<input type="hidden" name="token" value="{$token|escape}">
<input type="hidden" name="client_id" value="{$client_id}">
<input type="hidden" name="selection" value="1">
<input type="hidden" name="previewed" value="{$signature|escape}">
{$options_html nofilter}
{if $plan}
<p class="prorata-plan-facts">{$plan.facts|escape} {$plan.mode|escape}</p>
{if !$plan.lines}
<p class="text-muted">{$lang.preview_no_services|escape}</p>
{else}
<table class="table table-striped table-condensed prorata-lines">
<thead><tr><th></th>
<th>{$lang.col_item|escape}</th><th>{$lang.col_domain|escape}</th><th>{$lang.col_cycle|escape}</th><th>{$lang.col_status|escape}</th>
<th>{$lang.col_current_due|escape}</th><th>{$lang.col_new_due|escape}</th><th class="text-right">{$lang.col_days|escape}</th>
<th class="text-right">{$lang.col_amount|escape}</th><th>{$lang.col_payment_method|escape}</th><th>{$lang.col_note|escape}</th>
</tr></thead>
<tbody>
{foreach $plan.lines as $line}
<tr class="{if $line.aligned}prorata-aligned{else}prorata-skipped text-muted{/if}" data-item="{$line.key|escape}">
<td>
{if $line.box}
<input type="hidden" name="offered[]" value="{$line.key|escape}">
<input type="checkbox" name="services[]" value="{$line.key|escape}" aria-label="{$line.box_label|escape}"{if $line.aligned} checked{/if}>
{/if}
</td>
<td>{$line.name|escape} <small class="text-muted">{$line.kind_text|escape} #{$line.id}</small></td>
<td>{$line.domain|escape}</td>
<td>{$line.cycle|escape}</td>
<td>{$line.status|escape}</td>
<td class="text-nowrap">{$line.old_due|escape}</td>
<td class="text-nowrap">{if $line.aligned}<strong>{$line.new_due|escape}</strong>{/if}</td>
<td class="text-right">{$line.days}</td>
<td class="text-right text-nowrap">{$line.amount|escape}</td>
<td>{$line.gateway|escape}</td>
<td>
{if $line.blocked_by !== null}
<span class="label label-danger">{$lang.reason_blocked_short|escape}</span> {$lang.reason_blocked_before|escape} <a href="invoices.php?action=edit&amp;id={$line.blocked_by}" class="prorata-blocking-invoice">{$line.blocked_text|escape}</a>, {$lang.reason_blocked_after|escape}
{else}
{$line.note|escape}
{/if}
{if $line.moved !== ""}<span class="prorata-moved">{$line.moved|escape}</span>{/if}
</td>
</tr>
{/foreach}
</tbody></table>
{/if}
<h4>{$lang.totals_title|escape}</h4>
{if !$plan.invoices}
<p class="text-muted prorata-no-invoice">{$lang.totals_none|escape}</p>
{else}
<table class="table table-condensed prorata-totals">
<thead><tr>
<th>{$lang.col_payment_method|escape}</th><th class="text-right">{$lang.col_lines|escape}</th><th>{$lang.col_invoice_due|escape}</th>
<th class="text-right">{$lang.col_subtotal|escape}</th><th class="text-right">{$lang.col_tax|escape}</th>
<th class="text-right">{$lang.col_tax2|escape}</th><th class="text-right">{$lang.col_total|escape}</th>
<th class="text-right">{$lang.col_credit|escape}</th><th class="text-right">{$lang.col_balance|escape}</th>
</tr></thead>
<tbody>
{foreach $plan.invoices as $invoice}
<tr data-gateway="{$invoice.paymentmethod|escape}">
<td>{$invoice.gateway|escape}</td>
<td class="text-right">{$invoice.lines}</td>
<td>{$invoice.duedate|escape}</td>
<td class="text-right">{$invoice.subtotal|escape}</td>
<td class="text-right">{$invoice.tax|escape}</td>
<td class="text-right">{$invoice.tax2|escape}</td>
<td class="text-right">{$invoice.total|escape}</td>
<td class="text-right prorata-credit">{$invoice.credit|escape}</td>
<td class="text-right prorata-balance"><strong>{$invoice.balance|escape}</strong></td>
</tr>
{* the client group's discount lines, already in the subtotal: the lines plus this row make it *}
{if $invoice.discount !== ""}
<tr class="prorata-discount"><td colspan="3" class="text-right">{$lang.client_discount|escape}</td><td class="text-right">{$invoice.discount|escape}</td><td colspan="5"></td></tr>
{/if}
{/foreach}
</tbody></table>
<p class="prorata-to-pay"><strong>{$lang.preview_to_pay|escape} {$plan.to_pay|escape}</strong>{if $plan.has_credit} <span class="text-muted">({$lang.preview_credit_applied|escape} {$plan.credit_applied|escape})</span>{/if}</p>
{/if}
<h4>{$lang.changes_title|escape}</h4>
{if !$plan.changes}
<p class="text-muted prorata-no-changes">{$lang.changes_none|escape}</p>
{else}
<p class="help-block">{$lang.changes_intro|escape}</p>
<table class="table table-condensed prorata-changes">
<thead><tr>
<th>{$lang.col_invoice|escape}</th><th>{$lang.col_change|escape}</th><th>{$lang.col_lines_going|escape}</th>
<th class="text-right">{$lang.col_total_before|escape}</th><th class="text-right">{$lang.col_total_after|escape}</th>
</tr></thead>
<tbody>
{foreach $plan.changes as $change}
<tr data-invoice="{$change.id}" data-action="{$change.action|escape}">
<td class="text-nowrap"><a href="invoices.php?action=edit&amp;id={$change.id}">{$change.text|escape}</a></td>
<td><strong>{$change.action_text|escape}</strong><br><small class="text-muted">{$change.why|escape}</small></td>
<td>{if $change.removed}<ul class="list-unstyled prorata-removed">{foreach $change.removed as $item}<li>{$item.kind|escape}: {$item.description|escape} <span class="text-nowrap">{$item.amount|escape}</span></li>{/foreach}</ul>{/if}</td>
<td class="text-right text-nowrap prorata-before">{$change.before|escape}</td>
<td class="text-right text-nowrap prorata-after">{$change.after|escape}</td>
</tr>
{/foreach}
</tbody></table>
{/if}
<p><button type="submit" name="action" value="align" class="btn btn-primary" id="prorata-align"{if !$plan.can_align} disabled{/if} onclick="return confirm({$plan.confirm|escape});">{$lang.button_align|escape}</button> <span class="help-block" style="display:inline">{$lang.align_help|escape}</span></p>
{/if}
</form>
{/if}
</div></div>
{/strip}