from odoo import api, fields, models
from odoo.tools import SQL

from .key_account_member import MEMBER_ROLES

RANKING_FIELDS = frozenset({"role", "rank", "rank_size", "percentile"})


class KeyAccountAppraisal(models.Model):
    """Fair ranking: an appraisal is ranked among the appraisals of the same
    period, company and role (and sales team, when the company ranks within
    teams), by score; the portfolio note says how hard the person's accounts
    are (their tier and segment mix)."""

    _inherit = "key.account.appraisal"  # pylint: disable=consider-merging-classes-inherited

    role = fields.Selection(
        MEMBER_ROLES,
        readonly=True,
        index="btree_not_null",
        help="The role in which the person holds the largest share of their accounts "
        "(account team); a key account manager of accounts without a team is in sales.",
    )
    rank = fields.Integer(
        readonly=True,
        aggregator=False,
        help="Rank by score among the appraisals of the same period and role (and sales "
        "team, when the company ranks within teams); 1 is the best.",
    )
    rank_size = fields.Integer(
        string="Ranked Among",
        readonly=True,
        aggregator=False,
        help="How many appraisals the rank compares (the person included).",
    )
    percentile = fields.Float(
        readonly=True,
        digits=(16, 1),
        aggregator="avg",
        help="Share of the compared appraisals that score at most as well: 100 for the best, "
        "0 for the last (100 × (1 − (rank − 1) / (compared − 1))).",
    )
    is_top = fields.Boolean(
        string="Top Performer",
        compute="_compute_is_top",
        search="_search_is_top",
        help="Among the first of their role (Settings: number of top performers shown).",
    )
    portfolio_note = fields.Char(
        string="Portfolio",
        compute="_compute_portfolio_note",
        help="The tier and account-type mix of the person's accounts: how hard the "
        "portfolio is.",
    )

    def _derived_fields(self):
        return super()._derived_fields() | RANKING_FIELDS

    @api.depends("rank", "company_id.key_account_appraisal_top_count")
    def _compute_is_top(self):
        for appraisal in self:
            appraisal.is_top = bool(
                appraisal.rank
                and appraisal.rank
                <= appraisal.company_id.key_account_appraisal_top_count
            )

    def _search_is_top(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise NotImplementedError(operator)
        top = self.env.company.key_account_appraisal_top_count
        domain = [("rank", ">", 0), ("rank", "<=", top)]
        positive = (operator == "=") == value
        return domain if positive else ["!", "&", *domain]

    @api.depends("line_ids.partner_id")
    def _compute_portfolio_note(self):
        """ "Strategic ×1, Key ×2 · Multinational ×1, Domestic ×2": the
        accounts per tier and per segment, tiers from the highest."""
        # sudo: tier and segment names of the appraisal's own accounts, which
        # a team member credited on an account may not read otherwise
        lines = self.sudo().line_ids
        # prefetch the accounts' tiers and segments in one read each
        lines.partner_id.key_account_tier_id.mapped("sequence")
        lines.partner_id.key_account_segment_id.mapped("sequence")
        for appraisal in self:
            partners = appraisal.sudo().line_ids.partner_id
            tiers = partners.key_account_tier_id.sorted()
            segments = partners.key_account_segment_id.sorted()
            parts = [
                ", ".join(
                    "%s ×%d"
                    % (
                        tier.name,
                        len(
                            partners.filtered(
                                lambda p, t=tier: p.key_account_tier_id == t
                            )
                        ),
                    )
                    for tier in tiers
                ),
                ", ".join(
                    "%s ×%d"
                    % (
                        segment.name,
                        len(
                            partners.filtered(
                                lambda p, s=segment: p.key_account_segment_id == s
                            )
                        ),
                    )
                    for segment in segments
                ),
            ]
            appraisal.portfolio_note = " · ".join(part for part in parts if part)

    @api.model
    def _rank_period(self, company, date_from, date_to):
        """Rank every scored appraisal of the period and company within its
        role (and sales team, when the company ranks within teams), in one
        statement; appraisals without a grade are not ranked."""
        self.flush_model(
            ["company_id", "date_from", "date_to", "role", "team_id", "score", "grade"]
        )
        team = (
            SQL("a.team_id")
            if company.key_account_appraisal_rank_by_team
            else SQL("NULL::int")
        )
        self.env.execute_query(
            SQL(
                """
            WITH ranked AS (
                SELECT a.id,
                       RANK() OVER w AS rank,
                       COUNT(*) OVER (PARTITION BY a.role, %(team)s) AS size,
                       PERCENT_RANK() OVER w AS pct
                  FROM key_account_appraisal a
                 WHERE a.company_id = %(company)s
                   AND a.date_from = %(date_from)s AND a.date_to = %(date_to)s
                   AND a.grade IS NOT NULL AND a.grade != ''
                WINDOW w AS (PARTITION BY a.role, %(team)s ORDER BY a.score DESC)
            )
            UPDATE key_account_appraisal a
               SET rank = r.rank, rank_size = r.size,
                   percentile = 100.0 * (1 - r.pct)
              FROM ranked r
             WHERE a.id = r.id
            """,
                team=team,
                company=company.id,
                date_from=date_from,
                date_to=date_to,
            )
        )
        self.env.execute_query(
            SQL(
                """
            UPDATE key_account_appraisal
               SET rank = NULL, rank_size = NULL, percentile = NULL
             WHERE company_id = %(company)s
               AND date_from = %(date_from)s AND date_to = %(date_to)s
               AND (grade IS NULL OR grade = '')
            """,
                company=company.id,
                date_from=date_from,
                date_to=date_to,
            )
        )
        self.invalidate_model(["rank", "rank_size", "percentile"])
