<?php
/**
 * Prorated Next Due Date: French language strings.
 *
 * The same keys as english.php, in the same order; the placeholders (%1$s, %2$d, ...) mean
 * the same values. Setting labels stay English there, as WHMCS shows them.
 */

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

// Module
$_ADDONLANG['module_description'] = 'Aligne les prochaines échéances des services et addons d\'un client sur un jour du mois, avec une facture au prorata des jours intermédiaires.';

// Activation and deactivation
$_ADDONLANG['activate_success'] = 'Prorated Next Due Date est activé. L\'activation ne crée aucune table : lancez la commande "prorata db upgrade" du worker, qui crée et met à jour les tables du module, puis démarrez le worker. Cliquez ensuite sur Configurer, donnez l\'accès à vos rôles d\'administrateur et remplissez les réglages.';
$_ADDONLANG['deactivate_success'] = 'Prorated Next Due Date est désactivé. Aucune table n\'a été supprimée : les tables du module et l\'historique des alignements restent dans la base de données ; les commandes du worker les gèrent.';

// Setting descriptions (shown next to each setting on the configuration page)
$_ADDONLANG['setting_client_area_button_desc'] = 'Cochez pour permettre aux clients d\'aligner leurs propres services depuis l\'espace client (toujours sur la Prorata Date ci-dessous).';
$_ADDONLANG['setting_prorata_day_desc'] = 'Jour du mois sur lequel les prochaines échéances sont alignées. Les jours 29 à 31 tombent sur le dernier jour des mois plus courts.';
$_ADDONLANG['setting_prorate_monthly_desc'] = 'Cochez pour aligner les services facturés mensuellement.';
$_ADDONLANG['setting_prorate_quarterly_desc'] = 'Cochez pour aligner les services facturés trimestriellement.';
$_ADDONLANG['setting_prorate_semiannually_desc'] = 'Cochez pour aligner les services facturés semestriellement.';
$_ADDONLANG['setting_prorate_annually_desc'] = 'Cochez pour aligner les services facturés annuellement.';
$_ADDONLANG['setting_prorate_biennially_desc'] = 'Cochez pour aligner les services facturés tous les deux ans.';
$_ADDONLANG['setting_prorate_triennially_desc'] = 'Cochez pour aligner les services facturés tous les trois ans.';
$_ADDONLANG['setting_calculate_days_by_use_desc'] = 'Cochez pour facturer selon les vrais jours calendaires du cycle de chaque service (années bissextiles comprises). Décochez pour diviser par les nombres fixes "Jours ..." ci-dessous.';
$_ADDONLANG['setting_days_month_desc'] = 'Jours d\'un cycle mensuel. Utilisé quand "Calculate days by date of use" est décoché.';
$_ADDONLANG['setting_days_quarter_desc'] = 'Jours d\'un cycle trimestriel. Utilisé quand "Calculate days by date of use" est décoché.';
$_ADDONLANG['setting_days_half_year_desc'] = 'Jours d\'un cycle semestriel. Utilisé quand "Calculate days by date of use" est décoché.';
$_ADDONLANG['setting_days_year_desc'] = 'Jours d\'un cycle annuel. Utilisé quand "Calculate days by date of use" est décoché.';
$_ADDONLANG['setting_days_two_year_desc'] = 'Jours d\'un cycle de deux ans. Utilisé quand "Calculate days by date of use" est décoché.';
$_ADDONLANG['setting_days_three_year_desc'] = 'Jours d\'un cycle de trois ans. Utilisé quand "Calculate days by date of use" est décoché.';
$_ADDONLANG['setting_align_addons_desc'] = 'Cochez pour aligner les addons de produit d\'un service avec le service.';
$_ADDONLANG['setting_cancel_unpaid_after_days_desc'] = 'Jours après son échéance au-delà desquels une facture d\'alignement impayée est annulée et les anciennes dates reviennent. 0 = jamais.';
$_ADDONLANG['setting_redis_host_desc'] = 'Nom d\'hôte ou adresse IP du serveur Redis où le worker prend ses tâches.';
$_ADDONLANG['setting_redis_port_desc'] = 'Port de ce serveur Redis (en général 6379).';
$_ADDONLANG['setting_redis_password_desc'] = 'Mot de passe de ce serveur Redis. Laissez vide s\'il n\'en faut pas.';
$_ADDONLANG['setting_redis_db_desc'] = 'Numéro de la base Redis (0 ou plus), la même que celle du worker.';
$_ADDONLANG['setting_queue_desc'] = 'Nom de la file à laquelle WHMCS envoie les tâches ; le worker doit consommer cette file.';
$_ADDONLANG['setting_preview_timeout_desc'] = 'Secondes d\'attente de la réponse du worker à un aperçu avant d\'afficher un message.';

