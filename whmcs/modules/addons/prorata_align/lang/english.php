<?php
/**
 * Prorated Next Due Date: English language strings.
 *
 * WHMCS loads this file for the module's admin and client area pages and passes the strings
 * to them as $vars['_lang']. The configuration page and the activate / deactivate messages get
 * no $vars, so prorata_align_lang_string() reads this file for them.
 *
 * Setting labels (FriendlyName) are not here: they must stay identical to the labels the worker
 * uses in its messages (domain/settings.py), so they live next to the setting keys.
 */

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

// Module
$_ADDONLANG['module_description'] = 'Aligns the next due dates of a client\'s services and addons to one day of the month, with a prorated invoice for the days in between.';

// Activation and deactivation
$_ADDONLANG['activate_success'] = 'Prorated Next Due Date is active. Activation creates no tables: run the worker\'s "prorata db upgrade" command, which creates and upgrades the module\'s own tables, and start the worker. Then click Configure, give your admin roles access and fill in the settings.';
$_ADDONLANG['deactivate_success'] = 'Prorated Next Due Date is deactivated. No table was dropped: the module\'s own tables and the alignment history in them stay in the database, and the worker\'s own commands manage them.';

// Setting descriptions (shown next to each setting on the configuration page)
$_ADDONLANG['setting_client_area_button_desc'] = 'Tick to let clients align their own services from the client area (always to the Prorata Date below).';
$_ADDONLANG['setting_prorata_day_desc'] = 'Day of the month that next due dates are aligned to. Days 29-31 fall on the last day of shorter months.';
$_ADDONLANG['setting_prorate_monthly_desc'] = 'Tick to align services billed monthly.';
$_ADDONLANG['setting_prorate_quarterly_desc'] = 'Tick to align services billed quarterly.';
$_ADDONLANG['setting_prorate_semiannually_desc'] = 'Tick to align services billed semi-annually.';
$_ADDONLANG['setting_prorate_annually_desc'] = 'Tick to align services billed annually.';
$_ADDONLANG['setting_prorate_biennially_desc'] = 'Tick to align services billed biennially.';
$_ADDONLANG['setting_prorate_triennially_desc'] = 'Tick to align services billed triennially.';
$_ADDONLANG['setting_calculate_days_by_use_desc'] = 'Tick to charge by the real calendar days of each service\'s own cycle (leap years included). Untick to divide by the fixed "Days ..." numbers below.';
$_ADDONLANG['setting_days_month_desc'] = 'Days in a monthly cycle. Used when "Calculate days by date of use" is off.';
$_ADDONLANG['setting_days_quarter_desc'] = 'Days in a quarterly cycle. Used when "Calculate days by date of use" is off.';
$_ADDONLANG['setting_days_half_year_desc'] = 'Days in a semi-annual cycle. Used when "Calculate days by date of use" is off.';
$_ADDONLANG['setting_days_year_desc'] = 'Days in an annual cycle. Used when "Calculate days by date of use" is off.';
$_ADDONLANG['setting_days_two_year_desc'] = 'Days in a biennial cycle. Used when "Calculate days by date of use" is off.';
$_ADDONLANG['setting_days_three_year_desc'] = 'Days in a triennial cycle. Used when "Calculate days by date of use" is off.';
$_ADDONLANG['setting_align_addons_desc'] = 'Tick to align a service\'s product addons together with the service.';
$_ADDONLANG['setting_cancel_unpaid_after_days_desc'] = 'Days past its due date after which an unpaid alignment invoice is cancelled and the old dates come back. 0 = never.';
$_ADDONLANG['setting_redis_host_desc'] = 'Host name or IP address of the Redis server the worker takes its tasks from.';
$_ADDONLANG['setting_redis_port_desc'] = 'Port of that Redis server (usually 6379).';
$_ADDONLANG['setting_redis_password_desc'] = 'Password of that Redis server. Leave empty if it needs none.';
$_ADDONLANG['setting_redis_db_desc'] = 'Redis database number (0 or more), the same one the worker uses.';
$_ADDONLANG['setting_queue_desc'] = 'Name of the queue WHMCS sends tasks to; the worker must consume this queue.';
$_ADDONLANG['setting_preview_timeout_desc'] = 'Seconds to wait for the worker to answer a preview before showing a message.';
