"""The SQL builders (``sql/``), one test per statement kind: each builder's
statement does what the engine relies on, on a real database."""

import datetime

from odoo.tests import tagged
from odoo.tools import SQL

from ..engine.gathering import Gathering
from ..sql import aggregate as sql_aggregate
from ..sql import columns_of, pg_array
from ..sql import history as sql_history
from ..sql import locks as sql_locks
from ..sql import reviews as sql_reviews
from ..sql import values as sql_values
from .kpi_common import KpiCommon

JAN = (datetime.date(2026, 1, 1), datetime.date(2026, 1, 31))
FEB = (datetime.date(2026, 2, 1), datetime.date(2026, 2, 28))
Q1 = (datetime.date(2026, 1, 1), datetime.date(2026, 3, 31))


@tagged("post_install", "-at_install")
class TestSqlBuilders(KpiCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._order(cls.partner_a, 300.0, cls._local(2026, 1, 10, 9, 0))
        cls._order(cls.partner_a, 200.0, cls._local(2026, 1, 31, 23, 30))
        cls._order(cls.partner_b, 50.0, cls._local(2026, 3, 2, 9, 0))
        cls.ids = (cls.partner_a | cls.partner_b).ids

    def _grouped(self, kpi, scan, condition_period=None):
        source = sql_aggregate.source_query(kpi, self.ids, *scan, self.company)
        condition = None
        if condition_period:
            condition = sql_aggregate.period_condition(
                source.date_sql, source.date_field, *condition_period, self.company
            )
        statement = sql_aggregate.grouped_select(
            source, [sql_aggregate.kpi_aggregate(kpi, source, self.company, condition)]
        )
        self.assertIsInstance(statement, SQL)
        return {
            pid: float(value)
            for pid, value in self.env.execute_query(statement)
            if value is not None
        }

    def test_aggregate_by_path_alone_and_filtered_give_the_same_figures(self):
        revenue, count = self.kpi["revenue"], self.kpi["order_count"]
        # an order at 23:30 on 31 January in Shanghai is January's
        self.assertEqual(self._grouped(revenue, JAN), {self.partner_a.id: 500.0})
        self.assertEqual(self._grouped(count, JAN), {self.partner_a.id: 2.0})
        # inside a wider scan, each figure filtered by its own period
        self.assertEqual(self._grouped(revenue, Q1, JAN), {self.partner_a.id: 500.0})
        self.assertEqual(
            self._grouped(count, Q1, FEB), {}, "a count of nothing is no value, not 0"
        )
        # the gathering reads through the same builder
        gathering = Gathering(self.env, self.company, self.ids)
        self.assertEqual(gathering.values(revenue, *Q1), self._grouped(revenue, Q1))

    def test_upsert_of_values_writes_changed_rows_only(self):
        kpi = self.kpi["revenue"]
        period = (self.company.id, *JAN)
        now = datetime.datetime(2026, 2, 1)

        def row(value, score):
            return (
                self.partner_a.id,
                kpi.id,
                value,
                1000.0,
                200.0,
                2.0,
                score,
                "red",
                self.template.id,
                kpi.code,
                kpi.sequence,
            )

        def upsert(rows):
            arrays = columns_of(rows, sql_values.VALUE_COLUMNS)
            return self.env.execute_query(sql_values.upsert_values(period, arrays, now))

        self.env["key.account.kpi.value"].flush_model()
        [(value_id,)] = upsert([row(500.0, 37.5)])
        self.assertEqual(upsert([row(500.0, 37.5)]), [], "unchanged: not rewritten")
        self.assertEqual(upsert([row(600.0, 50.0)]), [(value_id,)])
        self.assertEqual(
            self.env.execute_query(sql_values.existing_value_ids(period, self.ids)),
            [(self.partner_a.id, kpi.id, value_id)],
        )
        stored = self.env.execute_query(sql_values.stored_scores(period, self.ids))
        self.assertEqual(stored, [(self.partner_a.id, kpi.id, 600.0, 50.0)])
        value = self.env["key.account.kpi.value"].browse(value_id)
        self.assertEqual(value.value, 600.0)
        self.assertFalse(value.create_uid, "computed values carry no user")
        self.env.execute_query(
            sql_values.delete_values(period, [(kpi.id, self.partner_a.id)])
        )
        self.assertFalse(value.exists())
        # no pair: one statement all the same, deleting nothing
        self.env.execute_query(sql_values.delete_values(period, []))

    def test_account_scores_are_written_per_company_and_unchanged_ones_left(self):
        partner = self.partner_a
        statement = sql_values.update_partner_scores(
            self.company.id, JAN[1], [(partner.id, 72.5, "B", 2.5)]
        )
        self.env["res.partner"].flush_model()
        self.env.cr.execute(statement)
        self.assertEqual(self.env.cr.rowcount, 1)
        self.env.cr.execute(statement)
        self.assertEqual(self.env.cr.rowcount, 0, "unchanged: not rewritten")
        partner.invalidate_recordset()
        self.assertEqual(partner.key_account_score, 72.5)
        self.assertEqual(partner.key_account_grade, "B")
        self.assertEqual(partner.key_account_trend, 2.5)
        row = self.env.execute_query_dict(
            sql_values.read_partners([partner.id], self.company.id)
        )[0]
        self.assertEqual(
            (row["score"], row["grade"], row["score_date"]), (72.5, "B", JAN[1])
        )
        self.assertEqual(row["template_id"], self.template.id)

    def test_score_history_upsert_delete_and_next_period_trend(self):
        History = self.env["key.account.score.history"]
        now = datetime.datetime(2026, 3, 1)

        def upsert(period, score, previous):
            rows = [
                (
                    self.partner_a.id,
                    score,
                    "C",
                    previous,
                    previous is not None,
                    score - (previous or score),
                    self.tier.id,
                    None,
                    self.kam.id,
                    None,
                )
            ]
            History.flush_model()
            self.env.execute_query(
                sql_history.upsert_history(
                    (self.company.id, *period),
                    columns_of(rows, sql_history.HISTORY_COLUMNS),
                    "label",
                    False,
                    now,
                    [self.partner_a.id],
                )
            )
            History.invalidate_model()
            self._assert_summary_matches()

        upsert(JAN, 60.0, None)
        upsert(FEB, 70.0, 60.0)
        feb = History.search(
            [("partner_id", "=", self.partner_a.id), ("date_from", "=", FEB[0])]
        )
        self.assertEqual((feb.previous_score, feb.trend), (60.0, 10.0))
        # January recomputed at 65: February compares with it
        self.env.execute_query(
            sql_history.refresh_next_history(
                (self.company.id, *FEB), [self.partner_a.id], [65.0]
            )
        )
        History.invalidate_model()
        self.assertEqual((feb.previous_score, feb.trend), (65.0, 5.0))
        self._assert_summary_matches()
        self.env.execute_query(
            sql_history.delete_history((self.company.id, *FEB), [self.partner_a.id])
        )
        self.assertFalse(feb.exists())
        self._assert_summary_matches()

    def _assert_summary_matches(self):
        """The score-history summary, written by the same statements, sums
        the history's rows (by month: count, score and trend)."""
        History = self.env["key.account.score.history"].sudo()
        expected = {}
        for row in History.search_read([], ["date_from", "score", "trend"]):
            month = row["date_from"].replace(day=1)
            count, score, trend = expected.get(month, (0, 0.0, 0.0))
            expected[month] = (count + 1, score + row["score"], trend + row["trend"])
        got = {
            month: (count, score, trend)
            for month, count, score, trend in History._read_group(
                [], ["date_from:month"], ["__count", "score:sum", "trend:sum"]
            )
        }
        self.assertEqual(
            {k: (c, round(s, 6), round(t, 6)) for k, (c, s, t) in got.items()},
            {k: (c, round(s, 6), round(t, 6)) for k, (c, s, t) in expected.items()},
        )

    def test_locks_and_arrays(self):
        key = "kap-test-lock"
        self.assertTrue(self.env.execute_query(sql_locks.try_xact_lock(key))[0][0])
        self.env.execute_query(sql_locks.wait_xact_lock(key))  # held: returns at once
        self.assertTrue(self.env.execute_query(sql_locks.try_session_lock(key))[0][0])
        self.assertTrue(self.env.execute_query(sql_locks.session_unlock(key))[0][0])
        self.assertEqual(pg_array([1, None, "a", True]), '{1, null, "a", true}')
        self.assertEqual(columns_of([], ("a", "b")), {"a": "{}", "b": "{}"})

    def test_review_generation_inserts_reviews_and_lines_odoo_reads_back(self):
        cycle = self.env["key.account.review.cycle"].create(
            {
                "name": "SQL builders",
                "period_type": "month",
                "date_from": JAN[0],
                "date_to": JAN[1],
            }
        )
        Review = self.env["key.account.review"]
        Review.flush_model()
        stamp = (self.env.uid, datetime.datetime(2026, 2, 1))
        row = (
            self.partner_a.id,
            self.kam.id,
            None,
            self.template.id,
            1,
            None,
            "Jan – Account A",
            62.5,
            "C",
            1,
        )
        [(review_id, partner_id)] = self.env.execute_query(
            sql_reviews.insert_reviews(cycle, self.company.id, stamp, [row])
        )
        self.assertEqual(partner_id, self.partner_a.id)
        kpi = self.kpi["revenue"]
        line = {
            "review_id": review_id,
            "partner_id": self.partner_a.id,
            "company_id": self.company.id,
            "date_from": str(JAN[0]),
            "date_to": str(JAN[1]),
            "sequence": 1,
            "kpi_id": kpi.id,
            "is_manual": False,
            "direction": "higher",
            "value": 500.0,
            "has_value": True,
            "target": 1000.0,
            "threshold": 200.0,
            "weight": 2.0,
            "score": 37.5,
            "status": "red",
            "kpi_value_id": None,
        }
        self.env.execute_query(
            sql_reviews.insert_review_lines(
                stamp, {key: pg_array([value]) for key, value in line.items()}
            )
        )
        Review.invalidate_model()
        review = Review.browse(review_id)
        self.assertEqual(review.cycle_id, cycle)
        self.assertEqual((review.state, review.user_id), ("draft", self.kam))
        self.assertEqual(
            (review.score, review.grade, review.alert_count), (62.5, "C", 1)
        )
        self.assertEqual(review.line_ids.kpi_id, kpi)
        self.assertEqual(review.line_ids.value, 500.0)
        self.assertEqual(review.create_uid, self.env.user)
