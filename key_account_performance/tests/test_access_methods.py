"""The access matrix (issue 27), public methods: every public method called
by each role on an account it manages and on another; navigation opens only
readable records; searches answer no figure a role may not read. Fixtures:
access_common.AccessMatrixCommon."""

from odoo.exceptions import AccessError
from odoo.tests import tagged, users

from .access_common import (
    AccessMatrixCommon,
)


@tagged("post_install", "-at_install")
class TestAccessMethods(AccessMatrixCommon):
    # ------------------------------------------------------------------
    # Public methods
    # ------------------------------------------------------------------
    def _method_calls(self):
        """{name: (call(user, side), {role-side: allowed})}; ``side`` is
        "own" or "other" (the account of the records the method runs on)."""
        account = {"own": self.partner_a, "other": self.partner_b}
        review = {"own": self.review_a, "other": self.review_b}
        action = {"own": self.action_a, "other": self.action_b}

        def line(side):
            return self._line(review[side], self.kpi_manual)

        def value(side):
            return self._account_records("key.account.kpi.value")[
                0 if side == "own" else 1
            ]

        def submitted(side):
            """The review submitted by its KAM (as superuser: the set-up)."""
            self._line(review[side], self.kpi_manual).sudo().write({"value": 4.0})
            review[side].sudo()._workflow_write(
                {"state": "submitted", "submitted_by_id": review[side].user_id.id}
            )
            return review[side]

        P = [str(day) for day in self.P]
        kam_only = {"kam-own": True, "kam-other": False, "salesman-own": False}
        kam_only["portal-own"] = False
        managers = dict(kam_only, **{"manager-own": True, "manager-other": False})
        return {
            "kpi.value.compute_for_period": (
                lambda u, s: (
                    self.env["key.account.kpi.value"]
                    .with_user(u)
                    .compute_for_period(*P, account[s].ids)
                ),
                dict(managers, **{"admin-other": True}),
            ),
            "kpi.value.action_open_records": (
                lambda u, s: value(s).with_user(u).action_open_records(),
                managers,
            ),
            "partner.key_account_score_breakdown": (
                lambda u, s: account[s].with_user(u).key_account_score_breakdown(*P),
                dict(managers, **{"admin-other": True}),
            ),
            "partner.action_compute_key_account_kpis": (
                lambda u, s: account[s].with_user(u).action_compute_key_account_kpis(),
                managers,
            ),
            # a KAM: their own accounts, as of today; other days are refused
            "partner.compute_key_account_value": (
                lambda u, s: (
                    account[s]
                    .with_user(u)
                    .compute_key_account_value(
                        as_of=None if s == "own" else "2001-03-31"
                    )
                ),
                {
                    "kam-own": True,
                    "kam-other": False,
                    "manager-other": True,
                    "salesman-own": False,
                    "portal-own": False,
                },
            ),
            "review.action_refresh_lines": (
                lambda u, s: review[s].with_user(u).action_refresh_lines(),
                dict(managers, **{"admin-other": True}),
            ),
            "review.action_submit": (
                lambda u, s: (
                    line(s).sudo().write({"value": 4.0}),
                    review[s].with_user(u).action_submit(),
                ),
                managers,
            ),
            # the approver (the KAM's team leader) or another manager decides;
            # the KAM never
            "review.action_approve": (
                lambda u, s: submitted(s).with_user(u).action_approve(),
                {
                    "kam-own": False,
                    "kam-other": False,
                    "manager-own": True,
                    "salesman-own": False,
                    "portal-own": False,
                    "admin-other": True,
                },
            ),
            "review.action_reject": (
                lambda u, s: submitted(s).with_user(u).action_reject(reason="probe"),
                {
                    "kam-own": False,
                    "kam-other": False,
                    "manager-own": True,
                    "salesman-own": False,
                    "portal-own": False,
                },
            ),
            # the scorecard: rendered with the reader's rights
            "review.action_print_scorecard": (
                lambda u, s: (
                    self.env["ir.actions.report"]
                    .with_user(u)
                    ._render_qweb_html(
                        review[s].with_user(u).action_print_scorecard()["report_name"],
                        review[s].ids,
                    )
                ),
                managers,
            ),
            "review_line.action_create_improvement_action": (
                lambda u, s: line(s).with_user(u).action_create_improvement_action(),
                managers,
            ),
            "review_line.action_view_kpi_value": (
                lambda u, s: (
                    self._line(review[s], self.kpi_revenue)
                    .with_user(u)
                    .action_view_kpi_value()
                ),
                managers,
            ),
            "improvement_action.action_start": (
                lambda u, s: action[s].with_user(u).action_start(),
                managers,
            ),
            "improvement_action.action_done": (
                lambda u, s: action[s].with_user(u).action_done(),
                managers,
            ),
            "improvement_action.action_cancel": (
                lambda u, s: action[s].with_user(u).action_cancel(),
                managers,
            ),
            "improvement_action.action_reset": (
                lambda u, s: action[s].with_user(u).action_reset(),
                managers,
            ),
            "improvement_action.action_measure_effect": (
                lambda u, s: action[s].with_user(u).action_measure_effect(),
                managers,
            ),
            "review_cycle.action_generate_reviews": (
                lambda u, s: self.cycle.with_user(u).action_generate_reviews(),
                {
                    "kam-own": False,
                    "manager-own": True,
                    "admin-own": True,
                    "salesman-own": False,
                    "portal-own": False,
                },
            ),
            "review_cycle.action_close": (
                lambda u, s: self.cycle.with_user(u).action_close(),
                {"kam-own": False, "manager-own": True, "salesman-own": False},
            ),
            "review_cycle.action_reopen": (
                lambda u, s: self.cycle.with_user(u).action_reopen(),
                {"kam-own": False, "manager-own": True, "portal-own": False},
            ),
            "kpi_template.action_duplicate_version": (
                lambda u, s: self.template.with_user(u).action_duplicate_version(),
                {
                    "kam-own": False,
                    "manager-own": False,
                    "admin-own": True,
                    "salesman-own": False,
                },
            ),
            "res_config_settings.action_key_account_set_home": (
                lambda u, s: (
                    self.env["res.config.settings"]
                    .with_user(u)
                    .action_key_account_set_home()
                ),
                {
                    "kam-own": False,
                    "manager-own": False,
                    "admin-own": True,
                    "salesman-own": False,
                    "portal-own": False,
                },
            ),
        }

    def test_public_methods(self):
        mismatches = []
        for name, (call, expected) in self._method_calls().items():
            for cell, allowed in expected.items():
                role, side = cell.split("-")
                user = self.roles[role]
                outcome = self._try(
                    lambda call=call, user=user, side=side: call(user, side)
                )
                if (outcome is True) != allowed:
                    mismatches.append(
                        "%s as %s on the %s account: %s, expected %s"
                        % (
                            name,
                            role,
                            side,
                            "accepted"
                            if outcome is True
                            else "%s: %s"
                            % (
                                type(outcome).__name__,
                                str(outcome).splitlines()[0][:150],
                            ),
                            "accepted" if allowed else "refused",
                        )
                    )
        self.assertFalse(mismatches, "\n".join(mismatches))

    def test_navigation_opens_only_readable_records(self):
        """The action_view_* buttons return a window action for whoever calls
        them; what it lists is what the caller may read (nothing of a
        colleague's account; a refusal for a user without the addon)."""
        calls = {
            "partner.action_view_key_account_reviews": lambda p: (
                p.action_view_key_account_reviews()
            ),
            "partner.action_view_key_account_actions": lambda p: (
                p.action_view_key_account_actions()
            ),
            "partner.action_view_key_account_warnings": lambda p: (
                p.action_view_key_account_warnings()
            ),
            "partner.action_view_key_account_values": lambda p: (
                p.action_view_key_account_values()
            ),
        }
        for name, call in calls.items():
            own = call(self.partner_a.with_user(self.kam))
            listed = (
                self.env[own["res_model"]].with_user(self.kam).search(own["domain"])
            )
            self.assertTrue(listed, "%s lists the KAM's own records" % name)
            other = call(self.partner_b.with_user(self.kam))
            self.assertFalse(
                self.env[other["res_model"]]
                .with_user(self.kam)
                .search(other["domain"]),
                "%s lists nothing of a colleague's account" % name,
            )
            with self.assertRaises(AccessError, msg=name):
                self.env[other["res_model"]].with_user(self.salesman).search(
                    other["domain"]
                )
        for record, name in (
            (self.review_b, "action_view_actions"),
            (self.cycle, "action_view_reviews"),
            (self.kpi_revenue, "action_view_values"),
            (self.tier, "action_view_partners"),
        ):
            result = getattr(record.with_user(self.kam2), name)()
            self.assertEqual(result["type"], "ir.actions.act_window", name)
        cycle_reviews = self.cycle.with_user(self.kam).action_view_reviews()
        self.assertEqual(
            self.env["key.account.review"]
            .with_user(self.kam)
            .search(cycle_reviews["domain"]),
            self.review_a,
        )

    @users("kap_rt_kam")
    def test_kam_reads_no_colleague_figure_through_searches(self):
        """Searching on a figure answers what reading it would: a KAM's
        searches on the restricted key-account fields see their own
        accounts' figures only."""
        Partner = self.env["res.partner"]
        ids = [self.partner_a.id, self.partner_b.id]
        self.assertEqual(
            Partner.search([("id", "in", ids), ("key_account_visible", "=", True)]),
            self.partner_a,
        )
        self.assertEqual(
            Partner.search(
                [("id", "in", ids), ("key_account_warning_count", ">", 0)]
            ).ids,
            [self.partner_a.id],
        )
        with self.assertRaises(AccessError):
            Partner.with_user(self.salesman).search(
                [("key_account_at_risk", "=", True)]
            )

    def test_salesman_and_portal_have_no_key_account_search(self):
        for user in (self.salesman, self.portal):
            Partner = self.env["res.partner"].with_user(user)
            for name in (
                "key_account_at_risk",
                "key_account_reviewed",
                "key_account_visible",
            ):
                with self.assertRaises(AccessError, msg="%s, %s" % (user.login, name)):
                    Partner.search([(name, "=", True)])
