"""Defects of issue 7: each test fails on the tree the issue was filed
against and passes once the defect is fixed."""

import multiprocessing
import time

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import SQL, mute_logger

from ..models.res_partner import KEY_ACCOUNT_ENGINE_FIELDS
from ..tools.formula import formula_compile, formula_evaluate
from .common import ReviewCommon

KAM_GROUP = "key_account_performance.group_key_account_user"
MANAGER_GROUP = "key_account_performance.group_key_account_manager"


def _evaluate_in_child(code, context):
    """In a forked child: evaluate, exit 0 on overflow (the expected end)."""
    try:
        formula_evaluate(code, context)
    except OverflowError:
        return
    raise SystemExit(3)  # a result where an overflow was expected


@tagged("post_install", "-at_install")
class TestDefects(ReviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ref = cls.env.ref
        Users = cls.env["res.users"]

        def user(login, groups, email=True):
            return Users.create(
                {
                    "name": login,
                    "login": login,
                    "email": "%s@example.com" % login if email else False,
                    "company_id": cls.company.id,
                    "company_ids": [Command.set(cls.company.ids)],
                    "groups_id": [Command.set([ref(group).id for group in groups])],
                }
            )

        # a manager of no team: may decide any submitted review, sees none otherwise
        cls.outsider = user("kap_df_outsider", [MANAGER_GROUP])
        # KAM 2's team leader is a KAM, not a manager: the designated approver of B
        cls.kam_leader = user("kap_df_kam_leader", [KAM_GROUP])
        cls.env["crm.team"].create(
            {
                "name": "Defects team 2",
                "user_id": cls.kam_leader.id,
                "member_ids": [Command.set(cls.kam2.ids)],
            }
        )
        cls.salesman = user(
            "kap_df_salesman",
            ["sales_team.group_sale_salesman", "base.group_partner_manager"],
        )
        cls.portal = user("kap_df_portal", ["base.group_portal"])
        cls._generate_cycle()

    # ------------------------------------------------------------------
    # 1. whoever decided keeps read access
    # ------------------------------------------------------------------
    def test_decider_keeps_read_access(self):
        review = self._fill_and_submit(self.review_a.with_user(self.kam))
        action = self.env["key.account.improvement.action"].create(
            dict(
                self._line(self.review_a, self.kpi_revenue)._improvement_action_values()
            )
        )
        self.assertNotEqual(review.approver_id, self.outsider)
        review.with_user(self.outsider).action_approve()
        as_outsider = self.review_a.with_user(self.outsider)
        self.assertEqual(as_outsider.state, "approved")
        self.assertEqual(
            as_outsider.read(["state", "approved_by_id"])[0]["approved_by_id"][0],
            self.outsider.id,
        )
        self.assertEqual(len(as_outsider.line_ids.read(["value"])), 3)
        self.assertEqual(as_outsider.action_ids, action.with_user(self.outsider))
        action.with_user(self.outsider).read(["name"])
        # read, not write: the decision does not open the review to the decider's edits
        with self.assertRaises(AccessError):
            action.with_user(self.outsider).write({"name": "Changed by the approver"})
        # "Decided by me" finds it
        decided = (
            self.env["key.account.review"]
            .with_user(self.outsider)
            .search([("decider_ids", "in", [self.outsider.id])])
        )
        self.assertEqual(decided, as_outsider)
        # the KAM of another account still does not see it
        with self.assertRaises(AccessError):
            self.review_a.with_user(self.kam2).read(["state"])

    def test_rejecter_and_designated_approver_keep_read_access(self):
        review_b = self.review_b
        self.assertEqual(
            review_b.approver_id,
            self.kam_leader,
            "the leader of KAM 2's team is the designated approver",
        )
        self._fill_and_submit(review_b.with_user(self.kam2))
        review_b.with_user(self.outsider).action_reject(reason="Missing meeting notes")
        self.assertEqual(review_b.rejected_by_id, self.outsider)
        review_b.with_user(self.outsider).read(["state", "reject_reason"])
        self.assertIn(
            review_b,
            self.env["key.account.review"]
            .with_user(self.outsider)
            .search([("decider_ids", "in", [self.outsider.id])]),
        )
        # resubmitted, then decided by the designated approver, a KAM-level user
        self._fill_and_submit(review_b.with_user(self.kam2), value=5.0)
        review_b.with_user(self.kam_leader).action_approve()
        self.assertEqual(review_b.state, "approved")
        self.assertEqual(review_b.approved_by_id, self.kam_leader)
        for reader in (self.outsider, self.kam_leader):
            self.assertEqual(
                review_b.with_user(reader).read(["state"])[0]["state"], "approved"
            )
            review_b.line_ids.with_user(reader).read(["value"])
        self.assertEqual(review_b.decider_ids, self.outsider | self.kam_leader)

    # ------------------------------------------------------------------
    # 2. formulas are bounded in time and memory; logs stay short
    # ------------------------------------------------------------------
    def _formula_kpi(self, formula, code="t_df_formula"):
        return self.env["key.account.kpi"].create(
            {
                "name": "Formula %s" % code,
                "code": code,
                "computation_mode": "formula",
                "formula": formula,
                "target": 100.0,
                "threshold": 0.0,
            }
        )

    def test_formula_power_tower_refused_at_once(self):
        start = time.monotonic()
        with self.assertRaisesRegex(ValidationError, "overflows"):
            self._formula_kpi("9**9**9**9", code="t_df_tower")
        with self.assertRaisesRegex(ValidationError, "overflows"):
            self._formula_kpi("revenue ** 10 ** 400", code="t_df_tower2")
        self.assertLess(time.monotonic() - start, 5.0)

    def test_formula_boolean_tower_bounded(self):
        # booleans are integers: (x == x) + (x == x) + … builds 9 without a
        # number, and 9**9**9**9 from it; floats at every step keep it bounded.
        # Evaluated in a forked child: on the old tree it never returns.
        nine = "(%s)" % "+".join(["(revenue == revenue)"] * 9)
        tower = "**".join([nine] * 4)
        self.assertLess(len(tower), 2000)
        code = formula_compile(tower)
        ctx = multiprocessing.get_context("fork")
        child = ctx.Process(
            target=_evaluate_in_child, args=(code, {"revenue": 1.0}), daemon=True
        )
        child.start()
        child.join(20)
        alive = child.is_alive()
        if alive:
            child.kill()
            child.join()
        self.assertFalse(alive, "the boolean power tower did not finish in 20 s")
        self.assertEqual(child.exitcode, 0, "overflow is raised, nothing else")
        self.assertIsInstance(
            formula_evaluate(
                formula_compile("(revenue > 1) + (not revenue)"), {"revenue": 2}
            ),
            float,
        )
        start = time.monotonic()
        with self.assertRaisesRegex(ValidationError, "overflows"):
            self._formula_kpi(tower, code="t_df_bool_tower")
        self.assertLess(time.monotonic() - start, 5.0)

    def test_formula_bounded_at_computation(self):
        # valid on save (every input is 1 there) but an integer power of
        # billions of digits at computation on the old tree
        kpi = self._formula_kpi("round(revenue) ** (9 ** 9)")
        self.template.write(
            {
                "line_ids": [
                    Command.create(
                        {
                            "kpi_id": kpi.id,
                            "weight": 1.0,
                            "target": 100.0,
                            "threshold": 0.0,
                        }
                    )
                ]
            }
        )
        start = time.monotonic()
        self.env["key.account.kpi.value"].compute_for_period(
            *self.P, partner_ids=self.partner_a.ids
        )
        self.assertLess(time.monotonic() - start, 10.0)
        values = self.env["key.account.kpi.value"].search(
            [("partner_id", "=", self.partner_a.id), ("date_from", "=", self.P[0])]
        )
        self.assertIn(self.kpi_revenue, values.kpi_id, "the other KPIs are computed")
        self.assertNotIn(kpi, values.kpi_id, "an overflow is no value")

    def test_formula_floats_keep_results(self):
        kpi = self._formula_kpi(
            "round(revenue / 7, 2) + max(order_count, 1) ** 2 + period_days * 0"
        )
        self.template.write(
            {
                "line_ids": [
                    Command.create(
                        {
                            "kpi_id": kpi.id,
                            "weight": 1.0,
                            "target": 100.0,
                            "threshold": 0.0,
                        }
                    )
                ]
            }
        )
        self.env["key.account.kpi.value"].compute_for_period(
            *self.P, partner_ids=self.partner_a.ids
        )
        value = self.env["key.account.kpi.value"].search(
            [
                ("partner_id", "=", self.partner_a.id),
                ("kpi_id", "=", kpi.id),
                ("date_from", "=", self.P[0]),
            ]
        )
        self.assertAlmostEqual(value.value, round(600 / 7, 2) + 4)

    def test_huge_formula_message_and_log_are_short(self):
        huge = "1+" * (2 * 1024 * 1024) + "1"
        with self.assertRaises(ValidationError) as caught:
            self._formula_kpi(huge)
        self.assertLess(len(str(caught.exception)), 500)
        self.assertIn("too long", str(caught.exception))
        # stored anyway (e.g. by SQL): the computation refuses it, briefly
        kpi = self._formula_kpi("revenue * 2")
        self.template.write(
            {
                "line_ids": [
                    Command.create(
                        {
                            "kpi_id": kpi.id,
                            "weight": 1.0,
                            "target": 100.0,
                            "threshold": 0.0,
                        }
                    )
                ]
            }
        )
        self.env.flush_all()
        self.env.cr.execute(
            SQL("UPDATE key_account_kpi SET formula = %s WHERE id = %s", huge, kpi.id)
        )
        kpi.invalidate_recordset(["formula"])
        with self.assertLogs(
            "odoo.addons.key_account_performance", level="WARNING"
        ) as logs:
            self.env["key.account.kpi.value"].compute_for_period(
                *self.P, partner_ids=self.partner_a.ids
            )
        self.assertTrue(logs.output)
        self.assertLess(max(len(line) for line in logs.output), 1000)
        self.assertLess(len(kpi.last_error), 500)

    # ------------------------------------------------------------------
    # 3. four eyes: no state change around the workflow
    # ------------------------------------------------------------------
    def test_state_and_decision_fields_not_writable(self):
        review = self.review_a
        for env in (self.env, self.env(user=self.admin)):
            record = review.with_env(env)
            for vals in (
                {"state": "approved"},
                {"state": "submitted"},
                {"approved_by_id": self.leader.id},
                {"approved_date": "2025-01-01 10:00:00"},
                {"submitted_by_id": self.kam.id},
                {"submitted_date": "2025-01-01 10:00:00"},
                {"rejected_by_id": self.leader.id},
                {"decider_ids": [Command.link(self.leader.id)]},
            ):
                with self.assertRaisesRegex(UserError, "cannot be written directly"):
                    record.write(vals)
        self.assertEqual(review.state, "draft")
        with self.assertRaisesRegex(UserError, "cannot be written directly"):
            self.env["key.account.review"].with_user(self.admin).create(
                {
                    "cycle_id": self.cycle.id,
                    "partner_id": self.company.partner_id.id,
                    "state": "approved",
                }
            )
        # the workflow still goes through, and a rejected review can be reworked
        self._fill_and_submit(review.with_user(self.kam))
        review.with_user(self.leader).action_reject(reason="More detail")
        self.assertEqual(review.state, "rejected")
        self._line(review, self.kpi_manual).with_user(self.kam).write({"value": 5.0})
        with self.assertRaisesRegex(UserError, "cannot be written directly"):
            review.with_user(self.kam).write({"state": "draft"})

    # ------------------------------------------------------------------
    # 4. engine-only partner fields; classification by managers only
    # ------------------------------------------------------------------
    def test_engine_fields_refused(self):
        partner = self.partner_a
        admin_partner = partner.with_user(self.admin)
        engine_fields = sorted(KEY_ACCOUNT_ENGINE_FIELDS & set(partner._fields))
        self.assertIn("key_account_score", engine_fields)
        for name in engine_fields:
            field = partner._fields[name]
            value = {"boolean": True, "char": "555", "date": "2025-01-01"}.get(
                field.type, 42.0
            )
            if field.type == "selection":
                value = field.get_values(self.env)[0]
            with self.assertRaisesRegex(
                UserError, "computed by the key-account engine"
            ):
                admin_partner.write({name: value})
        with self.assertRaisesRegex(UserError, "computed by the key-account engine"):
            self.env["res.partner"].with_user(self.admin).create(
                {"name": "Hand-made score", "key_account_score": 99.0}
            )
        # the engine still writes them, for the same user
        self.env["key.account.kpi.value"].with_user(self.admin).compute_for_period(
            *self.P, partner_ids=partner.ids
        )
        self.assertTrue(partner.key_account_score_date)
        partner.with_user(self.admin)._compute_key_account_customer_value(self.company)
        self.assertTrue(partner.key_account_clv)

    def test_customer_value_bad_arguments_named(self):
        """Over RPC, a bad as_of or horizon gets an error naming it, not a
        ValueError from the parser."""
        Partner = self.env["res.partner"]
        with self.assertRaisesRegex(
            ValidationError, "as_of must be a date.*2026-13-01"
        ):
            Partner.compute_key_account_value("2026-13-01")
        with self.assertRaisesRegex(ValidationError, "horizon_days must be a whole"):
            Partner.compute_key_account_value("2026-09-30", "abc")
        with self.assertRaisesRegex(UserError, "at least one day"):
            Partner.compute_key_account_value("2026-09-30", -5)
        # out of range: a clear error, not an OverflowError or ValueError
        for args in (("0001-01-05",), ("9999-12-30", 30), ("2026-09-30", 10**9)):
            with self.assertRaisesRegex(UserError, "as of a date between"):
                Partner.compute_key_account_value(*args)
        result = Partner.compute_key_account_value("2026-09-30", "30")
        self.assertEqual((result["as_of"], result["horizon_days"]), ("2026-09-30", 30))

    def test_kam_cannot_reclassify_own_account(self):
        other_tier = self.env["key.account.tier"].create(
            {"name": "Defects tier 2", "sequence": 97}
        )
        self.kam.groups_id = [
            Command.link(self.env.ref("base.group_partner_manager").id)
        ]
        as_kam = self.partner_a.with_user(self.kam)
        for vals in (
            {"key_account_tier_id": other_tier.id},
            {"key_account_manager_id": self.kam2.id},
            {"key_account_template_id": False},
            # the account type chooses the template; the lock stops auto-tiering
            {
                "key_account_segment_id": self.env["key.account.segment"]
                .search([], limit=1)
                .id
            },
            {"key_account_tier_locked": True},
        ):
            with self.assertRaisesRegex(UserError, "Only key-account managers"):
                as_kam.write(vals)
        form_arch = as_kam.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn(
            'readonly="not key_account_can_classify"', form_arch.replace("'", '"')
        )
        self.assertFalse(as_kam.key_account_can_classify)
        self.assertTrue(self.partner_a.with_user(self.leader).key_account_can_classify)
        # the same value again, or other fields, are fine
        as_kam.write({"key_account_tier_id": self.tier.id, "phone": "+86 21 5555 0000"})
        self.partner_a.with_user(self.leader).write(
            {"key_account_tier_id": other_tier.id}
        )
        self.assertEqual(self.partner_a.key_account_tier_id, other_tier)

    def test_key_account_fields_hidden_from_plain_and_portal_users(self):
        partner = self.partner_a
        for user in (self.salesman, self.portal):
            fields_seen = partner.with_user(user).fields_get(attributes=["type"])
            for name in (
                "key_account_score",
                "key_account_grade",
                "key_account_churn_risk",
                "key_account_clv",
                "key_account_rfm_segment",
            ):
                self.assertNotIn(name, fields_seen, user.login)
        with self.assertRaises(AccessError):
            partner.with_user(self.salesman).read(["key_account_score"])
        with self.assertRaises(AccessError):
            self.env["res.partner"].with_user(self.salesman).search(
                [("key_account_churn_risk", "=", True)]
            )
        # the partner stays usable for sales: the form opens and saves
        with Form(partner.with_user(self.salesman)) as form:
            form.phone = "+86 10 5555 0101"
        self.assertEqual(partner.phone, "+86 10 5555 0101")
        arch = (
            self.env["res.partner"]
            .with_user(self.salesman)
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )
        self.assertNotIn("key_account_score", arch)
        order = (
            self.env["sale.order"]
            .with_user(self.salesman)
            .create(
                {
                    "partner_id": partner.id,
                    "order_line": [
                        Command.create(
                            {"product_id": self.product.id, "price_unit": 10.0}
                        )
                    ],
                }
            )
        )
        self.assertEqual(order.partner_id, partner)
        # a KAM sees them
        self.assertIn(
            "key_account_score",
            partner.with_user(self.kam).fields_get(attributes=["type"]),
        )

    def test_full_partner_read_by_plain_and_portal_users(self):
        """odoorpc's browse() reads every field: a sales user or a portal user
        reading a key account that way gets the partner, without its
        key-account data and without an access error."""
        Value = self.env["key.account.kpi.value"]
        Value.compute_for_period(*self.P, partner_ids=self.partner_a.ids)
        self.portal.partner_id.parent_id = self.partner_a
        for user, partner in (
            (self.salesman, self.partner_a),
            (self.portal, self.portal.partner_id),
        ):
            as_user = partner.with_user(user)
            # a portal user reads their own partner's public fields (Odoo's
            # own bank-account fields are closed to them)
            names = (
                None
                if user == self.salesman
                else [
                    n
                    for n in as_user.fields_get(attributes=["type"])
                    if n.startswith("key_account") or n == "name"
                ]
            )
            rows = as_user.read(names)
            self.assertTrue(rows[0]["name"])
            leaked = {name for name in rows[0] if name.startswith("key_account_")}
            self.assertLessEqual(
                leaked,
                # the classification and the goals are internal too (the
                # portal user read the internal goal text)
                {"key_account_currency_id"},
                user.login,
            )
            self.assertNotIn("key_account_value_count", rows[0])
        # the form view loads for the sales user too
        self.partner_a.with_user(self.salesman).web_read(
            {
                name: {}
                for name in self.env["res.partner"]
                .with_user(self.salesman)
                .get_views([(False, "form")])["models"]["res.partner"]["fields"]
            }
        )

    def test_kam_cannot_type_kpi_values(self):
        """A KAM (or manager) reads their accounts' values but cannot type one
        in: it would flow into the review and the score."""
        Value = self.env["key.account.kpi.value"]
        Value.compute_for_period(*self.P, partner_ids=self.partner_a.ids)
        value = Value.search(
            [
                ("partner_id", "=", self.partner_a.id),
                ("kpi_id", "=", self.kpi_revenue.id),
                ("date_from", "=", self.P[0]),
            ]
        )
        for user in (self.kam, self.leader):
            with self.assertRaisesRegex(UserError, "cannot be created or changed"):
                value.with_user(user).write({"value": 1e9})
            with self.assertRaisesRegex(UserError, "cannot be created or changed"):
                Value.with_user(user).create(
                    {
                        "partner_id": self.partner_a.id,
                        "kpi_id": self.kpi_manual.id,
                        "date_from": self.P[0],
                        "date_to": self.P[1],
                        "value": 5.0,
                    }
                )
        value.with_user(self.kam).write({"comment": "Big order moved to next quarter"})
        self.assertEqual(value.value, 600.0)
        # the KAM still computes their own account, and the admin may correct
        Value.with_user(self.kam).compute_for_period(
            *self.P, partner_ids=self.partner_a.ids
        )
        value.with_user(self.admin).write({"value": 601.0})
        self.assertEqual(value.value, 601.0)

    def test_kam_cannot_add_or_remove_review_lines(self):
        review = self.review_a.with_user(self.kam)
        with self.assertRaisesRegex(UserError, "come from the account's KPI template"):
            self.env["key.account.review.line"].with_user(self.kam).create(
                {
                    "review_id": review.id,
                    "kpi_id": self.kpi_orders.id,
                    "value": 99.0,
                    "target": 1.0,
                    "threshold": 0.0,
                    "weight": 100.0,
                }
            )
        with self.assertRaises(AccessError):  # KAMs delete nothing
            self._line(review, self.kpi_revenue).unlink()
        with self.assertRaisesRegex(UserError, "come from the account's KPI template"):
            self._line(review, self.kpi_revenue).with_user(self.leader).unlink()
        with self.assertRaisesRegex(UserError, "come from the account's KPI template"):
            review.write(
                {
                    "line_ids": [
                        Command.create(
                            {
                                "kpi_id": self.kpi_orders.id,
                                "value": 99.0,
                                "weight": 100.0,
                            }
                        )
                    ]
                }
            )
        # Refresh Values still follows the template
        review.action_refresh_lines()
        self.assertIn(self.kpi_revenue, review.line_ids.kpi_id)

    def test_kam_cannot_choose_approver_or_owner(self):
        review = self.review_a.with_user(self.kam)
        self.assertEqual(review.approver_id, self.leader)
        self.assertFalse(review.can_assign)
        for vals in ({"approver_id": self.kam2.id}, {"user_id": self.kam2.id}):
            with self.assertRaisesRegex(UserError, "Only key-account managers choose"):
                review.write(vals)
        with self.assertRaisesRegex(UserError, "Only key-account managers choose"):
            self.env["key.account.review"].with_user(self.kam).create(
                {
                    "cycle_id": self.cycle.id,
                    "partner_id": self._make_account("Review Account E", self.kam).id,
                    "approver_id": self.kam2.id,
                }
            )
        submitted = self._fill_and_submit(review)
        with self.assertRaisesRegex(UserError, "Only key-account managers choose"):
            submitted.write({"approver_id": self.kam_leader.id})
        # the same approver again is fine; a manager reassigns
        submitted.write({"approver_id": self.leader.id})
        self.review_a.with_user(self.leader).write({"approver_id": self.manager.id})
        self.assertEqual(self.review_a.approver_id, self.manager)
        self.assertTrue(self.review_a.with_user(self.leader).can_assign)

    def test_merge_contacts_of_a_scored_account(self):
        """Merge Contacts copies every stored field, the engine's too."""
        self.env["key.account.kpi.value"].compute_for_period(
            *self.P, partner_ids=self.partner_a.ids
        )
        self.assertTrue(self.partner_a.key_account_score_date)
        duplicate = self.env["res.partner"].create(
            {
                "name": "Review Account A (dup)",
                "is_company": True,
                "company_id": self.company.id,
                "email": "a@example.com",
            }
        )
        self.admin.groups_id = [
            Command.link(self.env.ref("base.group_partner_manager").id),
            Command.link(self.env.ref("base.group_system").id),
            Command.link(self.env.ref("account.group_account_invoice").id),
        ]
        wizard = (
            self.env["base.partner.merge.automatic.wizard"]
            .with_user(self.admin)
            .create({})
        )
        wizard.with_user(self.admin)._merge(
            (self.partner_a | duplicate).ids, self.partner_a
        )
        self.assertFalse(duplicate.exists())
        self.assertTrue(self.partner_a.key_account_score_date)

    def test_action_assigned_by_user_without_email(self):
        self.kam.partner_id.email = False
        action = (
            self.env["key.account.improvement.action"]
            .with_user(self.kam)
            .create(
                {
                    "name": "Call the buyer",
                    "partner_id": self.partner_a.id,
                    "user_id": self.leader.id,
                    "company_id": self.company.id,
                }
            )
        )
        action.with_user(self.kam).write({"user_id": self.kam_leader.id})
        action.with_user(self.kam).message_post(body="Called, waiting for feedback")
        self.assertIn(self.kam.partner_id, action.message_ids.author_id)

    # ------------------------------------------------------------------
    # 5. users without an e-mail address
    # ------------------------------------------------------------------
    def test_workflow_without_email(self):
        self.kam.partner_id.email = False
        self.leader.partner_id.email = False
        self.outsider.partner_id.email = False
        review = self._fill_and_submit(self.review_a.with_user(self.kam))
        self.assertEqual(review.state, "submitted")
        # the approver, who has an address, is notified of the approval to do
        notified = (
            self.env["mail.message"]
            .sudo()
            .search(
                [
                    ("model", "=", review._name),
                    ("res_id", "=", review.id),
                    ("partner_ids", "in", self.leader.partner_id.ids),
                ]
            )
        )
        self.assertTrue(notified, "the approver is notified of the activity")
        review.with_user(self.outsider).action_reject(reason="No notes")
        self.assertEqual(review.state, "rejected")
        self._fill_and_submit(review)
        review.with_user(self.leader).action_approve()
        self.assertEqual(review.state, "approved")
        authors = review.message_ids.author_id
        self.assertIn(self.kam.partner_id, authors)
        self.assertIn(self.leader.partner_id, authors)

    def test_notification_reaches_approver_with_email(self):
        self.kam.partner_id.email = False
        review = self._fill_and_submit(self.review_a.with_user(self.kam))
        notifications = (
            self.env["mail.notification"]
            .sudo()
            .search(
                [
                    ("mail_message_id.model", "=", review._name),
                    ("mail_message_id.res_id", "=", review.id),
                    ("res_partner_id", "=", self.leader.partner_id.id),
                ]
            )
        )
        self.assertTrue(
            notifications.filtered(lambda n: n.notification_type == "email")
        )
        # and the e-mail leaves with a sender, although its author has no address
        messages = notifications.mail_message_id.filtered(
            lambda m: m.author_id == self.kam.partner_id
        )
        self.assertTrue(messages)
        self.assertTrue(
            all(messages.mapped("email_from")), messages.mapped("email_from")
        )

    # ------------------------------------------------------------------
    # 7. no data is not 0
    # ------------------------------------------------------------------
    def test_first_review_has_no_trend(self):
        self.assertFalse(self.review_a.previous_review_id)
        self.assertFalse(self.review_a.has_trend)
        arch = self.env["key.account.review"].get_views(
            [(False, "form"), (False, "list")]
        )["views"]
        for view in ("form", "list"):
            self.assertIn(
                'invisible="not has_trend"', arch[view]["arch"].replace("'", '"')
            )

    def test_no_data_prints_a_dash(self):
        manual_only = self.env["key.account.kpi.template"].create(
            {
                "name": "Manual only (defects)",
                "line_ids": [
                    Command.create(
                        {
                            "kpi_id": self.kpi_manual.id,
                            "weight": 1.0,
                            "target": 5.0,
                            "threshold": 1.0,
                        }
                    )
                ],
            }
        )
        partner = self._make_account("Review Account C", self.kam)
        partner.key_account_template_id = manual_only
        review = self.env["key.account.review"].create(
            {
                "cycle_id": self.cycle.id,
                "partner_id": partner.id,
                "line_ids": [
                    Command.create(vals)
                    for vals in self.env["key.account.review"]._line_values(
                        manual_only, {}
                    )
                ],
            }
        )
        self.assertFalse(review.line_ids.has_value)
        self.assertFalse(review.grade)
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html(
                "key_account_performance.action_report_key_account_review", review.ids
            )[0]
            .decode()
        )
        self.assertNotIn("/ 100", html, "no score is not 0 / 100")
        self.assertGreaterEqual(
            html.count("o_kap_no_data"), 3, "score, value and KPI score: a dash"
        )
        line_arch = self.env["key.account.review"].get_views([(False, "form")])[
            "views"
        ]["form"]["arch"]
        self.assertIn("not has_value", line_arch)

    def test_partner_without_score_shows_a_dash(self):
        # never computed (no score date): a dash, not a score of 0
        views = (
            self.env["res.partner"]
            .with_user(self.kam)
            .get_views([(False, "form")])["views"]
        )
        arch = views["form"]["arch"].replace("'", '"')
        self.assertIn('invisible="not key_account_score_date"', arch)
        list_arch = self.env.ref(
            "key_account_performance.res_partner_view_list_key_account"
        ).arch.replace("'", '"')
        self.assertIn('invisible="not key_account_score_date"', list_arch)
        # no previous period: no trend (not 0.0); no customer value run: no CLV
        self.assertIn('invisible="not key_account_has_previous"', list_arch)
        self.assertIn('invisible="not key_account_value_date"', list_arch)
        self.assertIn('invisible="not key_account_value_date"', arch)
        cycle_arch = self.env["key.account.review.cycle"].get_views([(False, "form")])[
            "views"
        ]["form"]["arch"]
        self.assertIn(
            'widget="kap_score" invisible="not grade"', cycle_arch.replace("'", '"')
        )

    # ------------------------------------------------------------------
    # 8. the drill-down works for a KAM, within their own rights
    # ------------------------------------------------------------------
    def test_drill_down_for_kam(self):
        Value = self.env["key.account.kpi.value"]
        Value.compute_for_period(
            *self.P, partner_ids=(self.partner_a | self.partner_b).ids
        )
        value = Value.search(
            [
                ("partner_id", "=", self.partner_a.id),
                ("kpi_id", "=", self.kpi_revenue.id),
                ("date_from", "=", self.P[0]),
            ]
        )
        orders = self.env["sale.order"].search(
            [("partner_id", "=", self.partner_a.id), ("date_order", ">=", self.P[0])]
        )
        self.assertEqual(len(orders), 2)
        orders[0].user_id = self.kam
        orders[1].user_id = self.leader
        action = value.with_user(self.kam).action_open_records()
        self.assertEqual(action["res_model"], "sale.order")
        # the records open with the KAM's own rights: their own order only
        seen = self.env["sale.order"].with_user(self.kam).search(action["domain"])
        self.assertEqual(seen, orders[0].with_user(self.kam))
        # the review line's magnifier
        review = self.review_a.with_user(self.kam)
        action_line = self._line(review, self.kpi_revenue).action_view_kpi_value()
        self.assertEqual(action_line["res_model"], "sale.order")
        # not the values of another KAM's account
        other = Value.search(
            [
                ("partner_id", "=", self.partner_b.id),
                ("kpi_id", "=", self.kpi_revenue.id),
                ("date_from", "=", self.P[0]),
            ]
        )
        with self.assertRaises(AccessError):
            other.with_user(self.kam).action_open_records()

    def test_drill_down_for_decider_outside_the_team(self):
        """A manager of no team decides a review: they read its lines, and the
        magnifier opens the records behind them (the value itself lies under
        the team's rules)."""
        self.env["key.account.kpi.value"].compute_for_period(
            *self.P, partner_ids=self.partner_a.ids
        )
        review = self._fill_and_submit(self.review_a.with_user(self.kam))
        review.with_user(self.outsider).action_approve()
        line = self._line(review.with_user(self.outsider), self.kpi_revenue)
        with self.assertRaises(AccessError):
            line.kpi_value_id.with_user(self.outsider).read(["value"])
        # the records open with the reader's rights: their own orders only
        action = line.action_view_kpi_value()
        self.assertEqual(action["res_model"], "sale.order")
        self.assertEqual(action["domain"], [("id", "in", [])])
        # a reader of every order sees both
        self.outsider.groups_id = [
            Command.link(self.env.ref("sales_team.group_sale_salesman_all_leads").id)
        ]
        action = line.action_view_kpi_value()
        self.assertEqual(len(self.env["sale.order"].search(action["domain"])), 2)
        # not a line of a review they cannot read
        with self.assertRaises(AccessError):
            self._line(self.review_b, self.kpi_revenue).with_user(
                self.outsider
            ).action_view_kpi_value()

    # ------------------------------------------------------------------
    # concurrency: a review decided twice at once
    # ------------------------------------------------------------------
    @mute_logger("odoo.sql_db")
    def test_approval_lock_refused_cleanly(self):
        """The lock statement is what makes a second approver fail cleanly:
        here its NOWAIT failure is provoked by locking the row from a second
        connection (on a committed review: see tests/test_rpc_access.py)."""
        review = self._fill_and_submit(self.review_a.with_user(self.kam))
        review.with_user(self.leader)._lock_for_decision()  # the lock itself succeeds
        review.with_user(self.leader).action_approve()
        with self.assertRaisesRegex(UserError, "only submitted reviews"):
            review.with_user(self.manager).action_approve()
        self.assertEqual(review.approved_by_id, self.leader)
