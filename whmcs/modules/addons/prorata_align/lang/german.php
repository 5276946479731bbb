<?php
/**
 * Prorated Next Due Date: German language strings.
 *
 * The same keys as english.php, in the same order; the placeholders (%1$s, %2$d, ...) mean
 * the same values. Setting labels stay English there, as WHMCS shows them.
 */

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

// Module
$_ADDONLANG['module_description'] = 'Richtet die nächsten Fälligkeitsdaten der Dienste und Addons eines Kunden auf einen Tag des Monats aus, mit einer anteiligen Rechnung für die Tage dazwischen.';

// Activation and deactivation
$_ADDONLANG['activate_success'] = 'Prorated Next Due Date ist aktiviert. Die Aktivierung legt keine Tabellen an: Führen Sie den Befehl "prorata db upgrade" des Workers aus, der die eigenen Tabellen des Moduls anlegt und aktualisiert, und starten Sie den Worker. Klicken Sie dann auf Konfigurieren, geben Sie Ihren Admin-Rollen Zugriff und füllen Sie die Einstellungen aus.';
$_ADDONLANG['deactivate_success'] = 'Prorated Next Due Date ist deaktiviert. Keine Tabelle wurde gelöscht: Die eigenen Tabellen des Moduls und der Verlauf der Ausrichtungen darin bleiben in der Datenbank; die Befehle des Workers verwalten sie.';

// Setting descriptions (shown next to each setting on the configuration page)
$_ADDONLANG['setting_client_area_button_desc'] = 'Ankreuzen, damit Kunden ihre eigenen Dienste im Kundenbereich ausrichten können (immer auf das Prorata-Datum unten).';
$_ADDONLANG['setting_prorata_day_desc'] = 'Tag des Monats, auf den die nächsten Fälligkeitsdaten ausgerichtet werden. Die Tage 29-31 fallen in kürzeren Monaten auf den letzten Tag.';
$_ADDONLANG['setting_prorate_monthly_desc'] = 'Ankreuzen, um monatlich abgerechnete Dienste auszurichten.';
$_ADDONLANG['setting_prorate_quarterly_desc'] = 'Ankreuzen, um vierteljährlich abgerechnete Dienste auszurichten.';
$_ADDONLANG['setting_prorate_semiannually_desc'] = 'Ankreuzen, um halbjährlich abgerechnete Dienste auszurichten.';
$_ADDONLANG['setting_prorate_annually_desc'] = 'Ankreuzen, um jährlich abgerechnete Dienste auszurichten.';
$_ADDONLANG['setting_prorate_biennially_desc'] = 'Ankreuzen, um zweijährlich abgerechnete Dienste auszurichten.';
$_ADDONLANG['setting_prorate_triennially_desc'] = 'Ankreuzen, um dreijährlich abgerechnete Dienste auszurichten.';
$_ADDONLANG['setting_calculate_days_by_use_desc'] = 'Ankreuzen, um nach den echten Kalendertagen des Zyklus jedes Dienstes abzurechnen (Schaltjahre eingeschlossen). Nicht angekreuzt wird durch die festen "Tage ..."-Werte unten geteilt.';
$_ADDONLANG['setting_days_month_desc'] = 'Tage eines monatlichen Zyklus. Gilt, wenn "Calculate days by date of use" aus ist.';
$_ADDONLANG['setting_days_quarter_desc'] = 'Tage eines vierteljährlichen Zyklus. Gilt, wenn "Calculate days by date of use" aus ist.';
$_ADDONLANG['setting_days_half_year_desc'] = 'Tage eines halbjährlichen Zyklus. Gilt, wenn "Calculate days by date of use" aus ist.';
$_ADDONLANG['setting_days_year_desc'] = 'Tage eines jährlichen Zyklus. Gilt, wenn "Calculate days by date of use" aus ist.';
$_ADDONLANG['setting_days_two_year_desc'] = 'Tage eines zweijährlichen Zyklus. Gilt, wenn "Calculate days by date of use" aus ist.';
$_ADDONLANG['setting_days_three_year_desc'] = 'Tage eines dreijährlichen Zyklus. Gilt, wenn "Calculate days by date of use" aus ist.';
$_ADDONLANG['setting_align_addons_desc'] = 'Ankreuzen, um die Produkt-Addons eines Dienstes zusammen mit dem Dienst auszurichten.';
$_ADDONLANG['setting_cancel_unpaid_after_days_desc'] = 'Tage nach ihrer Fälligkeit, nach denen eine unbezahlte Ausrichtungsrechnung storniert wird und die alten Daten zurückkehren. 0 = nie.';
$_ADDONLANG['setting_redis_host_desc'] = 'Hostname oder IP-Adresse des Redis-Servers, von dem der Worker seine Aufgaben holt.';
$_ADDONLANG['setting_redis_port_desc'] = 'Port dieses Redis-Servers (meist 6379).';
$_ADDONLANG['setting_redis_password_desc'] = 'Passwort dieses Redis-Servers. Leer lassen, wenn keines nötig ist.';
$_ADDONLANG['setting_redis_db_desc'] = 'Nummer der Redis-Datenbank (0 oder mehr), dieselbe, die der Worker verwendet.';
$_ADDONLANG['setting_queue_desc'] = 'Name der Warteschlange, an die WHMCS Aufgaben sendet; der Worker muss diese Warteschlange abarbeiten.';
$_ADDONLANG['setting_preview_timeout_desc'] = 'Sekunden, die auf die Antwort des Workers zu einer Vorschau gewartet wird, bevor eine Meldung erscheint.';

