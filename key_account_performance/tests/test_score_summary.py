"""The score-history reports read summed rows (issue 25, item 4).

``key.account.score.history._read_group`` answers the reports' groupings
from ``key.account.score.summary`` when it can. Every figure is checked
against the history's own rows as each user may read them (``search_read``,
summed here in Python), for every role, after every kind of change the
summary follows; the SQL run tells which table answered."""

import datetime
from collections import defaultdict
from contextlib import contextmanager
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.sql_db import Cursor
from odoo.tests import tagged

from ..models.guard import internal
from .common import ReviewCommon

FIELDS = (
    "partner_id",
    "tier_id",
    "user_id",
    "team_id",
    "segment_id",
    "grade",
    "date_from",
    "is_running",
    "has_previous",
    "score",
    "trend",
    "previous_score",
)
# the reports' questions: (domain, groupby, aggregates)
QUESTIONS = [
    ([("is_running", "=", False)], [], ["__count", "score:avg"]),
    ([("is_running", "=", False)], ["date_from:quarter"], ["__count", "score:avg"]),
    ([("is_running", "=", False)], ["tier_id"], ["__count", "score:avg"]),
    (
        [("is_running", "=", False)],
        ["tier_id", "date_from:quarter"],
        ["__count", "score:avg", "trend:avg"],
    ),
    ([], ["user_id", "is_running"], ["__count", "score:sum", "previous_score:avg"]),
    ([], ["grade"], ["__count", "previous_score:sum", "previous_score:count"]),
    ([("has_previous", "=", True), ("grade", "!=", "Z")], [], ["__count"]),
    ([("team_id", "!=", False)], ["date_from:month", "team_id"], ["score:avg"]),
]


def _quarter(day):
    return datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _month(day):
    return datetime.date(day.year, day.month, 1)


def expected(history, domain, groupby, aggregates):
    """The groups the history's own rows give (read by ``history``'s user)."""
    groups = defaultdict(list)
    for row in history.search_read(domain, list(FIELDS)):
        key = []
        for spec in groupby:
            name, _, granularity = spec.partition(":")
            value = row[name]
            if isinstance(value, tuple):
                value = value[0]
            if granularity == "quarter":
                value = _quarter(value)
            elif granularity == "month":
                value = _month(value)
            key.append(value)
        groups[tuple(key)].append(row)
    if not groupby and not groups:
        groups[()] = []
    result = {}
    for key, rows in groups.items():
        figures = []
        for spec in aggregates:
            if spec == "__count":
                figures.append(len(rows))
                continue
            name, func = spec.split(":")
            values = [row[name] for row in rows if row[name] is not None]
            if name == "previous_score":
                values = [row[name] for row in rows if row["has_previous"]]
            if func == "count":
                figures.append(len(values))
            elif not values:
                figures.append(False)
            elif func == "sum":
                figures.append(round(sum(values), 6))
            elif func == "max":
                figures.append(round(max(values), 6))
            else:
                figures.append(round(sum(values) / len(values), 6))
        result[key] = tuple(figures)
    return result


def answered(history, domain, groupby, aggregates):
    """The same groups from ``_read_group`` (many2ones by id)."""
    result = {}
    for row in history._read_group(domain, groupby, aggregates):
        key = tuple(
            (value.id or False) if hasattr(value, "_name") else value
            for value in row[: len(groupby)]
        )
        figures = tuple(
            round(value, 6) if isinstance(value, float) else value
            for value in row[len(groupby) :]
        )
        result[key] = figures
    return result


