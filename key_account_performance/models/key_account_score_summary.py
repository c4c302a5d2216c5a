"""The score history, summed in advance for its reports.

The score-history pivot and graph group every closed period's rows of every
account (160,000 rows at 20,000 accounts and eight quarters): four such
``read_group`` took ten times as long as Odoo's Contacts list. This model
keeps the same rows summed by every column the history can be grouped or
filtered by, and by the account's current key account manager, so that
``key.account.score.history._read_group`` answers from a few thousand rows
when it can (``_answer``), with exactly the history's figures and record
rules, and from the history itself otherwise (grouped by account, filtered
on a score, custom record rules, ...).

Kept up to date by deltas (``sql/summary.py``) wherever history rows or
their account's manager change: the engine's writes, a change of key
account manager, Merge Contacts, the deletion of an account or of history
rows; rebuilt from the history by the daily computation and on upgrade.
"""

import logging
from contextlib import contextmanager, suppress

import psycopg2

from odoo import api, fields, models
from odoo.models import parse_read_group_spec
from odoo.osv import expression
from odoo.tools import SQL, mute_logger

from ..sql import locks as sql_locks
from ..sql import summary as sql_summary
from ..sql.summary import COARSE, DIMENSIONS, MEASURES

_logger = logging.getLogger(__name__)

# the path of the account's manager in the history's record rules
_MANAGER_PATH = "partner_id.key_account_manager_id"
# the many2one dimensions: compared by id only in a domain the summary answers
_RELATIONAL = ("company_id", "tier_id", "segment_id", "user_id", "team_id")
_ID_OPERATORS = ("=", "!=", "in", "not in")
# aggregates of a dimension whose value over the summary's rows is the one
# over the history's rows (each history row is in a summary row with the
# same value); a count of rows or an array of values is not
_DIMENSION_AGGREGATES = ("min", "max", "count_distinct", "bool_and", "bool_or")
_MEASURE_AGGREGATES = ("avg", "sum", "count")
# the one compaction or rebuild at a time (others skip or wait)
_LOCK = "key_account_score_summary"


def _is_constant(term):
    return term in (expression.TRUE_LEAF, expression.FALSE_LEAF)


def _leaves(domain):
    for term in domain:
        if isinstance(term, str):
            continue
        yield tuple(term)


