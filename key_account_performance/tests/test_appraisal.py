"""The appraisal of the key-account team (DESIGN.md, "KAM appraisal"):
account teams with shares, external factors on review lines, the appraisal's
score computed by hand, its workflow and who reads it."""

import io

import openpyxl

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged

from .appraisal_common import AppraisalCommon
from .common import ReviewCommon


@tagged("post_install", "-at_install")
class TestAccountTeam(ReviewCommon):
    def test_shares_sum_to_one(self):
        partner = self.partner_a.with_user(self.manager)
        partner.write(
            {
                "key_account_member_ids": [
                    Command.create(
                        {"user_id": self.kam.id, "role": "sales", "share": 0.6}
                    ),
                    Command.create(
                        {"user_id": self.kam2.id, "role": "technical", "share": 0.4}
                    ),
                ]
            }
        )
        self.assertEqual(len(self.partner_a.key_account_member_ids), 2)
        with self.assertRaisesRegex(ValidationError, "Review Account A.*90"):
            partner.write(
                {
                    "key_account_member_ids": [
                        Command.update(
                            self.partner_a.key_account_member_ids.filtered(
                                lambda m: m.user_id == self.kam2
                            ).id,
                            {"share": 0.3},
                        )
                    ]
                }
            )
        # moving shares between members in one save is fine
        members = self.partner_a.key_account_member_ids
        partner.write(
            {
                "key_account_member_ids": [
                    Command.update(members[0].id, {"share": 0.5}),
                    Command.update(members[1].id, {"share": 0.5}),
                ]
            }
        )
        self.assertEqual(sorted(members.mapped("share")), [0.5, 0.5])

    def test_kam_reads_but_does_not_edit(self):
        self.env["key.account.member"].create(
            {"partner_id": self.partner_a.id, "user_id": self.kam.id, "share": 1.0}
        )
        Member = self.env["key.account.member"].with_user(self.kam)
        self.assertEqual(
            Member.search([("partner_id", "=", self.partner_a.id)]).user_id, self.kam
        )
        with self.assertRaises(AccessError):
            Member.create(
                {"partner_id": self.partner_a.id, "user_id": self.kam2.id, "share": 0.0}
            )
        # a KAM does not see the team of a colleague's account
        self.env["key.account.member"].create(
            {"partner_id": self.partner_b.id, "user_id": self.kam2.id, "share": 1.0}
        )
        self.assertFalse(Member.search([("partner_id", "=", self.partner_b.id)]))


