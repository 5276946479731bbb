{* The day of a run and its cycles, with its button, in a well; the short months' warning below. *}
{strip}
<div class="well well-sm form-inline prorata-options">
<div class="form-group">
<label for="{$prefix}-day">{$lang.label_day|escape}</label> <select name="day" id="{$prefix}-day" class="form-control input-sm">
{for $day=1 to 31}
<option value="{$day}"{if $day === $chosen_day} selected{/if}>{$day}</option>
{/for}
</select>
</div> <span class="prorata-cycles"><strong>{$lang.label_cycles|escape}</strong> {foreach $cycles as $cycle}<label class="checkbox-inline{if !$cycle.enabled} text-muted{/if}"{if !$cycle.enabled} title="{$lang.cycle_off_in_settings|escape}"{/if}><input type="checkbox" name="cycles[]" value="{$cycle.value|escape}"{if $cycle.chosen} checked{/if}{if !$cycle.enabled} disabled{/if}> {$cycle.label|escape}</label> {/foreach}</span> <button type="submit" name="action" value="{$button.value}" class="btn btn-default btn-sm" id="{$button.id}">{$lang[$button.key]|escape}</button>
</div>
{if $chosen_day >= 29}
<div class="alert alert-warning prorata-alert-warning" id="{$prefix}-day-warning" role="alert">{$warning|escape}</div>
{/if}
{/strip}