class KeyAccountScoreSummary(models.Model):
    _name = "key.account.score.summary"
    _description = "Key Account Score Summary"
    _log_access = False
    _order = "date_from desc, id"

    company_id = fields.Many2one(
        "res.company", required=True, index=True, ondelete="cascade", readonly=True
    )
    date_from = fields.Date(required=True, readonly=True)
    date_to = fields.Date(required=True, readonly=True)
    period_label = fields.Char(string="Period", readonly=True)
    is_running = fields.Boolean(string="Running Period", readonly=True)
    tier_id = fields.Many2one("key.account.tier", readonly=True)
    segment_id = fields.Many2one(
        "key.account.segment", string="Account Type", readonly=True
    )
    user_id = fields.Many2one("res.users", string="Key Account Manager", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    grade = fields.Char(readonly=True)
    has_previous = fields.Boolean(string="Has Previous Period", readonly=True)
    account_manager_id = fields.Many2one(
        "res.users",
        string="Current Key Account Manager",
        readonly=True,
        help="The accounts' key account manager now, whom the record rules follow "
        "(the history keeps the manager of the period).",
    )
    detailed = fields.Boolean(
        readonly=True,
        help="Summed by every column of the history; else only by period, tier, "
        "manager and team (the other columns empty).",
    )
    row_count = fields.Integer(string="Rows", readonly=True)
    score_count = fields.Integer(readonly=True)
    score_sum = fields.Float(readonly=True)
    previous_score_count = fields.Integer(readonly=True)
    previous_score_sum = fields.Float(readonly=True)
    trend_count = fields.Integer(readonly=True)
    trend_sum = fields.Float(readonly=True)
    # the history's measures, as averages of the row (read_group computes
    # them over the group: _read_group_select)
    score = fields.Float(compute="_compute_averages", aggregator="avg")
    previous_score = fields.Float(compute="_compute_averages", aggregator="avg")
    trend = fields.Float(compute="_compute_averages", aggregator="avg")

    def init(self):
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS key_account_score_summary_period_index "
            "ON key_account_score_summary (company_id, date_from, date_to)"
        )

    @api.depends(*(f"{name}_{kind}" for name in MEASURES for kind in ("count", "sum")))
    def _compute_averages(self):
        for row in self:
            for name in MEASURES:
                count = row[f"{name}_count"]
                row[name] = row[f"{name}_sum"] / count if count else 0.0

    # ------------------------------------------------------------------
    # Reading: the history's read_group, answered from the summary
    # ------------------------------------------------------------------
    def _read_group_select(self, aggregate_spec, query):
        """A count of rows is the sum of the rows' counts; a measure's
        average, sum and count come from its sum and count of values."""

        def column(name):
            return self._field_to_sql(self._table, name, query)

        if aggregate_spec == "__count":
            return SQL("COALESCE(SUM(%s), 0)", column("row_count"))
        fname, property_name, func = parse_read_group_spec(aggregate_spec)
        if fname in MEASURES and not property_name:
            total, count = column(f"{fname}_sum"), column(f"{fname}_count")
            if func == "avg":
                return SQL("SUM(%s) / NULLIF(SUM(%s), 0)", total, count)
            if func == "sum":
                return SQL("CASE WHEN SUM(%s) > 0 THEN SUM(%s) END", count, total)
            if func == "count":
                return SQL("COALESCE(SUM(%s), 0)", count)
        return super()._read_group_select(aggregate_spec, query)

    @api.model
    def _rule_domain(self, history):
        """The history's record rules for ``history``'s user, as a domain on
        the summary (None when a rule reads more of the account than its
        manager: the summary cannot answer)."""
        if history.env.su:
            return []
        rules = self.env["ir.rule"].with_env(history.env)
        domain = rules._compute_domain(history._name, "read")
        translated = []
        for term in domain or []:
            if isinstance(term, str):
                translated.append(term)
                continue
            left, operator, right = term
            if _is_constant(tuple(term)):
                translated.append(tuple(term))
            elif left == _MANAGER_PATH or left.startswith(_MANAGER_PATH + "."):
                path = "account_manager_id" + left[len(_MANAGER_PATH) :]
                translated.append((path, operator, right))
            elif left in DIMENSIONS:
                translated.append((left, operator, right))
            else:
                return None
        return translated

    @staticmethod
    def _answers_domain(domain):
        """Whether ``domain`` reads only the summary's dimensions (a
        many2one by id: the summary evaluates it without the user's rules
        on the related model, which an id does not need)."""
        for left, operator, right in _leaves(domain):
            if _is_constant((left, operator, right)):
                continue
            if not isinstance(left, str) or left not in DIMENSIONS:
                return False
            if left in _RELATIONAL:
                values = right if isinstance(right, (list, tuple)) else [right]
                if operator not in _ID_OPERATORS or not all(
                    value is False or value is None or isinstance(value, int)
                    for value in values
                ):
                    return False
        return True

    @staticmethod
    def _answers_aggregate(spec):
        if spec == "__count":
            return True
        fname, property_name, func = parse_read_group_spec(spec)
        if property_name:
            return False
        if fname in MEASURES:
            return func in _MEASURE_AGGREGATES
        return fname in DIMENSIONS and func in _DIMENSION_AGGREGATES

    @staticmethod
    def _answers_groupby(spec):
        fname, property_name, _granularity = parse_read_group_spec(spec)
        return fname in DIMENSIONS and not property_name

    @api.model
    def _answerable(self, history, domain, groupby, aggregates, having, order):
        """The domain on the summary that answers this ``_read_group`` of
        ``history`` (the user's domain and the history's record rules, on
        the coarse rows when they have every column it reads), or None when
        the summary cannot answer it exactly."""
        if not self._answers_domain(domain or []):
            return None
        if not all(map(self._answers_groupby, groupby)):
            return None
        if not all(map(self._answers_aggregate, aggregates)):
            return None
        specs = list(groupby) + list(aggregates)
        for left, _operator, _right in _leaves(having or []):
            if not self._answers_aggregate(left):
                return None
            specs.append(left)
        for part in (order or "").split(","):
            term = part.strip().split(" ")[0]
            if term and term not in groupby and not self._answers_aggregate(term):
                return None
            specs.append(term)
        rules = self._rule_domain(history)
        if rules is None:
            return None
        read = {
            parse_read_group_spec(spec)[0]
            for spec in specs
            if spec and spec != "__count"
        }.difference(MEASURES)
        read.update(
            left.split(".")[0]
            for left, _operator, _right in _leaves([*(domain or []), *rules])
            if isinstance(left, str)
        )
        coarse = read <= {*COARSE, "account_manager_id"}
        return expression.AND(
            [list(domain or []), rules, [("detailed", "=", not coarse)]]
        )

    @api.model
    def _answer(
        self, history, domain, groupby, aggregates, having, offset, limit, order
    ):
        """``history._read_group(...)`` from the summary, or None when the
        summary cannot answer it exactly (the caller reads the history)."""
        summary_domain = self._answerable(
            history, domain, groupby, aggregates, having, order
        )
        if summary_domain is None:
            return None
        history.browse().check_access("read")
        # a group whose deltas cancel out (not compacted yet) has no rows
        having = [*(having or []), ("__count", "!=", 0)] if groupby else having
        # sudo: the history's record rules are in summary_domain (translated)
        rows = self.sudo()._read_group(
            summary_domain, groupby, aggregates, having, offset, limit, order
        )
        return [
            tuple(
                value.with_env(history.env)
                if isinstance(value, models.BaseModel)
                else value
                for value in row
            )
            for row in rows
        ]

    # ------------------------------------------------------------------
    # Keeping it up to date
    # ------------------------------------------------------------------
    @api.model
    def _add(self, sign, where):
        """Record the contribution of the history rows ``where`` (an SQL
        condition on alias h): sign -1 before they change, +1 after."""
        self.env.execute_query(sql_summary.add_delta(sign, where))

    @contextmanager
    def _changing(self, where, records, moved=True):
        """Around a change of the history rows ``where`` (an SQL condition on
        alias h) by the ORM or Merge Contacts: their contribution out before
        the block and, when ``moved``, back in after it (``records`` flushed
        first). In a savepoint: a change refused leaves the summary as it
        was, even for a caller that catches the error without one."""
        with self.env.cr.savepoint():
            self._add(-1, where)
            yield
            if moved:
                records.flush_recordset()
                self._add(1, where)

    @api.model
    def _compact(self, periods=(None,)):
        """Fold the deltas of these (company, from, to) periods (of every
        period: None) into one row per group. Skipped while another
        transaction compacts or rebuilds (the deltas are right as they are);
        undone, not raised, when a concurrent compaction got there first."""
        if not self.env.execute_query(sql_locks.try_xact_lock(_LOCK))[0][0]:
            return False
        with (
            suppress(psycopg2.errors.SerializationFailure),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            for period in dict.fromkeys(periods):
                self.env.execute_query(sql_summary.compact(period))
            return True
        _logger.info("Score summary: compaction left to a concurrent transaction")
        return False

    @api.model
    def _rebuild(self):
        """Recompute every summary row from the score history (daily, on
        upgrade): repairs whatever a change outside the addon's writes left.
        Skipped (False) while another transaction compacts, or when one did
        since this transaction began (its deltas are right as they are)."""
        self.env["key.account.score.history"].flush_model()
        self.env["res.partner"].flush_model(["key_account_manager_id"])
        if not self.env.execute_query(sql_locks.try_xact_lock(_LOCK))[0][0]:
            _logger.info("Score summary: rebuild skipped, a compaction is running")
            return False
        with (
            suppress(psycopg2.errors.SerializationFailure),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.env.execute_query(sql_summary.clear())
            self.env.execute_query(sql_summary.fill())
            self.invalidate_model()
            return True
        _logger.info(
            "Score summary: rebuild left to the next day (concurrent compaction)"
        )
        return False
