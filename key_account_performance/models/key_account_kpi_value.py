import contextlib
import datetime
import logging
import threading

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from ..engine import records as kpi_records
from ..tools import kpi_math
from .guard import refuse_derived
from .key_account_kpi_engine import ConcurrentComputation

_logger = logging.getLogger(__name__)

CRON_BATCH_SIZE = 1000
ADMIN_GROUP = "key_account_performance.group_key_account_admin"
MANAGER_GROUP = "key_account_performance.group_key_account_manager"
KAM_GROUP = "key_account_performance.group_key_account_user"


# worked out from the value, target and threshold: never written by hand
DERIVED_FIELDS = frozenset({"score", "status"})


class KeyAccountKpiValue(models.Model):
    """One measured KPI for one partner and one period.

    The engine (``key.account.kpi.engine``) writes the computed values in
    bulk, with no user: their ``create_uid`` / ``write_uid`` stay empty (the
    run is the engine's, whoever asked for it) and ``write_date`` tells when
    a value last changed. A value entered or corrected by hand through the
    ORM carries its user as usual.
    """

    _name = "key.account.kpi.value"
    _description = "Key Account KPI Value"
    _order = "date_from desc, partner_id, kpi_sequence, id"
    _rec_name = "kpi_id"

    # ------------------------------------------------------------------
    # Keys
    # ------------------------------------------------------------------
    # no index of its own: the unique (partner_id, kpi_id, date_from, date_to)
    # index starts with it, and one index less is one less to write per value
    partner_id = fields.Many2one(
        "res.partner", string="Account", required=True, ondelete="cascade"
    )
    kpi_id = fields.Many2one(
        "key.account.kpi", string="KPI", required=True, index=True, ondelete="cascade"
    )
    date_from = fields.Date(required=True, index=True)
    date_to = fields.Date(required=True)
    # no index: values are always looked up by account or period as well
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    template_id = fields.Many2one("key.account.kpi.template", ondelete="set null")

    # ------------------------------------------------------------------
    # Measure and score
    # ------------------------------------------------------------------
    # values of different KPIs have different units: group rows do not average them
    value = fields.Float(aggregator=False)
    target = fields.Float(aggregator=False)
    threshold = fields.Float(aggregator=False)
    weight = fields.Float(default=1.0, aggregator="avg")
    score = fields.Float(
        compute="_compute_score",
        store=True,
        aggregator="avg",
        help="0 at the threshold, 100 at the target, linear in between.",
    )
    is_manual = fields.Boolean(help="Entered by hand rather than computed.")
    comment = fields.Text()

    # ------------------------------------------------------------------
    # Display helpers
    # ------------------------------------------------------------------
    kpi_code = fields.Char(related="kpi_id.code", store=True, string="KPI Code")
    kpi_sequence = fields.Integer(related="kpi_id.sequence", store=True)
    computation_mode = fields.Selection(related="kpi_id.computation_mode")
    direction = fields.Selection(related="kpi_id.direction")
    unit = fields.Char(related="kpi_id.unit")
    display_unit = fields.Char(
        string="Unit Shown",
        compute="_compute_display_unit",
        help="The KPI's unit; amounts show the company currency.",
    )
    # the account's KAM and tier, read through the account (not stored since
    # 18.0.1.2.0: a stored copy was two more foreign keys checked per value
    # written, and rewritten on every value of an account whose KAM or tier
    # changed); Odoo 18 still filters, sorts and groups by them (one join)
    user_id = fields.Many2one(
        related="partner_id.key_account_manager_id",
        string="Key Account Manager",
    )
    tier_id = fields.Many2one(related="partner_id.key_account_tier_id", string="Tier")
    status = fields.Selection(
        list(kpi_math.SCORE_STATUSES), compute="_compute_score", store=True
    )
    is_running = fields.Boolean(
        string="Running Period",
        compute="_compute_is_running",
        search="_search_is_running",
        help="The period is not over yet: figures are period-to-date.",
    )
    # why the account score moved (res.partner.key_account_score_breakdown)
    points = fields.Float(
        compute="_compute_points",
        aggregator="sum",
        digits=(16, 1),
        help="What this KPI adds to the account score of the period (the points add up to it).",
    )
    previous_points = fields.Float(
        compute="_compute_points",
        aggregator="sum",
        digits=(16, 1),
        help="What this KPI added to the account score of the previous period.",
    )
    delta_points = fields.Float(
        string="Change (points)",
        compute="_compute_points",
        aggregator="sum",
        digits=(16, 1),
        help="Change of this KPI's points against the previous period: "
        "the changes add up to the account's trend.",
    )

    _sql_constraints = [
        (
            "partner_kpi_period_unique",
            "UNIQUE(partner_id, kpi_id, date_from, date_to, company_id)",
            "There is already a value for this account, KPI and period.",
        ),
        (
            "period_order",
            "CHECK(date_from <= date_to)",
            "The end of the period cannot be before its start.",
        ),
    ]

    @api.depends("value", "target", "threshold", "kpi_id.direction")
    def _compute_score(self):
        for record in self:
            score = kpi_math.kpi_score(
                record.value,
                record.target,
                record.threshold,
                record.kpi_id.direction or "higher",
            )
            record.score = score or 0.0
            record.status = kpi_math.score_status(score)

    @api.depends("kpi_id.unit", "company_id")
    def _compute_display_unit(self):
        for company, values in self.grouped("company_id").items():
            units = values.kpi_id._display_units(company or None)
            for value in values:
                value.display_unit = units.get(value.kpi_id.id, "")

    def _compute_points(self):
        data = self.env["res.partner"]._key_account_breakdown_data(
            {
                (v.partner_id.id, v.date_from, v.date_to)
                for v in self
                if v.partner_id and v.date_from
            }
        )
        rows = {
            row["value_id"]: row
            for period_rows in data.values()
            for row in period_rows
            if row["value_id"]
        }
        for value in self:
            row = rows.get(value.id, {})
            value.points = row.get("points", 0.0)
            value.previous_points = row.get("previous_points", 0.0)
            value.delta_points = row.get("delta_points", 0.0)

    def _compute_is_running(self):
        today = kpi_math.company_today(self.env.company)
        for record in self:
            record.is_running = bool(record.date_to and record.date_to >= today)

    def _search_is_running(self, operator, value):
        if operator not in ("=", "!="):
            raise UserError(self.env._("Unsupported search on running period."))
        running = (operator == "=") == bool(value)
        today = kpi_math.company_today(self.env.company)
        return [("date_to", ">=" if running else "<", today)]

    # ------------------------------------------------------------------
    # ORM: values are measured, not typed in
    # ------------------------------------------------------------------
    def _check_measured_write(self, vals_list):
        """KPI values are written by the engine (in SQL) and, for manual KPIs,
        by the review at submission: a KAM or manager who may read a value
        cannot type another one in (it would flow into the review and the
        score). The administrator may correct one; comments stay open."""
        refuse_derived(self, vals_list, DERIVED_FIELDS)
        if self.env.su or self.env.user.has_group(ADMIN_GROUP):
            return
        for vals in vals_list:
            protected = set(vals) - {"comment"}
            if protected:
                raise UserError(
                    self.env._(
                        "KPI values are computed by the key-account engine (Compute KPIs now, "
                        "or compute_for_period over RPC); manual KPIs are entered in the review. "
                        "They cannot be created or changed directly (%(fields)s).",
                        fields=", ".join(sorted(protected)),
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        self._check_measured_write(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        self._check_measured_write([vals])
        return super().write(vals)

    @api.constrains("value", "kpi_id")
    def _check_manual_value(self):
        """A value of a manual KPI (entered in a review, imported or corrected
        by an administrator) is a finite number on the KPI's scale."""
        for record in self.filtered(lambda v: v.kpi_id.computation_mode == "manual"):
            problem = record.kpi_id._manual_value_problem(record.value)
            if problem:
                raise ValidationError(problem)

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        for record in self:
            if record.date_to < record.date_from:
                raise ValidationError(
                    self.env._(
                        "The end of the period (%(date_to)s) cannot be before its start (%(date_from)s).",
                        date_to=record.date_to,
                        date_from=record.date_from,
                    )
                )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_open_records(self):
        """Open the source records a value was computed from."""
        self.ensure_one()
        # whoever may read the value may see where it comes from
        self.check_access("read")
        return self._open_records_action(self.env)

    def _open_records_title(self, env, Model):
        """'Revenue – Account A, 2026 Q1: sum of Untaxed Amount' in the
        reader's language: what the records measure, for which period."""
        # sudo: the KPI's configuration, for a reader checked by the caller
        kpi_sudo = self.kpi_id.sudo().with_context(lang=env.lang)
        start = kpi_sudo._scope_start(self.date_from, self.date_to)
        return env._(
            "%(kpi)s – %(partner)s, %(period)s: %(measure)s",
            kpi=kpi_sudo.name,
            partner=self.partner_id.display_name,
            period=kpi_math.period_label(None, start, self.date_to),
            measure=kpi_records.measure_label(kpi_sudo, env[Model._name]),
        )

    def _open_records_action(self, env):
        """The action listing the source records of this value for the user of
        ``env``, who was allowed to see the value (or a review line showing
        it). The KPI's source (its ir.model, closed to non-administrators) is
        read as superuser; the records themselves open with the reader's own
        rights."""
        self.ensure_one()
        # sudo: the caller checked that the reader may see this value
        Model, ids = kpi_records.record_ids(
            self.kpi_id.sudo(),
            self.partner_id.commercial_partner_id.id,
            self.date_from,
            self.date_to,
            self.company_id,
        )
        if ids:
            env[Model._name].check_access("read")
        if not ids:
            raise UserError(
                env._(
                    "KPI %(kpi)s is not computed from records (mode %(mode)s) or has none "
                    "in this period.",
                    kpi=self.kpi_id.name,
                    mode=self.computation_mode,
                )
            )
        # a column that would not add up (read through a path, or another
        # currency): the records measured as the value counts them instead
        # sudo: the KPI's configuration, for a reader checked by the caller
        kpi = self.kpi_id.sudo()
        measures = kpi_records.record_measures(
            kpi,
            self.partner_id.commercial_partner_id.id,
            self.date_from,
            self.date_to,
            self.company_id,
        )
        if kpi_records.need_measures(kpi, Model, measures):
            readable = (
                env[Model._name]
                .with_context(active_test=False)
                .browse([rid for rid in ids if rid in measures])
                ._filtered_access("read")
                .ids
            )
            lines = env["key.account.kpi.evidence"]._lines_for(
                self, Model, measures, readable
            )
            view = env.ref(
                "key_account_performance.key_account_kpi_evidence_view_list_%s"
                % ("sum" if kpi.computation_mode == "sum" else "avg")
            )
            return {
                "type": "ir.actions.act_window",
                "name": self._open_records_title(env, Model),
                "res_model": lines._name,
                "view_mode": "list",
                "views": [(view.id, "list")],
                "domain": [("id", "in", lines.ids)],
                "limit": max(80, len(lines)),
                "context": {"create": False},
            }
        return {
            "type": "ir.actions.act_window",
            # what is measured, for which account and period
            "name": self._open_records_title(env, Model),
            "res_model": Model._name,
            "view_mode": "list,form",
            # the measured column and its total: the records add up to the value
            # sudo: the KPI's configuration, for a reader checked by the caller
            "views": [
                (
                    kpi_records.records_view_id(self.kpi_id.sudo(), env[Model._name]),
                    "list",
                ),
                (False, "form"),
            ],
            # only the records the reader may read: no ids of the others
            "domain": [
                (
                    "id",
                    "in",
                    env[Model._name]
                    .with_context(active_test=False)
                    .browse(ids)
                    ._filtered_access("read")
                    .ids,
                )
            ],
            # every record on one page: the total is the total of them all
            "limit": max(80, len(ids)),
            "context": {"create": False},
        }

    # ------------------------------------------------------------------
    # Public API
    # ------------------------------------------------------------------
    @api.model
    def compute_for_period(
        self, date_from=None, date_to=None, partner_ids=None, **kwargs
    ):
        """Compute the KPI values of key accounts for an inclusive period.

        :param date_from: first day, a date or a ``YYYY-MM-DD`` string
        :param date_to: last day, a date or a ``YYYY-MM-DD`` string
        :param partner_ids: partner ids (contacts count for their company);
            all key accounts of the current company when omitted
        :return: ids of the values computed (created or updated)
        """
        # over RPC a missing or unknown argument is a clear error, not a TypeError
        if kwargs:
            raise ValidationError(
                self.env._(
                    "compute_for_period does not take %(names)s: its arguments are "
                    "date_from, date_to (YYYY-MM-DD) and partner_ids (optional).",
                    names=", ".join(sorted(map(str, kwargs))),
                )
            )
        if date_from in (None, False) or date_to in (None, False):
            raise ValidationError(
                self.env._(
                    "compute_for_period needs date_from and date_to, the first and last "
                    "day of the period (YYYY-MM-DD)."
                )
            )
        date_from, date_to = self._parse_period(date_from, date_to)
        self.check_access("create")
        company = self.env.company
        partners = self._partners_for_compute(partner_ids, company)
        if not partners:
            return []
        # one computation per company and period at a time (advisory lock,
        # released at commit). A second caller meeting a scheduled run of
        # the period is told it is in progress (since when, how far); one
        # meeting another short computation waits for it, then starts again
        # in a fresh transaction (odoo.service.model.retrying), which sees
        # what the first wrote and does not compute it again
        Engine = self.env["key.account.kpi.engine"]
        # sudo: the run log is the engine's, written whoever computes
        Run = self.env["key.account.kpi.run"].sudo()
        waiting = (
            self.env.cr.dbname,
            threading.get_ident(),
            company.id,
            date_from,
            date_to,
            tuple(partners.ids),
        )
        if not Engine._try_lock(company, date_from, date_to):
            running = Run._describe_running(company, date_from, date_to)
            if running:
                raise UserError(running)
            _logger.info(
                "KPI computation of %s for %s..%s: another one is running, waiting",
                company.name,
                date_from,
                date_to,
            )
            Run._waiting_since(waiting)
            Engine._wait_lock(company, date_from, date_to)
            _logger.info(
                "KPI computation of %s for %s..%s: the other one finished, "
                "starting again on its results",
                company.name,
                date_from,
                date_to,
            )
            raise ConcurrentComputation(
                self.env._(
                    "Another computation of the KPIs of %(company)s for %(date_from)s – "
                    "%(date_to)s has just finished: try again.",
                    company=company.name,
                    date_from=date_from,
                    date_to=date_to,
                )
            )
        reused = Run._values_computed_meanwhile(waiting)
        if reused is not None:
            return reused
        run = Run._start(
            company, date_from, date_to, "rpc", len(partners), partners.ids
        )
        outcome = {}
        ids = Engine.with_context(kap_kpi_outcome=outcome)._run(
            partners.ids, date_from, date_to, company
        )
        run._progress(len(partners), {}, partners.ids[-1])
        run._log_kpi_errors(outcome.get("failed"))
        run._finish()
        if outcome.get("now"):
            Engine._record_kpi_runs(
                sorted(outcome.get("ok", ())), outcome["failed"], outcome["now"]
            )
        return ids

    @api.model
    def _parse_date(self, value, label):
        """A date from a date, a datetime or a 'YYYY-MM-DD' string (RPC), else
        a ValidationError naming the argument ``label``."""
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        if isinstance(value, str):
            with contextlib.suppress(ValueError):  # not a date: the error below
                return datetime.date.fromisoformat(value.strip())
        raise ValidationError(
            self.env._(
                "%(label)s must be a date in the form YYYY-MM-DD, got %(value)r.",
                label=label,
                value=value,
            )
        )

    def _parse_period(self, date_from, date_to):
        date_from = self._parse_date(date_from, "date_from")
        date_to = self._parse_date(date_to, "date_to")
        if not kpi_math.period_in_range(date_from, date_to):
            raise UserError(
                self.env._(
                    "The period %(date_from)s – %(date_to)s is out of range: KPIs are computed "
                    "for dates between %(min)s and %(max)s.",
                    date_from=date_from,
                    date_to=date_to,
                    min=kpi_math.PERIOD_MIN_DATE,
                    max=kpi_math.PERIOD_MAX_DATE,
                )
            )
        if date_to < date_from:
            raise ValidationError(
                self.env._(
                    "date_to (%(date_to)s) is before date_from (%(date_from)s).",
                    date_to=date_to,
                    date_from=date_from,
                )
            )
        return date_from, date_to

    @api.model
    def _partners_for_compute(self, partner_ids, company):
        Partner = self.env["res.partner"]
        # values are written in SQL: whoever computes, computes only the
        # accounts whose values they may read (a KAM their own, a manager
        # their team's and the unassigned ones, an administrator all)
        scope = self.env["res.partner"]._key_account_managed_domain()
        if partner_ids in (None, False):
            domain = [
                ("is_key_account", "=", True),
                ("company_id", "in", [company.id, False]),
            ]
            return Partner.sudo().search(domain + scope)
        if isinstance(partner_ids, int):
            partner_ids = [partner_ids]
        if not isinstance(partner_ids, (list, tuple)) or not all(
            isinstance(pid, int) and not isinstance(pid, bool) for pid in partner_ids
        ):
            raise ValidationError(
                self.env._(
                    "partner_ids must be a list of partner ids, got %(value)r.",
                    value=partner_ids,
                )
            )
        partners = Partner.browse(partner_ids).exists()
        missing = set(partner_ids) - set(partners.ids)
        if missing:
            raise ValidationError(
                self.env._("These partners do not exist: %(ids)s.", ids=sorted(missing))
            )
        partners.check_access("read")
        # contacts count for their company: one plain query, no prefetch of
        # every partner column in chunks of 1,000
        Partner.flush_model(["commercial_partner_id", "key_account_manager_id"])
        partners = Partner.sudo().browse(
            sorted(
                {
                    row[0]
                    for row in self.env.execute_query(
                        SQL(
                            "SELECT COALESCE(commercial_partner_id, id) FROM res_partner WHERE id = ANY(%s)",
                            partners.ids,
                        )
                    )
                }
            )
        )
        if scope:
            foreign = partners - partners.search(scope + [("id", "in", partners.ids)])
            if foreign:
                names = ", ".join(foreign[:5].mapped("display_name"))
                if not self.env.user.has_group(MANAGER_GROUP):
                    raise AccessError(
                        self.env._(
                            "You can only compute the KPIs of the accounts you manage (not %(names)s).",
                            names=names,
                        )
                    )
                raise AccessError(
                    self.env._(
                        "You can only compute the KPIs of your team's accounts and of unassigned "
                        "accounts (not %(names)s).",
                        names=names,
                    )
                )
        return partners

    # ------------------------------------------------------------------
    # Demo data
    # ------------------------------------------------------------------
    @api.model
    def _load_demo_data(self):
        from ..demo import loader as demo_data

        return demo_data.load(self.env)

    # ------------------------------------------------------------------
    # Scheduled action
    # ------------------------------------------------------------------
    @api.model
    def _cron_compute_kpis(self, batch_size=CRON_BATCH_SIZE):
        """Compute the running and the just-closed period for all key accounts,
        in chunks committed one by one (resumable, see the engine). The
        score-history summary is rebuilt from the history first (it repairs
        what a change outside the addon's writes left)."""
        self.env["key.account.score.summary"]._rebuild()
        return self.env["key.account.kpi.engine"]._cron_run(batch_size=batch_size)
