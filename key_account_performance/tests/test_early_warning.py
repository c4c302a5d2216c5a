import datetime
from unittest.mock import patch

from odoo.tests import tagged

from ..tools import kpi_math
from .common import ReviewCommon

WARNING = "key_account_performance.mail_activity_type_key_account_warning"


@tagged("post_install", "-at_install")
class TestEarlyWarning(ReviewCommon):
    """P0 -> P: account C falls from a fair quarter to a bad one."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Value = cls.env["key.account.kpi.value"]
        cls.partner_c = cls._make_account("Warning Account C", cls.kam)
        cls._order(cls.partner_c, 400.0, cls._day(cls.P0, 5))
        cls._order(cls.partner_c, 400.0, cls._day(cls.P0, 35))
        cls._order(cls.partner_c, 150.0, cls._day(cls.P, 20))
        # P0 is displayed on the account first (C: 66.7, grade C)
        cls.Value.compute_for_period(*cls.P0, partner_ids=cls.partner_c.ids)

    def _notes(self, partner):
        """The account's early-warning records (their texts carry the figures)."""
        return (
            self.env["key.account.warning"]
            .sudo()
            .search([("partner_id", "=", partner.id)], order="id")
        )

    def _said(self, partner):
        return "\n".join(self._notes(partner).mapped("message"))

    def test_previous_period_is_displayed(self):
        self.assertAlmostEqual(self.partner_c.key_account_score, (75 * 2 + 50) / 3)
        self.assertEqual(self.partner_c.key_account_grade, "C")
        self.assertFalse(
            self._activities(self.partner_c, WARNING),
            "P0 is not the latest closed period: no warning for old history",
        )

    def test_threshold_crossing_grade_drop_and_score_fall(self):
        self.Value.compute_for_period(*self.P, partner_ids=self.partner_c.ids)
        self.assertEqual(self.partner_c.key_account_grade, "D")
        activity = self._activities(self.partner_c, WARNING)
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.kam)
        said = self._said(self.partner_c)
        self.assertIn("Revenue crossed its threshold (200)", said)
        self.assertIn("800 → 150", said)
        self.assertIn("Grade fell from C to D", said)
        self.assertIn("Score fell from 66.7 to 8.3", said)
        self.assertNotIn("Order Count", said, "orders stayed above their threshold")
        records = self._notes(self.partner_c)
        self.assertEqual(
            sorted(records.mapped("kind")), ["grade", "score", "threshold"]
        )
        self.assertEqual(records.company_id, self.company)
        self.assertEqual(records.user_id, self.kam)
        # the to-do names what happened, without a figure: a partner's
        # activities are open to every internal user
        note = str(activity.note)
        self.assertIn("Revenue crossed its threshold in", note)
        self.assertIn("The grade fell in", note)
        self.assertIn("The score fell sharply in", note)
        for figure in ("800", "150", "200", "66.7", "8.3", "C to D"):
            self.assertNotIn(figure, note)
        # and nothing is posted in the partner's chatter
        self.assertFalse(
            self.env["mail.message"].search(
                [
                    ("model", "=", "res.partner"),
                    ("res_id", "=", self.partner_c.id),
                    ("body", "ilike", "crossed"),
                ]
            )
        )

    def test_texts_escaped_and_in_the_users_language(self):
        """A KPI name is text, not markup, in the note and the activity; the
        texts are translated (once per language of a computation) into the
        language of the KAM they are addressed to, whoever computes."""
        from .test_i18n import load_zh_cn

        self.kpi_revenue.name = "R&D <b>Revenue</b>"
        self.Value.compute_for_period(*self.P, partner_ids=self.partner_c.ids)
        note = str(self._activities(self.partner_c, WARNING).note)
        self.assertIn("R&amp;D &lt;b&gt;Revenue&lt;/b&gt; crossed", note)
        self.assertNotIn("<b>Revenue</b>", note)
        # the record keeps the text as text
        self.assertIn("R&D <b>Revenue</b> crossed", self._said(self.partner_c))

        load_zh_cn(self.env)
        self.kam.lang = "zh_CN"
        partner = self._make_account("Warning Account Z", self.kam)
        self._order(partner, 400.0, self._day(self.P0, 5))
        self._order(partner, 400.0, self._day(self.P0, 35))
        self._order(partner, 150.0, self._day(self.P, 20))
        Value = self.Value.with_context(lang="en_US")
        Value.compute_for_period(*self.P0, partner_ids=partner.ids)
        Value.compute_for_period(*self.P, partner_ids=partner.ids)
        body = self._said(partner)
        self.assertIn("越过了阈值（200）：800 → 150", body)
        self.assertIn("等级从 C 降至 D", body)
        self.assertNotIn("crossed", body)

    def test_deduplicated_while_open(self):
        self.Value.compute_for_period(*self.P, partner_ids=self.partner_c.ids)
        activity = self._activities(self.partner_c, WARNING)
        # recomputing the same period repeats nothing
        self.Value.compute_for_period(*self.P, partner_ids=self.partner_c.ids)
        self.assertEqual(self._activities(self.partner_c, WARNING), activity)
        self.assertEqual(len(self._notes(self.partner_c)), 3)
        self.assertEqual(str(activity.note).count("Revenue crossed"), 1)
        # a new crossing in the running period extends the open activity: no
        # order yet this quarter, one in the same days of the previous quarter
        self._order(self.partner_c, 1000.0, self._day(self.P, 0))
        self.Value.compute_for_period(*self.N, partner_ids=self.partner_c.ids)
        self.assertEqual(self._activities(self.partner_c, WARNING), activity)
        self.assertIn("Revenue crossed", str(activity.note))
        self.assertIn("Order Count crossed its threshold in", str(activity.note))
        self.assertIn(
            "Order Count crossed its pro-rated threshold", self._said(self.partner_c)
        )
        self.assertIn("to date (day ", str(activity.note))
        self.assertRegex(
            self._said(self.partner_c), r"Order Count crossed[^\n]*: [12]\.00 → 0\.00"
        )
        # revenue crossed again in the running period, but its warning of the
        # closed period is still open: the same cause is not raised twice
        self.assertNotIn(
            "Revenue crossed its pro-rated threshold", self._said(self.partner_c)
        )
        self.assertEqual(len(self._notes(self.partner_c)), 4)

    def test_new_activity_once_the_previous_is_done(self):
        self.Value.compute_for_period(*self.P, partner_ids=self.partner_c.ids)
        self._activities(self.partner_c, WARNING).with_user(self.kam).action_feedback(
            feedback="Called the customer"
        )
        self.assertFalse(self._activities(self.partner_c, WARNING))
        # what was already said is not said again
        self.Value.compute_for_period(*self.P, partner_ids=self.partner_c.ids)
        self.assertFalse(self._activities(self.partner_c, WARNING))
        # a new crossing opens a new activity
        self._order(self.partner_c, 1000.0, self._day(self.P, 0))
        self.Value.compute_for_period(*self.N, partner_ids=self.partner_c.ids)
        activity = self._activities(self.partner_c, WARNING)
        self.assertEqual(len(activity), 1)
        self.assertIn("Order Count crossed its threshold in", str(activity.note))

    def test_score_step_is_configurable(self):
        self.company.key_account_score_drop_step = 90.0
        self.Value.compute_for_period(*self.P, partner_ids=self.partner_c.ids)
        said = self._said(self.partner_c)
        self.assertIn("Grade fell", said)
        self.assertNotIn("Score fell", said)

    def test_no_warning_for_old_history(self):
        partner = self._make_account("Warning Account D", self.kam)
        older = kpi_math.previous_period(*self.P0)
        self._order(partner, 900.0, self._day(older, 10))
        self._order(partner, 50.0, self._day(self.P0, 10))
        self.Value.compute_for_period(*older, partner_ids=partner.ids)
        self.Value.compute_for_period(*self.P0, partner_ids=partner.ids)
        self.assertEqual(
            self.Value.search(
                [
                    ("partner_id", "=", partner.id),
                    ("kpi_id", "=", self.kpi_revenue.id),
                    ("date_from", "=", self.P0[0]),
                ]
            ).status,
            "alert",
            "P0 crossed the threshold...",
        )
        self.assertFalse(self._activities(partner, WARNING), "... but P0 is history")
        self.assertFalse(self._notes(partner))

    def test_warning_key_is_not_chatter_text(self):
        """A chatter note that carries the old marker text (anyone may post
        one) does not silence a warning: warnings are records with a key."""
        marker = (
            '<ul><li class="o_kap_warning_threshold-%s-%s-%s">x</li>'
            '<li class="o_kap_warning_grade-%s-%s">x</li></ul>'
            % (self.kpi_revenue.id, self.P[0], self.P[1], self.P[0], self.P[1])
        )
        self.partner_c.with_user(self.kam).message_post(
            body=marker, message_type="comment", subtype_xmlid="mail.mt_note"
        )
        self.Value.compute_for_period(*self.P, partner_ids=self.partner_c.ids)
        self.assertIn("Revenue crossed its threshold", self._said(self.partner_c))
        self.assertIn("Grade fell", self._said(self.partner_c))
        self.assertTrue(self._activities(self.partner_c, WARNING))

    def test_warnings_are_read_as_the_figures_are(self):
        """A colleague KAM and a plain salesman do not read the warnings of
        an account they may not read the figures of; its KAM does."""
        self.Value.compute_for_period(*self.P, partner_ids=self.partner_c.ids)
        Warning = self.env["key.account.warning"]
        self.assertTrue(
            Warning.with_user(self.kam).search([("partner_id", "=", self.partner_c.id)])
        )
        self.assertFalse(
            Warning.with_user(self.kam2).search(
                [("partner_id", "=", self.partner_c.id)]
            )
        )
        self.assertTrue(
            Warning.with_user(self.leader).search(
                [("partner_id", "=", self.partner_c.id)]
            )
        )
        record = Warning.with_user(self.kam).search([], limit=1)
        from odoo.exceptions import UserError

        with self.assertRaises(UserError):
            record.write({"message": "nothing happened"})

    def test_no_warning_without_crossing(self):
        # A: revenue 1200 -> 600 and orders 1 -> 2 stay above their thresholds
        # (the score falls, which is warned, but no KPI crossed)
        self.Value.compute_for_period(*self.P0, partner_ids=self.partner_a.ids)
        self.partner_a.invalidate_recordset()
        self.Value.compute_for_period(*self.P, partner_ids=self.partner_a.ids)
        note = str(self._activities(self.partner_a, WARNING).note or "")
        self.assertNotIn("crossed", note)

    def test_detection_is_batched(self):
        """Detection queries do not grow with the number of accounts."""
        partners = self.env["res.partner"]
        for index in range(8):
            partner = self._make_account("Steady %s" % index, self.kam)
            for period in (self.P0, self.P):
                for day in (3, 33, 63, 80):
                    self._order(partner, 300.0, self._day(period, day))
            partners |= partner
        self.Value.compute_for_period(*self.P0, partner_ids=partners.ids)
        self.Value.compute_for_period(*self.P, partner_ids=partners[:2].ids)  # warm-up

        def count(some):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            self.Value.compute_for_period(*self.P, partner_ids=some.ids)
            self.env.flush_all()
            return self.env.cr.sql_log_count - before

        small = count(partners[2:4])
        large = count(partners[2:])
        self.assertEqual(small, large)
        self.assertFalse(
            self.env["mail.activity"].search(
                [("res_model", "=", "res.partner"), ("res_id", "in", partners.ids)]
            )
        )

    def test_no_data_never_warns_as_zero(self):
        """A KPI without a value before has crossed nothing ('no value → 0.50'
        and 'no value → -100' never happen)."""
        # P0 has no manual value, P has one far beyond the threshold (on a
        # scale from 0: a manual value lies on its KPI's scale)
        self.kpi_manual.manual_min = 0.0
        self.Value.create(
            {
                "partner_id": self.partner_c.id,
                "kpi_id": self.kpi_manual.id,
                "is_manual": True,
                "date_from": self.P[0],
                "date_to": self.P[1],
                "value": 0.5,
                "target": 5.0,
                "threshold": 1.0,
            }
        )
        self.Value.compute_for_period(*self.P, partner_ids=self.partner_c.ids)
        note = str(self._activities(self.partner_c, WARNING).note)
        self.assertIn("Revenue crossed its threshold", note)
        self.assertNotIn("Relationship (review test)", note)
        self.assertNotIn("no value", note)
        # the running period: a manual value of the whole period is not compared
        self.Value.create(
            {
                "partner_id": self.partner_c.id,
                "kpi_id": self.kpi_manual.id,
                "is_manual": True,
                "date_from": self.N[0],
                "date_to": self.N[1],
                "value": 0.2,
                "target": 5.0,
                "threshold": 1.0,
            }
        )
        self.Value.compute_for_period(*self.N, partner_ids=self.partner_c.ids)
        self.assertNotIn(
            "Relationship (review test)",
            str(self._activities(self.partner_c, WARNING).note),
        )

    def test_running_period_compares_the_same_elapsed_days(self):
        """Eight weeks into a quarter, its figures are compared with the first
        eight weeks of the previous quarter, not with the whole of it."""
        # eight weeks in, whatever today's date (the engine's "today" is fixed
        # so that the test never depends on the calendar)
        today = self.N[0] + datetime.timedelta(days=55)
        Engine = type(self.env["key.account.kpi.engine"])
        with patch.object(Engine, "_today", lambda engine, company: today):
            self._check_same_elapsed_days(today)

    def _check_same_elapsed_days(self, today):
        elapsed = (today - self.N[0]).days + 1
        partner = self._make_account("Warning Account Late", self.kam)
        # the previous quarter's order came after the days elapsed so far
        self._order(partner, 5000.0, self._day(self.P, elapsed + 1))
        self._order(partner, 5000.0, self._day(self.P, elapsed + 1))
        self.Value.compute_for_period(*self.P, partner_ids=partner.ids)
        self.Value.compute_for_period(*self.N, partner_ids=partner.ids)
        note = str(self._activities(partner, WARNING).note or "")
        self.assertNotIn(
            "crossed", note, "nothing in the same days before: nothing crossed"
        )
        # the same order early in the previous quarter: now revenue crossed
        partner_early = self._make_account("Warning Account Early", self.kam)
        self._order(partner_early, 5000.0, self._day(self.P, 0))
        self._order(partner_early, 5000.0, self._day(self.P, 0))
        self.Value.compute_for_period(*self.P, partner_ids=partner_early.ids)
        self.Value.compute_for_period(*self.N, partner_ids=partner_early.ids)
        said = self._said(partner_early)
        self.assertIn("Revenue crossed its pro-rated threshold", said)
        self.assertIn("10,000 → 0.00", said)

    def test_warning_queries_do_not_depend_on_the_number_of_accounts(self):
        """Detection and notification (notes, activities) of warnings for 2 or
        104 accounts take the same number of queries (more than the ORM's 100
        rows per INSERT)."""
        partners = self.env["res.partner"]
        for index in range(110):
            partner = self._make_account("Falling %s" % index, self.kam)
            self._order(partner, 900.0, self._day(self.P0, 3))
            self._order(partner, 900.0, self._day(self.P0, 40))
            self._order(partner, 100.0, self._day(self.P, 3))
            partners |= partner
        self.Value.compute_for_period(*self.P0, partner_ids=partners.ids)
        # warm-up on other accounts
        self.Value.compute_for_period(*self.P, partner_ids=partners[:2].ids)

        def count(some):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            self.Value.compute_for_period(*self.P, partner_ids=some.ids)
            self.env.flush_all()
            return self.env.cr.sql_log_count - before

        count(partners[2:4])  # warm-up of the notification path
        small = count(partners[4:6])
        large = count(partners[6:])
        self.assertEqual(small, large)
        activities = self.env["mail.activity"].search(
            [("res_model", "=", "res.partner"), ("res_id", "in", partners[4:].ids)]
        )
        self.assertEqual(len(activities), 106, "each account got its warning")
        self.assertEqual(activities.user_id, self.kam)
        self.assertEqual(
            set(activities.mapped("res_name")), set(partners[4:].mapped("name"))
        )
        self.assertTrue(all("Revenue crossed" in str(a.note) for a in activities))
        # the KAM follows the warned accounts, as an activity's create does
        self.assertTrue(
            all(self.kam.partner_id in p.message_partner_ids for p in partners[4:])
        )

    def _open(self, partner, kind="threshold", kpi=None):
        domain = [
            ("partner_id", "=", partner.id),
            ("kind", "=", kind),
            ("state", "=", "open"),
        ]
        if kpi:
            domain.append(("kpi_id", "=", kpi.id))
        return self.env["key.account.warning"].sudo().search(domain)

    def test_one_open_warning_per_cause_until_resolved_by_hand(self):
        """While a warning is open its cause is not raised again; once its
        KAM resolves it, the next crossing of that cause warns again. A
        colleague who may not read it may not resolve it."""
        self.Value.compute_for_period(*self.P, partner_ids=self.partner_c.ids)
        revenue = self._open(self.partner_c, kpi=self.kpi_revenue)
        self.assertEqual(len(revenue), 1)
        self._order(self.partner_c, 1000.0, self._day(self.P, 0))
        self.Value.compute_for_period(*self.N, partner_ids=self.partner_c.ids)
        self.assertEqual(self._open(self.partner_c, kpi=self.kpi_revenue), revenue)

        from odoo.exceptions import AccessError

        with self.assertRaises(AccessError):
            revenue.with_user(self.kam2).action_resolve()
        self.assertEqual(revenue.state, "open")
        revenue.with_user(self.kam).action_resolve()
        self.assertEqual(revenue.state, "resolved")
        self.assertEqual(revenue.resolution, "closed")
        self.assertEqual(revenue.resolved_by_id, self.kam)
        self.assertTrue(revenue.date_resolved)
        # resolved: the running period's crossing of revenue is said now
        self.Value.compute_for_period(*self.N, partner_ids=self.partner_c.ids)
        again = self._open(self.partner_c, kpi=self.kpi_revenue)
        self.assertEqual(len(again), 1)
        self.assertEqual(again.date_from, self.N[0])
        self.assertIn("Revenue crossed its pro-rated threshold", again.message)
        # and the state is the addon's: nobody writes it directly
        from odoo.exceptions import UserError

        with self.assertRaises(UserError):
            again.with_user(self.kam).write({"state": "resolved"})

    def test_warning_resolved_when_its_cause_recovers(self):
        """A KPI back within its threshold in a later closed period resolves
        its open warning; a KPI still beyond keeps it open."""
        partner = self._make_account("Warning Account R", self.kam)
        self._order(partner, 900.0, self._day(self.P0, 5))
        self._order(partner, 100.0, self._day(self.P, 5))
        self.Value.compute_for_period(*self.P0, partner_ids=partner.ids)
        self.Value.compute_for_period(*self.P, partner_ids=partner.ids)
        revenue = self._open(partner, kpi=self.kpi_revenue)
        self.assertEqual(len(revenue), 1)
        # the same period computed again, still beyond: stays open
        self.Value.compute_for_period(*self.P, partner_ids=partner.ids)
        self.assertEqual(revenue.state, "open")
        # a late order puts revenue of the period back above its threshold
        self._order(partner, 900.0, self._day(self.P, 50))
        self.Value.compute_for_period(*self.P, partner_ids=partner.ids)
        self.assertEqual(revenue.state, "resolved")
        self.assertEqual(revenue.resolution, "recovered")
        self.assertFalse(revenue.resolved_by_id)
        self.assertFalse(self._open(partner, kpi=self.kpi_revenue))
