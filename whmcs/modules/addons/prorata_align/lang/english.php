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

// Hooks: client summary page (admin area) and client area home page panel
$_ADDONLANG['admin_summary_link'] = 'Align due dates';
$_ADDONLANG['panel_title'] = 'Align your due dates';
$_ADDONLANG['panel_body_one'] = '%1$d of your services can move its next due date to day %2$d of the month.';
$_ADDONLANG['panel_body_many'] = '%1$d of your services can move their next due dates to day %2$d of the month, so they all renew together.';
$_ADDONLANG['panel_cost'] = 'To pay now: %s';
$_ADDONLANG['panel_button'] = 'Align due dates';

// Previews (the worker's answer)
$_ADDONLANG['preview_error_unreachable'] = 'The alignment service cannot be reached right now. Please try again in a few minutes.';
$_ADDONLANG['preview_error_timeout'] = 'The alignment service did not answer in time. Please try again in a few minutes.';
$_ADDONLANG['preview_error_failed'] = 'The alignment service could not prepare the preview: %s';

// Activity log
$_ADDONLANG['log_event_outbox'] = 'Prorated Next Due Date: Redis could not be used, so the event %2$s (%1$s) was kept in the outbox table for the worker to relay. Reason: %3$s';
$_ADDONLANG['log_event_lost'] = 'Prorated Next Due Date: the event %2$s (%1$s) could be neither sent to Redis (%3$s) nor kept in the outbox table (%4$s). Send it again by hand; its arguments: %5$s';
$_ADDONLANG['log_hook_failed'] = 'Prorated Next Due Date: the %1$s hook failed: %2$s';

