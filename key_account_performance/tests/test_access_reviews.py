"""Reviews, their lines, KPI values and score history as an attacker would
try them: a KAM writing derived figures, moving a review to another account,
linking another account's review, creating reviews of accounts they do not
manage; and a plain user searching restricted figures or setting home
actions. Each test fails on the tree before the fix (issue "Close the
holes", items 2-5, 8, 13-15; "Numbers people can trust", item 4)."""

import importlib.util
import pathlib
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..models import res_partner_visibility as visibility
from .common import ReviewCommon


def _migration_script(version, name):
    """A migration script of the addon, loaded as Odoo loads it."""
    spec = importlib.util.spec_from_file_location(
        "kap_migration_%s_%s" % (version.replace(".", "_"), name.replace("-", "_")),
        pathlib.Path(__file__).parents[1] / "migrations" / version / ("%s.py" % name),
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


@tagged("post_install", "-at_install")
class TestReviewDerivedFields(ReviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._generate_cycle()

    def test_kam_cannot_write_review_score(self):
        review = self.review_a.with_user(self.kam)
        for vals in ({"score": 99.9}, {"grade": "A"}, {"alert_count": 0}):
            with self.assertRaisesRegex(
                UserError, "worked out by the key-account addon"
            ):
                review.write(vals)
        self.assertNotEqual(self.review_a.score, 99.9)

    def test_rejected_review_cannot_be_rewritten_to_a(self):
        """The audit's path: reject, rewrite to 99 / A, resubmit, approve."""
        review = self.review_a
        self._fill_and_submit(review.with_user(self.kam), value=2.0)
        review.with_user(self.leader).action_reject(reason="Figures missing")
        with self.assertRaises(UserError):
            review.with_user(self.kam).write({"score": 99.0, "grade": "A"})
        self._fill_and_submit(review.with_user(self.kam), value=2.0)
        review.with_user(self.leader).action_approve()
        self.assertLess(review.score, 99.0)

    def test_administrator_cannot_write_derived_figures_either(self):
        with self.assertRaises(UserError):
            self.review_a.with_user(self.admin).write({"score": 50.0})
        line = self._line(self.review_a, self.kpi_revenue)
        for vals in ({"score": 100.0}, {"status": "ok"}):
            with self.assertRaisesRegex(
                UserError, "worked out by the key-account addon"
            ):
                line.with_user(self.admin).write(vals)
        value = line.kpi_value_id
        self.assertTrue(value)
        with self.assertRaises(UserError):
            value.with_user(self.admin).write({"score": 100.0})
        history = self.env["key.account.score.history"].search(
            [("partner_id", "=", self.partner_a.id)], limit=1
        )
        self.assertTrue(history)
        with self.assertRaises(UserError):
            history.with_user(self.admin).write({"score": 100.0})
        with self.assertRaises(UserError):
            history.with_user(self.admin).write({"grade": "A"})

    def test_rpc_style_context_does_not_unlock_lines(self):
        """The old bypass was a plain context key an RPC client could send."""
        line = self._line(self.review_a, self.kpi_revenue).with_user(self.kam)
        with self.assertRaises(UserError):
            line.with_context(kap_review_refresh=True).write({"value": 1e6})
        with self.assertRaises(UserError):
            line.with_context(key_account_internal_write=True).write({"score": 100.0})
        self.assertNotEqual(line.value, 1e6)

    def test_previous_review_link_is_the_addons(self):
        other = self._cycle(self.P0)
        other.action_generate_reviews()
        foreign = self._reviews(other)[self.partner_b]
        with self.assertRaisesRegex(UserError, "worked out by the key-account addon"):
            self.review_a.with_user(self.kam).write({"previous_review_id": foreign.id})
        with self.assertRaises(UserError):
            self.review_a.with_user(self.admin).write(
                {"previous_review_id": foreign.id}
            )

    def test_review_cannot_move_to_another_account(self):
        review = self.review_a.with_user(self.kam)
        with self.assertRaisesRegex(UserError, "cannot be changed"):
            review.write({"partner_id": self.partner_b.id})
        other = self._cycle(self.P0)
        with self.assertRaisesRegex(UserError, "cannot be changed"):
            self.review_a.with_user(self.manager).write({"cycle_id": other.id})
        with self.assertRaisesRegex(UserError, "cannot be changed"):
            self.review_a.write({"company_id": self.env.ref("base.main_company").id})
        self.assertEqual(self.review_a.partner_id, self.partner_a)
        # saving the same account (a form does) is no change
        review.write({"partner_id": self.partner_a.id, "comment": "<p>ok</p>"})

    def test_kam_cannot_create_review_of_a_colleagues_account(self):
        other = self._cycle(self.P0)
        Review = self.env["key.account.review"].with_user(self.kam)
        with self.assertRaisesRegex(AccessError, "accounts you manage"):
            Review.create(
                {
                    "cycle_id": other.id,
                    "partner_id": self.partner_b.id,
                    "user_id": self.kam.id,
                }
            )
        # their own account: allowed
        own = Review.create(
            {
                "cycle_id": other.id,
                "partner_id": self.partner_a.id,
                "user_id": self.kam.id,
            }
        )
        self.assertEqual(own.partner_id, self.partner_a)

    def test_scorecard_lists_only_what_its_reader_may_read(self):
        """An action on the account owned by someone the KAM may not see, or
        of another company, is not listed on the KAM's scorecard."""
        Action = self.env["key.account.improvement.action"]
        visible = Action.create(
            {"name": "Visible", "partner_id": self.partner_a.id, "user_id": self.kam.id}
        )
        review = self.review_a.with_user(self.kam2)
        # kam2 cannot read review A at all
        with self.assertRaises(AccessError):
            review._scorecard_actions()
        open_actions, _previous = self.review_a.with_user(self.kam)._scorecard_actions()
        self.assertIn(visible, open_actions)
        # an action on B (kam2's) never shows on A's scorecard
        hidden = Action.create(
            {"name": "Hidden", "partner_id": self.partner_b.id, "user_id": self.kam2.id}
        )
        self.assertNotIn(hidden.id, open_actions.ids)


@tagged("post_install", "-at_install")
class TestPartnerKeyAccountFields(ReviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plain = cls.env["res.users"].create(
            {
                "name": "Plain salesman",
                "login": "kap_rt_plain",
                "company_id": cls.company.id,
                "company_ids": [Command.set(cls.company.ids)],
                "groups_id": [
                    Command.set(cls.env.ref("sales_team.group_sale_salesman").ids)
                ],
            }
        )
        cls.portal_partner = cls.env["res.partner"].create(
            {"name": "Portal contact", "parent_id": cls.partner_a.id}
        )
        cls.portal = cls.env["res.users"].create(
            {
                "name": "Portal",
                "login": "kap_rt_portal",
                "partner_id": cls.portal_partner.id,
                "company_id": cls.company.id,
                "company_ids": [Command.set(cls.company.ids)],
                "groups_id": [Command.set(cls.env.ref("base.group_portal").ids)],
            }
        )

    def test_is_key_account_is_derived_from_the_tier(self):
        with self.assertRaises(UserError):
            self.partner_a.with_user(self.kam).write({"is_key_account": False})
        with self.assertRaises(UserError):
            self.partner_b.with_user(self.manager).write({"is_key_account": False})
        self.assertTrue(self.partner_a.is_key_account)
        self.partner_a.with_user(self.manager).write({"key_account_tier_id": False})
        self.assertFalse(self.partner_a.is_key_account)

    def test_restricted_searches_check_access(self):
        for user in (self.plain, self.portal):
            Partner = self.env["res.partner"].with_user(user)
            for domain in (
                [("key_account_warning_count", ">", 0)],
                [("key_account_reviewed", "=", True)],
                [("key_account_at_risk", "=", True)],
            ):
                with self.assertRaises(AccessError, msg=(user.login, domain)):
                    Partner.search(domain)
        # the addon's users still search them
        self.env["res.partner"].with_user(self.kam).search(
            [("key_account_at_risk", "=", True)]
        )

    def test_classification_fields_are_internal(self):
        self.partner_a.key_account_goal = "<p>INTERNAL: squeeze their margin</p>"
        for user in (self.plain, self.portal):
            partner = self.partner_a.with_user(user)
            for name in (
                "key_account_tier_id",
                "key_account_manager_id",
                "key_account_segment_id",
                "key_account_template_id",
                "key_account_tier_locked",
                "key_account_goal",
            ):
                with self.assertRaises(AccessError, msg=(user.login, name)):
                    partner.read([name])
        # a plain read() of the partner still works for a sales user
        data = self.partner_a.with_user(self.plain).read()[0]
        self.assertNotIn("key_account_goal", data)
        self.assertEqual(data["name"], "Review Account A")
        self.assertEqual(
            self.partner_a.with_user(self.kam).key_account_manager_id, self.kam
        )

    def test_set_home_is_for_administrators(self):
        settings = self.env["res.config.settings"]
        for user in (self.plain, self.kam, self.manager):
            with self.assertRaises(AccessError, msg=user.login):
                settings.with_user(user).action_key_account_set_home()
        self.assertFalse(self.kam.action_id)


@tagged("post_install", "-at_install")
class TestSharedPartnerPerCompany(ReviewCommon):
    """A partner shared by two companies (no company of its own) is measured
    by each: one company's computation never replaces the other's values,
    history or displayed score (issue "Close the holes", item 12)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create({"name": "Review Company B"})
        cls.company_b.partner_id.tz = "UTC"
        cls.company_b.key_account_period_type = "quarter"
        cls.env.user.company_ids = [Command.link(cls.company_b.id)]
        cls.shared = cls.env["res.partner"].create(
            {
                "name": "Shared Account",
                "is_company": True,
                "company_id": False,
                "key_account_tier_id": cls.tier.id,
                "key_account_template_id": cls.template.id,
            }
        )
        # company A sold 600 in P, company B nothing
        cls._order(cls.shared, 600.0, cls._day(cls.P, 10))

    def _env_of(self, company):
        return self.env(
            context=dict(
                self.env.context,
                allowed_company_ids=[company.id, self.company.id, self.company_b.id][:1]
                + [c for c in (self.company.id, self.company_b.id) if c != company.id],
            )
        )

    def _values(self, company):
        return self.env["key.account.kpi.value"].search(
            [
                ("partner_id", "=", self.shared.id),
                ("kpi_id", "=", self.kpi_revenue.id),
                ("date_from", "=", self.P[0]),
                ("company_id", "=", company.id),
            ]
        )

    def test_each_company_keeps_its_own_figures(self):
        env_a, env_b = self._env_of(self.company), self._env_of(self.company_b)
        env_a["key.account.kpi.value"].compute_for_period(
            *self.P, partner_ids=self.shared.ids
        )
        env_b["key.account.kpi.value"].compute_for_period(
            *self.P, partner_ids=self.shared.ids
        )
        value_a, value_b = self._values(self.company), self._values(self.company_b)
        self.assertEqual(len(value_a), 1)
        self.assertEqual(len(value_b), 1)
        self.assertEqual(value_a.value, 600.0)
        self.assertEqual(value_b.value, 0.0)
        # company A again: B's value is untouched
        env_a["key.account.kpi.value"].compute_for_period(
            *self.P, partner_ids=self.shared.ids
        )
        self.assertEqual(self._values(self.company_b).value, 0.0)
        history = self.env["key.account.score.history"].search(
            [("partner_id", "=", self.shared.id), ("date_from", "=", self.P[0])]
        )
        self.assertEqual(history.company_id, self.company | self.company_b)
        # the partner shows each company its own score
        score_a = env_a["res.partner"].browse(self.shared.id).key_account_score
        score_b = env_b["res.partner"].browse(self.shared.id).key_account_score
        self.assertEqual(
            score_a,
            history.filtered(lambda h: h.company_id == self.company).score,
        )
        self.assertEqual(
            score_b,
            history.filtered(lambda h: h.company_id == self.company_b).score,
        )
        self.assertGreater(score_a, score_b)
        # and its breakdown adds up to that company's score
        breakdown_b = (
            env_b["res.partner"]
            .browse(self.shared.id)
            .key_account_score_breakdown(*self.P)
        )
        revenue_b = [row for row in breakdown_b if row["kpi_code"] == "revenue"]
        self.assertEqual(revenue_b[0]["value"], 0.0)


@tagged("post_install", "-at_install")
class TestOneVisibilityRule(ReviewCommon):
    """Key-account data of an account — score, grade, trend, breakdown, KPI
    values, history, reviews, cohort rows — is visible to its KAM, the leader
    of the KAM's team, the members of a team that shares its key accounts,
    and managers; a colleague KAM sees the partner as Sales does (issue
    "Numbers people can trust", item 9; "Close the holes", item 16)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._generate_cycle()
        cls.env["key.account.kpi.value"].compute_for_period(
            *cls.P, partner_ids=(cls.partner_a | cls.partner_b).ids
        )
        # kam2 joins kam's team, which does not share its accounts yet
        cls.team.member_ids = [Command.link(cls.kam2.id)]
        cls.team2 = cls.team
        cls.env.invalidate_all()

    DATA = ("key_account_score", "key_account_grade", "key_account_breakdown_ids")

    def _data(self, user, partner):
        """The row ``user`` reads, the same whether the read also asks for
        ``key_account_visible`` (the account page: the visibility of the
        read is then that field's) or not (a list, an RPC)."""
        names = [*self.DATA, "key_account_tier_id"]
        rows = []
        for extra in ([], ["key_account_visible"]):
            self.env.invalidate_all()
            rows.append(partner.with_user(user).read(names + extra)[0])
        self.assertEqual(
            {name: rows[0][name] for name in names},
            {name: rows[1][name] for name in names},
            user.login,
        )
        return rows[0]

    def test_colleague_sees_the_partner_as_sales_does(self):
        self.assertTrue(self.partner_a.key_account_score)
        row = self._data(self.kam2, self.partner_a)
        self.assertFalse(row["key_account_score"])
        self.assertFalse(row["key_account_grade"])
        self.assertEqual(row["key_account_breakdown_ids"], [])
        self.assertEqual(row["key_account_tier_id"][0], self.tier.id)
        self.assertFalse(self.partner_a.with_user(self.kam2).key_account_visible)
        with self.assertRaises(AccessError):
            self.partner_a.with_user(self.kam2).key_account_score_breakdown(*self.P)
        for model in (
            "key.account.kpi.value",
            "key.account.score.history",
            "key.account.review",
        ):
            self.assertFalse(
                self.env[model]
                .with_user(self.kam2)
                .search([("partner_id", "=", self.partner_a.id)]),
                model,
            )
        self.assertFalse(
            self.env["key.account.retention.cohort"]
            .with_user(self.kam2)
            .search([("partner_id", "=", self.partner_a.id)])
        )
        # their own account: everything
        own = self._data(self.kam2, self.partner_b)
        self.assertEqual(own["key_account_score"], self.partner_b.key_account_score)
        self.assertTrue(own["key_account_breakdown_ids"])
        self.assertTrue(
            self.env["key.account.retention.cohort"]
            .with_user(self.kam)
            .search([("partner_id", "=", self.partner_a.id)])
        )

    def test_visibility_flag_follows_a_new_manager_at_once(self):
        """The account page's visibility (which also decides what a read
        of the page hides) follows a change of the account's manager in the
        same transaction, and a change of a team."""
        account = self.partner_a.with_user(self.kam2)
        self.assertFalse(account.key_account_visible)
        self.assertFalse(
            account.read(["key_account_visible", "key_account_score"])[0][
                "key_account_score"
            ]
        )
        self.partner_a.key_account_manager_id = self.kam2
        self.assertTrue(account.key_account_visible)
        self.assertEqual(
            account.read(["key_account_visible", "key_account_score"])[0][
                "key_account_score"
            ],
            self.partner_a.key_account_score,
        )
        self.partner_a.key_account_manager_id = self.kam
        self.assertFalse(account.key_account_visible)
        self.team2.key_account_shared = True  # kam2 is a member of kam's team
        self.assertTrue(account.key_account_visible)

    def test_rules_follow_sharing_and_membership_at_once(self):
        """The record rules name the user's sharing teams: a team that starts
        or stops sharing, and a member who joins or leaves, change what the
        member reads at once, not after the rules' cache is next cleared."""
        Value = self.env["key.account.kpi.value"].with_user(self.kam2)
        domain = [("partner_id", "=", self.partner_a.id)]
        self.assertFalse(Value.search(domain))  # fills the rules' cache
        self.team2.key_account_shared = True
        self.assertTrue(Value.search(domain))
        self.team2.member_ids = [Command.unlink(self.kam2.id)]
        self.assertFalse(Value.search(domain))
        self.team2.member_ids = [Command.link(self.kam2.id)]
        self.assertTrue(Value.search(domain))
        self.team2.key_account_shared = False
        self.assertFalse(Value.search(domain))

    def test_team_rules_migration_names_the_kams_by_id(self):
        """18.0.1.8.0 names the KAMs of a leader's and a sharing team by id in
        the team rules (noupdate data, which an update does not reload): the
        migration gives the rules that still have the domain an earlier
        version shipped (white space aside) the domain the module ships now,
        and leaves a rule an administrator changed in any way."""
        module = "key_account_performance"
        names = (
            "rule_key_account_kpi_value_team_read",
            "rule_key_account_score_history_team_read",
            "rule_key_account_review_team_read",
            "rule_key_account_review_line_team_read",
            "rule_key_account_improvement_action_team_read",
            "rule_key_account_warning_team_read",
            "rule_key_account_contact_activity_user",
            "rule_key_account_retention_cohort_kam",
        )
        rules = [self.env.ref("%s.%s" % (module, name)) for name in names]
        shipped = [rule.domain_force for rule in rules]
        self.assertTrue(all("user._key_account_team_kam_ids()" in d for d in shipped))
        script = _migration_script("18.0.1.8.0", "post-team-rules")
        self.assertEqual(set(script.shipped_team_rules()), set(names))
        self.assertEqual(set(script.OLD), set(names))
        # the domains as the earlier versions' files wrote them (spaced out)
        for name, rule in zip(names, rules):
            rule.domain_force = script.OLD[name].replace(",", ", ")
        # an administrator added a condition to one of them
        changed = "['&', ('create_uid', '!=', False)] + " + script.OLD[names[0]]
        rules[0].domain_force = changed
        script.migrate(self.env.cr, "18.0.1.7.0")
        self.assertEqual([rule.domain_force for rule in rules], [changed] + shipped[1:])

    def test_team_rules_by_id_migration(self):
        """18.0.1.9.0: the rules that let a user read through a sales team
        (a leader the team's appraisals, a key-account manager the team's
        figures) name the users by id, no longer through ``sale_team_id`` or
        ``crm_team_ids``; the migration rewrites the rules that still have a
        domain earlier versions shipped and leaves a changed one."""
        module = "key_account_performance"
        script = _migration_script("18.0.1.9.0", "post-team-rules-by-id")
        names = sorted(script.OLD)
        self.assertEqual(set(script.shipped_rules()), set(names))
        self.assertEqual(len(names), 16)
        rules = [self.env.ref("%s.%s" % (module, name)) for name in names]
        shipped = [rule.domain_force for rule in rules]
        # no rule of the addon goes through a user's teams any more
        every_rule = self.env["ir.rule"].search(
            [("model_id.model", "=like", "key.account.%")]
        )
        self.assertFalse(
            [
                rule.domain_force
                for rule in every_rule
                if "crm_team_ids" in (rule.domain_force or "")
                or "sale_team_id" in (rule.domain_force or "")
            ]
        )
        for name, rule in zip(names, rules):
            rule.domain_force = script.OLD[name][-1].replace(",", ", ")
        changed = "['&', ('create_uid', '!=', False)] + " + script.OLD[names[0]][0]
        rules[0].domain_force = changed
        script.migrate(self.env.cr, "18.0.1.8.0")
        self.assertEqual([rule.domain_force for rule in rules], [changed] + shipped[1:])

    def test_removed_member_is_no_longer_read_by_the_leader(self):
        """A KAM removed from a team (sales_team archives the membership),
        or a team archived: its leader no longer reads the KAM's accounts'
        figures (the record rules count active memberships of active teams, as
        the user's teams read), whether searched (SQL) or checked on a record
        (Python, ``filtered_domain``) and whatever the caller's active_test."""
        domain = [("partner_id", "=", self.partner_b.id)]  # kam2's account
        # (a submitted review is read by every key-account manager)
        models = ("key.account.kpi.value", "key.account.score.history")
        records = {model: self.env[model].search(domain) for model in models}
        self.assertTrue(all(records.values()))

        def assert_leader_reads(expected):
            self.env.invalidate_all()
            for model, found in records.items():
                for context in ({}, {"active_test": False}):
                    mine = found.with_user(self.leader).with_context(**context)
                    self.assertEqual(
                        bool(mine._filtered_access("read")), expected, (model, context)
                    )
                Model = self.env[model].with_user(self.leader)
                self.assertEqual(
                    bool(Model.search([("id", "in", found.ids)])), expected, model
                )
            self.assertEqual(
                self.partner_b.with_user(self.leader).key_account_visible, expected
            )

        self.team2.member_ids = [Command.link(self.kam2.id)]
        assert_leader_reads(True)
        self.team2.member_ids = [Command.unlink(self.kam2.id)]
        self.assertFalse(
            self.env["crm.team.member"].search([("user_id", "=", self.kam2.id)])
        )
        assert_leader_reads(False)
        # back in the team, then the team archived
        self.team2.member_ids = [Command.link(self.kam2.id)]
        assert_leader_reads(True)
        self.team2.active = False
        assert_leader_reads(False)

    def test_team_leader_and_shared_team_read(self):
        # the leader of the KAM's team sees the account
        leader = self._data(self.leader, self.partner_a)
        self.assertEqual(leader["key_account_score"], self.partner_a.key_account_score)
        # a team that shares its key accounts: kam2 now reads kam's account
        self.team2.key_account_shared = True
        self.env.invalidate_all()
        row = self._data(self.kam2, self.partner_a)
        self.assertEqual(row["key_account_score"], self.partner_a.key_account_score)
        self.assertTrue(row["key_account_breakdown_ids"])
        self.assertTrue(self.partner_a.with_user(self.kam2).key_account_visible)
        self.assertTrue(
            self.partner_a.with_user(self.kam2).key_account_score_breakdown(*self.P)
        )
        values = (
            self.env["key.account.kpi.value"]
            .with_user(self.kam2)
            .search([("partner_id", "=", self.partner_a.id)])
        )
        self.assertTrue(values)
        review = (
            self.env["key.account.review"]
            .with_user(self.kam2)
            .search([("partner_id", "=", self.partner_a.id)])
        )
        self.assertEqual(review, self.review_a)
        # read only: only the account's own KAM fills its review
        with self.assertRaises(AccessError):
            review.write({"comment": "<p>not mine</p>"})
        self.assertEqual(
            self.env["res.partner"]
            .with_user(self.kam2)
            .search(
                [
                    ("key_account_visible", "=", True),
                    ("id", "in", (self.partner_a | self.partner_b).ids),
                ]
            ),
            self.partner_a | self.partner_b,
        )


@tagged("post_install", "-at_install")
class TestStaleScore(ReviewCommon):
    """Whatever changes an input of the score marks the account's score out
    of date until it is recomputed (issue "Numbers people can trust", item 6)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["key.account.kpi.value"].compute_for_period(
            *cls.P, partner_ids=(cls.partner_a | cls.partner_b).ids
        )

    def test_template_target_change_marks_stale_until_recomputed(self):
        self.assertFalse(self.partner_a.key_account_score_stale)
        line = self.template.line_ids.filtered(lambda ln: ln.kpi_id == self.kpi_revenue)
        line.target = 500.0
        self.assertTrue(self.partner_a.key_account_score_stale)
        self.assertTrue(self.partner_b.key_account_score_stale)
        old = self.partner_a.key_account_score
        self.env["key.account.kpi.value"].compute_for_period(
            *self.P, partner_ids=self.partner_a.ids
        )
        self.assertFalse(self.partner_a.key_account_score_stale)
        self.assertGreater(self.partner_a.key_account_score, old)
        self.assertTrue(self.partner_b.key_account_score_stale)

    def test_tier_or_template_change_marks_stale(self):
        other = self.template.copy({"name": "Other review test template"})
        self.partner_a.with_user(self.manager).key_account_template_id = other
        self.assertTrue(self.partner_a.key_account_score_stale)
        self.assertFalse(self.partner_b.key_account_score_stale)
        with self.assertRaises(UserError):
            self.partner_b.with_user(self.admin).write(
                {"key_account_score_stale": True}
            )


@tagged("post_install", "-at_install")
class TestNoSearchOracle(ReviewCommon):
    """Searching, grouping or sorting on an account's figures is no oracle
    for what reading returns empty: such a condition only ever matches the
    accounts the user may see."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["key.account.kpi.value"].compute_for_period(
            *cls.P, partner_ids=(cls.partner_a | cls.partner_b).ids
        )

    def test_colleague_cannot_search_or_group_figures(self):
        """The same with the visible accounts named by id (a KAM's few) and
        as a subquery (more than SCOPE_IDS_LIMIT of them)."""
        for limit in (visibility.SCOPE_IDS_LIMIT, 0):
            with (
                self.subTest(limit=limit),
                patch.object(visibility, "SCOPE_IDS_LIMIT", limit),
            ):
                self._check_colleague_cannot_search_or_group_figures()

    def _check_colleague_cannot_search_or_group_figures(self):
        grade_b = self.partner_b.key_account_grade
        self.assertTrue(grade_b)
        Partner = self.env["res.partner"].with_user(self.kam)
        found = Partner.search(
            [("id", "=", self.partner_b.id), ("key_account_grade", "=", grade_b)]
        )
        self.assertFalse(found)
        self.assertFalse(
            Partner.search(
                [
                    "&",
                    ("id", "=", self.partner_b.id),
                    "|",
                    ("key_account_at_risk", "=", True),
                    ("key_account_at_risk", "=", False),
                ]
            )
        )
        groups = Partner._read_group(
            [("id", "=", self.partner_b.id)],
            ["key_account_grade"],
            ["key_account_score:avg"],
        )
        self.assertEqual(groups, [])
        # ordering by a figure lists only visible accounts
        ordered = Partner.search(
            [("id", "in", (self.partner_a | self.partner_b).ids)],
            order="key_account_score desc",
        )
        self.assertEqual(ordered, self.partner_a)
        # and the list's count, made without the ordering, counts them only
        page = Partner.web_search_read(
            [("id", "in", (self.partner_a | self.partner_b).ids)],
            {"display_name": {}},
            limit=1,
            order="key_account_score desc",
        )
        self.assertEqual(
            (page["length"], [row["id"] for row in page["records"]]),
            (1, self.partner_a.ids),
        )
        # their own account: found, grouped
        own_grade = self.partner_a.key_account_grade
        self.assertEqual(
            Partner.search(
                [("id", "=", self.partner_a.id), ("key_account_grade", "=", own_grade)]
            ),
            self.partner_a,
        )
        # plain searches are untouched
        self.assertEqual(
            Partner.search([("id", "in", (self.partner_a | self.partner_b).ids)]),
            self.partner_a | self.partner_b,
        )
        # a manager of the team sees both
        Manager = self.env["res.partner"].with_user(self.admin)
        self.assertEqual(
            Manager.search(
                [("id", "=", self.partner_b.id), ("key_account_grade", "=", grade_b)]
            ),
            self.partner_b,
        )


@tagged("post_install", "-at_install")
class TestManagerReclassifiesOwnTeamOnly(ReviewCommon):
    def test_visibility_is_the_rules_path_by_manager_ids(self):
        """The visibility domains name the accounts' managers by id (one
        indexed condition) and select exactly the accounts that the paths
        through the manager select as the ORM reads them (a user's teams:
        active teams of active memberships), for every role, with shared
        and unshared teams, an archived KAM, unassigned accounts, a removed
        member and an archived team; the visibility flag follows at once."""
        Partner = self.env["res.partner"]
        third = self._new_user("kap_rt_kam3", "Review KAM 3")
        # kam2 leads a team (not shared) of the third KAM, and is a member of
        # a team that shares its accounts with the manager
        led = self.env["crm.team"].create(
            {
                "name": "Led by KAM 2",
                "user_id": self.kam2.id,
                "member_ids": [Command.set(third.ids)],
            }
        )
        sharing = self.env["crm.team"].create(
            {
                "name": "Sharing team",
                "key_account_shared": True,
                "member_ids": [Command.set((self.kam2 | self.manager).ids)],
            }
        )
        accounts = Partner.create(
            [
                {
                    "name": "Visibility %s" % (kam.login if kam else "unassigned"),
                    "is_company": True,
                    "key_account_tier_id": self.tier.id,
                    "key_account_manager_id": kam.id,
                }
                for kam in (self.kam, self.kam2, third, self.manager, Partner.browse())
            ]
        )
        third.active = False  # an archived KAM's accounts stay visible to the team
        accounts |= self.partner_a | self.partner_b

        def paths(user, shared_only):
            teams = user.crm_team_ids
            if user in (self.leader, self.manager):
                return [
                    "|",
                    "|",
                    "|",
                    ("key_account_manager_id", "=", user.id),
                    ("key_account_manager_id", "=", False),
                    ("key_account_manager_id.crm_team_ids.user_id", "=", user.id),
                    ("key_account_manager_id.crm_team_ids", "in", teams.ids),
                ]
            if not shared_only:
                return [("key_account_manager_id", "=", user.id)]
            return [
                "|",
                "|",
                ("key_account_manager_id", "=", user.id),
                ("key_account_manager_id.crm_team_ids.user_id", "=", user.id),
                (
                    "key_account_manager_id.crm_team_ids",
                    "in",
                    teams.filtered("key_account_shared").ids,
                ),
            ]

        def check():
            for user in (self.kam, self.kam2, self.leader, self.manager, self.admin):
                scoped = Partner.with_user(user)
                for domain, oracle in (
                    (scoped._key_account_managed_domain(), paths(user, False)),
                    (scoped._key_account_visible_domain(), paths(user, True)),
                ):
                    if user == self.admin:
                        self.assertEqual(domain, [])
                        continue
                    self.assertFalse(
                        [
                            leaf
                            for leaf in domain
                            if isinstance(leaf, tuple) and "." in leaf[0]
                        ],
                        user.login,
                    )
                    # the oracle as the ORM reads it (user.crm_team_ids)
                    expected = accounts.sudo().filtered_domain(oracle)
                    self.assertEqual(
                        Partner.with_context(active_test=False).search(
                            [("id", "in", accounts.ids)] + domain
                        ),
                        expected,
                        user.login,
                    )
                    self.assertEqual(accounts.sudo().filtered_domain(domain), expected)
                visible = accounts.with_user(user).filtered("key_account_visible")
                self.assertEqual(
                    visible.ids,
                    accounts.sudo().filtered_domain(paths(user, True)).ids
                    if user != self.admin
                    else accounts.ids,
                    user.login,
                )

        check()
        # kam2 sees their own accounts, the archived KAM's of the team they
        # lead and the manager's through the sharing team
        self.assertIn(sharing, self.kam2.crm_team_ids)
        self.assertEqual(
            accounts.with_user(self.kam2).filtered("key_account_visible"),
            accounts[1] | accounts[2] | accounts[3] | self.partner_b,
        )
        # the third KAM leaves the team kam2 leads (the membership is
        # archived), the sharing team is archived: kam2 sees their own only
        led.member_ids = [Command.unlink(third.id)]
        sharing.active = False
        check()
        self.assertEqual(
            accounts.with_user(self.kam2).filtered("key_account_visible"),
            accounts[1] | self.partner_b,
        )

    def test_manager_outside_the_team_cannot_take_an_account(self):
        outsider = self.env["res.users"].create(
            {
                "name": "Other team manager",
                "login": "kap_rt_outsider",
                "company_id": self.company.id,
                "company_ids": [Command.set(self.company.ids)],
                "groups_id": [
                    Command.link(
                        self.env.ref(
                            "key_account_performance.group_key_account_manager"
                        ).id
                    )
                ],
            }
        )
        with self.assertRaisesRegex(AccessError, "accounts you manage"):
            self.partner_a.with_user(outsider).write(
                {"key_account_manager_id": outsider.id}
            )
        with self.assertRaises(AccessError):
            self.partner_a.with_user(outsider).write({"key_account_tier_id": False})
        self.assertEqual(self.partner_a.key_account_manager_id, self.kam)
        # the team's own leader may
        self.partner_a.with_user(self.leader).write(
            {"key_account_manager_id": self.kam2.id}
        )
        self.assertEqual(self.partner_a.key_account_manager_id, self.kam2)


@tagged("post_install", "-at_install")
class TestComputeMyAccounts(ReviewCommon):
    """Compute KPIs of My Accounts (issue 22, item 10): a manager computes
    the team's accounts at once, a KAM their own, nobody else's."""

    def test_manager_computes_the_team_kam_their_own(self):
        Value = self.env["key.account.kpi.value"]
        result = (
            self.env["res.partner"]
            .with_user(self.leader)
            .action_compute_key_account_kpis_mine()
        )
        self.assertEqual(result["tag"], "display_notification")
        computed = Value.search([("date_from", "=", self.P[0])]).partner_id
        # the leader's team is kam's: partner_a, not kam2's partner_b
        self.assertIn(self.partner_a, computed)
        self.assertNotIn(self.partner_b, computed)
        self.env["res.partner"].with_user(
            self.kam2
        ).action_compute_key_account_kpis_mine()
        computed = Value.search([("date_from", "=", self.P[0])]).partner_id
        self.assertIn(self.partner_b, computed)
        self.assertTrue(
            self.env.ref("key_account_performance.menu_key_account_compute_mine").action
        )
