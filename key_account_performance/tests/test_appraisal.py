"""The appraisal of the key-account team (DESIGN.md, "KAM appraisal"):
account teams with shares, external factors on review lines, the appraisal's
score computed by hand, its workflow and who reads it."""

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

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
class TestAppraisal(ReviewCommon):
    """The hand-computed case: account A is shared by the KAM (60 %) and KAM 2
    (40 %), its approved review has revenue hit by an accepted external
    factor; account B (KAM 2 alone, tier weight 2) has no approved review and
    counts with its KPI values."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.key_account_appraisal_long_term_weight = 0.3
        cls.tier2 = cls.env["key.account.tier"].create(
            {"name": "Appraisal test tier 2", "sequence": 97, "appraisal_weight": 2.0}
        )
        cls.partner_b.key_account_tier_id = cls.tier2
        cls.partner_a.write(
            {
                "key_account_member_ids": [
                    Command.create(
                        {"user_id": cls.kam.id, "role": "sales", "share": 0.6}
                    ),
                    Command.create(
                        {"user_id": cls.kam2.id, "role": "after_sales", "share": 0.4}
                    ),
                ]
            }
        )
        cls._generate_cycle()
        Appraisal = cls.env["key.account.appraisal"]
        cls.Appraisal = Appraisal
        cls.date_from, cls.date_to = (str(d) for d in cls.P)

    def _approve_a_with_external_factor(self):
        review = self.review_a.with_user(self.kam)
        self._line(review, self.kpi_revenue).write(
            {
                "external_factor": True,
                "external_factor_reason": "competitor",
                "external_factor_note": "A competitor's price war",
            }
        )
        self._fill_and_submit(review, value=4.0)
        self.review_a.with_user(self.leader).action_approve()

    def _appraisal(self, user):
        return self.Appraisal.search(
            [
                ("user_id", "=", user.id),
                ("date_from", "=", self.P[0]),
                ("company_id", "=", self.company.id),
            ]
        )

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
