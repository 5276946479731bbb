{* The admin page around its areas: intro, tabs, alerts, the areas' panels, the versions. *}
{strip}
<div class="prorata-align">
<p class="text-muted">{$lang.admin_intro|escape}</p>
<ul class="nav nav-tabs prorata-tabs" style="margin-bottom:15px">
{foreach $tabs as $tab}
<li role="presentation"{if $tab.active} class="active"{/if}>
<a href="{$tab.href|escape}" id="{$tab.id}">{$lang[$tab.key]|escape}</a>
</li>
{/foreach}
</ul>
{foreach $alerts as $alert}
<div class="alert alert-{$alert.type} prorata-alert-{$alert.type}" role="alert">{$alert.html nofilter}</div>
{/foreach}
{$version_warning_html nofilter}
{$panels_html nofilter}
{$versions_html nofilter}
</div>
{/strip}