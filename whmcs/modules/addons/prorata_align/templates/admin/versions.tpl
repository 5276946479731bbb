{* The addon's and the worker's versions: the footer line, or the warning when they differ. *}
{strip}
{if $warning}
<div class="alert alert-warning prorata-alert-warning" id="prorata-version-warning" role="alert">{$text|escape}</div>
{else}
<p class="text-muted small text-right" id="prorata-versions">{$text|escape}</p>
{/if}
{/strip}