// Admin page (Addons > Prorated Next Due Date)
$_ADDONLANG['admin_intro'] = 'Find a client, check the preview, then align the next due dates of their services to one day of the month. The new dates apply when the alignment invoice is paid.';
$_ADDONLANG['versions_footer'] = 'Prorated Next Due Date %1$s · worker %2$s';
$_ADDONLANG['versions_worker_unknown'] = 'not known yet (the next preview tells)';
$_ADDONLANG['versions_differ'] = 'The addon is version %1$s but the worker reports version %2$s: install the same release of both, or previews and alignments may not work as expected.';
$_ADDONLANG['search_title'] = 'Find a client';
$_ADDONLANG['search_label'] = 'Name, email, company or client ID';
$_ADDONLANG['search_placeholder'] = 'Name, email, company or client ID';
$_ADDONLANG['search_button'] = 'Search';
$_ADDONLANG['search_none'] = 'No client matches "%1$s".';
$_ADDONLANG['search_more'] = 'Only the first %1$s matches are shown: type more to narrow the search.';
$_ADDONLANG['search_preview'] = 'Preview';
$_ADDONLANG['preview_title'] = 'Preview for %1$s (client #%2$s)';
$_ADDONLANG['preview_facts'] = 'Today is %1$s; next due dates move to day %2$s of the month.';
$_ADDONLANG['preview_no_services'] = 'This client has no services or addons.';
$_ADDONLANG['mode_calendar'] = 'Amounts use the real calendar days of each service\'s cycle.';
$_ADDONLANG['mode_fixed'] = 'Amounts use the fixed numbers of days per cycle from the settings.';
$_ADDONLANG['label_day'] = 'Day of the month';
$_ADDONLANG['label_cycles'] = 'Billing cycles:';
$_ADDONLANG['cycle_monthly'] = 'Monthly';
$_ADDONLANG['cycle_quarterly'] = 'Quarterly';
$_ADDONLANG['cycle_semiannually'] = 'Semi-Annually';
$_ADDONLANG['cycle_annually'] = 'Annually';
$_ADDONLANG['cycle_biennially'] = 'Biennially';
$_ADDONLANG['cycle_triennially'] = 'Triennially';
$_ADDONLANG['cycle_off_in_settings'] = 'Turned off in the module settings';
$_ADDONLANG['button_refresh'] = 'Update preview';
$_ADDONLANG['warning_short_months'] = 'Not every month has a day %1$s: in shorter months the due date falls on the last day of the month (for example 28 or 29 February).';
$_ADDONLANG['col_id'] = 'ID';
$_ADDONLANG['col_name'] = 'Name';
$_ADDONLANG['col_company'] = 'Company';
$_ADDONLANG['col_email'] = 'Email';
$_ADDONLANG['col_status'] = 'Status';
$_ADDONLANG['col_item'] = 'Product / addon';
$_ADDONLANG['col_domain'] = 'Domain';
$_ADDONLANG['col_cycle'] = 'Cycle';
$_ADDONLANG['col_current_due'] = 'Current due date';
$_ADDONLANG['col_new_due'] = 'New due date';
$_ADDONLANG['col_days'] = 'Days';
$_ADDONLANG['col_amount'] = 'Amount';
$_ADDONLANG['col_payment_method'] = 'Payment method';
$_ADDONLANG['col_note'] = 'Note';
$_ADDONLANG['col_lines'] = 'Lines';
$_ADDONLANG['col_invoice_due'] = 'Invoice due';
$_ADDONLANG['col_subtotal'] = 'Subtotal';
$_ADDONLANG['col_tax'] = 'Tax';
$_ADDONLANG['col_tax2'] = 'Tax 2';
$_ADDONLANG['col_total'] = 'Total';
$_ADDONLANG['col_invoice'] = 'Invoice';
$_ADDONLANG['col_date'] = 'Date';
$_ADDONLANG['col_client'] = 'Client';
$_ADDONLANG['col_requested_by'] = 'Requested by';
$_ADDONLANG['col_state'] = 'State';
$_ADDONLANG['select_item'] = 'Align %1$s';
$_ADDONLANG['kind_service'] = 'Service';
$_ADDONLANG['kind_addon'] = 'Addon';
$_ADDONLANG['note_immediate'] = 'Nothing to charge: the dates move at once.';
$_ADDONLANG['reason_status'] = 'Skipped: only active and suspended services are aligned (this one is %1$s).';
$_ADDONLANG['reason_cycle_not_recurring'] = 'Skipped: not a recurring billing cycle.';
$_ADDONLANG['reason_cycle_disabled'] = 'Skipped: this billing cycle is not aligned (module settings or the cycles chosen above).';
$_ADDONLANG['reason_no_due_date'] = 'Skipped: it has no next due date.';
$_ADDONLANG['reason_already_aligned'] = 'Skipped: already due on the chosen day.';
$_ADDONLANG['reason_not_selected'] = 'Left out (unticked).';
$_ADDONLANG['reason_addons_disabled'] = 'Skipped: product addons are not aligned (setting "Align product addons").';
$_ADDONLANG['reason_blocked'] = 'Blocked by an invoice with a payment or credit on it, or in Payment Pending or Collections.';
$_ADDONLANG['reason_blocked_short'] = 'Blocked';
$_ADDONLANG['reason_blocked_before'] = 'its renewal is on';
$_ADDONLANG['reason_blocked_after'] = 'which has a payment or credit on it, or is in Payment Pending or Collections: settle that invoice first.';
$_ADDONLANG['invoice_number'] = 'Invoice #%1$s';
$_ADDONLANG['totals_title'] = 'Invoices to be created (one per payment method)';
$_ADDONLANG['totals_none'] = 'No invoice: nothing to charge.';
$_ADDONLANG['button_align'] = 'Align';
$_ADDONLANG['align_help'] = 'Creates the invoices above; the due dates move once they are paid.';
$_ADDONLANG['confirm_align'] = 'Align %1$s service(s) of %2$s to day %3$s of the month and create the invoices?';
$_ADDONLANG['align_options_changed'] = 'The day, the cycles or the ticked services changed since the preview: check the new preview below, then click Align again.';
$_ADDONLANG['result_title'] = 'Alignment of %1$s (client #%2$s)';
$_ADDONLANG['align_done'] = 'Aligned: %1$s service(s), %2$s invoice(s) created. The due dates move when the invoices are paid.';
$_ADDONLANG['align_nothing'] = 'Nothing was aligned: no service could be aligned with these options.';
$_ADDONLANG['align_repeat'] = 'This request had already been handled; these are its results.';
$_ADDONLANG['align_immediate'] = '%1$s service(s) with nothing to charge moved to the new date at once.';
$_ADDONLANG['align_changed_invoice'] = 'Renewal lines were removed from unpaid invoice #%1$s, which was recalculated.';
$_ADDONLANG['align_deleted_invoice'] = 'Unpaid invoice #%1$s was left with no lines and deleted.';
$_ADDONLANG['align_pay_note'] = 'Each invoice is a proforma invoice: when it is paid the services move to their new due dates. Cancelling it puts the old dates back.';
$_ADDONLANG['align_queued'] = 'The alignment was sent to the worker (request %1$s) but its result is not in yet. It will be done shortly: the list of alignments below shows it once it is.';
$_ADDONLANG['align_outbox'] = 'Redis could not be reached: the request (%1$s) was saved and the worker will pick it up as soon as it can.';
$_ADDONLANG['align_failed'] = 'The worker could not align this client: %1$s';
$_ADDONLANG['align_rejected'] = 'The worker refused the alignment: %1$s';
$_ADDONLANG['button_back_to_preview'] = 'Back to the preview';
$_ADDONLANG['alignments_title'] = 'Alignments';
$_ADDONLANG['alignments_title_client'] = 'Alignments of %1$s';
$_ADDONLANG['alignments_all_clients'] = 'Show all clients';
$_ADDONLANG['alignments_none'] = 'No alignments to show.';
$_ADDONLANG['alignments_count'] = '%1$s alignment line(s).';
$_ADDONLANG['label_state'] = 'State';
$_ADDONLANG['state_all'] = 'All';
$_ADDONLANG['state_pending'] = 'Pending';
$_ADDONLANG['state_paid'] = 'Paid';
$_ADDONLANG['state_cancelled'] = 'Cancelled';
$_ADDONLANG['state_expired'] = 'Expired';
$_ADDONLANG['state_superseded'] = 'Superseded';
$_ADDONLANG['state_withdrawn'] = 'Withdrawn';
$_ADDONLANG['overpayments_title'] = 'Overpayments to settle';
$_ADDONLANG['overpayments_intro'] = 'These invoices were paid for days the client had already paid for, or for an alignment that was no longer pending. The due dates were kept at the latest paid-through date; refund or credit the amount.';
$_ADDONLANG['overpayments_records'] = 'Alignments';
$_ADDONLANG['overpayments_resolve'] = 'Mark settled';
$_ADDONLANG['overpayments_resolved'] = 'The overpayment on invoice #%1$s is marked settled.';
$_ADDONLANG['log_overpayment_resolved'] = 'Prorated Next Due Date: overpayment on invoice #%1$s marked settled';
$_ADDONLANG['withdraw_intro'] = 'Aligning withdraws these pending alignments first: their lines leave their unpaid invoices (an emptied invoice is cancelled).';
$_ADDONLANG['button_filter'] = 'Filter';
$_ADDONLANG['button_cancel_invoice'] = 'Cancel invoice';
$_ADDONLANG['confirm_cancel'] = 'Cancel invoice #%1$s? The services keep their old due dates.';
$_ADDONLANG['cancel_done'] = 'Invoice #%1$s was cancelled; the services keep their old due dates.';
$_ADDONLANG['requested_by_admin'] = 'Admin #%1$s';
$_ADDONLANG['requested_by_client'] = 'Client';
$_ADDONLANG['requested_by_bulk'] = 'Bulk run';
$_ADDONLANG['error_settings'] = 'The module settings cannot be used: %1$s. Correct them under System Settings > Addon Modules.';
$_ADDONLANG['error_token'] = 'The form has expired or did not come from this page (security token missing or invalid). Nothing was changed: please try again.';
$_ADDONLANG['error_day'] = 'The day must be a whole number from 1 to 31, not "%1$s". Nothing was sent.';
$_ADDONLANG['error_client'] = 'There is no client with the ID "%1$s". Nothing was sent.';
$_ADDONLANG['error_cycle'] = 'Unknown billing cycle "%1$s". Nothing was sent.';
$_ADDONLANG['error_no_cycle'] = 'Choose at least one billing cycle that the module settings allow. Nothing was sent.';
$_ADDONLANG['error_service'] = 'Not a service or addon: "%1$s". Nothing was sent.';
$_ADDONLANG['error_not_owned'] = 'The service or addon %1$s does not belong to this client. Nothing was sent.';
$_ADDONLANG['error_nothing_selected'] = 'No service is ticked: tick at least one to align.';
$_ADDONLANG['error_not_kept'] = 'The request could be neither sent to Redis nor saved for later: %1$s';
$_ADDONLANG['error_preview_unreachable'] = 'The worker cannot be reached (Redis: %1$s). Check that Redis and the prorata-align worker are running and that the Redis settings of the module are right.';
$_ADDONLANG['error_preview_timeout'] = 'The worker did not answer in time (%1$s). Check that the prorata-align worker is running and consumes the queue set in the module settings, or raise "Preview wait (seconds)".';
$_ADDONLANG['error_preview_failed'] = 'The worker could not make the preview: %1$s';
$_ADDONLANG['error_invoice'] = 'Not an invoice number: "%1$s".';
$_ADDONLANG['error_cancel_not_pending'] = 'Invoice #%1$s holds no pending alignment. Nothing was changed.';
$_ADDONLANG['error_cancel_status'] = 'Invoice #%1$s is %2$s: only an unpaid alignment invoice can be cancelled here. Nothing was changed.';
$_ADDONLANG['error_cancel_api'] = 'WHMCS could not cancel invoice #%1$s: %2$s';
$_ADDONLANG['error_no_tables'] = 'The module\'s tables do not exist yet: run the worker\'s "prorata db upgrade" command.';