// Hooks: client summary page (admin area) and client area home page panel
$_ADDONLANG['admin_summary_link'] = 'Fälligkeitsdaten ausrichten';
$_ADDONLANG['panel_title'] = 'Fälligkeitsdaten ausrichten';
$_ADDONLANG['panel_body_one'] = '%1$d Ihrer Dienste kann sein nächstes Fälligkeitsdatum auf den %2$d. des Monats legen.';
$_ADDONLANG['panel_body_many'] = '%1$d Ihrer Dienste können ihre nächsten Fälligkeitsdaten auf den %2$d. des Monats legen, damit sie alle gemeinsam verlängert werden.';
$_ADDONLANG['panel_cost'] = 'Jetzt zu zahlen: %s';
$_ADDONLANG['panel_button'] = 'Fälligkeitsdaten ausrichten';

// Previews (the worker's answer)
$_ADDONLANG['preview_error_unreachable'] = 'Der Ausrichtungsdienst ist gerade nicht erreichbar. Bitte versuchen Sie es in einigen Minuten erneut.';
$_ADDONLANG['preview_error_timeout'] = 'Der Ausrichtungsdienst hat nicht rechtzeitig geantwortet. Bitte versuchen Sie es in einigen Minuten erneut.';
$_ADDONLANG['preview_error_failed'] = 'Der Ausrichtungsdienst konnte die Vorschau nicht erstellen: %s';

// Activity log
$_ADDONLANG['log_event_outbox'] = 'Prorated Next Due Date: Redis war nicht nutzbar, daher wurde das Ereignis %2$s (%1$s) in der Outbox-Tabelle abgelegt, damit der Worker es weiterleitet. Grund: %3$s';
$_ADDONLANG['log_event_lost'] = 'Prorated Next Due Date: Das Ereignis %2$s (%1$s) konnte weder an Redis gesendet (%3$s) noch in der Outbox-Tabelle abgelegt werden (%4$s). Senden Sie es von Hand erneut; seine Argumente: %5$s';
$_ADDONLANG['log_hook_failed'] = 'Prorated Next Due Date: Der Hook %1$s ist fehlgeschlagen: %2$s';