@tagged("post_install", "-at_install")
class TestScoreSummary(ReviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.segment = cls.env["key.account.segment"].create({"name": "Summary segment"})
        cls.partner_b.key_account_segment_id = cls.segment
        cls.partner_c = cls._make_account("Review Account C", cls.kam)
        cls.Value = cls.env["key.account.kpi.value"]
        for period in (cls.P0, cls.P, cls.N):
            cls.Value.compute_for_period(*period)
        cls.History = cls.env["key.account.score.history"]
        cls.Summary = cls.env["key.account.score.summary"]
        cls.users = cls.admin | cls.leader | cls.manager | cls.kam | cls.kam2

    @contextmanager
    def _tables(self):
        """The tables read inside the block: {'history': n, 'summary': n}."""
        seen = {"history": 0, "summary": 0}
        execute = Cursor.execute

        def spying(cursor, query, params=None, log_exceptions=True):
            text = str(getattr(query, "code", query))
            if text.lstrip().upper().startswith("SELECT"):
                seen["history"] += "key_account_score_history" in text
                seen["summary"] += "key_account_score_summary" in text
            return execute(cursor, query, params, log_exceptions)

        self.env.flush_all()
        with patch.object(Cursor, "execute", spying):
            yield seen

    def _check_every_user(self, questions=None, summary=True):
        """Every question, for every user and the superuser: the figures of
        the history's rows, answered by the summary (or by the history)."""
        questions = questions or QUESTIONS
        histories = [self.History.with_user(user) for user in self.users]
        histories.append(self.History.sudo())
        for history in histories:
            for domain, groupby, aggregates in questions:
                with self.subTest(user=history.env.user.login, groupby=groupby):
                    self.env.invalidate_all()
                    with self._tables() as seen:
                        got = answered(history, domain, groupby, aggregates)
                    self.assertEqual(
                        got, expected(history, domain, groupby, aggregates)
                    )
                    if summary:
                        self.assertTrue(seen["summary"])
                        self.assertFalse(seen["history"])
                    else:
                        self.assertFalse(seen["summary"])

    def _assert_compact(self):
        """One row per group (detailed, and coarse: by period, tier, manager
        and team), no group whose deltas cancel out: in this test's company
        (a run committed by another suite may have left its deltas to fold,
        while this transaction held the compaction's lock)."""
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT COUNT(*) FILTER (WHERE detailed), COUNT(*) FILTER (WHERE NOT detailed), "
            "COUNT(*) FILTER (WHERE row_count = 0) FROM key_account_score_summary "
            "WHERE company_id = %s",
            [self.company.id],
        )
        counts = self.env.cr.fetchone()
        groups = []
        for columns in (
            "h.segment_id, h.grade, h.has_previous, h.tier_id",
            "h.tier_id",
        ):
            self.env.cr.execute(
                "SELECT COUNT(*) FROM (SELECT DISTINCT h.company_id, h.date_from, "
                "h.date_to, h.period_label, h.is_running, h.user_id, h.team_id, "
                "p.key_account_manager_id, %s FROM key_account_score_history h "
                "JOIN res_partner p ON p.id = h.partner_id "
                "WHERE h.company_id = %%s) g" % columns,
                [self.company.id],
            )
            groups.append(self.env.cr.fetchone()[0])
        self.assertEqual(counts, (*groups, 0))
        self.assertGreater(groups[0], groups[1])

    def test_reports_read_the_summary_for_every_role(self):
        # what each role sees differs (the test would not tell otherwise)
        seen = {
            user.login: self.History.with_user(user).search_count([])
            for user in self.users
        }
        self.assertGreater(seen["kap_rt_admin"], seen["kap_rt_kam"])
        self.assertGreater(seen["kap_rt_kam"], seen["kap_rt_kam2"])
        self.assertGreater(seen["kap_rt_kam2"], 0)
        self._check_every_user()
        self._assert_compact()

    def test_reports_as_they_open_read_the_coarse_rows(self):
        """By period, tier, manager and team: the coarse rows (a few per
        manager); by account type, grade or a previous period: the detailed
        ones. Both give the history's figures (the other tests)."""
        for user in (self.kam, self.leader, self.admin):
            History = self.History.with_user(user)
            for groupby, detailed in (
                (["tier_id", "date_from:quarter"], False),
                (["user_id", "team_id"], False),
                (["segment_id"], True),
                (["grade"], True),
            ):
                domain = self.Summary._answerable(
                    History,
                    [("is_running", "=", False)],
                    groupby,
                    ["__count", "score:avg"],
                    [],
                    None,
                )
                self.assertIn(("detailed", "=", detailed), domain)
            domain = self.Summary._answerable(
                History, [("grade", "=", "A")], ["tier_id"], ["__count"], [], None
            )
            self.assertIn(("detailed", "=", True), domain)

    def test_the_pivot_reads_the_same_through_the_web_client_api(self):
        History = self.History.with_user(self.leader)
        groups = History.read_group(
            [("is_running", "=", False)],
            ["score:avg"],
            ["tier_id", "date_from:quarter"],
            lazy=False,
        )
        self.assertTrue(groups)
        for group in groups:
            rows = History.search(group["__domain"])
            self.assertEqual(group["__count"], len(rows))
            self.assertAlmostEqual(
                group["score"], sum(rows.mapped("score")) / len(rows), places=6
            )
            self.assertEqual(group["tier_id"][0], self.tier.id)

    def test_summary_follows_a_new_key_account_manager(self):
        self.partner_a.key_account_manager_id = self.kam2
        self._check_every_user()
        self.assertFalse(
            self.History.with_user(self.kam).search_count(
                [("partner_id", "=", self.partner_a.id)]
            )
        )
        self.partner_a.key_account_manager_id = False
        self._check_every_user()

    def test_a_refused_change_leaves_the_summary_as_it_was(self):
        """Caught without a savepoint of the caller's (as an integrator's
        script may): the refused write and deletion changed nothing."""
        self.kam.groups_id = [
            Command.link(self.env.ref("base.group_partner_manager").id)
        ]
        with self.assertRaises(UserError):
            try:
                self.partner_a.with_user(self.kam).write(
                    {"key_account_manager_id": self.kam2.id}
                )
            except UserError:
                self._check_every_user()
                raise
        rows = self.History.search([("partner_id", "=", self.partner_a.id)])
        with self.assertRaises(AccessError):
            try:
                rows.with_user(self.kam).unlink()
            except AccessError:
                self._check_every_user()
                raise
        self.assertTrue(rows.exists())

    def test_history_records_the_kams_active_team(self):
        """The history row's team is the KAM's main active team: once it is
        archived (sales_team's ``sale_team_id`` still names it) a
        recomputation records none, as the KAM's appraisal does."""

        def team_recorded():
            self.Value.compute_for_period(*self.P)
            self.env.flush_all()
            return (
                self.History.sudo()
                .search(
                    [
                        ("partner_id", "=", self.partner_a.id),
                        ("date_from", "=", self.P[0]),
                    ]
                )
                .team_id
            )

        self.assertEqual(team_recorded(), self.team)
        self.team.active = False
        self.assertEqual(self.kam.sale_team_id, self.team)
        self.assertFalse(team_recorded())
        self._check_every_user()

    def test_summary_follows_recomputations(self):
        before = answered(self.History, [], [], ["score:avg", "trend:avg"])
        self._order(self.partner_b, 5000.0, self._day(self.P, 20))
        self.partner_b.key_account_tier_id = False
        self.Value.compute_for_period(*self.P)
        self._check_every_user()
        # an earlier period recomputed moves the later period's trend
        self._order(self.partner_a, 9000.0, self._day(self.P0, 25))
        self.Value.compute_for_period(*self.P0)
        self._check_every_user()
        self.assertNotEqual(
            answered(self.History, [], [], ["score:avg", "trend:avg"]), before
        )
        self._assert_compact()

    def test_summary_follows_deletions_and_merges(self):
        self.History.sudo().search(
            [("partner_id", "=", self.partner_a.id), ("is_running", "=", True)]
        ).unlink()
        self._check_every_user()
        self.assertTrue(
            self.History.search_count([("partner_id", "=", self.partner_c.id)])
        )
        self.partner_c.unlink()
        self._check_every_user()
        wizard = (
            self.env["base.partner.merge.automatic.wizard"]
            .with_context(active_model="res.partner")
            .create({})
        )
        wizard._merge((self.partner_a | self.partner_b).ids, self.partner_b)
        self.assertFalse(self.partner_a.exists())
        self._check_every_user()

    def test_summary_follows_the_addons_own_orm_writes(self):
        """History rows the addon creates or changes through the ORM (its
        internal context; anyone else is refused) are summed too."""
        History = internal(self.History)
        row = History.create(
            {
                "partner_id": self.partner_b.id,
                "company_id": self.company.id,
                "date_from": "2020-01-01",
                "date_to": "2020-03-31",
                "period_label": "Q1 2020",
                "score": 42.0,
                "tier_id": self.tier.id,
                "user_id": self.kam2.id,
            }
        )
        self._check_every_user()
        row.write({"score": 64.0, "grade": "C", "segment_id": self.segment.id})
        self._check_every_user()
        with self.assertRaises(UserError):
            try:
                self.History.browse(row.id).write({"score": 1.0})
            except UserError:
                self._check_every_user()
                raise

    def test_rebuild_gives_the_rows_the_deltas_gave(self):
        self.partner_a.key_account_manager_id = self.kam2
        self.Value.compute_for_period(*self.P)
        self.Summary._compact()

        def rows():
            self.env.flush_all()
            self.env.cr.execute(
                "SELECT company_id, date_from, date_to, is_running, tier_id, "
                "segment_id, user_id, team_id, grade, has_previous, "
                "account_manager_id, detailed, row_count, score_count, "
                "round(score_sum::numeric, 6), trend_count, round(trend_sum::numeric, 6) "
                "FROM key_account_score_summary "
                "ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12"
            )
            return self.env.cr.fetchall()

        by_deltas = rows()
        self.Summary._rebuild()
        self.assertEqual(rows(), by_deltas)
        # a change behind the addon's back is repaired by the rebuild
        self.env.cr.execute("DELETE FROM key_account_score_summary")
        self.Summary._rebuild()
        self.assertEqual(rows(), by_deltas)
        self._check_every_user()

    def test_history_answers_what_the_summary_cannot(self):
        questions = [
            ([], ["partner_id"], ["__count", "score:avg"]),
            ([("score", ">", 10.0)], ["tier_id"], ["__count"]),
            ([("tier_id.name", "ilike", "review")], [], ["__count"]),
            ([], ["tier_id"], ["score:max"]),
        ]
        self._check_every_user(questions, summary=False)

    def test_history_answers_under_a_rule_of_its_own(self):
        """A record rule that reads more of the account than its manager
        (a global rule added by an integrator) is not translated: the
        history answers, under that rule."""
        self.env["ir.rule"].create(
            {
                "name": "Score history: not account C",
                "model_id": self.env["ir.model"]._get_id("key.account.score.history"),
                "domain_force": "[('partner_id.name', '!=', 'Review Account C')]",
            }
        )
        History = self.History.with_user(self.kam)
        with self._tables() as seen:
            got = answered(History, [], ["tier_id"], ["__count"])
        self.assertFalse(seen["summary"])
        self.assertEqual(got, expected(History, [], ["tier_id"], ["__count"]))
        self.assertEqual(
            got[(self.tier.id,)][0],
            self.History.sudo().search_count([("partner_id", "=", self.partner_a.id)]),
        )