// Client area page (index.php?m=prorata_align)
$_ADDONLANG['client_title'] = 'Align my due dates';
$_ADDONLANG['client_login'] = 'Please log in to align your due dates.';
$_ADDONLANG['client_disabled'] = 'Aligning due dates is not available. Please contact us if you would like your services to renew on the same day.';
$_ADDONLANG['client_offer_title'] = 'One renewal day for all your services';
$_ADDONLANG['client_offer_intro'] = 'Your services can all fall due on day %1$s of each month, so that they renew together.';
$_ADDONLANG['client_explain_pay'] = 'You pay once now for the days from each service\'s current due date up to its new due date.';
$_ADDONLANG['client_explain_dates'] = 'Your due dates change as soon as that invoice is paid. If it is not paid, nothing changes.';
$_ADDONLANG['client_explain_after'] = 'After that, each service renews on the new date at its usual price and billing cycle.';
$_ADDONLANG['client_day_warning'] = 'Not every month has a day %1$s: in shorter months your services fall due on the last day of the month.';
$_ADDONLANG['client_col_include'] = 'Include';
$_ADDONLANG['client_col_service'] = 'Service';
$_ADDONLANG['client_col_cycle'] = 'Billing cycle';
$_ADDONLANG['client_col_current_due'] = 'Current due date';
$_ADDONLANG['client_col_new_due'] = 'New due date';
$_ADDONLANG['client_col_days'] = 'Days';
$_ADDONLANG['client_col_amount'] = 'To pay';
$_ADDONLANG['client_total_now'] = 'Total to pay now';
$_ADDONLANG['client_total'] = 'Total';
$_ADDONLANG['client_several_invoices'] = 'Your services are paid with different payment methods, so you get one invoice for each.';
$_ADDONLANG['client_confirm'] = 'Confirm and create my invoice';
$_ADDONLANG['client_not_now'] = 'Not now';
$_ADDONLANG['client_nothing'] = 'There is nothing to align: your services already renew on that day, or cannot be aligned.';
$_ADDONLANG['client_skipped_title'] = 'Not included';
$_ADDONLANG['client_reason_status'] = 'not active';
$_ADDONLANG['client_reason_cycle_not_recurring'] = 'not billed on a recurring cycle';
$_ADDONLANG['client_reason_cycle_disabled'] = 'its billing cycle cannot be aligned';
$_ADDONLANG['client_reason_no_due_date'] = 'no due date';
$_ADDONLANG['client_reason_already_aligned'] = 'already due on that day';
$_ADDONLANG['client_reason_not_selected'] = 'left out';
$_ADDONLANG['client_reason_addons_disabled'] = 'addons are not aligned';
$_ADDONLANG['client_reason_blocked'] = 'waiting for invoice #%1$s to be settled first';
$_ADDONLANG['client_pending_title'] = 'Your alignment is waiting for payment';
$_ADDONLANG['client_pending_intro'] = 'You have already asked to align your due dates. Pay the invoice below and your services move to their new due dates.';
$_ADDONLANG['client_due'] = 'due';
$_ADDONLANG['client_pay_now'] = 'Pay now';
$_ADDONLANG['client_confirmed'] = 'Done: %1$s service(s) will move to the new due date. Your invoice is ready.';
$_ADDONLANG['client_confirmed_free'] = 'Done: %1$s service(s) moved to the new due date. There was nothing to pay.';
$_ADDONLANG['client_queued'] = 'Your request was received and your invoice is being prepared.';
$_ADDONLANG['client_reload'] = 'Refresh this page in a moment.';
$_ADDONLANG['client_error_token'] = 'Your session has expired or the form did not come from this page. Nothing was changed: please try again.';
$_ADDONLANG['client_error_not_owned'] = 'That request included a service that is not yours. Nothing was changed.';
$_ADDONLANG['client_error_input'] = 'That request was not valid. Nothing was changed.';
$_ADDONLANG['client_error_nothing_selected'] = 'Tick at least one service to align.';
$_ADDONLANG['client_error_pending'] = 'You already have an alignment waiting for payment.';
$_ADDONLANG['client_error_preview'] = 'We cannot show your new due dates right now. Please try again in a few minutes.';
$_ADDONLANG['client_error_unavailable'] = 'Aligning due dates is not available right now. Please try again later or contact us.';
$_ADDONLANG['client_error_failed'] = 'Your due dates could not be aligned. Please contact us.';
$_ADDONLANG['client_back'] = 'Back to my services';