// Admin page (Addons > Prorated Next Due Date)
$_ADDONLANG['admin_intro'] = 'Suchen Sie einen Kunden, prüfen Sie die Vorschau und richten Sie dann die nächsten Fälligkeitsdaten seiner Dienste auf einen Tag des Monats aus. Die neuen Daten gelten, sobald die Ausrichtungsrechnung bezahlt ist.';
$_ADDONLANG['versions_footer'] = 'Prorated Next Due Date %1$s · Worker %2$s';
$_ADDONLANG['versions_worker_unknown'] = 'noch unbekannt (die nächste Vorschau zeigt es)';
$_ADDONLANG['versions_differ'] = 'Das Addon hat die Version %1$s, der Worker meldet aber die Version %2$s: Installieren Sie auf beiden Seiten dieselbe Version, sonst funktionieren Vorschau und Ausrichtung womöglich nicht wie erwartet.';
$_ADDONLANG['search_title'] = 'Kunden suchen';
$_ADDONLANG['search_label'] = 'Name, E-Mail, Firma oder Kunden-ID';
$_ADDONLANG['search_placeholder'] = 'Name, E-Mail, Firma oder Kunden-ID';
$_ADDONLANG['search_button'] = 'Suchen';
$_ADDONLANG['search_none'] = 'Kein Kunde passt zu "%1$s".';
$_ADDONLANG['search_more'] = 'Nur die ersten %1$s Treffer werden gezeigt: Geben Sie mehr ein, um die Suche einzugrenzen.';
$_ADDONLANG['search_preview'] = 'Vorschau';
$_ADDONLANG['preview_title'] = 'Vorschau für %1$s (Kunde #%2$s)';
$_ADDONLANG['preview_facts'] = 'Heute ist der %1$s; die nächsten Fälligkeitsdaten rücken auf den %2$s. des Monats.';
$_ADDONLANG['preview_no_services'] = 'Dieser Kunde hat keine Dienste oder Addons.';
$_ADDONLANG['mode_calendar'] = 'Die Beträge rechnen mit den echten Kalendertagen des Zyklus jedes Dienstes.';
$_ADDONLANG['mode_fixed'] = 'Die Beträge rechnen mit den festen Tageszahlen je Zyklus aus den Einstellungen.';
$_ADDONLANG['label_day'] = 'Tag des Monats';
$_ADDONLANG['label_cycles'] = 'Abrechnungszyklen:';
$_ADDONLANG['cycle_monthly'] = 'Monatlich';
$_ADDONLANG['cycle_quarterly'] = 'Vierteljährlich';
$_ADDONLANG['cycle_semiannually'] = 'Halbjährlich';
$_ADDONLANG['cycle_annually'] = 'Jährlich';
$_ADDONLANG['cycle_biennially'] = 'Zweijährlich';
$_ADDONLANG['cycle_triennially'] = 'Dreijährlich';
$_ADDONLANG['cycle_off_in_settings'] = 'In den Moduleinstellungen ausgeschaltet';
$_ADDONLANG['button_refresh'] = 'Vorschau aktualisieren';
$_ADDONLANG['warning_short_months'] = 'Nicht jeder Monat hat einen %1$s. Tag: In kürzeren Monaten fällt das Fälligkeitsdatum auf den letzten Tag des Monats (zum Beispiel den 28. oder 29. Februar).';
$_ADDONLANG['col_id'] = 'ID';
$_ADDONLANG['col_name'] = 'Name';
$_ADDONLANG['col_company'] = 'Firma';
$_ADDONLANG['col_email'] = 'E-Mail';
$_ADDONLANG['col_status'] = 'Status';
$_ADDONLANG['col_item'] = 'Produkt / Addon';
$_ADDONLANG['col_domain'] = 'Domain';
$_ADDONLANG['col_cycle'] = 'Zyklus';
$_ADDONLANG['col_current_due'] = 'Aktuelle Fälligkeit';
$_ADDONLANG['col_new_due'] = 'Neue Fälligkeit';
$_ADDONLANG['col_days'] = 'Tage';
$_ADDONLANG['col_amount'] = 'Betrag';
$_ADDONLANG['col_payment_method'] = 'Zahlungsart';
$_ADDONLANG['col_note'] = 'Hinweis';
$_ADDONLANG['col_lines'] = 'Positionen';
$_ADDONLANG['col_invoice_due'] = 'Rechnung fällig';
$_ADDONLANG['col_subtotal'] = 'Zwischensumme';
$_ADDONLANG['col_tax'] = 'Steuer';
$_ADDONLANG['col_tax2'] = 'Steuer 2';
$_ADDONLANG['col_total'] = 'Gesamt';
$_ADDONLANG['col_invoice'] = 'Rechnung';
$_ADDONLANG['col_date'] = 'Datum';
$_ADDONLANG['col_client'] = 'Kunde';
$_ADDONLANG['col_requested_by'] = 'Angefordert von';
$_ADDONLANG['col_state'] = 'Stand';
$_ADDONLANG['select_item'] = '%1$s ausrichten';
$_ADDONLANG['kind_service'] = 'Dienst';
$_ADDONLANG['kind_addon'] = 'Addon';
$_ADDONLANG['note_immediate'] = 'Nichts zu berechnen: Die Daten rücken sofort.';
$_ADDONLANG['reason_status'] = 'Übersprungen: Nur aktive und gesperrte Dienste werden ausgerichtet (dieser ist %1$s).';
$_ADDONLANG['reason_cycle_not_recurring'] = 'Übersprungen: kein wiederkehrender Abrechnungszyklus.';
$_ADDONLANG['reason_cycle_disabled'] = 'Übersprungen: Dieser Abrechnungszyklus wird nicht ausgerichtet (Moduleinstellungen oder die oben gewählten Zyklen).';
$_ADDONLANG['reason_no_due_date'] = 'Übersprungen: kein nächstes Fälligkeitsdatum.';
$_ADDONLANG['reason_already_aligned'] = 'Übersprungen: bereits am gewählten Tag fällig.';
$_ADDONLANG['reason_not_selected'] = 'Ausgelassen (nicht angekreuzt).';
$_ADDONLANG['reason_addons_disabled'] = 'Übersprungen: Produkt-Addons werden nicht ausgerichtet (Einstellung "Align product addons").';
$_ADDONLANG['reason_blocked'] = 'Blockiert durch eine Rechnung mit einer Zahlung oder einem Guthaben darauf, oder im Status Payment Pending oder Collections.';
$_ADDONLANG['reason_blocked_short'] = 'Blockiert';
$_ADDONLANG['reason_blocked_before'] = 'die Verlängerung steht auf';
$_ADDONLANG['reason_blocked_after'] = 'die eine Zahlung oder ein Guthaben trägt oder im Status Payment Pending oder Collections ist: Begleichen Sie zuerst diese Rechnung.';
$_ADDONLANG['invoice_number'] = 'Rechnung #%1$s';
$_ADDONLANG['totals_title'] = 'Zu erstellende Rechnungen (eine je Zahlungsart)';
$_ADDONLANG['totals_none'] = 'Keine Rechnung: nichts zu berechnen.';
$_ADDONLANG['button_align'] = 'Ausrichten';
$_ADDONLANG['align_help'] = 'Erstellt die Rechnungen oben; die Fälligkeitsdaten rücken, sobald sie bezahlt sind.';
$_ADDONLANG['confirm_align'] = '%1$s Dienst(e) von %2$s auf den %3$s. des Monats ausrichten und die Rechnungen erstellen?';
$_ADDONLANG['align_options_changed'] = 'Der Tag, die Zyklen oder die angekreuzten Dienste haben sich seit der Vorschau geändert: Prüfen Sie die neue Vorschau unten und klicken Sie dann erneut auf Ausrichten.';
$_ADDONLANG['result_title'] = 'Ausrichtung von %1$s (Kunde #%2$s)';
$_ADDONLANG['align_done'] = 'Ausgerichtet: %1$s Dienst(e), %2$s Rechnung(en) erstellt. Die Fälligkeitsdaten rücken, sobald die Rechnungen bezahlt sind.';
$_ADDONLANG['align_nothing'] = 'Nichts wurde ausgerichtet: Mit diesen Optionen ließ sich kein Dienst ausrichten.';
$_ADDONLANG['align_repeat'] = 'Diese Anfrage war bereits bearbeitet; dies sind ihre Ergebnisse.';
$_ADDONLANG['align_immediate'] = '%1$s Dienst(e) ohne Betrag sind sofort auf das neue Datum gerückt.';
$_ADDONLANG['align_changed_invoice'] = 'Verlängerungspositionen wurden aus der unbezahlten Rechnung #%1$s entfernt, die neu berechnet wurde.';
$_ADDONLANG['align_deleted_invoice'] = 'Die unbezahlte Rechnung #%1$s hatte keine Positionen mehr und wurde gelöscht.';
$_ADDONLANG['align_pay_note'] = 'Jede Rechnung ist eine Proforma-Rechnung: Sobald sie bezahlt ist, rücken die Dienste auf ihre neuen Fälligkeitsdaten. Eine Stornierung stellt die alten Daten wieder her.';
$_ADDONLANG['align_queued'] = 'Die Ausrichtung wurde an den Worker gesendet (Anfrage %1$s), ihr Ergebnis liegt aber noch nicht vor. Sie wird in Kürze erledigt: Die Liste der Ausrichtungen unten zeigt sie dann.';
$_ADDONLANG['align_outbox'] = 'Redis war nicht erreichbar: Die Anfrage (%1$s) wurde gespeichert und der Worker übernimmt sie, sobald er kann.';
$_ADDONLANG['align_failed'] = 'Der Worker konnte diesen Kunden nicht ausrichten: %1$s';
$_ADDONLANG['align_rejected'] = 'Der Worker hat die Ausrichtung abgelehnt: %1$s';
$_ADDONLANG['button_back_to_preview'] = 'Zurück zur Vorschau';
$_ADDONLANG['alignments_title'] = 'Ausrichtungen';
$_ADDONLANG['alignments_title_client'] = 'Ausrichtungen von %1$s';
$_ADDONLANG['alignments_all_clients'] = 'Alle Kunden zeigen';
$_ADDONLANG['alignments_none'] = 'Keine Ausrichtungen vorhanden.';
$_ADDONLANG['alignments_count'] = '%1$s Ausrichtungsposition(en).';
$_ADDONLANG['label_state'] = 'Stand';
$_ADDONLANG['state_all'] = 'Alle';
$_ADDONLANG['state_pending'] = 'Offen';
$_ADDONLANG['state_paid'] = 'Bezahlt';
$_ADDONLANG['state_cancelled'] = 'Storniert';
$_ADDONLANG['state_expired'] = 'Abgelaufen';
$_ADDONLANG['state_superseded'] = 'Ersetzt';
$_ADDONLANG['state_withdrawn'] = 'Zurückgezogen';
$_ADDONLANG['overpayments_title'] = 'Zu klärende Überzahlungen';
$_ADDONLANG['overpayments_intro'] = 'Diese Rechnungen wurden für bereits bezahlte Tage oder für eine nicht mehr offene Angleichung bezahlt. Die Fälligkeitsdaten blieben beim spätesten bezahlten Datum; erstatten Sie den Betrag oder schreiben Sie ihn gut.';
$_ADDONLANG['overpayments_records'] = 'Angleichungen';
$_ADDONLANG['overpayments_resolve'] = 'Als erledigt markieren';
$_ADDONLANG['overpayments_resolved'] = 'Die Überzahlung auf Rechnung #%1$s ist als erledigt markiert.';
$_ADDONLANG['log_overpayment_resolved'] = 'Prorated Next Due Date: Überzahlung auf Rechnung #%1$s als erledigt markiert';
$_ADDONLANG['withdraw_intro'] = 'Die Angleichung zieht zuerst diese offenen Angleichungen zurück: ihre Positionen verlassen die unbezahlten Rechnungen (eine leere Rechnung wird storniert).';
$_ADDONLANG['button_filter'] = 'Filtern';
$_ADDONLANG['button_cancel_invoice'] = 'Rechnung stornieren';
$_ADDONLANG['confirm_cancel'] = 'Rechnung #%1$s stornieren? Die Dienste behalten ihre alten Fälligkeitsdaten.';
$_ADDONLANG['cancel_done'] = 'Rechnung #%1$s wurde storniert; die Dienste behalten ihre alten Fälligkeitsdaten.';
$_ADDONLANG['requested_by_admin'] = 'Admin #%1$s';
$_ADDONLANG['requested_by_client'] = 'Kunde';
$_ADDONLANG['requested_by_bulk'] = 'Sammellauf';
$_ADDONLANG['error_settings'] = 'Die Moduleinstellungen sind nicht verwendbar: %1$s. Korrigieren Sie sie unter System Settings > Addon Modules.';
$_ADDONLANG['error_token'] = 'Das Formular ist abgelaufen oder stammt nicht von dieser Seite (Sicherheitstoken fehlt oder ist ungültig). Nichts wurde geändert: Bitte versuchen Sie es erneut.';
$_ADDONLANG['error_day'] = 'Der Tag muss eine ganze Zahl von 1 bis 31 sein, nicht "%1$s". Nichts wurde gesendet.';
$_ADDONLANG['error_client'] = 'Es gibt keinen Kunden mit der ID "%1$s". Nichts wurde gesendet.';
$_ADDONLANG['error_cycle'] = 'Unbekannter Abrechnungszyklus "%1$s". Nichts wurde gesendet.';
$_ADDONLANG['error_no_cycle'] = 'Wählen Sie mindestens einen Abrechnungszyklus, den die Moduleinstellungen erlauben. Nichts wurde gesendet.';
$_ADDONLANG['error_service'] = 'Kein Dienst oder Addon: "%1$s". Nichts wurde gesendet.';
$_ADDONLANG['error_not_owned'] = 'Der Dienst oder das Addon %1$s gehört nicht diesem Kunden. Nichts wurde gesendet.';
$_ADDONLANG['error_nothing_selected'] = 'Kein Dienst ist angekreuzt: Kreuzen Sie mindestens einen zum Ausrichten an.';
$_ADDONLANG['error_not_kept'] = 'Die Anfrage konnte weder an Redis gesendet noch für später gespeichert werden: %1$s';
$_ADDONLANG['error_preview_unreachable'] = 'Der Worker ist nicht erreichbar (Redis: %1$s). Prüfen Sie, ob Redis und der prorata-align-Worker laufen und die Redis-Einstellungen des Moduls stimmen.';
$_ADDONLANG['error_preview_timeout'] = 'Der Worker hat nicht rechtzeitig geantwortet (%1$s). Prüfen Sie, ob der prorata-align-Worker läuft und die in den Moduleinstellungen gesetzte Warteschlange abarbeitet, oder erhöhen Sie "Preview wait (seconds)".';
$_ADDONLANG['error_preview_failed'] = 'Der Worker konnte die Vorschau nicht erstellen: %1$s';
$_ADDONLANG['error_invoice'] = 'Keine Rechnungsnummer: "%1$s".';
$_ADDONLANG['error_cancel_not_pending'] = 'Rechnung #%1$s enthält keine offene Ausrichtung. Nichts wurde geändert.';
$_ADDONLANG['error_cancel_status'] = 'Rechnung #%1$s ist %2$s: Nur eine unbezahlte Ausrichtungsrechnung kann hier storniert werden. Nichts wurde geändert.';
$_ADDONLANG['error_cancel_api'] = 'WHMCS konnte Rechnung #%1$s nicht stornieren: %2$s';
$_ADDONLANG['error_no_tables'] = 'Die Tabellen des Moduls existieren noch nicht: Führen Sie den Befehl "prorata db upgrade" des Workers aus.';