// Hooks: client summary page (admin area) and client area home page panel
$_ADDONLANG['admin_summary_link'] = 'Aligner les échéances';
$_ADDONLANG['panel_title'] = 'Alignez vos échéances';
$_ADDONLANG['panel_body_one'] = '%1$d de vos services peut placer sa prochaine échéance le %2$d du mois.';
$_ADDONLANG['panel_body_many'] = '%1$d de vos services peuvent placer leurs prochaines échéances le %2$d du mois, pour être tous renouvelés ensemble.';
$_ADDONLANG['panel_cost'] = 'À payer maintenant : %s';
$_ADDONLANG['panel_button'] = 'Aligner les échéances';

// Previews (the worker's answer)
$_ADDONLANG['preview_error_unreachable'] = 'Le service d\'alignement est injoignable pour le moment. Veuillez réessayer dans quelques minutes.';
$_ADDONLANG['preview_error_timeout'] = 'Le service d\'alignement n\'a pas répondu à temps. Veuillez réessayer dans quelques minutes.';
$_ADDONLANG['preview_error_failed'] = 'Le service d\'alignement n\'a pas pu préparer l\'aperçu : %s';

// Activity log
$_ADDONLANG['log_event_outbox'] = 'Prorated Next Due Date : Redis n\'était pas utilisable, l\'événement %2$s (%1$s) a donc été gardé dans la table outbox pour que le worker le relaie. Raison : %3$s';
$_ADDONLANG['log_event_lost'] = 'Prorated Next Due Date : l\'événement %2$s (%1$s) n\'a pu être ni envoyé à Redis (%3$s) ni gardé dans la table outbox (%4$s). Renvoyez-le à la main ; ses arguments : %5$s';
$_ADDONLANG['log_hook_failed'] = 'Prorated Next Due Date : le hook %1$s a échoué : %2$s';

