/** @odoo-module **/
/**
 * Browser tours of the KAM appraisal (run by tests/test_appraisal_tours.py).
 * Selectors use menu xml ids, field and button names and the test data's
 * names, never translated labels.
 */
import { registry } from "@web/core/registry";

const tours = registry.category("web_tour.tours");
const APPRAISALS = "key_account_performance.menu_key_account_appraisals";

/** A KAM opens My Appraisal, opens the period's appraisal, reads the
 * accounts it is made of (with the share, the source and the KPIs left out
 * for an accepted external factor) and submits it. */
tours.add("kap_kam_appraisal_tour", {
    url: "/odoo/key-accounts",
    steps: () => [
        {
            content: "open the Appraisals menu",
            trigger: `.o_main_navbar .o_menu_sections button[data-menu-xmlid='${APPRAISALS}']`,
            run: "click",
        },
        {
            content: "My Appraisal",
            trigger: ".dropdown-item[data-menu-xmlid='key_account_performance.menu_key_account_appraisal_my']",
            run: "click",
        },
        {
            content: "my appraisal of the period is listed, no colleague's",
            trigger: ".o_list_view:not(:has(.o_data_row:contains('Review KAM 2'))) .o_data_row:contains('Review KAM')",
        },
        {
            content: "open it",
            trigger: ".o_data_row:contains('Review KAM') .o_data_cell[name=period_label]",
            run: "click",
        },
        {
            content: "the score and the grade",
            trigger: ".o_form_view:has(.o_field_widget[name=score]) .o_field_widget[name=grade] span:not(:empty)",
        },
        {
            content: "account A, from its approved review, one KPI left out (accepted external factor)",
            trigger: ".o_field_widget[name=line_ids] .o_data_row:contains('Review Account A'):has(.o_data_cell[name=source] .badge):has(.o_data_cell[name=excluded_count]:contains('1'))",
        },
        {
            content: "account B, shared, from its KPI values",
            trigger: ".o_field_widget[name=line_ids] .o_data_row:contains('Review Account B') .o_data_cell[name=share]:contains('50')",
        },
        {
            content: "submit for approval",
            trigger: ".o_form_view button[name=action_submit]",
            run: "click",
        },
        {
            content: "submitted; no Approve button on one's own appraisal",
            trigger: ".o_form_view .o_form_statusbar:not(:has(button[name=action_approve])) .o_statusbar_status button.o_arrow_button_current[data-value=submitted]",
        },
    ],
});

/** A manager opens Team Appraisals (the team ranking), opens the KAM's
 * appraisal and approves it. */
tours.add("kap_manager_appraisal_tour", {
    url: "/odoo/key-accounts",
    steps: () => [
        {
            content: "open the Appraisals menu",
            trigger: `.o_main_navbar .o_menu_sections button[data-menu-xmlid='${APPRAISALS}']`,
            run: "click",
        },
        {
            content: "Team Appraisals",
            trigger: ".dropdown-item[data-menu-xmlid='key_account_performance.menu_key_account_appraisal_team']",
            run: "click",
        },
        {
            content: "the ranking shows both people",
            trigger: ".o_kanban_view:has(.o_kanban_record:contains('Review KAM 2')) .o_kanban_record:contains('Review KAM')",
        },
        {
            content: "open the KAM's appraisal",
            trigger: ".o_kanban_record:contains('Review KAM'):not(:contains('Review KAM 2'))",
            run: "click",
        },
        {
            content: "the accounts behind the score",
            trigger: ".o_field_widget[name=line_ids] .o_data_row:contains('Review Account A')",
        },
        {
            content: "approve",
            trigger: ".o_form_view button[name=action_approve]",
            run: "click",
        },
        {
            content: "approved",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current[data-value=approved]",
        },
    ],
});