// Client area page (index.php?m=prorata_align)
$_ADDONLANG['client_title'] = 'Meine Fälligkeitsdaten ausrichten';
$_ADDONLANG['client_login'] = 'Bitte melden Sie sich an, um Ihre Fälligkeitsdaten auszurichten.';
$_ADDONLANG['client_disabled'] = 'Das Ausrichten der Fälligkeitsdaten ist nicht verfügbar. Bitte kontaktieren Sie uns, wenn Ihre Dienste am selben Tag verlängert werden sollen.';
$_ADDONLANG['client_offer_title'] = 'Ein Verlängerungstag für alle Ihre Dienste';
$_ADDONLANG['client_offer_intro'] = 'Ihre Dienste können alle am %1$s. jedes Monats fällig werden, damit sie gemeinsam verlängert werden.';
$_ADDONLANG['client_explain_pay'] = 'Sie zahlen jetzt einmalig für die Tage vom aktuellen Fälligkeitsdatum jedes Dienstes bis zu seinem neuen Fälligkeitsdatum.';
$_ADDONLANG['client_explain_dates'] = 'Ihre Fälligkeitsdaten ändern sich, sobald diese Rechnung bezahlt ist. Wird sie nicht bezahlt, ändert sich nichts.';
$_ADDONLANG['client_explain_after'] = 'Danach wird jeder Dienst am neuen Datum zu seinem üblichen Preis und Abrechnungszyklus verlängert.';
$_ADDONLANG['client_day_warning'] = 'Nicht jeder Monat hat einen %1$s. Tag: In kürzeren Monaten werden Ihre Dienste am letzten Tag des Monats fällig.';
$_ADDONLANG['client_col_include'] = 'Einbeziehen';
$_ADDONLANG['client_col_service'] = 'Dienst';
$_ADDONLANG['client_col_cycle'] = 'Abrechnungszyklus';
$_ADDONLANG['client_col_current_due'] = 'Aktuelle Fälligkeit';
$_ADDONLANG['client_col_new_due'] = 'Neue Fälligkeit';
$_ADDONLANG['client_col_days'] = 'Tage';
$_ADDONLANG['client_col_amount'] = 'Zu zahlen';
$_ADDONLANG['client_total_now'] = 'Jetzt zu zahlen';
$_ADDONLANG['client_total'] = 'Gesamt';
$_ADDONLANG['client_several_invoices'] = 'Ihre Dienste werden mit verschiedenen Zahlungsarten bezahlt, daher erhalten Sie für jede eine eigene Rechnung.';
$_ADDONLANG['client_confirm'] = 'Bestätigen und Rechnung erstellen';
$_ADDONLANG['client_not_now'] = 'Nicht jetzt';
$_ADDONLANG['client_nothing'] = 'Es gibt nichts auszurichten: Ihre Dienste werden bereits an diesem Tag verlängert oder können nicht ausgerichtet werden.';
$_ADDONLANG['client_skipped_title'] = 'Nicht einbezogen';
$_ADDONLANG['client_reason_status'] = 'nicht aktiv';
$_ADDONLANG['client_reason_cycle_not_recurring'] = 'kein wiederkehrender Abrechnungszyklus';
$_ADDONLANG['client_reason_cycle_disabled'] = 'sein Abrechnungszyklus kann nicht ausgerichtet werden';
$_ADDONLANG['client_reason_no_due_date'] = 'kein Fälligkeitsdatum';
$_ADDONLANG['client_reason_already_aligned'] = 'bereits an diesem Tag fällig';
$_ADDONLANG['client_reason_not_selected'] = 'ausgelassen';
$_ADDONLANG['client_reason_addons_disabled'] = 'Addons werden nicht ausgerichtet';
$_ADDONLANG['client_reason_blocked'] = 'wartet darauf, dass zuerst Rechnung #%1$s beglichen wird';
$_ADDONLANG['client_pending_title'] = 'Ihre Ausrichtung wartet auf die Zahlung';
$_ADDONLANG['client_pending_intro'] = 'Sie haben das Ausrichten Ihrer Fälligkeitsdaten bereits angefordert. Bezahlen Sie die Rechnung unten, dann rücken Ihre Dienste auf ihre neuen Fälligkeitsdaten.';
$_ADDONLANG['client_due'] = 'fällig am';
$_ADDONLANG['client_pay_now'] = 'Jetzt bezahlen';
$_ADDONLANG['client_confirmed'] = 'Erledigt: %1$s Dienst(e) rücken auf das neue Fälligkeitsdatum. Ihre Rechnung ist bereit.';
$_ADDONLANG['client_confirmed_free'] = 'Erledigt: %1$s Dienst(e) sind auf das neue Fälligkeitsdatum gerückt. Es war nichts zu bezahlen.';
$_ADDONLANG['client_queued'] = 'Ihre Anfrage ist eingegangen und Ihre Rechnung wird vorbereitet.';
$_ADDONLANG['client_reload'] = 'Laden Sie diese Seite gleich neu.';
$_ADDONLANG['client_error_token'] = 'Ihre Sitzung ist abgelaufen oder das Formular stammt nicht von dieser Seite. Nichts wurde geändert: Bitte versuchen Sie es erneut.';
$_ADDONLANG['client_error_not_owned'] = 'Diese Anfrage enthielt einen Dienst, der nicht Ihnen gehört. Nichts wurde geändert.';
$_ADDONLANG['client_error_input'] = 'Diese Anfrage war ungültig. Nichts wurde geändert.';
$_ADDONLANG['client_error_nothing_selected'] = 'Kreuzen Sie mindestens einen Dienst zum Ausrichten an.';
$_ADDONLANG['client_error_pending'] = 'Sie haben bereits eine Ausrichtung, die auf die Zahlung wartet.';
$_ADDONLANG['client_error_preview'] = 'Wir können Ihre neuen Fälligkeitsdaten gerade nicht anzeigen. Bitte versuchen Sie es in einigen Minuten erneut.';
$_ADDONLANG['client_error_unavailable'] = 'Das Ausrichten der Fälligkeitsdaten ist gerade nicht verfügbar. Bitte versuchen Sie es später erneut oder kontaktieren Sie uns.';
$_ADDONLANG['client_error_failed'] = 'Ihre Fälligkeitsdaten konnten nicht ausgerichtet werden. Bitte kontaktieren Sie uns.';
$_ADDONLANG['client_back'] = 'Zurück zu meinen Diensten';

