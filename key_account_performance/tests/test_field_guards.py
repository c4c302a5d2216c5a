"""Four eyes around the workflow, engine-only partner fields, classification
by managers only, and what plain and portal users read of an account."""

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged

from ..models.res_partner import KAM_GROUP, KEY_ACCOUNT_ENGINE_FIELDS
from .edge_common import EdgeCaseCommon


@tagged("post_install", "-at_install")
class TestFieldGuards(EdgeCaseCommon):
    # ------------------------------------------------------------------
    # four eyes: no state change around the workflow
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
    # engine-only partner fields; classification by managers only
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

    def test_kam_reading_key_account_fields_still_checks_the_others(self):
        """The account asks the key-account group once for all its fields
        (check_field_access_rights): the other fields named with them are
        still checked one by one."""
        partner = self.partner_a.with_user(self.kam)
        hidden = [
            name
            for name, field in partner._fields.items()
            if field.groups
            and field.groups != KAM_GROUP
            and not field.is_accessible(partner.env)
        ]
        self.assertTrue(hidden, "a partner field the KAM may not read")
        row = partner.read(["key_account_score", "key_account_grade", "name"])[0]
        self.assertEqual(row["name"], self.partner_a.name)
        for name in hidden[:3]:
            with self.assertRaises(AccessError, msg=name):
                partner.read(["key_account_score", name])

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

    def test_merge_moves_reviews_under_the_kept_name(self):
        """The reviews of a merged account are sorted under the kept name."""
        kept = self.env["res.partner"].create(
            {"name": "Kept Account", "is_company": True, "company_id": self.company.id}
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
        self.assertEqual(self.review_a.partner_name, self.partner_a.complete_name)
        wizard.with_user(self.admin)._merge((self.partner_a | kept).ids, kept)
        self.assertEqual(self.review_a.partner_id, kept)
        self.assertEqual(self.review_a.partner_name, "Kept Account")

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