@tagged("post_install", "-at_install")
class TestExternalFactor(ReviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._generate_cycle()

    def test_kam_marks_and_approval_accepts(self):
        review = self.review_a.with_user(self.kam)
        line = self._line(review, self.kpi_revenue)
        line.write(
            {
                "external_factor": True,
                "external_factor_reason": "competitor",
                "external_factor_note": "Price war",
            }
        )
        self.assertFalse(line.external_factor_accepted)
        with self.assertRaises(UserError):
            line.write({"external_factor_accepted": True})
        self._fill_and_submit(review)
        with self.assertRaises(UserError):
            line.write({"external_factor": False})
        self.review_a.with_user(self.leader).action_approve()
        self.assertTrue(line.external_factor_accepted)

    def test_rejection_does_not_accept(self):
        review = self.review_a.with_user(self.kam)
        line = self._line(review, self.kpi_revenue)
        line.write({"external_factor": True, "external_factor_reason": "market"})
        self._fill_and_submit(review)
        self.review_a.with_user(self.leader).action_reject(reason="Not external")
        self.assertFalse(line.external_factor_accepted)
        line.write({"external_factor": False})

    def test_reason_required(self):
        line = self._line(self.review_a.with_user(self.kam), self.kpi_revenue)
        with self.assertRaises(ValidationError):
            line.write({"external_factor": True})


@tagged("post_install", "-at_install")
class TestAppraisal(AppraisalCommon):
    """The hand-computed case: account A is shared by the KAM (60 %) and KAM 2
    (40 %), its approved review has revenue hit by an accepted external
    factor; account B (KAM 2 alone, tier weight 2) has no approved review and
    counts with its KPI values.

    After-sales (KAM 2's role on A) counts every KPI of the template here, as
    sales does: the design's formula (a role with KPIs of its own:
    test_appraisal_role_kpi)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["key.account.role.kpi"].search([("role", "=", "after_sales")]).unlink()

    def test_score_by_hand(self):
        self._approve_a_with_external_factor()
        # A's own score keeps the revenue line: revenue 600 -> 50 (weight 2),
        # 2 orders -> 50, manual 4/5 -> 75: (2*50 + 50 + 75) / 4
        self.assertAlmostEqual(self.review_a.score, 56.25, places=6)
        ids = self.Appraisal.with_user(self.manager).compute_appraisals(
            self.date_from, self.date_to
        )
        self.assertTrue(all(isinstance(i, int) for i in ids))
        mine, theirs = self._appraisal(self.kam), self._appraisal(self.kam2)
        self.assertEqual(set(ids), set((mine | theirs).ids))
        # A for the appraisal: without revenue, (50 + 75) / 2
        line_a = mine.line_ids
        self.assertEqual(line_a.partner_id, self.partner_a)
        self.assertEqual(line_a.source, "review")
        self.assertEqual(line_a.excluded_count, 1)
        self.assertAlmostEqual(line_a.account_score, 62.5, places=6)
        self.assertAlmostEqual(line_a.share, 0.6)
        self.assertAlmostEqual(mine.account_score, 62.5, places=6)
        # B from its KPI values: revenue 100 below threshold -> 0 (weight 2),
        # 1 order -> 25 (weight 1); no manual value: (0 + 25) / 3
        line_b = theirs.line_ids.filtered(lambda x: x.partner_id == self.partner_b)
        self.assertEqual(line_b.source, "values")
        self.assertAlmostEqual(line_b.account_score, 25.0 / 3, places=6)
        self.assertEqual(line_b.weight, 2.0)
        # KAM 2: (1*0.4*62.5 + 2*1*25/3) / (1*0.4 + 2*1)
        expected = (0.4 * 62.5 + 2 * 25.0 / 3) / 2.4
        self.assertAlmostEqual(theirs.account_score, expected, places=6)
        for appraisal in mine | theirs:
            long_term = (
                appraisal.long_term_score
                if appraisal.has_long_term
                else appraisal.account_score
            )
            self.assertAlmostEqual(
                appraisal.score,
                0.7 * appraisal.account_score + 0.3 * long_term,
                places=6,
            )
        self.assertEqual(mine.grade, "C")  # 62.5, no history before P
        self.assertFalse(mine.has_long_term)
        self.assertEqual(theirs.grade, "D")

    def test_long_term_from_history(self):
        """The previous period's history: A scored 75 in P0 (revenue 1200 ->
        100, weight 2; one order -> 25): (2*100 + 25) / 3."""
        self.env["key.account.kpi.value"].compute_for_period(
            *self.P0, [self.partner_a.id, self.partner_b.id]
        )
        self._approve_a_with_external_factor()
        self.Appraisal.compute_appraisals(self.date_from, self.date_to, [self.kam.id])
        mine = self._appraisal(self.kam)
        self.assertTrue(mine.has_long_term)
        self.assertAlmostEqual(mine.long_term_score, 75.0, places=6)
        self.assertAlmostEqual(mine.score, 0.7 * 62.5 + 0.3 * 75.0, places=6)
        self.assertFalse(self._appraisal(self.kam2))

    def test_draft_refreshed_approved_frozen(self):
        (first,) = self.Appraisal.compute_appraisals(
            self.date_from, self.date_to, [self.kam.id]
        )
        mine = self.Appraisal.browse(first)
        self.assertEqual(mine.line_ids.source, "values")
        self._approve_a_with_external_factor()
        self.assertEqual(
            self.Appraisal.compute_appraisals(
                self.date_from, self.date_to, [self.kam.id]
            ),
            [first],
        )
        self.assertEqual(mine.line_ids.source, "review")
        self.assertAlmostEqual(mine.account_score, 62.5, places=6)
        mine.with_user(self.kam).action_submit()
        with self.assertRaises(AccessError):
            mine.with_user(self.kam).action_approve()
        mine.with_user(self.leader).action_approve()
        self.assertEqual(mine.state, "approved")
        score = mine.score
        # another account joins: the approved appraisal does not move
        self.partner_b.write(
            {
                "key_account_member_ids": [
                    Command.create({"user_id": self.kam.id, "share": 1.0})
                ]
            }
        )
        self.assertEqual(
            self.Appraisal.compute_appraisals(
                self.date_from, self.date_to, [self.kam.id]
            ),
            [],
        )
        self.assertEqual(len(mine.line_ids), 1)
        self.assertEqual(mine.score, score)
        with self.assertRaises(UserError):
            mine.with_user(self.kam).write({"comment": "<p>later</p>"})

    def test_nobody_approves_their_own(self):
        # the manager is credited on B: their own appraisal
        self.partner_b.write(
            {
                "key_account_member_ids": [
                    Command.create({"user_id": self.kam2.id, "share": 0.5}),
                    Command.create({"user_id": self.manager.id, "share": 0.5}),
                ]
            }
        )
        self.Appraisal.compute_appraisals(self.date_from, self.date_to)
        own = self._appraisal(self.manager).with_user(self.manager)
        own.action_submit()
        with self.assertRaises(AccessError):
            own.action_approve()
        with self.assertRaises(AccessError):
            own.action_reject(reason="no")
        # KAM 2 is in no team led by the leader: the leader cannot decide,
        # a key-account manager can
        theirs = self._appraisal(self.kam2)
        theirs.with_user(self.kam2).action_submit()
        with self.assertRaises(UserError):
            theirs.with_user(self.manager).action_reject()
        theirs.with_user(self.manager).action_reject(reason="Check account B")
        self.assertEqual(theirs.state, "rejected")
        self.assertEqual(theirs.reject_reason, "Check account B")
        theirs.with_user(self.kam2).action_submit()
        own.with_user(self.leader).action_approve()
        self.assertEqual(own.state, "approved")

    def test_who_reads(self):
        self.Appraisal.compute_appraisals(self.date_from, self.date_to)
        mine, theirs = self._appraisal(self.kam), self._appraisal(self.kam2)
        as_kam = self.Appraisal.with_user(self.kam)
        self.assertEqual(as_kam.search([]), mine.with_user(self.kam))
        with self.assertRaises(AccessError):
            theirs.with_user(self.kam).read(["score"])
        with self.assertRaises(AccessError):
            theirs.line_ids.with_user(self.kam).read(["account_score"])
        # the leader of the KAM's team reads the KAM's, not KAM 2's (no team)
        as_leader = self.Appraisal.with_user(self.leader)
        self.assertIn(mine, as_leader.search([]))
        self.assertTrue(
            set(self.Appraisal.with_user(self.manager).search([]).ids)
            >= set((mine | theirs).ids)
        )
        # a KAM computes their own appraisal only
        with self.assertRaises(AccessError):
            as_kam.compute_appraisals(self.date_from, self.date_to, [self.kam2.id])
        self.assertEqual(
            as_kam.compute_appraisals(self.date_from, self.date_to), mine.ids
        )

    def test_derived_fields_refused(self):
        self.Appraisal.compute_appraisals(self.date_from, self.date_to)
        mine = self._appraisal(self.kam)
        for user in (self.kam, self.manager, self.admin):
            with self.assertRaises(UserError):
                mine.with_user(user).write({"score": 100.0})
            with self.assertRaises(UserError):
                mine.with_user(user).write({"state": "approved"})
        for field in ("account_score", "share", "source"):
            with self.assertRaises(UserError):
                mine.line_ids.with_user(self.admin).write(
                    {field: "review" if field == "source" else 1.0}
                )
        with self.assertRaises(UserError):
            self.Appraisal.with_user(self.admin).create(
                {
                    "user_id": self.kam.id,
                    "company_id": self.company.id,
                    "date_from": self.P0[0],
                    "date_to": self.P0[1],
                }
            )
        # the person comments on their draft
        mine.with_user(self.kam).write({"comment": "<p>Good quarter</p>"})

    def _kpis(self, developments):
        return [
            (d.kpi_id, round(d.score, 4), round(d.points_lost, 4)) for d in developments
        ]

    def test_development_weakest_kpis(self):
        """The weakest KPIs, weighted as the score: the KAM has A (share
        0.6; revenue left out by the external factor): orders 50 and manual
        75, each half of A's weight; KAM 2 has A (0.4, tier weight 1) and B
        (tier weight 2, from its values: revenue 0 with weight 2, orders 25)."""
        self._approve_a_with_external_factor()
        self.Appraisal.compute_appraisals(self.date_from, self.date_to)
        mine, theirs = self._appraisal(self.kam), self._appraisal(self.kam2)
        self.assertEqual(
            self._kpis(mine.development_ids),
            [(self.kpi_orders, 50.0, 25.0), (self.kpi_manual, 75.0, 12.5)],
        )
        self.assertEqual(mine.development_ids.partner_ids, self.partner_a)
        self.assertEqual(
            mine.development_ids[0].accounts_detail, "Review Account A (50)"
        )
        # the points lost add up to what the account score misses
        for appraisal in mine | theirs:
            self.assertAlmostEqual(
                sum(appraisal.development_ids.mapped("points_lost")),
                100.0 - appraisal.account_score,
                places=6,
            )
        # KAM 2: W = tier weight x share x KPI weight; A counts 0.4 / 2.4, B 2 / 2.4
        self.assertEqual(
            self._kpis(theirs.development_ids),
            [
                (self.kpi_revenue, 0.0, round(2 / 2.4 * 2 / 3 * 100, 4)),
                (
                    self.kpi_orders,
                    round((0.4 * 50 + 2 * 25) / 2.4, 4),
                    round(0.4 / 2.4 / 2 * 50 + 2 / 2.4 / 3 * 75, 4),
                ),
                (self.kpi_manual, 75.0, round(0.4 / 2.4 / 2 * 25, 4)),
            ],
        )
        revenue, orders = theirs.development_ids[:2]
        self.assertEqual(revenue.partner_ids, self.partner_b)
        self.assertEqual(orders.partner_ids, self.partner_a | self.partner_b)
        self.assertEqual(
            orders.accounts_detail, "Review Account B (25), Review Account A (50)"
        )
        self.assertFalse(mine.follow_up_ids)
        # read by the person, not by a colleague; written by nobody
        self.assertEqual(
            mine.development_ids.with_user(self.kam).read(["score"])[0]["score"], 50.0
        )
        with self.assertRaises(AccessError):
            theirs.development_ids.with_user(self.kam).read(["score"])
        with self.assertRaises(UserError):
            mine.development_ids[0].with_user(self.admin).write({"score": 100.0})

    def test_development_follow_up(self):
        """Next period's appraisal says whether last period's weak KPIs
        moved: in P0 the KAM's only weak KPI was orders (one order: 25); in P
        it is 50 (improved)."""
        self.env["key.account.kpi.value"].compute_for_period(
            *self.P0, [self.partner_a.id, self.partner_b.id]
        )
        self.Appraisal.compute_appraisals(str(self.P0[0]), str(self.P0[1]))
        before = self.Appraisal.search(
            [("user_id", "=", self.kam.id), ("date_from", "=", self.P0[0])]
        )
        self.assertEqual(before.development_ids.kpi_id, self.kpi_orders)
        self.assertAlmostEqual(before.development_ids.score, 25.0, places=6)
        theirs_before = self.Appraisal.search(
            [("user_id", "=", self.kam2.id), ("date_from", "=", self.P0[0])]
        )
        self._approve_a_with_external_factor()
        self.Appraisal.compute_appraisals(self.date_from, self.date_to)
        mine, theirs = self._appraisal(self.kam), self._appraisal(self.kam2)
        follow = mine.follow_up_ids
        self.assertEqual(follow.kpi_id, self.kpi_orders)
        self.assertAlmostEqual(follow.previous_score, 25.0, places=6)
        self.assertAlmostEqual(follow.score, 50.0, places=6)
        self.assertAlmostEqual(follow.delta, 25.0, places=6)
        self.assertEqual(follow.movement, "improved")
        # KAM 2: every weak KPI of P0 is followed; the revenue (A's left out
        # by the external factor, B still at 0) did not improve
        self.assertEqual(
            theirs.follow_up_ids.kpi_id, theirs_before.development_ids.kpi_id
        )
        revenue = theirs.follow_up_ids.filtered(lambda d: d.kpi_id == self.kpi_revenue)
        self.assertEqual(revenue.movement, "not_improved")
        self.assertEqual(revenue.score, 0.0)
        for line in theirs.follow_up_ids:
            previous = theirs_before.development_ids.filtered(
                lambda d, line=line: d.kpi_id == line.kpi_id
            )
            self.assertAlmostEqual(line.previous_score, previous.score, places=6)
            self.assertEqual(
                line.movement,
                "improved" if line.score > previous.score + 0.005 else "not_improved",
            )

    def test_plan_coaching(self):
        self._approve_a_with_external_factor()
        self.Appraisal.compute_appraisals(self.date_from, self.date_to)
        mine = self._appraisal(self.kam)
        coaching = self.env.ref(
            "key_account_performance.mail_activity_type_appraisal_coaching"
        )
        self.assertEqual(coaching.res_model, "key.account.appraisal")
        # the appraised person does not plan their own coaching
        with self.assertRaises(AccessError):
            mine.with_user(self.kam).action_plan_coaching()
        action = mine.with_user(self.leader).action_plan_coaching()
        self.assertEqual(action["res_model"], "mail.activity.schedule")
        Schedule = self.env["mail.activity.schedule"].with_user(self.leader)
        with Form(Schedule.with_context(**action["context"])) as scheduler:
            self.assertEqual(scheduler.activity_type_id, coaching)
            self.assertEqual(scheduler.activity_user_id, self.kam)
            self.assertIn(self.kpi_orders.name, scheduler.summary)
        scheduler.record.action_schedule_activities()
        activity = mine.activity_ids.filtered(lambda a: a.activity_type_id == coaching)
        self.assertEqual(activity.user_id, self.kam)
        self.assertIn(self.kpi_orders.name, str(activity.note))
        # the person sees it on their appraisal
        self.assertEqual(
            mine.with_user(self.kam).activity_ids.filtered(
                lambda a: a.activity_type_id == coaching
            ),
            activity.with_user(self.kam),
        )

    def test_export_incentives(self):
        self.Appraisal.compute_appraisals(self.date_from, self.date_to)
        period = [
            ("company_id", "=", self.company.id),
            ("date_from", "=", self.P[0]),
            ("date_to", "=", self.P[1]),
        ]
        appraisals = self.Appraisal.search(period)
        self.assertEqual(len(appraisals), 2)
        with self.assertRaises(AccessError):
            self.Appraisal.with_user(self.kam).with_context(
                active_domain=period
            ).action_export_incentives()
        # nothing selected: the list's search (active_domain) is exported
        action = (
            self.Appraisal.with_user(self.manager)
            .with_context(active_domain=period)
            .action_export_incentives()
        )
        self.assertEqual(action["type"], "ir.actions.act_url")
        attachment_id = int(action["url"].split("/")[-1].split("?")[0])
        attachment = self.env["ir.attachment"].browse(attachment_id)
        self.assertTrue(attachment.name.endswith(".xlsx"))
        sheet = openpyxl.load_workbook(io.BytesIO(attachment.raw)).active
        rows = list(sheet.iter_rows(values_only=True))
        self.assertEqual(
            rows[0][:7],
            (
                "Person",
                "Sales Team",
                "Period",
                "Score",
                "Grade",
                "Incentive Rate (%)",
                "Accounts",
            ),
        )
        # an empty cell reads None
        expected = {
            (
                a.user_id.name,
                a.team_id.name or None,
                a.period_label,
                round(a.score, 2),
                a.grade,
                a.incentive_rate,
                a.account_count,
                ", ".join(a.line_ids.partner_id.mapped("display_name")),
            )
            for a in appraisals
        }
        self.assertEqual({row[:8] for row in rows[1:]}, expected)
        self.assertEqual(len(rows), 1 + len(appraisals))
        # the selected ones only
        action = appraisals[:1].with_user(self.manager).action_export_incentives()
        attachment = self.env["ir.attachment"].browse(
            int(action["url"].split("/")[-1].split("?")[0])
        )
        rows = list(openpyxl.load_workbook(io.BytesIO(attachment.raw)).active.values)
        self.assertEqual([row[0] for row in rows[1:]], [appraisals[0].user_id.name])

    def test_submit_without_team_leader_tells_a_manager(self):
        """KAM 2 is in no sales team: the to-do goes to a key-account manager
        of the company, as for reviews."""
        self.Appraisal.compute_appraisals(self.date_from, self.date_to)
        mine, theirs = self._appraisal(self.kam), self._appraisal(self.kam2)
        self.assertFalse(self.kam2.sale_team_id)
        theirs.with_user(self.kam2).action_submit()
        todo = theirs.activity_ids.filtered(
            lambda a: a.activity_type_id == self.env.ref("mail.mail_activity_data_todo")
        )
        self.assertEqual(len(todo), 1)
        expected = self.env["key.account.review"]._default_approvers(
            {self.kam2}, self.company
        )[self.kam2]
        self.assertTrue(expected)
        self.assertEqual(todo.user_id, expected)
        self.assertNotEqual(todo.user_id, self.kam2)
        self.assertTrue(
            todo.user_id.has_group("key_account_performance.group_key_account_manager")
        )
        self.assertIn(self.company, todo.user_id.company_ids)
        # with a team leader: the leader, as before
        mine.with_user(self.kam).action_submit()
        self.assertEqual(mine.activity_ids.user_id, self.leader)
        # the approval closes the to-do
        theirs.with_user(todo.user_id).action_approve()
        self.assertFalse(theirs.activity_ids)

    def test_archived_team_leader_neither_reads_nor_decides(self):
        """The leader of a KAM's team reads and decides the KAM's appraisal
        (and its lines, disputes, versions) while the team is active; once
        the team is archived (sales_team's ``sale_team_id`` still names it)
        they no longer do, and the to-do of a submission goes to a
        key-account manager instead."""
        lead = self._new_user("kap_ap_team_lead", "Appraisal Team Lead")
        team = self.env["crm.team"].create(
            {
                "name": "Appraisal lead's team",
                "user_id": lead.id,
                "member_ids": [Command.set(self.kam2.ids)],
            }
        )
        self.assertEqual(self.kam2.sale_team_id, team)
        self.Appraisal.compute_appraisals(self.date_from, self.date_to)
        theirs = self._appraisal(self.kam2)
        self.assertEqual(theirs.team_id, team)
        Appraisal = self.Appraisal.with_user(lead)
        self.assertEqual(Appraisal.search([("id", "=", theirs.id)]), theirs)
        self.assertEqual(
            self.env["key.account.review"]._default_approvers(
                {self.kam2}, self.company
            )[self.kam2],
            lead,
        )
        as_lead = theirs.with_env(theirs.env(user=lead.id, su=True))
        self.assertTrue(as_lead._is_decider())
        theirs.with_user(self.kam2).action_submit()
        theirs.with_user(lead).action_reject(reason="Check account B")
        self.assertEqual(theirs.state, "rejected")
        theirs.with_user(self.kam2).action_submit()

        def assert_lead_is_out():
            self.env.invalidate_all()
            self.assertFalse(Appraisal.search([("id", "=", theirs.id)]))
            self.assertFalse(as_lead._is_decider())
            # whatever the caller's context: Odoo checks a record's access in
            # Python, where a path through the teams followed active_test
            for context in ({}, {"active_test": False}):
                record = theirs.with_user(lead).with_context(**context)
                self.assertFalse(record.has_access("read"), context)
                lines = theirs.line_ids.with_user(lead).with_context(**context)
                self.assertFalse(lines.has_access("read"), context)
                with self.assertRaises(AccessError):
                    record.read(["score"])
                with self.assertRaises(AccessError):
                    record.action_approve()

        # KAM 2 removed from the team (sales_team archives the membership)
        team.member_ids = [Command.unlink(self.kam2.id)]
        assert_lead_is_out()
        # back in the team, then the team archived
        team.member_ids = [Command.link(self.kam2.id)]
        self.env.invalidate_all()
        self.assertTrue(theirs.with_user(lead).has_access("read"))
        team.active = False
        self.assertEqual(self.kam2.sale_team_id, team)  # (sales_team keeps it)
        assert_lead_is_out()
        approver = self.env["key.account.review"]._default_approvers(
            {self.kam2}, self.company
        )[self.kam2]
        self.assertNotEqual(approver, lead)
        self.assertTrue(
            approver.has_group("key_account_performance.group_key_account_manager")
        )
        # a recomputed draft no longer names the archived team
        theirs.with_user(self.manager).action_reject(reason="Recompute")
        self.Appraisal.compute_appraisals(self.date_from, self.date_to)
        self.assertFalse(self._appraisal(self.kam2).team_id)

    def test_deciders_in_one_query_for_many_appraisals(self):
        """Whom a team leader (not a key-account manager) decides for is
        found for a list of appraisals in as many queries as for one."""
        lead = self._new_user("kap_ap_deciding_lead", "Deciding Lead")
        self.env["crm.team"].create(
            {
                "name": "Deciding team",
                "user_id": lead.id,
                "member_ids": [Command.set(self.kam2.ids)],
            }
        )
        self.env["crm.team"].create(
            {
                "name": "Deciding team 2",
                "user_id": lead.id,
                "member_ids": [Command.link(self.kam.id)],
            }
        )
        self.Appraisal.compute_appraisals(self.date_from, self.date_to)
        both = self._appraisal(self.kam) | self._appraisal(self.kam2)

        def deciders(appraisals):
            mine = appraisals.with_user(lead)
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            result = mine._deciders()
            return self.cr.sql_log_count - before, result

        deciders(both)  # warm-up
        one_count, one = deciders(both[:1])
        both_count, found = deciders(both)
        self.assertEqual((one, found), (set(both[:1].ids), set(both.ids)))
        self.assertEqual(one_count, both_count)

    def test_bad_dates(self):
        with self.assertRaises(UserError):
            self.Appraisal.compute_appraisals("2024-13-01", self.date_to)
        with self.assertRaises(UserError):
            self.Appraisal.compute_appraisals(self.date_to, self.date_from)


@tagged("post_install", "-at_install")
class TestAppraisalQueries(ReviewCommon):
    def _accounts(self, count, tag):
        users = self.env["res.users"]
        for i in range(count):
            kam = self.env["res.users"].create(
                {
                    "name": "Q KAM %s %s" % (tag, i),
                    "login": "kap_q_%s_%s" % (tag, i),
                    "company_id": self.company.id,
                    "company_ids": [Command.set(self.company.ids)],
                    "groups_id": [
                        Command.link(
                            self.env.ref(
                                "key_account_performance.group_key_account_user"
                            ).id
                        )
                    ],
                }
            )
            partner = self._make_account("Q Account %s %s" % (tag, i), kam)
            self._order(partner, 500.0, self._day(self.P, 5))
            users |= kam
        partners = self.env["res.partner"].search(
            [("key_account_manager_id", "in", users.ids)]
        )
        self.env["key.account.kpi.value"].compute_for_period(*self.P, partners.ids)
        return users

    def _count(self, users):
        Appraisal = self.env["key.account.appraisal"]
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        ids = Appraisal.compute_appraisals(str(self.P[0]), str(self.P[1]), users.ids)
        self.env.flush_all()
        count = self.env.cr.sql_log_count - before
        self.assertEqual(len(ids), len(users))
        return count

    def test_query_count_bounded(self):
        self._count(self._accounts(2, "warm"))
        small = self._count(self._accounts(2, "small"))
        large = self._count(self._accounts(20, "large"))
        self.assertLessEqual(large, small, "queries grow with people and accounts")

    def test_lines_in_one_statement(self):
        """More than 100 accounts of one person (the ORM's rows per INSERT):
        the same number of queries as two, and every line with its person,
        company and period start."""

        def one_kam(count, tag):
            kam = self._accounts(1, tag)
            for i in range(count - 1):
                self._make_account("Q Extra %s %s" % (tag, i), kam)
            partners = self.env["res.partner"].search(
                [("key_account_manager_id", "=", kam.id)]
            )
            self.env["key.account.kpi.value"].compute_for_period(*self.P, partners.ids)
            return kam

        self._count(one_kam(2, "warm1"))
        small = self._count(one_kam(2, "few"))
        many_kam = one_kam(120, "many")
        many = self._count(many_kam)
        self.assertLessEqual(many, small, "lines are inserted in one statement")
        appraisal = self.env["key.account.appraisal"].search(
            [("user_id", "=", many_kam.id)]
        )
        self.assertEqual(len(appraisal.line_ids), 120)
        self.assertEqual(appraisal.line_ids.user_id, many_kam)
        self.assertEqual(appraisal.line_ids.company_id, self.company)
        self.assertEqual(set(appraisal.line_ids.mapped("date_from")), {self.P[0]})