// Admin page: services waiting for unsuspension after their alignment invoice was paid
$_ADDONLANG['unsuspend_title'] = 'Warten auf Entsperrung';
$_ADDONLANG['unsuspend_intro'] = 'Diese Dienste wurden wegen Zahlungsverzug gesperrt, und ihre Ausrichtungsrechnung ist jetzt bezahlt. Die Zahlung der Verlängerung hätte sie entsperrt; der Worker entsperrt sie über die WHMCS-API (ModuleUnsuspend), sobald seine API-Zugangsdaten eingetragen sind. Bis dahin, oder wenn der Aufruf fehlschlug, entsperren Sie sie bitte von Hand: Ein Dienst verschwindet aus dieser Liste, sobald er nicht mehr gesperrt ist.';
$_ADDONLANG['unsuspend_col_service'] = 'Dienst';
$_ADDONLANG['unsuspend_col_since'] = 'Seit';
$_ADDONLANG['unsuspend_service_number'] = 'Dienst #%1$s';
$_ADDONLANG['unsuspend_state_waiting'] = 'Wartet';
$_ADDONLANG['unsuspend_state_failed'] = 'API-Aufruf fehlgeschlagen';
// What an invoice will read (client page and home page panel)
$_ADDONLANG['tax_default_name'] = 'Steuer';
$_ADDONLANG['panel_invoice_of'] = 'Rechnung %1$d von %2$d';
$_ADDONLANG['panel_subtotal'] = 'Zwischensumme: %s';
$_ADDONLANG['panel_tax'] = '%1$s: %2$s';
$_ADDONLANG['panel_credit'] = 'Guthaben: %s';
$_ADDONLANG['panel_discount'] = 'Kundenrabatt: %s';
$_ADDONLANG['panel_waiting_title'] = 'Ihre Ausrichtungsrechnungen';
$_ADDONLANG['panel_waiting_body'] = 'Ihre Dienste erhalten ihr neues Fälligkeitsdatum, sobald diese Rechnungen bezahlt sind.';
$_ADDONLANG['panel_waiting_invoice'] = 'Rechnung #%1$d';
$_ADDONLANG['panel_waiting_button'] = 'Details ansehen';
$_ADDONLANG['client_invoice_of'] = 'Rechnung %1$s von %2$s';
$_ADDONLANG['client_subtotal'] = 'Zwischensumme';
$_ADDONLANG['client_credit'] = 'Guthaben';
$_ADDONLANG['client_discount'] = 'Kundenrabatt';
$_ADDONLANG['client_no_charge'] = 'Kostenlos: diese erhalten das neue Fälligkeitsdatum sofort';
$_ADDONLANG['client_read_only'] = 'Nur der Kontoinhaber oder ein Benutzer, der Rechnungen ansehen und bezahlen darf, kann die Fälligkeitsdaten dieses Kontos ausrichten. Bitte wenden Sie sich an den Kontoinhaber.';

