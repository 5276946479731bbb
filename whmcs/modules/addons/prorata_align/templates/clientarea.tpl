{*
    Prorated Next Due Date: the client area page (index.php?m=prorata_align).

    Bootstrap 4 markup for WHMCS's Twenty-One theme. To change it without losing the change on
    the module's next update, copy this file to
        templates/<your theme>/modules/addons/prorata_align/clientarea.tpl
    and edit the copy: WHMCS uses a module template found in the active theme's folder before
    the module's own.

    Variables: $view (login, disabled, error, refused, pending, offer, nothing, confirmed, queued),
    $errors, $lang (the module's strings), $modulelink, $day, $intro, $day_warning, $token,
    $can_align (false: the user may not pay this account's invoices, so no confirm button),
    $read_only (the message saying so), $invoices (each: title, duedate, rows, subtotal, taxes
    [label, amount], credit, total, paid, balance), $free (lines aligned at no charge),
    $skipped, $changes (the open invoices the alignment deletes, reduces or cancels: id,
    action, summary, before, after, lines [description, amount]), $confirm_label, $pending
    (each: label, status, duedate, due_now, in_progress, payable, url, items, and the totals),
    $pending_intro, $created (each: label, total, credit, duedate, payable, url),
    $confirmed_message, $queued_message, $client_day_line (the client's billing day, "Your
    services renew on the 1st.", empty when the client has none); $lines and $total (every line, every invoice's total added up) are
    still there for theme copies of an earlier version of this file. Every value is plain
    text: print it with |escape.
*}
{* An invoice's totals as the invoice reads (a table footer): subtotal, each tax level
   ("8.25% Sales Tax"), credit, total; $span is the number of columns before the amounts. *}
{function name=prorata_totals}
<tfoot class="prorata-totals">
    {if $totals.discount}
        <tr class="prorata-discount">
            <td colspan="{$span}" class="text-right">{$lang.client_discount|escape:'html'}</td>
            <td class="text-right">{$totals.discount|escape:'html'}</td>
        </tr>
    {/if}
    <tr class="prorata-subtotal">
        <td colspan="{$span}" class="text-right">{$lang.client_subtotal|escape:'html'}</td>
        <td class="text-right">{$totals.subtotal|escape:'html'}</td>
    </tr>
    {foreach $totals.taxes as $tax}
        <tr class="prorata-tax">
            <td colspan="{$span}" class="text-right">{$tax.label|escape:'html'}</td>
            <td class="text-right">{$tax.amount|escape:'html'}</td>
        </tr>
    {/foreach}
    {if $totals.credit}
        <tr class="prorata-credit">
            <td colspan="{$span}" class="text-right">{$lang.client_credit|escape:'html'}</td>
            <td class="text-right">-{$totals.credit|escape:'html'}</td>
        </tr>
    {/if}
    <tr>
        <th colspan="{$span}" class="text-right">{$lang.client_total|escape:'html'}</th>
        <th class="text-right prorata-total">{$totals.total|escape:'html'}</th>
    </tr>
    {if $totals.paid}
        <tr class="prorata-paid">
            <td colspan="{$span}" class="text-right">{$lang.client_paid|escape:'html'}</td>
            <td class="text-right">-{$totals.paid|escape:'html'}</td>
        </tr>
    {/if}
    {if $totals.balance}
        <tr class="prorata-left">
            <th colspan="{$span}" class="text-right">{$lang.client_left_to_pay|escape:'html'}</th>
            <th class="text-right prorata-balance">{$totals.balance|escape:'html'}</th>
        </tr>
    {/if}
</tfoot>
{/function}
{* The lines of one invoice, each with a box to leave it out, and its totals when $totals is set. *}
{function name=prorata_lines}
<div class="table-responsive">
    <table class="table table-sm table-hover prorata-lines prorata-stack">
        <thead>
            <tr>
                <th><span class="sr-only">{$lang.client_col_include|escape:'html'}</span></th>
                <th>{$lang.client_col_service|escape:'html'}</th>
                <th>{$lang.client_col_cycle|escape:'html'}</th>
                <th>{$lang.client_col_current_due|escape:'html'}</th>
                <th>{$lang.client_col_new_due|escape:'html'}</th>
                <th class="text-right">{$lang.client_col_days|escape:'html'}</th>
                <th class="text-right">{$lang.client_col_amount|escape:'html'}</th>
            </tr>
        </thead>
        <tbody>
            {foreach $rows as $line}
                <tr data-item="{$line.key|escape:'html'}">
                    <td class="prorata-include">
                        <input type="checkbox" name="services[]" value="{$line.key|escape:'html'}" checked
                            aria-label="{$line.name|escape:'html'}"{if !$can_align} disabled{/if}>
                    </td>
                    <td class="prorata-name">{$line.name|escape:'html'}{if $line.domain}<br><small class="text-muted">{$line.domain|escape:'html'}</small>{/if}</td>
                    <td data-label="{$lang.client_col_cycle|escape:'html'}">{$line.cycle|escape:'html'}</td>
                    <td data-label="{$lang.client_col_current_due|escape:'html'}">{$line.old_due|escape:'html'}</td>
                    <td data-label="{$lang.client_col_new_due|escape:'html'}"><strong>{$line.new_due|escape:'html'}</strong>{if $line.new_due_note}<br><small class="text-muted prorata-new-due-note">{$line.new_due_note|escape:'html'}</small>{/if}</td>
                    <td data-label="{$lang.client_col_days|escape:'html'}" class="text-right">{$line.days|escape:'html'}</td>
                    <td data-label="{$lang.client_col_amount|escape:'html'}" class="text-right prorata-amount">{$line.amount|escape:'html'}</td>
                </tr>
            {/foreach}
        </tbody>
        {if $totals}
            {call name=prorata_totals totals=$totals span=6 lang=$lang}
        {/if}
    </table>
</div>
{/function}
<style>
{* Phones: the tables stack, one card-like block per line, each value under its column's name,
   so nothing needs sideways scrolling at 375 px (Bootstrap 4's "xs", below 576 px). *}
.prorata-align-client {ldelim} overflow-wrap: anywhere; {rdelim}
@media (max-width: 575.98px) {ldelim}
  .prorata-align-client .card-body {ldelim} padding: .75rem; {rdelim}
  .prorata-stack thead {ldelim} display: none; {rdelim}
  .prorata-stack, .prorata-stack tbody, .prorata-stack tfoot, .prorata-stack tr, .prorata-stack td, .prorata-stack th {ldelim} display: block; width: 100%; {rdelim}
  .prorata-stack tbody tr {ldelim} border-top: 1px solid #dee2e6; padding: .4rem 0; {rdelim}
  .prorata-stack tbody td {ldelim} border: 0; padding: .1rem 0; text-align: right; {rdelim}
  .prorata-stack tbody td.prorata-name {ldelim} text-align: left; font-weight: 600; {rdelim}
  .prorata-stack tbody td.prorata-include {ldelim} float: left; width: auto; padding-right: .5rem; {rdelim}
  .prorata-stack tbody td[data-label]::before {ldelim} content: attr(data-label); float: left; padding-right: .5rem; font-weight: normal; color: #6c757d; {rdelim}
  .prorata-stack tfoot tr {ldelim} display: flex; justify-content: space-between; border-top: 1px solid #dee2e6; {rdelim}
  .prorata-stack tfoot td, .prorata-stack tfoot th {ldelim} width: auto; border: 0; padding: .2rem 0; {rdelim}
  .prorata-align-client .btn {ldelim} display: block; width: 100%; margin: 0 0 .5rem; white-space: normal; {rdelim}
{rdelim}
</style>
<div class="prorata-align-client">

{foreach $errors as $error}
    <div class="alert alert-danger prorata-error" role="alert">{$error|escape:'html'}</div>
{/foreach}

{if $client_day_line|default:''}
    <p class="alert alert-light border prorata-client-day" role="status">{$client_day_line|escape:'html'}</p>
{/if}

{if $view == 'login'}
    <div class="alert alert-info" role="alert">{$lang.client_login|escape:'html'}</div>

{elseif $view == 'refused'}
    <p><a href="{$modulelink|escape:'html'}" class="btn btn-default btn-outline-secondary prorata-back">{$lang.client_back|escape:'html'}</a></p>

{elseif $view == 'disabled'}
    <div class="alert alert-info" role="alert">{$lang.client_disabled|escape:'html'}</div>

{elseif $view == 'pending'}
    <div class="card prorata-pending">
        <div class="card-body">
            <h3 class="card-title">{$lang.client_pending_title|escape:'html'}</h3>
            <p class="prorata-pending-intro">{$pending_intro|escape:'html'}</p>
            {if $read_only}
                <div class="alert alert-info prorata-read-only" role="alert">{$read_only|escape:'html'}</div>
            {/if}
            {foreach $pending as $invoice}
                <div class="prorata-pending-invoice mb-4" data-invoice="{$invoice.id|escape:'html'}">
                    <h4 class="h5">{$invoice.label|escape:'html'}
                        <small class="text-muted">&middot; {$invoice.status|escape:'html'} &middot; {$lang.client_due|escape:'html'} {$invoice.duedate|escape:'html'}</small>
                    </h4>
                    <div class="table-responsive">
                        <table class="table table-sm prorata-stack">
                            <thead>
                                <tr>
                                    <th>{$lang.client_col_service|escape:'html'}</th>
                                    <th>{$lang.client_col_current_due|escape:'html'}</th>
                                    <th>{$lang.client_col_new_due|escape:'html'}</th>
                                    <th class="text-right">{$lang.client_col_amount|escape:'html'}</th>
                                </tr>
                            </thead>
                            <tbody>
                                {foreach $invoice.items as $item}
                                    <tr>
                                        <td class="prorata-name">{$item.name|escape:'html'}{if $item.domain} <small class="text-muted">{$item.domain|escape:'html'}</small>{/if}</td>
                                        <td data-label="{$lang.client_col_current_due|escape:'html'}">{$item.old_due|escape:'html'}</td>
                                        <td data-label="{$lang.client_col_new_due|escape:'html'}">{$item.new_due|escape:'html'}</td>
                                        <td data-label="{$lang.client_col_amount|escape:'html'}" class="text-right">{$item.amount|escape:'html'}</td>
                                    </tr>
                                {/foreach}
                            </tbody>
                            {call name=prorata_totals totals=$invoice span=3 lang=$lang}
                        </table>
                    </div>
                    {if $invoice.in_progress}
                        <div class="alert alert-info prorata-in-progress" role="status">{$lang.client_payment_in_progress|escape:'html'}</div>
                    {elseif $can_align && $invoice.payable}
                        <a href="{$invoice.url|escape:'html'}" class="btn btn-primary prorata-pay">{if $invoice.due_now}{$lang.client_pay_now|escape:'html'}{else}{$lang.client_pay|escape:'html'}{/if}</a>
                    {/if}
                </div>
            {/foreach}
        </div>
    </div>

{elseif $view == 'offer' || $view == 'nothing'}
    <div class="card prorata-offer">
        <div class="card-body">
            <h3 class="card-title">{$lang.client_offer_title|escape:'html'}</h3>
            <p class="lead">{$intro|escape:'html'}</p>
            {if $view == 'offer'}
                <ul class="prorata-explain">
                    <li>{$lang.client_explain_pay|escape:'html'}</li>
                    <li>{$lang.client_explain_dates|escape:'html'}</li>
                    <li>{$lang.client_explain_after|escape:'html'}</li>
                </ul>
                {if $day_warning}
                    <div class="alert alert-warning" role="alert">{$day_warning|escape:'html'}</div>
                {/if}
                {if $read_only}
                    <div class="alert alert-info prorata-read-only" role="alert">{$read_only|escape:'html'}</div>
                {/if}
                <form method="post" action="{$modulelink|escape:'html'}" class="prorata-confirm-form">
                    {if $can_align}
                        <input type="hidden" name="token" value="{$token|escape:'html'}">
                        <input type="hidden" name="action" value="confirm">
                    {/if}
                    {foreach $invoices as $invoice}
                        <div class="prorata-invoice mb-3">
                            {if $invoice.title}
                                <h4 class="h6">{$invoice.title|escape:'html'}
                                    <small class="text-muted">&middot; {$lang.client_due|escape:'html'} {$invoice.duedate|escape:'html'}</small>
                                </h4>
                            {/if}
                            {call name=prorata_lines rows=$invoice.rows totals=$invoice lang=$lang can_align=$can_align}
                        </div>
                    {/foreach}
                    {if $free}
                        <div class="prorata-free mb-3">
                            <h4 class="h6">{$lang.client_no_charge|escape:'html'}</h4>
                            {call name=prorata_lines rows=$free totals=null lang=$lang can_align=$can_align}
                        </div>
                    {/if}
                    {if $changes}
                        <div class="prorata-changes mb-3">
                            <h4 class="h6">{$lang.client_changes_title|escape:'html'}</h4>
                            <p class="small">{$lang.client_changes_intro|escape:'html'}</p>
                            {foreach $changes as $change}
                                <div class="prorata-change mb-3" data-invoice="{$change.id|escape:'html'}" data-action="{$change.action|escape:'html'}">
                                    <p class="mb-1"><strong>{$change.summary|escape:'html'}</strong></p>
                                    {if $change.lines}
                                        <div class="table-responsive">
                                            <table class="table table-sm prorata-stack prorata-change-lines">
                                                <thead>
                                                    <tr>
                                                        <th>{$lang.client_change_line|escape:'html'}</th>
                                                        <th class="text-right">{$lang.client_change_amount|escape:'html'}</th>
                                                    </tr>
                                                </thead>
                                                <tbody>
                                                    {foreach $change.lines as $line}
                                                        <tr>
                                                            <td class="prorata-name">{$line.description|escape:'html'}</td>
                                                            <td data-label="{$lang.client_change_amount|escape:'html'}" class="text-right">{$line.amount|escape:'html'}</td>
                                                        </tr>
                                                    {/foreach}
                                                </tbody>
                                            </table>
                                        </div>
                                    {/if}
                                    {if $change.kept}
                                        <p class="small mb-1 prorata-change-kept">{$lang.client_change_kept|escape:'html'}:
                                            {foreach $change.kept as $line}{if !$line@first}; {/if}{$line.description|escape:'html'} {$line.amount|escape:'html'}{/foreach}</p>
                                    {/if}
                                    <p class="small mb-0">{$lang.client_change_before|escape:'html'}: <span class="prorata-change-before">{$change.before|escape:'html'}</span>
                                        &middot; {$lang.client_change_after|escape:'html'}: <span class="prorata-change-after">{$change.after|escape:'html'}</span></p>
                                </div>
                            {/foreach}
                        </div>
                    {/if}
                    {if $can_align}
                        <button type="submit" class="btn btn-primary prorata-confirm">{if $confirm_label}{$confirm_label|escape:'html'}{else}{$lang.client_confirm|escape:'html'}{/if}</button>
                        <a href="clientarea.php" class="btn btn-default btn-outline-secondary">{$lang.client_not_now|escape:'html'}</a>
                    {/if}
                </form>
            {else}
                <div class="alert alert-info prorata-nothing" role="alert">{$lang.client_nothing|escape:'html'}</div>
            {/if}

            {if $skipped}
                <h4 class="h6 mt-4">{$lang.client_skipped_title|escape:'html'}</h4>
                <ul class="list-unstyled text-muted small prorata-skipped">
                    {foreach $skipped as $line}
                        <li data-item="{$line.key|escape:'html'}">{$line.name|escape:'html'}{if $line.domain} ({$line.domain|escape:'html'}){/if}: {$line.reason|escape:'html'}</li>
                    {/foreach}
                </ul>
            {/if}
        </div>
    </div>

{elseif $view == 'confirmed'}
    <div class="card prorata-confirmed">
        <div class="card-body">
            <div class="alert alert-success" role="alert">{$confirmed_message|escape:'html'}</div>
            {foreach $created as $invoice}
                <p class="prorata-created-invoice" data-invoice="{$invoice.id|escape:'html'}">
                    <strong>{$invoice.label|escape:'html'}</strong>:
                    {if $invoice.credit}{$lang.client_credit_applied|escape:'html'} -{$invoice.credit|escape:'html'}, {/if}{$lang.client_left_to_pay|escape:'html'} <span class="prorata-balance">{$invoice.total|escape:'html'}</span>, {$lang.client_due|escape:'html'} {$invoice.duedate|escape:'html'}
                    {if $invoice.payable}
                        <a href="{$invoice.url|escape:'html'}" class="btn btn-primary btn-sm ml-2 prorata-pay">{$lang.client_pay_now|escape:'html'}</a>
                    {/if}
                </p>
            {/foreach}
            <p class="text-muted small">{$lang.client_explain_dates|escape:'html'}</p>
        </div>
    </div>

{elseif $view == 'queued'}
    <div class="alert alert-info prorata-queued" role="alert">
        {if $queued_message}{$queued_message|escape:'html'}{else}{$lang.client_queued|escape:'html'}{/if}
        <a href="{$modulelink|escape:'html'}" class="alert-link">{$lang.client_reload|escape:'html'}</a>
    </div>
{/if}

</div>