// Admin page: services waiting for unsuspension after their alignment invoice was paid
$_ADDONLANG['unsuspend_title'] = 'Waiting for unsuspension';
$_ADDONLANG['unsuspend_intro'] = 'These services were suspended for overdue payment and their alignment invoice is now paid. Paying the renewal would have unsuspended them; the worker does so through the WHMCS API (ModuleUnsuspend) when its API credentials are set. Until then, or when the call failed, unsuspend them by hand: a service leaves this list once it is no longer suspended.';
$_ADDONLANG['unsuspend_col_service'] = 'Service';
$_ADDONLANG['unsuspend_col_since'] = 'Since';
$_ADDONLANG['unsuspend_service_number'] = 'Service #%1$s';
$_ADDONLANG['unsuspend_state_waiting'] = 'Waiting';
$_ADDONLANG['unsuspend_state_failed'] = 'API call failed';
// What an invoice will read (client page and home page panel)
$_ADDONLANG['tax_default_name'] = 'Tax';
$_ADDONLANG['panel_invoice_of'] = 'Invoice %1$d of %2$d';
$_ADDONLANG['panel_subtotal'] = 'Subtotal: %s';
$_ADDONLANG['panel_tax'] = '%1$s: %2$s';
$_ADDONLANG['panel_credit'] = 'Credit: %s';
$_ADDONLANG['panel_discount'] = 'Client discount: %s';
$_ADDONLANG['panel_waiting_title'] = 'Your alignment invoices';
$_ADDONLANG['panel_waiting_body'] = 'Your services move to their new due date as soon as these invoices are paid.';
$_ADDONLANG['panel_waiting_invoice'] = 'Invoice #%1$d';
$_ADDONLANG['panel_waiting_button'] = 'See the details';
$_ADDONLANG['client_invoice_of'] = 'Invoice %1$s of %2$s';
$_ADDONLANG['client_subtotal'] = 'Subtotal';
$_ADDONLANG['client_credit'] = 'Credit';
$_ADDONLANG['client_discount'] = 'Client discount';
$_ADDONLANG['client_no_charge'] = 'No charge: these move to the new due date at once';
$_ADDONLANG['client_read_only'] = 'Only the account owner, or a user allowed to view and pay invoices, can align the due dates of this account. Please ask the account owner.';

