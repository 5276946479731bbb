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
    [label, amount], credit, total), $free (lines aligned at no charge), $skipped, $pending
    (each: label, duedate, url, items, subtotal, taxes, credit, total), $created,
    $confirmed_message; $lines and $total (every line, every invoice's total added up) are
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
</tfoot>
{/function}
{* The lines of one invoice, each with a box to leave it out, and its totals when $totals is set. *}
{function name=prorata_lines}
<div class="table-responsive">
    <table class="table table-sm table-hover prorata-lines">
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
                    <td>
                        <input type="checkbox" name="services[]" value="{$line.key|escape:'html'}" checked
                            aria-label="{$line.name|escape:'html'}"{if !$can_align} disabled{/if}>
                    </td>
                    <td>{$line.name|escape:'html'}{if $line.domain}<br><small class="text-muted">{$line.domain|escape:'html'}</small>{/if}</td>
                    <td>{$line.cycle|escape:'html'}</td>
                    <td>{$line.old_due|escape:'html'}</td>
                    <td><strong>{$line.new_due|escape:'html'}</strong></td>
                    <td class="text-right">{$line.days|escape:'html'}</td>
                    <td class="text-right prorata-amount">{$line.amount|escape:'html'}</td>
                </tr>
            {/foreach}
        </tbody>
        {if $totals}
            {call name=prorata_totals totals=$totals span=6 lang=$lang}
        {/if}
    </table>
</div>
{/function}
<div class="prorata-align-client">

{foreach $errors as $error}
    <div class="alert alert-danger prorata-error" role="alert">{$error|escape:'html'}</div>
{/foreach}

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
            <p>{$lang.client_pending_intro|escape:'html'}</p>
            {if $read_only}
                <div class="alert alert-info prorata-read-only" role="alert">{$read_only|escape:'html'}</div>
            {/if}
            {foreach $pending as $invoice}
                <div class="prorata-pending-invoice mb-4" data-invoice="{$invoice.id|escape:'html'}">
                    <h4 class="h5">{$invoice.label|escape:'html'}
                        <small class="text-muted">&middot; {$lang.client_due|escape:'html'} {$invoice.duedate|escape:'html'}</small>
                    </h4>
                    <div class="table-responsive">
                        <table class="table table-sm">
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
                                        <td>{$item.name|escape:'html'}{if $item.domain} <small class="text-muted">{$item.domain|escape:'html'}</small>{/if}</td>
                                        <td>{$item.old_due|escape:'html'}</td>
                                        <td>{$item.new_due|escape:'html'}</td>
                                        <td class="text-right">{$item.amount|escape:'html'}</td>
                                    </tr>
                                {/foreach}
                            </tbody>
                            {call name=prorata_totals totals=$invoice span=3 lang=$lang}
                        </table>
                    </div>
                    {if $can_align}
                        <a href="{$invoice.url|escape:'html'}" class="btn btn-primary prorata-pay">{$lang.client_pay_now|escape:'html'}</a>
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
                    {if $can_align}
                        <button type="submit" class="btn btn-primary prorata-confirm">{$lang.client_confirm|escape:'html'}</button>
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
                    {$invoice.total|escape:'html'}, {$lang.client_due|escape:'html'} {$invoice.duedate|escape:'html'}
                    <a href="{$invoice.url|escape:'html'}" class="btn btn-primary btn-sm ml-2 prorata-pay">{$lang.client_pay_now|escape:'html'}</a>
                </p>
            {/foreach}
            <p class="text-muted small">{$lang.client_explain_dates|escape:'html'}</p>
        </div>
    </div>

{elseif $view == 'queued'}
    <div class="alert alert-info prorata-queued" role="alert">
        {$lang.client_queued|escape:'html'}
        <a href="{$modulelink|escape:'html'}" class="alert-link">{$lang.client_reload|escape:'html'}</a>
    </div>
{/if}

</div>
