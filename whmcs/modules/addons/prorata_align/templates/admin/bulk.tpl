{* "Align many clients": the alerts, the form or the run, and the recent runs. *}
{strip}
<div class="prorata-bulk">
{foreach $alerts as $alert}
<div class="alert alert-{$alert.type} prorata-alert-{$alert.type}" role="alert">{$alert.html nofilter}</div>
{/foreach}
{$main_html nofilter}
{$runs_html nofilter}
</div>
{/strip}