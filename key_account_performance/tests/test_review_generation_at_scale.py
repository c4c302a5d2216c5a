"""Review generation at scale: its query count does not depend on the
number of accounts, and the reviews it writes in bulk are what the ORM
would compute."""

import datetime

from odoo import Command
from odoo.tests import tagged

from .kpi_common import Q1, Q4, KpiOrdersCommon


@tagged("post_install", "-at_install")
class TestReviewGenerationAtScale(KpiOrdersCommon):
    # ------------------------------------------------------------------
    # Query counts at two sizes: review generation
    # ------------------------------------------------------------------
    def test_review_generation_queries_do_not_depend_on_the_number_of_accounts(self):
        Cycle = self.env["key.account.review.cycle"]
        tier = self.env["key.account.tier"].create(
            {"name": "Generation tier", "sequence": 98}
        )

        def make(count, tag, period):
            partners = self.env["res.partner"].create(
                [
                    {
                        "name": "%s %s" % (tag, index),
                        "is_company": True,
                        "key_account_tier_id": tier.id,
                        "key_account_manager_id": self.kam.id,
                        "key_account_template_id": self.template.id,
                    }
                    for index in range(count)
                ]
            )
            for partner in partners:
                self._order(
                    partner,
                    400.0,
                    datetime.datetime.combine(
                        period[0] + datetime.timedelta(days=33), datetime.time(12)
                    ),
                )
            return partners

        def generate(partners, period):
            # with the chatter on, as in a real database (the class's context
            # turns tracking off): following and logging must not be per review
            cycle = Cycle.with_context(
                tracking_disable=False, mail_create_nolog=False, mail_notrack=False
            ).create(
                {"period_type": "quarter", "date_from": period[0], "date_to": period[1]}
            )
            # only these accounts are key accounts of the company for the cycle
            partners.write({"key_account_tier_id": tier.id})
            others = self.env["res.partner"].search(
                [("is_key_account", "=", True), ("id", "not in", partners.ids)]
            )
            others.write({"key_account_tier_id": False})
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            cycle.action_generate_reviews()
            self.env.flush_all()
            # the chatter's tracking of the cycle is written before commit
            self.cr.precommit.run()
            count = self.cr.sql_log_count - before
            self.assertEqual(len(cycle.review_ids), len(partners))
            # generating again refreshes the drafts, in as many queries for
            # any number of them (a band changed: every line is rewritten)
            band = self.template.line_ids[:1]
            band.target += 1.0
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            cycle.action_generate_reviews()
            self.env.flush_all()
            self.cr.precommit.run()
            again = self.cr.sql_log_count - before
            self.assertEqual(
                set(
                    cycle.review_ids.line_ids.filtered(
                        lambda line: line.kpi_id == band.kpi_id
                    ).mapped("target")
                ),
                {band.target},
            )
            return count, again

        q2 = (datetime.date(2025, 4, 1), datetime.date(2025, 6, 30))
        # every account made first (creating partners fills caches of its own)
        warm = make(2, "Warm", Q4)
        small = make(3, "Small", Q1)
        # more than the ORM's 100 rows per INSERT, and than one per review
        large = make(120, "Large", q2)
        generate(warm, Q4)  # warm-up (caches), on other accounts
        small_count = generate(small, Q1)
        large_count = generate(large, q2)
        self.assertEqual(small_count, large_count)

    def test_generated_reviews_are_what_the_orm_computes(self):
        """The reviews written in bulk hold what their computes give, are
        followed by their KAM and by who generated them, start their chatter
        with mail's creation note, and e-mail nobody."""
        Review = self.env["key.account.review"]
        Line = self.env["key.account.review.line"]
        manager = self.env["res.users"].create(
            {
                "name": "Generation Manager",
                "login": "kap_generation_manager",
                "email": "manager@example.com",
                "groups_id": [
                    Command.link(
                        self.env.ref(
                            "key_account_performance.group_key_account_manager"
                        ).id
                    )
                ],
            }
        )
        no_value = self._make_account("Generation No Orders")
        mails_before = self.env["mail.mail"].sudo().search_count([])
        cycle = (
            self.env["key.account.review.cycle"]
            .with_user(manager)
            .with_context(
                tracking_disable=False, mail_create_nolog=False, mail_notrack=False
            )
            .create({"period_type": "quarter", "date_from": Q1[0], "date_to": Q1[1]})
        )
        cycle.action_generate_reviews()
        reviews = cycle.sudo().review_ids
        self.assertIn(no_value, reviews.partner_id)
        self.assertIn(self.partner_a, reviews.partner_id)

        def check(reviews):
            """Stored values against what the computes give."""
            stored = {
                review.id: (
                    review.name,
                    review.company_id,
                    review.date_from,
                    review.date_to,
                    review.state,
                    review.user_id,
                    review.approver_id,
                    review.score,
                    review.grade,
                    review.alert_count,
                    review.create_uid,
                )
                for review in reviews
            }
            lines = reviews.line_ids
            self.assertTrue(lines)
            stored_lines = {
                line.id: (
                    line.score,
                    line.status,
                    line.partner_id,
                    line.company_id,
                    line.date_from,
                    line.date_to,
                )
                for line in lines
            }
            # what the ORM's computes give on the same records
            self.env.add_to_compute(Line._fields["score"], lines)
            self.env.add_to_compute(Line._fields["status"], lines)
            for name in ("name", "score", "grade", "alert_count", "approver_id"):
                self.env.add_to_compute(Review._fields[name], reviews)
            for name in ("partner_id", "company_id", "date_from", "date_to"):
                self.env.add_to_compute(Line._fields[name], lines)
            self.env.flush_all()
            self.env.invalidate_all()
            for review in reviews:
                self.assertEqual(
                    stored[review.id],
                    (
                        review.name,
                        review.company_id,
                        review.date_from,
                        review.date_to,
                        "draft",
                        review.partner_id.key_account_manager_id
                        or review.partner_id.user_id,
                        review.approver_id,
                        review.score,
                        review.grade,
                        review.alert_count,
                        manager,
                    ),
                )
            for line in lines:
                self.assertEqual(
                    stored_lines[line.id],
                    (
                        line.score,
                        line.status,
                        line.review_id.partner_id,
                        line.review_id.company_id,
                        line.review_id.date_from,
                        line.review_id.date_to,
                    ),
                )

        check(reviews)
        review_a = reviews.filtered(lambda r: r.partner_id == self.partner_a)
        self.assertGreater(review_a.score, 0.0)
        self.assertTrue(review_a.grade)
        self.assertEqual(
            len(review_a.line_ids), len(self.template.line_ids), "one line per KPI"
        )
        for review in reviews:
            kam = review.partner_id.key_account_manager_id or review.partner_id.user_id
            self.assertEqual(
                set(review.message_partner_ids.ids),
                {kam.partner_id.id, manager.partner_id.id} - {False},
            )
            creation = review.message_ids.filtered(
                lambda m: m.message_type == "notification"
            )
            self.assertEqual(len(creation), 1)
            self.assertIn("created", str(creation.body))
            self.assertEqual(creation.author_id, manager.partner_id)
            self.assertEqual(creation.subtype_id, self.env.ref("mail.mt_note"))
        follower = review_a.message_follower_ids.filtered(
            lambda f: f.partner_id == self.kam.partner_id
        )
        self.assertEqual(
            follower.subtype_ids,
            self.env["mail.message.subtype"].default_subtypes(Review._name)[0],
        )
        self.assertEqual(
            self.env["mail.mail"].sudo().search_count([]),
            mails_before,
            "no e-mail per generated review",
        )
        # the KAM sees the reviews as theirs; generating again adds nothing
        self.assertEqual(
            Review.with_user(self.kam).search([("cycle_id", "=", cycle.id)]),
            reviews.filtered(lambda r: r.user_id == self.kam),
        )
        cycle.action_generate_reviews()
        self.assertEqual(cycle.sudo().review_ids, reviews)
        self.assertEqual(len(review_a.message_follower_ids), 2)

        # refreshing the drafts: new figures, a band moved, a KPI added to
        # the template and one dropped, a manual value kept
        self._order(self.partner_a, 5000.0, self._local(2025, 3, 20, 12, 0, 0))
        self.Value.compute_for_period(*Q1, partner_ids=self.partner_a.ids)
        revenue_band = self.template.line_ids.filtered(
            lambda ln: ln.kpi_id == self.kpi["revenue"]
        )
        revenue_band.target = 8000.0
        dropped = self.template.line_ids.filtered(
            lambda ln: ln.kpi_id == self.kpi["order_count"]
        )
        dropped_lines = reviews.filtered(
            lambda r: r.template_id == self.template
        ).line_ids.filtered(lambda ln: ln.kpi_id == self.kpi["order_count"])
        self.assertTrue(dropped_lines)
        dropped.unlink()
        manual = self.Kpi.create(
            {
                "name": "Relationship (generation test)",
                "code": "t_gen_relationship",
                "computation_mode": "manual",
                "target": 5.0,
                "threshold": 1.0,
                # scored 0-100 in this template (the lines' target is 50)
                "manual_min": 0.0,
                "manual_max": 100.0,
            }
        )
        self.template.line_ids = [
            Command.create({"kpi_id": manual.id, "target": 50.0, "threshold": 0.0})
        ]

        def nps_line(review):
            return review.line_ids.filtered(lambda ln: ln.kpi_id == manual)

        score_before = review_a.score
        cycle.action_generate_reviews()
        self.env.invalidate_all()
        self.assertFalse(dropped_lines.exists())
        self.assertEqual(len(nps_line(review_a)), 1)
        self.assertTrue(nps_line(review_a).is_manual)
        revenue_a = review_a.line_ids.filtered(
            lambda ln: ln.kpi_id == self.kpi["revenue"]
        )
        self.assertEqual(revenue_a.target, 8000.0)
        self.assertEqual(revenue_a.value, 6000.0)
        # the KAM types the manual value; a refresh keeps it, moves its band
        nps_line(review_a).with_user(self.kam).write({"value": 40.0})
        self.template.line_ids.filtered(lambda ln: ln.kpi_id == manual).target = 80.0
        review_a.with_user(self.kam).action_refresh_lines()
        self.env.invalidate_all()
        self.assertEqual(nps_line(review_a).value, 40.0)
        self.assertTrue(nps_line(review_a).has_value)
        self.assertEqual(nps_line(review_a).target, 80.0)
        self.assertAlmostEqual(nps_line(review_a).score, 50.0)
        self.assertNotEqual(review_a.score, score_before)
        # the score's change is tracked in the chatter, as a write tracks it
        tracking = review_a.message_ids.tracking_value_ids.filtered(
            lambda t: t.field_id.name == "score"
        )
        self.assertTrue(tracking)
        self.assertIn(review_a.score, tracking.mapped("new_value_float"))
        check(reviews)

    def test_default_approvers_queries_do_not_depend_on_the_number_of_kams(self):
        """The default approver of each KAM (the leader of their main active
        team) is found in as many queries for two KAMs as for eight."""
        Users = self.env["res.users"]
        group = self.env.ref("key_account_performance.group_key_account_user")

        def team_of(count, tag):
            users = Users.create(
                [
                    {
                        "name": "Approver test %s %s" % (tag, index),
                        "login": "kap_da_%s_%s" % (tag, index),
                        "groups_id": [Command.link(group.id)],
                    }
                    for index in range(count + 1)
                ]
            )
            leader, members = users[0], users[1:]
            self.env["crm.team"].create(
                {
                    "name": "Approver test team %s" % tag,
                    "user_id": leader.id,
                    "member_ids": [Command.set(members.ids)],
                }
            )
            return leader, members

        Review = self.env["key.account.review"]

        def approvers(members):
            # each KAM its own record, as the generation gathers them
            kams = {Users.browse(member.id) for member in members}
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            result = Review._default_approvers(kams, self.env.company)
            return self.cr.sql_log_count - before, {
                kam.id: approver.id for kam, approver in result.items()
            }

        small_leader, small = team_of(2, "s")
        large_leader, large = team_of(8, "l")
        approvers(small)  # warm-up (caches)
        small_count, small_result = approvers(small)
        large_count, large_result = approvers(large)
        self.assertEqual(small_result, dict.fromkeys(small.ids, small_leader.id))
        self.assertEqual(large_result, dict.fromkeys(large.ids, large_leader.id))
        self.assertEqual(small_count, large_count)