// Admin page (Addons > Prorated Next Due Date)
$_ADDONLANG['admin_intro'] = 'Trouvez un client, vérifiez l\'aperçu, puis alignez les prochaines échéances de ses services sur un jour du mois. Les nouvelles dates s\'appliquent quand la facture d\'alignement est payée.';
$_ADDONLANG['versions_footer'] = 'Prorated Next Due Date %1$s · worker %2$s';
$_ADDONLANG['versions_worker_unknown'] = 'pas encore connue (le prochain aperçu l\'indiquera)';
$_ADDONLANG['versions_differ'] = 'L\'addon est en version %1$s mais le worker indique la version %2$s : installez la même version des deux côtés, sinon l\'aperçu et l\'alignement risquent de ne pas fonctionner comme prévu.';
$_ADDONLANG['search_title'] = 'Trouver un client';
$_ADDONLANG['search_label'] = 'Nom, e-mail, société ou ID client';
$_ADDONLANG['search_placeholder'] = 'Nom, e-mail, société ou ID client';
$_ADDONLANG['search_button'] = 'Rechercher';
$_ADDONLANG['search_none'] = 'Aucun client ne correspond à "%1$s".';
$_ADDONLANG['search_more'] = 'Seuls les %1$s premiers résultats sont affichés : précisez la recherche.';
$_ADDONLANG['search_preview'] = 'Aperçu';
$_ADDONLANG['preview_title'] = 'Aperçu pour %1$s (client #%2$s)';
$_ADDONLANG['preview_facts'] = 'Nous sommes le %1$s ; les prochaines échéances passent au %2$s du mois.';
$_ADDONLANG['preview_no_services'] = 'Ce client n\'a aucun service ni addon.';
$_ADDONLANG['mode_calendar'] = 'Les montants utilisent les vrais jours calendaires du cycle de chaque service.';
$_ADDONLANG['mode_fixed'] = 'Les montants utilisent les nombres de jours fixes par cycle des réglages.';
$_ADDONLANG['label_day'] = 'Jour du mois';
$_ADDONLANG['label_cycles'] = 'Cycles de facturation :';
$_ADDONLANG['cycle_monthly'] = 'Mensuel';
$_ADDONLANG['cycle_quarterly'] = 'Trimestriel';
$_ADDONLANG['cycle_semiannually'] = 'Semestriel';
$_ADDONLANG['cycle_annually'] = 'Annuel';
$_ADDONLANG['cycle_biennially'] = 'Biennal';
$_ADDONLANG['cycle_triennially'] = 'Triennal';
$_ADDONLANG['cycle_off_in_settings'] = 'Désactivé dans les réglages du module';
$_ADDONLANG['button_refresh'] = 'Mettre à jour l\'aperçu';
$_ADDONLANG['warning_short_months'] = 'Tous les mois n\'ont pas de jour %1$s : dans les mois plus courts, l\'échéance tombe le dernier jour du mois (par exemple le 28 ou le 29 février).';
$_ADDONLANG['col_id'] = 'ID';
$_ADDONLANG['col_name'] = 'Nom';
$_ADDONLANG['col_company'] = 'Société';
$_ADDONLANG['col_email'] = 'E-mail';
$_ADDONLANG['col_status'] = 'Statut';
$_ADDONLANG['col_item'] = 'Produit / addon';
$_ADDONLANG['col_domain'] = 'Domaine';
$_ADDONLANG['col_cycle'] = 'Cycle';
$_ADDONLANG['col_current_due'] = 'Échéance actuelle';
$_ADDONLANG['col_new_due'] = 'Nouvelle échéance';
$_ADDONLANG['col_days'] = 'Jours';
$_ADDONLANG['col_amount'] = 'Montant';
$_ADDONLANG['col_payment_method'] = 'Moyen de paiement';
$_ADDONLANG['col_note'] = 'Remarque';
$_ADDONLANG['col_lines'] = 'Lignes';
$_ADDONLANG['col_invoice_due'] = 'Échéance de la facture';
$_ADDONLANG['col_subtotal'] = 'Sous-total';
$_ADDONLANG['col_tax'] = 'Taxe';
$_ADDONLANG['col_tax2'] = 'Taxe 2';
$_ADDONLANG['col_total'] = 'Total';
$_ADDONLANG['col_invoice'] = 'Facture';
$_ADDONLANG['col_date'] = 'Date';
$_ADDONLANG['col_client'] = 'Client';
$_ADDONLANG['col_requested_by'] = 'Demandé par';
$_ADDONLANG['col_state'] = 'État';
$_ADDONLANG['select_item'] = 'Aligner %1$s';
$_ADDONLANG['kind_service'] = 'Service';
$_ADDONLANG['kind_addon'] = 'Addon';
$_ADDONLANG['note_immediate'] = 'Rien à facturer : les dates changent tout de suite.';
$_ADDONLANG['reason_status'] = 'Ignoré : seuls les services actifs et suspendus sont alignés (celui-ci est %1$s).';
$_ADDONLANG['reason_cycle_not_recurring'] = 'Ignoré : pas un cycle de facturation récurrent.';
$_ADDONLANG['reason_cycle_disabled'] = 'Ignoré : ce cycle de facturation n\'est pas aligné (réglages du module ou cycles choisis ci-dessus).';
$_ADDONLANG['reason_no_due_date'] = 'Ignoré : pas de prochaine échéance.';
$_ADDONLANG['reason_already_aligned'] = 'Ignoré : déjà dû le jour choisi.';
$_ADDONLANG['reason_not_selected'] = 'Laissé de côté (décoché).';
$_ADDONLANG['reason_addons_disabled'] = 'Ignoré : les addons de produit ne sont pas alignés (réglage "Align product addons").';
$_ADDONLANG['reason_blocked'] = 'Bloqué par une facture portant un paiement ou un crédit, ou en Payment Pending ou Collections.';
$_ADDONLANG['reason_blocked_short'] = 'Bloqué';
$_ADDONLANG['reason_blocked_before'] = 'son renouvellement figure sur la';
$_ADDONLANG['reason_blocked_after'] = 'qui porte un paiement ou un crédit, ou est en Payment Pending ou Collections : réglez d\'abord cette facture.';
$_ADDONLANG['invoice_number'] = 'Facture #%1$s';
$_ADDONLANG['totals_title'] = 'Factures à créer (une par moyen de paiement)';
$_ADDONLANG['totals_none'] = 'Aucune facture : rien à facturer.';
$_ADDONLANG['button_align'] = 'Aligner';
$_ADDONLANG['align_help'] = 'Crée les factures ci-dessus ; les échéances changent une fois qu\'elles sont payées.';
$_ADDONLANG['confirm_align'] = 'Aligner %1$s service(s) de %2$s sur le %3$s du mois et créer les factures ?';
$_ADDONLANG['align_options_changed'] = 'Le jour, les cycles ou les services cochés ont changé depuis l\'aperçu : vérifiez le nouvel aperçu ci-dessous, puis cliquez à nouveau sur Aligner.';
$_ADDONLANG['result_title'] = 'Alignement de %1$s (client #%2$s)';
$_ADDONLANG['align_done'] = 'Aligné : %1$s service(s), %2$s facture(s) créée(s). Les échéances changent quand les factures sont payées.';
$_ADDONLANG['align_nothing'] = 'Rien n\'a été aligné : aucun service ne pouvait l\'être avec ces options.';
$_ADDONLANG['align_repeat'] = 'Cette demande avait déjà été traitée ; voici ses résultats.';
$_ADDONLANG['align_immediate'] = '%1$s service(s) sans montant sont passés tout de suite à la nouvelle date.';
$_ADDONLANG['align_changed_invoice'] = 'Des lignes de renouvellement ont été retirées de la facture impayée #%1$s, qui a été recalculée.';
$_ADDONLANG['align_deleted_invoice'] = 'La facture impayée #%1$s n\'avait plus de lignes et a été supprimée.';
$_ADDONLANG['align_pay_note'] = 'Chaque facture est une facture proforma : une fois payée, les services passent à leurs nouvelles échéances. L\'annuler rétablit les anciennes dates.';
$_ADDONLANG['align_queued'] = 'L\'alignement a été envoyé au worker (demande %1$s) mais son résultat n\'est pas encore arrivé. Il sera fait sous peu : la liste des alignements ci-dessous l\'affichera.';
$_ADDONLANG['align_outbox'] = 'Redis était injoignable : la demande (%1$s) a été enregistrée et le worker la prendra dès qu\'il pourra.';
$_ADDONLANG['align_failed'] = 'Le worker n\'a pas pu aligner ce client : %1$s';
$_ADDONLANG['align_rejected'] = 'Le worker a refusé l\'alignement : %1$s';
$_ADDONLANG['button_back_to_preview'] = 'Retour à l\'aperçu';
$_ADDONLANG['alignments_title'] = 'Alignements';
$_ADDONLANG['alignments_title_client'] = 'Alignements de %1$s';
$_ADDONLANG['alignments_all_clients'] = 'Afficher tous les clients';
$_ADDONLANG['alignments_none'] = 'Aucun alignement à afficher.';
$_ADDONLANG['alignments_count'] = '%1$s ligne(s) d\'alignement.';
$_ADDONLANG['label_state'] = 'État';
$_ADDONLANG['state_all'] = 'Tous';
$_ADDONLANG['state_pending'] = 'En attente';
$_ADDONLANG['state_paid'] = 'Payé';
$_ADDONLANG['state_cancelled'] = 'Annulé';
$_ADDONLANG['state_expired'] = 'Expiré';
$_ADDONLANG['state_superseded'] = 'Remplacé';
$_ADDONLANG['state_withdrawn'] = 'Retiré';
$_ADDONLANG['overpayments_title'] = 'Trop-perçus à régler';
$_ADDONLANG['overpayments_intro'] = 'Ces factures ont été payées pour des jours déjà payés, ou pour un alignement qui n\'était plus en attente. Les échéances sont restées à la dernière date payée ; remboursez ou créditez le montant.';
$_ADDONLANG['overpayments_records'] = 'Alignements';
$_ADDONLANG['overpayments_resolve'] = 'Marquer comme réglé';
$_ADDONLANG['overpayments_resolved'] = 'Le trop-perçu de la facture #%1$s est marqué comme réglé.';
$_ADDONLANG['log_overpayment_resolved'] = 'Prorated Next Due Date : trop-perçu de la facture #%1$s marqué comme réglé';
$_ADDONLANG['withdraw_intro'] = 'L\'alignement retire d\'abord ces alignements en attente : leurs lignes quittent les factures impayées (une facture vidée est annulée).';
$_ADDONLANG['button_filter'] = 'Filtrer';
$_ADDONLANG['button_cancel_invoice'] = 'Annuler la facture';
$_ADDONLANG['confirm_cancel'] = 'Annuler la facture #%1$s ? Les services gardent leurs anciennes échéances.';
$_ADDONLANG['cancel_done'] = 'La facture #%1$s a été annulée ; les services gardent leurs anciennes échéances.';
$_ADDONLANG['requested_by_admin'] = 'Admin #%1$s';
$_ADDONLANG['requested_by_client'] = 'Client';
$_ADDONLANG['requested_by_bulk'] = 'Traitement groupé';
$_ADDONLANG['error_settings'] = 'Les réglages du module sont inutilisables : %1$s. Corrigez-les sous System Settings > Addon Modules.';
$_ADDONLANG['error_token'] = 'Le formulaire a expiré ou ne vient pas de cette page (jeton de sécurité absent ou invalide). Rien n\'a été modifié : veuillez réessayer.';
$_ADDONLANG['error_day'] = 'Le jour doit être un nombre entier de 1 à 31, pas "%1$s". Rien n\'a été envoyé.';
$_ADDONLANG['error_client'] = 'Il n\'y a pas de client avec l\'ID "%1$s". Rien n\'a été envoyé.';
$_ADDONLANG['error_cycle'] = 'Cycle de facturation inconnu "%1$s". Rien n\'a été envoyé.';
$_ADDONLANG['error_no_cycle'] = 'Choisissez au moins un cycle de facturation permis par les réglages du module. Rien n\'a été envoyé.';
$_ADDONLANG['error_service'] = 'Ni un service ni un addon : "%1$s". Rien n\'a été envoyé.';
$_ADDONLANG['error_not_owned'] = 'Le service ou l\'addon %1$s n\'appartient pas à ce client. Rien n\'a été envoyé.';
$_ADDONLANG['error_nothing_selected'] = 'Aucun service n\'est coché : cochez-en au moins un à aligner.';
$_ADDONLANG['error_not_kept'] = 'La demande n\'a pu être ni envoyée à Redis ni enregistrée pour plus tard : %1$s';
$_ADDONLANG['error_preview_unreachable'] = 'Le worker est injoignable (Redis : %1$s). Vérifiez que Redis et le worker prorata-align tournent et que les réglages Redis du module sont justes.';
$_ADDONLANG['error_preview_timeout'] = 'Le worker n\'a pas répondu à temps (%1$s). Vérifiez que le worker prorata-align tourne et consomme la file indiquée dans les réglages du module, ou augmentez "Preview wait (seconds)".';
$_ADDONLANG['error_preview_failed'] = 'Le worker n\'a pas pu faire l\'aperçu : %1$s';
$_ADDONLANG['error_invoice'] = 'Pas un numéro de facture : "%1$s".';
$_ADDONLANG['error_cancel_not_pending'] = 'La facture #%1$s ne porte aucun alignement en attente. Rien n\'a été modifié.';
$_ADDONLANG['error_cancel_status'] = 'La facture #%1$s est %2$s : seule une facture d\'alignement impayée peut être annulée ici. Rien n\'a été modifié.';
$_ADDONLANG['error_cancel_api'] = 'WHMCS n\'a pas pu annuler la facture #%1$s : %2$s';
$_ADDONLANG['error_no_tables'] = 'Les tables du module n\'existent pas encore : lancez la commande "prorata db upgrade" du worker.';

