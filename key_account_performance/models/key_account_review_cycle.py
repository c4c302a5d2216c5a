import logging

from odoo import api, fields, models, modules
from odoo.exceptions import UserError, ValidationError

from ..tools import kpi_math

_logger = logging.getLogger(__name__)


class KeyAccountReviewCycle(models.Model):
    """A review period: one review per key account of the company."""

    _name = "key.account.review.cycle"
    _description = "Key Account Review Cycle"
    _inherit = ["key.account.mail.sender"]
    _order = "date_from desc, id desc"
    _check_company_auto = True

    # ------------------------------------------------------------------
    # Period
    # ------------------------------------------------------------------
    name = fields.Char(
        compute="_compute_name",
        store=True,
        readonly=False,
        required=True,
        precompute=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    period_type = fields.Selection(
        [
            ("month", "Monthly"),
            ("quarter", "Quarterly"),
            ("year", "Yearly"),
        ],
        required=True,
        tracking=True,
        default=lambda self: self.env.company.key_account_period_type or "quarter",
    )
    date_from = fields.Date(
        string="Start",
        required=True,
        tracking=True,
        default=lambda self: self._default_period()[0],
    )
    date_to = fields.Date(
        string="End",
        required=True,
        tracking=True,
        compute="_compute_date_to",
        store=True,
        readonly=False,
        precompute=True,
    )
    state = fields.Selection(
        [
            ("draft", "New"),
            ("in_progress", "In Progress"),
            ("done", "Closed"),
        ],
        default="draft",
        required=True,
        tracking=True,
        copy=False,
    )

    # ------------------------------------------------------------------
    # Reviews
    # ------------------------------------------------------------------
    review_ids = fields.One2many("key.account.review", "cycle_id", string="Reviews")
    review_count = fields.Integer(compute="_compute_review_stats")
    review_approved_count = fields.Integer(
        string="Approved", compute="_compute_review_stats"
    )
    review_progress = fields.Float(
        string="Approved (%)",
        compute="_compute_review_stats",
        help="Share of the cycle's reviews already approved.",
    )

    _sql_constraints = [
        (
            "company_period_unique",
            "UNIQUE(company_id, date_from, date_to)",
            "There is already a review cycle for this period.",
        ),
    ]

    @api.model
    def _default_period(self):
        company = self.env.company
        today = kpi_math.company_today(company)
        return kpi_math.last_closed_period(
            today, company.key_account_period_type or "quarter"
        )

    @api.depends("period_type", "date_from")
    def _compute_date_to(self):
        for cycle in self:
            if cycle.date_from and cycle.period_type:
                cycle.date_to = kpi_math.period_bounds(
                    cycle.date_from, cycle.period_type
                )[1]

    @api.depends("period_type", "date_from", "date_to")
    def _compute_name(self):
        for cycle in self:
            if cycle.date_from and cycle.date_to:
                cycle.name = kpi_math.period_label(
                    cycle.period_type, cycle.date_from, cycle.date_to
                )
            else:
                cycle.name = cycle.name or False

    def _compute_review_stats(self):
        groups = self.env["key.account.review"]._read_group(
            [("cycle_id", "in", self.ids)], ["cycle_id", "state"], ["__count"]
        )
        counts = {}
        for cycle, state, count in groups:
            counts.setdefault(cycle.id, {})[state] = count
        for cycle in self:
            by_state = counts.get(cycle.id, {})
            cycle.review_count = sum(by_state.values())
            cycle.review_approved_count = by_state.get("approved", 0)
            cycle.review_progress = (
                100.0 * cycle.review_approved_count / cycle.review_count
                if cycle.review_count
                else 0.0
            )

    @api.constrains("date_from", "date_to", "period_type", "company_id")
    def _check_dates(self):
        for cycle in self:
            if cycle.date_to < cycle.date_from:
                raise ValidationError(
                    self.env._(
                        "Review cycle %(name)s: the end (%(date_to)s) is before the start (%(date_from)s).",
                        name=cycle.name,
                        date_to=cycle.date_to,
                        date_from=cycle.date_from,
                    )
                )
            overlap = self.sudo().search(
                [
                    ("id", "!=", cycle.id),
                    ("company_id", "=", cycle.company_id.id),
                    ("period_type", "=", cycle.period_type),
                    ("date_from", "<=", cycle.date_to),
                    ("date_to", ">=", cycle.date_from),
                ],
                limit=1,
            )
            if overlap:
                raise ValidationError(
                    self.env._(
                        "Review cycle %(name)s overlaps %(other)s (%(date_from)s – %(date_to)s): "
                        "cycles of the same type cannot overlap.",
                        name=cycle.name,
                        other=overlap.name,
                        date_from=overlap.date_from,
                        date_to=overlap.date_to,
                    )
                )

    # ------------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------------
    @api.ondelete(at_uninstall=False)
    def _unlink_except_approved_reviews(self):
        # sudo: counts approved reviews, whoever may read them
        if (
            self.env["key.account.review"]
            .sudo()
            .search_count(
                [("cycle_id", "in", self.ids), ("state", "=", "approved")], limit=1
            )
        ):
            raise UserError(
                self.env._("A review cycle holding approved reviews cannot be deleted.")
            )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_generate_reviews(self):
        """Create one review per key account of the cycle's company.

        The KPI values of the period are computed first. Accounts that
        already have a review in the cycle get no second one; their draft or
        rejected reviews are refreshed, submitted and approved ones stay
        frozen. Improvement actions whose follow-up period is this cycle get
        their effect measured. Returns the ids of the reviews created.
        """
        self.check_access("write")
        Review = self.env["key.account.review"]
        created = Review
        for cycle in self:
            if cycle.state == "done":
                raise UserError(
                    self.env._(
                        "Review cycle %(name)s is closed: reopen it to generate reviews.",
                        name=cycle.name,
                    )
                )
            created |= cycle.with_company(cycle.company_id)._generate_reviews()
            if cycle.state == "draft":
                cycle.state = "in_progress"
            self.env["key.account.improvement.action"].with_company(
                cycle.company_id
            )._measure_effect_for_period(cycle.date_from, cycle.date_to)
        return created.ids

    def action_compute_appraisals(self):
        """Create or refresh the draft appraisals of the cycle's period."""
        self.ensure_one()
        self.check_access("write")
        Appraisal = self.env["key.account.appraisal"].with_company(self.company_id)
        ids = Appraisal.compute_appraisals(self.date_from, self.date_to)
        return Appraisal._action_for_period(self.date_from, self.date_to, ids)

    def action_refresh_reviews(self):
        """The Refresh Reviews button: generate again, then say what it did."""
        self.ensure_one()
        created = self.action_generate_reviews()
        # counts of the cycle just refreshed by whoever may write it (checked
        # by action_generate_reviews), not one review's content
        # sudo: counting the cycle's reviews, no content read
        Review = self.env["key.account.review"].sudo()
        refreshed = Review.search_count(
            [("cycle_id", "=", self.id), ("state", "in", ("draft", "rejected"))]
        ) - len(created)
        frozen = Review.search_count(
            [("cycle_id", "=", self.id), ("state", "in", ("submitted", "approved"))]
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Reviews refreshed"),
                "message": self.env._(
                    "%(created)s reviews added for new key accounts, %(refreshed)s draft "
                    "or rejected reviews refreshed; %(frozen)s submitted or approved "
                    "reviews stay as they are.",
                    created=len(created),
                    refreshed=refreshed,
                    frozen=frozen,
                ),
                "type": "success",
                "sticky": False,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _generate_reviews(self):
        self.ensure_one()
        company = self.company_id
        partners = (
            self.env["res.partner"]
            .sudo()
            .search(
                [
                    ("is_key_account", "=", True),
                    ("company_id", "in", [company.id, False]),
                ]
            )
        )
        if not partners:
            return self.env["key.account.review"]
        # a cycle covers every key account of the company, including those the
        # manager who runs it does not see: whoever may write the cycle may
        # generate its reviews (the reviews then follow the visibility rules)
        self.check_access("write")
        # sudo: the cycle's period for every key account of the company, by
        # whoever may write the cycle (checked just above)
        Value = self.env["key.account.kpi.value"].sudo().with_company(company)
        Value.compute_for_period(self.date_from, self.date_to, partners.ids)
        Review = self.env["key.account.review"].sudo().with_company(company)
        # the accounts read with the search (one query, not the prefetch's
        # one per 1,000 reviews), before the refresh drops the cache
        existing = Review.search_fetch([("cycle_id", "=", self.id)], ["partner_id"])
        new_partners = partners - existing.partner_id
        existing._refresh_lines()
        if not new_partners:
            return Review
        return Review._create_for_partners(self, new_partners)

    def action_close(self):
        self.check_access("write")
        self.write({"state": "done"})
        return True

    def action_reopen(self):
        self.check_access("write")
        self.write({"state": "in_progress"})
        return True

    def action_view_reviews(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "key_account_performance.action_key_account_review"
        )
        action["domain"] = [("cycle_id", "=", self.id)]
        action["context"] = {
            "default_cycle_id": self.id,
            "search_default_group_state": 1,
        }
        return action

    # ------------------------------------------------------------------
    # Scheduled action
    # ------------------------------------------------------------------
    @api.model
    def _cron_create_cycles(self):
        """Create (and fill) the cycle of the period that has just closed.

        Follows each company's review periodicity; a cycle that already
        exists for the period is left alone, so the action can run daily.
        """
        testing = modules.module.current_test
        # every company (a handful of rows)
        for company in self.env["res.company"].sudo().search([]):  # pylint: disable=no-search-all
            Cycle = self.sudo().with_company(company)
            today = kpi_math.company_today(company)
            period_type = company.key_account_period_type or "quarter"
            date_from, date_to = kpi_math.last_closed_period(today, period_type)
            if Cycle.search_count(
                [
                    ("company_id", "=", company.id),
                    ("date_from", "=", date_from),
                    ("date_to", "=", date_to),
                ],
                limit=1,
            ):
                continue
            try:
                with self.env.cr.savepoint():
                    cycle = Cycle.create(
                        {
                            "company_id": company.id,
                            "period_type": period_type,
                            "date_from": date_from,
                            "date_to": date_to,
                        }
                    )
                    cycle.action_generate_reviews()
            except Exception:  # noqa: BLE001 - one company never stops the others
                _logger.exception(
                    "Key account review cycle creation failed for %s", company.name
                )
                continue
            if not testing:
                self.env.cr.commit()  # pylint: disable=invalid-commit
        return True