// Health panel (admin page)
$_ADDONLANG['health_title'] = 'Worker health';
$_ADDONLANG['health_ok'] = 'OK';
$_ADDONLANG['health_attention'] = 'Attention';
$_ADDONLANG['health_unknown'] = 'Not tested';
$_ADDONLANG['health_worker'] = 'Worker';
$_ADDONLANG['health_worker_answered'] = 'Answered the last test %1$s: %2$s, version %3$s.';
$_ADDONLANG['health_worker_down'] = 'Did not answer a preview or a test %1$s.';
$_ADDONLANG['health_worker_untested'] = 'Not tested yet: use "Test connection".';
$_ADDONLANG['health_redis_down'] = 'Redis cannot be reached: %1$s';
$_ADDONLANG['health_beat_jobs'] = 'Beat jobs';
$_ADDONLANG['health_beat'] = 'Beat job %1$s';
$_ADDONLANG['health_beat_last'] = 'Last run %1$s (%2$s).';
$_ADDONLANG['health_beat_stale'] = 'Last run %1$s (%2$s), but it runs every %3$d seconds: is "prorata beat" running?';
$_ADDONLANG['health_beat_never'] = 'Never ran: is "prorata beat" running?';
$_ADDONLANG['health_beat_failed'] = 'Last run %1$s failed: %2$s';
$_ADDONLANG['health_outcome_ok'] = 'done';
$_ADDONLANG['health_outcome_idle'] = 'nothing to do';
$_ADDONLANG['health_failed_jobs'] = 'Failed jobs';
$_ADDONLANG['health_failed_jobs_count'] = '%1$d open (the worker\'s "prorata cron" lists them).';
$_ADDONLANG['health_outbox'] = 'Outbox';
$_ADDONLANG['health_outbox_empty'] = 'No event waiting.';
$_ADDONLANG['health_outbox_count'] = '%1$d events waiting, the oldest since %2$s.';
$_ADDONLANG['health_dead_letters'] = 'Dead letters';
$_ADDONLANG['health_dead_letters_count'] = '%1$d in the Redis list %2$s.';
$_ADDONLANG['health_no_tables'] = 'The module\'s tables are missing or out of date: run the worker\'s "prorata db upgrade" command.';
$_ADDONLANG['health_test_button'] = 'Test connection';
$_ADDONLANG['health_test_ok'] = 'The worker answered in %1$d ms: %2$s, version %3$s.';
$_ADDONLANG['health_test_timeout'] = 'No worker answered within %1$s seconds on the queue %2$s. Check that the worker runs, on this queue and this Redis.';
$_ADDONLANG['health_test_failed'] = 'The worker could not answer the test: %1$s';
$_ADDONLANG['health_test_unreachable'] = 'Nothing was sent, Redis cannot be reached: %1$s';
$_ADDONLANG['health_age_s'] = '%1$d s ago';
$_ADDONLANG['health_age_min'] = '%1$d min ago';
$_ADDONLANG['health_age_h'] = '%1$d h ago';