// Client area page (index.php?m=prorata_align)
$_ADDONLANG['client_title'] = 'Aligner mes échéances';
$_ADDONLANG['client_login'] = 'Veuillez vous connecter pour aligner vos échéances.';
$_ADDONLANG['client_disabled'] = 'L\'alignement des échéances n\'est pas disponible. Contactez-nous si vous souhaitez que vos services soient renouvelés le même jour.';
$_ADDONLANG['client_offer_title'] = 'Un seul jour de renouvellement pour tous vos services';
$_ADDONLANG['client_offer_intro'] = 'Tous vos services peuvent arriver à échéance le %1$s de chaque mois, pour être renouvelés ensemble.';
$_ADDONLANG['client_explain_pay'] = 'Vous payez une fois maintenant les jours allant de l\'échéance actuelle de chaque service jusqu\'à sa nouvelle échéance.';
$_ADDONLANG['client_explain_dates'] = 'Vos échéances changent dès que cette facture est payée. Si elle n\'est pas payée, rien ne change.';
$_ADDONLANG['client_explain_after'] = 'Ensuite, chaque service se renouvelle à la nouvelle date, à son prix et à son cycle habituels.';
$_ADDONLANG['client_day_warning'] = 'Tous les mois n\'ont pas de jour %1$s : dans les mois plus courts, vos services arrivent à échéance le dernier jour du mois.';
$_ADDONLANG['client_col_include'] = 'Inclure';
$_ADDONLANG['client_col_service'] = 'Service';
$_ADDONLANG['client_col_cycle'] = 'Cycle de facturation';
$_ADDONLANG['client_col_current_due'] = 'Échéance actuelle';
$_ADDONLANG['client_col_new_due'] = 'Nouvelle échéance';
$_ADDONLANG['client_col_days'] = 'Jours';
$_ADDONLANG['client_col_amount'] = 'À payer';
$_ADDONLANG['client_total_now'] = 'Total à payer maintenant';
$_ADDONLANG['client_total'] = 'Total';
$_ADDONLANG['client_several_invoices'] = 'Vos services sont payés par différents moyens de paiement : vous recevez donc une facture pour chacun.';
$_ADDONLANG['client_confirm'] = 'Confirmer et créer ma facture';
$_ADDONLANG['client_not_now'] = 'Pas maintenant';
$_ADDONLANG['client_nothing'] = 'Il n\'y a rien à aligner : vos services se renouvellent déjà ce jour-là ou ne peuvent pas être alignés.';
$_ADDONLANG['client_skipped_title'] = 'Non inclus';
$_ADDONLANG['client_reason_status'] = 'inactif';
$_ADDONLANG['client_reason_cycle_not_recurring'] = 'pas facturé selon un cycle récurrent';
$_ADDONLANG['client_reason_cycle_disabled'] = 'son cycle de facturation ne peut pas être aligné';
$_ADDONLANG['client_reason_no_due_date'] = 'pas d\'échéance';
$_ADDONLANG['client_reason_already_aligned'] = 'déjà dû ce jour-là';
$_ADDONLANG['client_reason_not_selected'] = 'laissé de côté';
$_ADDONLANG['client_reason_addons_disabled'] = 'les addons ne sont pas alignés';
$_ADDONLANG['client_reason_blocked'] = 'en attente du règlement de la facture #%1$s';
$_ADDONLANG['client_pending_title'] = 'Votre alignement attend le paiement';
$_ADDONLANG['client_pending_intro'] = 'Vous avez déjà demandé l\'alignement de vos échéances. Payez la facture ci-dessous et vos services passeront à leurs nouvelles échéances.';
$_ADDONLANG['client_due'] = 'échéance';
$_ADDONLANG['client_pay_now'] = 'Payer maintenant';
$_ADDONLANG['client_confirmed'] = 'C\'est fait : %1$s service(s) passeront à la nouvelle échéance. Votre facture est prête.';
$_ADDONLANG['client_confirmed_free'] = 'C\'est fait : %1$s service(s) sont passés à la nouvelle échéance. Il n\'y avait rien à payer.';
$_ADDONLANG['client_queued'] = 'Votre demande a bien été reçue et votre facture est en préparation.';
$_ADDONLANG['client_reload'] = 'Actualisez cette page dans un instant.';
$_ADDONLANG['client_error_token'] = 'Votre session a expiré ou le formulaire ne vient pas de cette page. Rien n\'a été modifié : veuillez réessayer.';
$_ADDONLANG['client_error_not_owned'] = 'Cette demande contenait un service qui n\'est pas le vôtre. Rien n\'a été modifié.';
$_ADDONLANG['client_error_input'] = 'Cette demande n\'était pas valide. Rien n\'a été modifié.';
$_ADDONLANG['client_error_nothing_selected'] = 'Cochez au moins un service à aligner.';
$_ADDONLANG['client_error_pending'] = 'Vous avez déjà un alignement en attente de paiement.';
$_ADDONLANG['client_error_preview'] = 'Nous ne pouvons pas afficher vos nouvelles échéances pour le moment. Veuillez réessayer dans quelques minutes.';
$_ADDONLANG['client_error_unavailable'] = 'L\'alignement des échéances n\'est pas disponible pour le moment. Veuillez réessayer plus tard ou nous contacter.';
$_ADDONLANG['client_error_failed'] = 'Vos échéances n\'ont pas pu être alignées. Veuillez nous contacter.';
$_ADDONLANG['client_back'] = 'Retour à mes services';

