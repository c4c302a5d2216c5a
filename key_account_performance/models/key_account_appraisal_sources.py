from odoo import api, models
from odoo.tools import SQL

from ..tools import kpi_math
from .key_account_appraisal import (
    LONG_TERM_PERIODS,
)


class KeyAccountAppraisal(models.Model):
    """Where the appraisal's account scores come from, each gathered in one
    or two queries for all the accounts: the approved reviews of the period,
    the KPI values, the score history."""

    _inherit = "key.account.appraisal"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _review_scores(self, company, date_from, date_to, partner_ids, kpis=None):
        """{partner id: (review id, score, review's own score, lines left out)}
        of the approved reviews of the period: the weighted mean of the frozen
        lines that have a value, without those whose external factor was
        accepted (None when none is left). Two queries. ``kpis`` (a dict)
        receives {partner id: [(kpi id, score, weight)]} of the kept lines."""
        reviews = self.env["key.account.review"].search_read(
            [
                ("company_id", "=", company.id),
                ("date_from", "=", date_from),
                ("date_to", "=", date_to),
                ("state", "=", "approved"),
                ("partner_id", "in", partner_ids),
            ],
            ["partner_id", "score"],
        )
        if not reviews:
            return {}
        lines = self.env["key.account.review.line"].search_read(
            [("review_id", "in", [r["id"] for r in reviews])],
            [
                "review_id",
                "kpi_id",
                "score",
                "weight",
                "has_value",
                "external_factor_effective",
            ],
            load=None,
        )
        partner_of = {review["id"]: review["partner_id"][0] for review in reviews}
        if kpis is not None:
            # an approved review answers for its account, even with no line kept
            for partner_id in partner_of.values():
                kpis.setdefault(partner_id, [])
        pairs, left_out = {}, {}
        for line in lines:
            review_id = line["review_id"]
            if line["external_factor_effective"]:
                left_out[review_id] = left_out.get(review_id, 0) + 1
                continue
            if line["has_value"]:
                pairs.setdefault(review_id, []).append((line["score"], line["weight"]))
                if kpis is not None:
                    kpis.setdefault(partner_of[review_id], []).append(
                        (line["kpi_id"], line["score"], line["weight"])
                    )
        return {
            review["partner_id"][0]: (
                review["id"],
                kpi_math.weighted_score(pairs.get(review["id"], [])),
                review["score"],
                left_out.get(review["id"], 0),
            )
            for review in reviews
        }

    @api.model
    def _value_scores(self, company, date_from, date_to, partner_ids, kpis=None):
        """{partner id: Σ weight·score / Σ weight} of the account's KPI values
        of the period and company (one query). ``kpis`` (a dict) receives
        {partner id: [(kpi id, score, weight)]} of the accounts it does not
        hold yet (those without an approved review)."""
        self.env["key.account.kpi.value"].flush_model(
            ["partner_id", "company_id", "date_from", "date_to", "score", "weight"]
        )
        rows = self.env.execute_query(
            SQL(
                """
            SELECT partner_id, kpi_id, SUM(score * weight), SUM(weight)
              FROM key_account_kpi_value
             WHERE company_id = %(company)s
               AND date_from = %(date_from)s AND date_to = %(date_to)s
               AND partner_id = ANY(%(partners)s)
               AND weight > 0 AND score IS NOT NULL
          GROUP BY partner_id, kpi_id
          ORDER BY partner_id, kpi_id
            """,
                company=company.id,
                date_from=date_from,
                date_to=date_to,
                partners=list(partner_ids),
            )
        )
        totals, per_kpi = {}, {}
        for pid, kpi_id, total, weights in rows:
            if not weights:
                continue
            num, den = totals.get(pid, (0.0, 0.0))
            totals[pid] = (num + total, den + weights)
            per_kpi.setdefault(pid, []).append((kpi_id, total / weights, weights))
        if kpis is not None:
            for pid, rows_of in per_kpi.items():
                kpis.setdefault(pid, rows_of)
        return {
            pid: max(0.0, min(100.0, num / den))
            for pid, (num, den) in totals.items()
            if den
        }

    @api.model
    def _history_scores(self, company, date_from, date_to, partner_ids):
        """{partner id: mean score over the previous three periods of the same
        length} from the score history (closed periods; one query)."""
        periods = []
        bounds = (date_from, date_to)
        for _i in range(LONG_TERM_PERIODS):
            bounds = kpi_math.previous_period(*bounds)
            periods.append(bounds)
        self.env["key.account.score.history"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
            SELECT h.partner_id, AVG(h.score)
              FROM key_account_score_history h
              JOIN unnest(%(starts)s::date[], %(ends)s::date[]) AS p(date_from, date_to)
                ON p.date_from = h.date_from AND p.date_to = h.date_to
             WHERE h.company_id = %(company)s
               AND h.partner_id = ANY(%(partners)s)
               AND h.is_running IS NOT TRUE
               AND h.grade IS NOT NULL
          GROUP BY h.partner_id
            """,
                starts=[p[0] for p in periods],
                ends=[p[1] for p in periods],
                company=company.id,
                partners=list(partner_ids),
            )
        )
        return dict(rows)