// Health panel (admin page)
$_ADDONLANG['health_title'] = 'Zustand des Workers';
$_ADDONLANG['health_ok'] = 'OK';
$_ADDONLANG['health_attention'] = 'Achtung';
$_ADDONLANG['health_unknown'] = 'Nicht geprüft';
$_ADDONLANG['health_worker'] = 'Worker';
$_ADDONLANG['health_worker_answered'] = 'Hat den letzten Test %1$s beantwortet: %2$s, Version %3$s.';
$_ADDONLANG['health_worker_down'] = 'Hat eine Vorschau oder einen Test %1$s nicht beantwortet.';
$_ADDONLANG['health_worker_untested'] = 'Noch nicht geprüft: „Verbindung testen“ verwenden.';
$_ADDONLANG['health_redis_down'] = 'Redis ist nicht erreichbar: %1$s';
$_ADDONLANG['health_beat_jobs'] = 'Beat-Aufgaben';
$_ADDONLANG['health_beat'] = 'Beat-Aufgabe %1$s';
$_ADDONLANG['health_beat_last'] = 'Zuletzt gelaufen %1$s (%2$s).';
$_ADDONLANG['health_beat_stale'] = 'Zuletzt gelaufen %1$s (%2$s), sie läuft aber alle %3$d Sekunden: läuft „prorata beat“?';
$_ADDONLANG['health_beat_never'] = 'Noch nie gelaufen: läuft „prorata beat“?';
$_ADDONLANG['health_beat_failed'] = 'Der letzte Lauf %1$s ist fehlgeschlagen: %2$s';
$_ADDONLANG['health_outcome_ok'] = 'erledigt';
$_ADDONLANG['health_outcome_idle'] = 'nichts zu tun';
$_ADDONLANG['health_failed_jobs'] = 'Fehlgeschlagene Aufträge';
$_ADDONLANG['health_failed_jobs_count'] = '%1$d offen („prorata cron“ des Workers listet sie auf).';
$_ADDONLANG['health_outbox'] = 'Ausgang (Outbox)';
$_ADDONLANG['health_outbox_empty'] = 'Kein Ereignis wartet.';
$_ADDONLANG['health_outbox_count'] = '%1$d Ereignisse warten, das älteste seit %2$s.';
$_ADDONLANG['health_dead_letters'] = 'Unzustellbare Ereignisse';
$_ADDONLANG['health_dead_letters_count'] = '%1$d in der Redis-Liste %2$s.';
$_ADDONLANG['health_no_tables'] = 'Die Tabellen des Moduls fehlen oder sind veraltet: den Befehl „prorata db upgrade“ des Workers ausführen.';
$_ADDONLANG['health_test_button'] = 'Verbindung testen';
$_ADDONLANG['health_test_ok'] = 'Der Worker hat in %1$d ms geantwortet: %2$s, Version %3$s.';
$_ADDONLANG['health_test_timeout'] = 'Kein Worker hat innerhalb von %1$s Sekunden auf der Warteschlange %2$s geantwortet. Prüfen Sie, ob der Worker läuft, mit dieser Warteschlange und diesem Redis.';
$_ADDONLANG['health_test_failed'] = 'Der Worker konnte den Test nicht beantworten: %1$s';
$_ADDONLANG['health_test_unreachable'] = 'Nichts wurde gesendet, Redis ist nicht erreichbar: %1$s';
$_ADDONLANG['health_age_s'] = 'vor %1$d s';
$_ADDONLANG['health_age_min'] = 'vor %1$d min';
$_ADDONLANG['health_age_h'] = 'vor %1$d h';