// Admin page: services waiting for unsuspension after their alignment invoice was paid
$_ADDONLANG['unsuspend_title'] = 'En attente de réactivation';
$_ADDONLANG['unsuspend_intro'] = 'Ces services ont été suspendus pour retard de paiement et leur facture d\'alignement est maintenant payée. Le paiement du renouvellement les aurait réactivés ; le worker les réactive via l\'API WHMCS (ModuleUnsuspend) dès que ses identifiants d\'API sont renseignés. D\'ici là, ou si l\'appel a échoué, réactivez-les à la main : un service quitte cette liste dès qu\'il n\'est plus suspendu.';
$_ADDONLANG['unsuspend_col_service'] = 'Service';
$_ADDONLANG['unsuspend_col_since'] = 'Depuis';
$_ADDONLANG['unsuspend_service_number'] = 'Service n°%1$s';
$_ADDONLANG['unsuspend_state_waiting'] = 'En attente';
$_ADDONLANG['unsuspend_state_failed'] = 'Échec de l\'appel API';
// What an invoice will read (client page and home page panel)
$_ADDONLANG['tax_default_name'] = 'Taxe';
$_ADDONLANG['panel_invoice_of'] = 'Facture %1$d sur %2$d';
$_ADDONLANG['panel_subtotal'] = 'Sous-total : %s';
$_ADDONLANG['panel_tax'] = '%1$s : %2$s';
$_ADDONLANG['panel_credit'] = 'Crédit : %s';
$_ADDONLANG['panel_discount'] = 'Remise client : %s';
$_ADDONLANG['panel_waiting_title'] = 'Vos factures d\'alignement';
$_ADDONLANG['panel_waiting_body'] = 'Vos services passent à leur nouvelle échéance dès que ces factures sont payées.';
$_ADDONLANG['panel_waiting_invoice'] = 'Facture n° %1$d';
$_ADDONLANG['panel_waiting_button'] = 'Voir le détail';
$_ADDONLANG['client_invoice_of'] = 'Facture %1$s sur %2$s';
$_ADDONLANG['client_subtotal'] = 'Sous-total';
$_ADDONLANG['client_credit'] = 'Crédit';
$_ADDONLANG['client_discount'] = 'Remise client';
$_ADDONLANG['client_no_charge'] = 'Sans frais : ces services passent tout de suite à la nouvelle échéance';
$_ADDONLANG['client_read_only'] = 'Seul le titulaire du compte, ou un utilisateur autorisé à consulter et payer les factures, peut aligner les échéances de ce compte. Veuillez vous adresser au titulaire du compte.';

