{* A long list's page links (lib/Admin/PageWindow.php): first, previous, a window, next, last. *}
{strip}
{if $pages}
<nav aria-label="{$label|escape}"><ul class="pagination pagination-sm {$class|escape}">
{foreach $pages as $page}
<li class="{if $page.active}active{/if}{if $page.disabled} disabled{/if}"{if $page.rel !== ''} data-rel="{$page.rel|escape}"{/if}>
{* a link without an address where there is nowhere to go: styled as Bootstrap styles the others *}
{if $page.href === '' || $page.disabled}<a aria-disabled="true"{if $page.title !== ''} title="{$page.title|escape}"{/if}>{$page.label|escape}</a>
{else}<a href="{$page.href|escape}"{if $page.title !== ''} title="{$page.title|escape}" aria-label="{$page.title|escape}"{/if}>{$page.label|escape}</a>{/if}
</li>
{/foreach}
</ul></nav>
{/if}
{/strip}
