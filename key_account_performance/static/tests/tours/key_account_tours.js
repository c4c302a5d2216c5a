/** @odoo-module **/
/**
 * Browser tours of the key-account cockpit (run by tests/test_tours.py).
 * Selectors use field and button names and the test data's names, never
 * translated labels, so that the same steps run in English and in Chinese.
 */
import { registry } from "@web/core/registry";
import { user } from "@web/core/user";

const tours = registry.category("web_tour.tours");

/** A KAM opens an account from the kanban, reads why the score moved,
 * fills the manual KPI of the review and submits it. */
tours.add("kap_kam_review_tour", {
    url: "/odoo/key-accounts",
    steps: () => [
        {
            content: "the kanban groups my accounts by tier",
            trigger: ".o_kanban_group .o_kanban_record:contains('Tour Account A')",
        },
        {
            content: "the card shows the score as 'N / 100' and the trend arrow",
            trigger: ".o_kanban_record:contains('Tour Account A') .o_kap_score_value:contains('/ 100')",
        },
        {
            content: "open the account",
            trigger: ".o_kanban_record:contains('Tour Account A')",
            run: "click",
        },
        {
            content: "the key-account page comes first, with why the score moved",
            trigger: ".o_notebook .nav-link.active[name='key_account']",
        },
        {
            content: "revenue moved the score most",
            trigger: ".o_field_widget[name=key_account_breakdown_ids] .o_data_row:first-child:contains('Revenue')",
        },
        {
            content: "the change in points is shown",
            trigger: ".o_field_widget[name=key_account_breakdown_ids] .o_data_row:first-child .o_data_cell[name=delta_points]",
        },
        {
            content: "open the account's reviews",
            trigger: "button[name=action_view_key_account_reviews]",
            run: "click",
        },
        {
            content: "open the review",
            trigger: ".o_data_row:contains('Tour Account A') .o_data_cell[name=partner_id]",
            run: "click",
        },
        {
            content: "edit the manual KPI",
            trigger: ".o_field_widget[name=line_ids] .o_data_row:contains('Tour Relationship') .o_data_cell[name=value]",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=line_ids] .o_data_row.o_selected_row .o_data_cell[name=value] input",
            run: "edit 4",
        },
        {
            content: "submit for approval",
            trigger: ".o_form_view button[name=action_submit]",
            run: "click",
        },
        {
            content: "the review is submitted",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current[data-value=submitted]",
        },
        {
            content: "the KAM has no approve button on their own review",
            trigger: ".o_form_view .o_form_statusbar:not(:has(button[name=action_approve]))",
        },
    ],
});

/** A manager opens the queue in one click from the app's home, approves a
 * review there and rejects another with a reason. */
tours.add("kap_manager_approval_tour", {
    url: "/odoo/key-accounts",
    steps: () => [
        {
            content: "the app's home: the key-account kanban",
            trigger: ".o_kanban_view",
        },
        {
            content: "the To Approve queue is one click away, in the app's top menu",
            trigger: ".o_main_navbar .o_menu_sections a[data-menu-xmlid='key_account_performance.menu_key_account_review_to_approve']",
            run: "click",
        },
        {
            content: "the queue lists the submitted reviews",
            trigger: ".o_data_row:contains('Tour Account A')",
        },
        {
            trigger: ".o_data_row:contains('Tour Account A') .o_data_cell[name=partner_id]",
            run: "click",
        },
        {
            content: "the manager does not see the KAM's buttons",
            trigger: ".o_form_view .o_form_statusbar:not(:has(button[name=action_submit])):has(button[name=action_approve])",
        },
        {
            content: "approve",
            trigger: ".o_form_view button[name=action_approve]",
            run: "click",
        },
        {
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current[data-value=approved]",
        },
        {
            content: "back to the queue",
            trigger: ".o_breadcrumb .breadcrumb-item a",
            run: "click",
        },
        {
            trigger: ".o_data_row:contains('Tour Account B') .o_data_cell[name=partner_id]",
            run: "click",
        },
        {
            content: "reject",
            trigger: ".o_form_view button[name=action_open_reject_wizard]",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=reason] textarea",
            run: "edit Please comment on the revenue drop.",
        },
        {
            trigger: ".modal button[name=action_reject]",
            run: "click",
        },
        {
            content: "the review is rejected, with its reason",
            trigger: ".o_form_view:contains('Please comment on the revenue drop.')",
        },
        {
            content: "the manager does not see the KAM's Submit on the rejected review",
            trigger: ".o_form_view .o_form_statusbar:not(:has(button[name=action_submit])):not(:has(button[name=action_refresh_lines]))",
        },
    ],
});

/** From a score to the orders behind it. */
tours.add("kap_drill_down_tour", {
    url: "/odoo/key-accounts",
    steps: () => [
        {
            trigger: ".o_kanban_record:contains('Tour Account A')",
            run: "click",
        },
        {
            content: "the score of the account",
            trigger: ".o_field_widget[name=key_account_score] .o_kap_score_value",
        },
        {
            content: "open the records behind the revenue",
            trigger: ".o_field_widget[name=key_account_breakdown_ids] .o_data_row:contains('Revenue') button[name=action_open_records]",
            run: "click",
        },
        {
            content: "the orders of the period",
            trigger: ".o_list_view .o_data_row:contains('Tour Account A')",
        },
        {
            content: "two orders",
            trigger: ".o_list_view:not(:has(.o_data_row:nth-child(3))) .o_data_row:nth-child(2)",
        },
    ],
});

/** The same drill-down, for a user whose language is Simplified Chinese. */
tours.add("kap_drill_down_zh_tour", {
    url: "/odoo/key-accounts",
    steps: () => [
        {
            content: "the web client speaks Chinese",
            trigger: ".o_kanban_record:contains('Tour Account A')",
            run() {
                if (user.lang !== "zh_CN" && user.context.lang !== "zh_CN") {
                    throw new Error(`the user's language is ${user.lang}, not zh_CN`);
                }
                if (!/[\u4e00-\u9fff]/.test(document.body.innerText)) {
                    throw new Error("no Chinese text on the page");
                }
            },
        },
        {
            trigger: ".o_kanban_record:contains('Tour Account A')",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=key_account_score] .o_kap_score_value",
        },
        {
            trigger: ".o_field_widget[name=key_account_breakdown_ids] .o_data_row:first-child button[name=action_open_records]",
            run: "click",
        },
        {
            trigger: ".o_list_view .o_data_row:contains('Tour Account A')",
        },
    ],
});