// Health panel (admin page)
$_ADDONLANG['health_title'] = 'État du worker';
$_ADDONLANG['health_ok'] = 'OK';
$_ADDONLANG['health_attention'] = 'Attention';
$_ADDONLANG['health_unknown'] = 'Non testé';
$_ADDONLANG['health_worker'] = 'Worker';
$_ADDONLANG['health_worker_answered'] = 'A répondu au dernier test %1$s : %2$s, version %3$s.';
$_ADDONLANG['health_worker_down'] = 'N\'a pas répondu à un aperçu ou à un test %1$s.';
$_ADDONLANG['health_worker_untested'] = 'Pas encore testé : utilisez « Tester la connexion ».';
$_ADDONLANG['health_redis_down'] = 'Redis est injoignable : %1$s';
$_ADDONLANG['health_beat_jobs'] = 'Tâches planifiées';
$_ADDONLANG['health_beat'] = 'Tâche planifiée %1$s';
$_ADDONLANG['health_beat_last'] = 'Dernière exécution %1$s (%2$s).';
$_ADDONLANG['health_beat_stale'] = 'Dernière exécution %1$s (%2$s), alors qu\'elle tourne toutes les %3$d secondes : « prorata beat » tourne-t-il ?';
$_ADDONLANG['health_beat_never'] = 'Jamais exécutée : « prorata beat » tourne-t-il ?';
$_ADDONLANG['health_beat_failed'] = 'La dernière exécution %1$s a échoué : %2$s';
$_ADDONLANG['health_outcome_ok'] = 'faite';
$_ADDONLANG['health_outcome_idle'] = 'rien à faire';
$_ADDONLANG['health_failed_jobs'] = 'Tâches en échec';
$_ADDONLANG['health_failed_jobs_count'] = '%1$d ouvertes (la commande « prorata cron » du worker les liste).';
$_ADDONLANG['health_outbox'] = 'File de sortie (outbox)';
$_ADDONLANG['health_outbox_empty'] = 'Aucun événement en attente.';
$_ADDONLANG['health_outbox_count'] = '%1$d événements en attente, le plus ancien depuis %2$s.';
$_ADDONLANG['health_dead_letters'] = 'Événements non remis';
$_ADDONLANG['health_dead_letters_count'] = '%1$d dans la liste Redis %2$s.';
$_ADDONLANG['health_no_tables'] = 'Les tables du module manquent ou ne sont pas à jour : lancez la commande « prorata db upgrade » du worker.';
$_ADDONLANG['health_test_button'] = 'Tester la connexion';
$_ADDONLANG['health_test_ok'] = 'Le worker a répondu en %1$d ms : %2$s, version %3$s.';
$_ADDONLANG['health_test_timeout'] = 'Aucun worker n\'a répondu en %1$s secondes sur la file %2$s. Vérifiez que le worker tourne, sur cette file et ce Redis.';
$_ADDONLANG['health_test_failed'] = 'Le worker n\'a pas pu répondre au test : %1$s';
$_ADDONLANG['health_test_unreachable'] = 'Rien n\'a été envoyé, Redis est injoignable : %1$s';
$_ADDONLANG['health_age_s'] = 'il y a %1$d s';
$_ADDONLANG['health_age_min'] = 'il y a %1$d min';
$_ADDONLANG['health_age_h'] = 'il y a %1$d h';
