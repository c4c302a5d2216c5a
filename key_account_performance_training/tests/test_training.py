"""Training that closes the loop, in real Odoo: a KPI mapped to eLearning
courses, an appraisal proposing them for the person's weak KPIs, enrolment,
and a course completed showing on the next appraisal with the KPI's move.

The case is the appraisal tests' (key_account_performance's
appraisal_common): in P0 the KAM's only weak KPI is the order count (one
order: weighted score 25); in P it is 50."""

from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form

from odoo.addons.key_account_performance.models.guard import internal
from odoo.addons.key_account_performance.tests.appraisal_common import (
    AppraisalCommon,
)
from odoo.addons.key_account_performance.tools import kpi_math
from odoo.addons.key_account_performance_training import post_init_hook


class TestTraining(AppraisalCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Channel = cls.env["slide.channel"]

        def course(name):
            channel = Channel.create(
                {
                    "name": name,
                    "enroll": "public",
                    "visibility": "public",
                    "is_published": True,
                }
            )
            cls.env["slide.slide"].create(
                {
                    "name": name + " lesson",
                    "channel_id": channel.id,
                    "slide_category": "article",
                    "html_content": "<p>Lesson</p>",
                    "is_published": True,
                }
            )
            return channel

        cls.course_orders = course("Winning repeat orders")
        cls.course_revenue = course("Account growth planning")
        cls.course_unmapped = course("Unrelated course")
        cls.kpi_orders.with_user(cls.admin).training_course_ids = cls.course_orders
        cls.kpi_revenue.with_user(cls.admin).training_course_ids = cls.course_revenue
        cls.env["key.account.kpi.value"].compute_for_period(
            *cls.P0, [cls.partner_a.id, cls.partner_b.id]
        )
        cls.Appraisal.compute_appraisals(str(cls.P0[0]), str(cls.P0[1]))
        cls.before = cls.Appraisal.search(
            [("user_id", "=", cls.kam.id), ("date_from", "=", cls.P0[0])]
        )

    def _membership(self, course, user):
        return self.env["slide.channel.partner"].search(
            [("channel_id", "=", course.id), ("partner_id", "=", user.partner_id.id)]
        )

    def _complete(self, course, user):
        """The person reads every lesson of the course: eLearning marks the
        membership completed."""
        course.slide_ids.with_user(user)._action_mark_completed()
        return self._membership(course, user)

    # ------------------------------------------------------------------
    # Mapping
    # ------------------------------------------------------------------
    def test_mapping_admin_writes_users_read(self):
        with Form(self.kpi_manual.with_user(self.admin)) as form:
            form.training_course_ids.add(self.course_unmapped)
        self.assertEqual(self.kpi_manual.training_course_ids, self.course_unmapped)
        # a KAM and a manager read the mapping, neither changes it
        self.assertEqual(
            self.kpi_orders.with_user(self.kam).training_course_ids.mapped("name"),
            ["Winning repeat orders"],
        )
        for user in (self.kam, self.manager):
            with self.assertRaises(AccessError):
                self.kpi_orders.with_user(user).write(
                    {"training_course_ids": [fields.Command.clear()]}
                )
        self.assertEqual(self.kpi_orders.training_course_ids, self.course_orders)

    # ------------------------------------------------------------------
    # Suggestions
    # ------------------------------------------------------------------
    def test_suggestion_lists_courses_of_weak_kpis_only(self):
        self.assertEqual(self.before.development_ids.kpi_id, self.kpi_orders)
        appraisal = self.before.with_user(self.kam)
        suggestion = appraisal.training_suggestion_ids
        self.assertEqual(suggestion.kpi_id, self.kpi_orders)
        self.assertEqual(suggestion.training_course_ids, self.course_orders)
        self.assertEqual(suggestion.training_to_enrol_ids, self.course_orders)
        self.assertEqual(
            suggestion.training_status, "Winning repeat orders: not enrolled"
        )
        # revenue has a course but is not weak for the KAM: not proposed
        self.assertNotIn(
            self.course_revenue, appraisal.training_suggestion_ids.training_course_ids
        )
        self.assertFalse(appraisal.training_done_ids)
        # KAM 2's weak KPIs include the revenue: its course is proposed there
        theirs = self.Appraisal.search(
            [("user_id", "=", self.kam2.id), ("date_from", "=", self.P0[0])]
        )
        self.assertIn(self.kpi_revenue, theirs.development_ids.kpi_id)
        self.assertIn(
            self.course_revenue, theirs.training_suggestion_ids.training_course_ids
        )

    def test_suggestions_read_in_constant_queries(self):
        """The training of all the appraisals' lines costs the queries of one
        appraisal's: the mapping and the memberships are read once for all."""
        self.kpi_manual.training_course_ids = self.course_unmapped
        appraisals = self.Appraisal.search([("date_from", "=", self.P0[0])])
        self.assertGreater(len(appraisals.development_ids.training_course_ids), 1)

        def queries(records):
            self.env.invalidate_all()
            records = records.browse(records.ids)
            before = self.env.cr.sql_log_count
            records.mapped("training_suggestion_ids.training_status")
            records.mapped("training_done_ids.kpi_trend_detail")
            return self.env.cr.sql_log_count - before

        one = queries(self.before)
        self.assertEqual(queries(appraisals), one)
        self.assertLessEqual(one, 12)

    # ------------------------------------------------------------------
    # Enrolment
    # ------------------------------------------------------------------
    def test_enrol_by_the_person_and_a_manager(self):
        suggestion = self.before.with_user(self.kam).training_suggestion_ids
        action = suggestion.action_enrol_training()
        self.assertEqual(action["tag"], "display_notification")
        self.assertIn("Winning repeat orders", action["params"]["message"])
        membership = self._membership(self.course_orders, self.kam)
        self.assertEqual(membership.member_status, "joined")
        self.assertFalse(suggestion.training_to_enrol_ids)
        self.assertEqual(suggestion.training_status, "Winning repeat orders: Joined")
        # a second course on the KPI: a key-account manager enrols the person
        self.kpi_orders.training_course_ids |= self.course_unmapped
        manager_view = self.before.with_user(self.manager).training_suggestion_ids
        self.assertEqual(manager_view.training_to_enrol_ids, self.course_unmapped)
        manager_view.action_enrol_training()
        self.assertEqual(
            self._membership(self.course_unmapped, self.kam).member_status, "joined"
        )

    def test_enrol_refused_to_an_unrelated_kam(self):
        # KAM 2 does not even read the KAM's appraisal
        lines = self.before.training_suggestion_ids
        with self.assertRaises(AccessError):
            lines.with_user(self.kam2).action_enrol_training()
        # were it readable to them, they would still be refused
        with self.assertRaisesRegex(AccessError, "Only Review KAM, their team leader"):
            lines.with_user(self.kam2).sudo()._check_enrol_rights()
        self.assertFalse(self._membership(self.course_orders, self.kam))

    def test_enrol_without_course_is_a_clear_error(self):
        self.kpi_orders.training_course_ids = False
        with self.assertRaisesRegex(UserError, "No course is mapped to the KPI"):
            self.before.development_ids.with_user(self.manager).action_enrol_training()

    # ------------------------------------------------------------------
    # The next appraisal
    # ------------------------------------------------------------------
    def test_completed_course_shows_on_next_appraisal_with_the_move(self):
        self.before.with_user(self.kam).training_suggestion_ids.action_enrol_training()
        membership = self._complete(self.course_orders, self.kam)
        self.assertEqual(membership.member_status, "completed")
        self.assertEqual(
            membership.key_account_completed_date, kpi_math.company_today(self.company)
        )
        # completed within P (the tests' P is a closed quarter, before today)
        done_on = self.P[0] + timedelta(days=10)
        membership.key_account_completed_date = done_on
        self._approve_a_with_external_factor()
        self.Appraisal.compute_appraisals(self.date_from, self.date_to)
        mine = self._appraisal(self.kam).with_user(self.kam)
        done = mine.training_done_ids
        self.assertEqual(done.kpi_id, self.kpi_orders)
        self.assertEqual(done.kind, "follow_up")
        self.assertEqual(done.training_completed_ids, self.course_orders)
        self.assertEqual(
            done.training_completed_detail,
            "Winning repeat orders (%s)" % fields.Date.to_string(done_on),
        )
        # by hand: one order in P0 (25), two in P (50): up by 25
        self.assertAlmostEqual(done.previous_score, 25.0, places=6)
        self.assertAlmostEqual(done.score, 50.0, places=6)
        self.assertEqual(done.kpi_trend, "up")
        self.assertEqual(done.kpi_trend_detail, "25.0 → 50.0 (+25.0)")
        # completed before the period (in P0): not this period's training
        membership.key_account_completed_date = self.P0[1]
        mine.invalidate_recordset()
        mine.follow_up_ids.invalidate_recordset()
        self.assertFalse(mine.training_done_ids)

    def test_kpi_trend_down_unchanged_no_data(self):
        Development = internal(self.env["key.account.appraisal.development"])
        values = [
            (60.0, 45.5, True),  # down by 14.5
            (40.0, 40.004, True),  # within the tolerance: unchanged
            (30.0, 0.0, False),  # no score this period
        ]
        lines = Development.create(
            [
                {
                    "appraisal_id": self.before.id,
                    "kind": "follow_up",
                    "kpi_id": self.kpi_manual.id,
                    "previous_score": previous,
                    "score": score,
                    "has_score": has_score,
                    "delta": score - previous if has_score else 0.0,
                }
                for previous, score, has_score in values
            ]
        )
        self.assertEqual(lines.mapped("kpi_trend"), ["down", "unchanged", "no_data"])
        self.assertEqual(
            lines.mapped("kpi_trend_detail"),
            ["60.0 → 45.5 (-14.5)", "40.0 → 40.0 (+0.0)", "30.0 → —"],
        )
        # a weak KPI has no move
        self.assertFalse(self.before.development_ids.kpi_trend)

    def test_completion_date_recorded(self):
        # the company's day, whatever the attendee's time zone: 25 hours apart,
        # the two days always differ
        self.company.partner_id.tz = "Pacific/Pago_Pago"
        self.kam.tz = "Pacific/Kiritimati"
        self.course_orders._action_add_members(self.kam.partner_id)
        membership = self._complete(self.course_orders, self.kam)
        self.assertEqual(
            membership.key_account_completed_date, kpi_math.company_today(self.company)
        )
        self.assertNotEqual(
            membership.key_account_completed_date,
            fields.Date.context_today(membership.with_user(self.kam)),
        )
        # completed before the module was installed: the install dates it from
        # its last change
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE slide_channel_partner SET member_status = 'completed', "
            "key_account_completed_date = NULL, write_date = %s WHERE id = %s",
            ["2020-03-04 10:00:00", membership.id],
        )
        membership.invalidate_recordset()
        post_init_hook(self.env)
        self.assertEqual(
            fields.Date.to_string(membership.key_account_completed_date), "2020-03-04"
        )
