{* The pending alignment lines a new alignment withdraws first (the preview's "withdraw"). *}
{strip}
<div class="alert alert-info prorata-withdraw"><p>{$lang.withdraw_intro|escape}</p>
<ul>
{foreach $items as $item}
<li data-record="{$item.record}">{$item.kind_text|escape} #{$item.id}: {$item.invoice_text|escape}, {$item.amount|escape}</li>
{/foreach}
</ul></div>
{/strip}