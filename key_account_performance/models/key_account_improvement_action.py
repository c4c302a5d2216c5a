import logging

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..tools import kpi_math

_logger = logging.getLogger(__name__)

ACTIVITY_OVERDUE = "key_account_performance.mail_activity_type_improvement_overdue"
OPEN_STATES = ("todo", "in_progress")
# measured by the addon (``_measure_effect``, the state buttons), never typed in
EFFECT_FIELDS = frozenset(
    {
        "effect",
        "effect_value",
        "effect_delta",
        "target_reached",
        "date_done",
        "effect_date_from",
        "effect_date_to",
    }
)
# what the owner of an action on an account they do not manage may still
# change: the work itself, not what it is measured on
OWNER_FIELDS = frozenset(
    {"state", "description", "expected_result", "priority", "color", "date_deadline"}
)


class KeyAccountImprovementAction(models.Model):
    """An improvement action with owner, deadline and expected result, whose
    effect is measured in the period after the one it was decided on."""

    _name = "key.account.improvement.action"
    _description = "Key Account Improvement Action"
    _inherit = ["key.account.mail.sender", "mail.activity.mixin"]
    _order = "priority desc, date_deadline, id desc"
    _check_company_auto = True

    # ------------------------------------------------------------------
    # What, who, when
    # ------------------------------------------------------------------
    name = fields.Char(required=True, tracking=True)
    description = fields.Html(help="What will be done, and how.")
    expected_result = fields.Text(
        help="What the customer and we should see once it is done."
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Account",
        required=True,
        index=True,
        tracking=True,
        check_company=True,
        domain=[("is_key_account", "=", True)],
        compute="_compute_partner_id",
        store=True,
        readonly=False,
        precompute=True,
    )
    review_id = fields.Many2one(
        "key.account.review",
        index="btree_not_null",
        ondelete="set null",
        check_company=True,
    )
    review_line_id = fields.Many2one(
        "key.account.review.line",
        index="btree_not_null",
        ondelete="set null",
    )
    kpi_id = fields.Many2one(
        "key.account.kpi",
        string="KPI",
        index="btree_not_null",
        tracking=True,
        check_company=True,
    )
    kpi_unit = fields.Char(related="kpi_id.unit", string="Unit")
    user_id = fields.Many2one(
        "res.users",
        string="Owner",
        index=True,
        tracking=True,
        default=lambda self: self.env.user,
    )
    date_deadline = fields.Date(string="Deadline", index=True, tracking=True)
    date_done = fields.Date(readonly=True, copy=False)
    state = fields.Selection(
        [
            ("todo", "To Do"),
            ("in_progress", "In Progress"),
            ("done", "Done"),
            ("cancelled", "Cancelled"),
        ],
        default="todo",
        required=True,
        tracking=True,
        group_expand=True,
        index=True,
        copy=False,
    )
    priority = fields.Selection([("0", "Normal"), ("1", "High")], default="0")
    color = fields.Integer()
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
        compute="_compute_company_id",
        store=True,
        readonly=False,
        precompute=True,
    )
    is_overdue = fields.Boolean(
        compute="_compute_is_overdue", search="_search_is_overdue"
    )

    # ------------------------------------------------------------------
    # Baseline and measured effect
    # ------------------------------------------------------------------
    baseline_value = fields.Float(tracking=True)
    target_value = fields.Float(tracking=True)
    baseline_date_from = fields.Date(
        string="Baseline Period Start",
        compute="_compute_baseline_period",
        store=True,
        readonly=False,
        precompute=True,
    )
    baseline_date_to = fields.Date(
        string="Baseline Period End",
        compute="_compute_baseline_period",
        store=True,
        readonly=False,
        precompute=True,
    )
    effect_date_from = fields.Date(
        string="Measured Period Start", compute="_compute_effect_period", store=True
    )
    effect_date_to = fields.Date(
        string="Measured Period End", compute="_compute_effect_period", store=True
    )
    effect = fields.Selection(
        [
            ("too_early", "Too early"),
            ("improved", "Improved"),
            ("not_improved", "Not improved"),
        ],
        default="too_early",
        required=True,
        readonly=True,
        copy=False,
        tracking=True,
        help="The KPI's value in the period after the baseline, compared with the baseline.",
    )
    effect_value = fields.Float(string="Value After", readonly=True, copy=False)
    effect_delta = fields.Float(string="Change", readonly=True, copy=False)
    target_reached = fields.Boolean(readonly=True, copy=False)

    @api.depends("review_id")
    def _compute_partner_id(self):
        for action in self:
            if action.review_id:
                action.partner_id = action.review_id.partner_id

    @api.depends("review_id")
    def _compute_company_id(self):
        for action in self:
            if action.review_id:
                action.company_id = action.review_id.company_id
            elif not action.company_id:
                action.company_id = self.env.company

    @api.depends("review_id")
    def _compute_baseline_period(self):
        for action in self:
            if action.review_id:
                action.baseline_date_from = action.review_id.date_from
                action.baseline_date_to = action.review_id.date_to
            elif not action.baseline_date_from:
                company = action.company_id or self.env.company
                today = kpi_math.company_today(company)
                action.baseline_date_from, action.baseline_date_to = (
                    kpi_math.last_closed_period(
                        today, company.key_account_period_type or "quarter"
                    )
                )

    @api.depends("baseline_date_from", "baseline_date_to")
    def _compute_effect_period(self):
        for action in self:
            if (
                action.baseline_date_from
                and action.baseline_date_to
                and (action.baseline_date_from <= action.baseline_date_to)
            ):
                action.effect_date_from, action.effect_date_to = kpi_math.next_period(
                    action.baseline_date_from, action.baseline_date_to
                )
            else:
                action.effect_date_from = action.effect_date_to = False

    def _compute_is_overdue(self):
        today = kpi_math.company_today(self.env.company)
        for action in self:
            action.is_overdue = bool(
                action.state in OPEN_STATES
                and action.date_deadline
                and action.date_deadline < today
            )

    def _search_is_overdue(self, operator, value):
        if operator not in ("=", "!="):
            raise UserError(self.env._("Unsupported search on overdue actions."))
        today = kpi_math.company_today(self.env.company)
        domain = [
            "&",
            "&",
            ("state", "in", OPEN_STATES),
            ("date_deadline", "!=", False),
            ("date_deadline", "<", today),
        ]
        return domain if (operator == "=") == bool(value) else ["!"] + domain

    # ------------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------------
    def _check_effect_write(self, vals_list):
        """The measured effect is the addon's (forged evidence otherwise), for
        every user: only a value equal to the stored one (or the default, on
        creation) passes, as a form saving it unchanged sends it."""
        for vals in vals_list:
            forced = set()
            for name in EFFECT_FIELDS.intersection(vals):
                field = self._fields[name]
                value = field.convert_to_cache(vals[name], self)
                if self:
                    current = {
                        field.convert_to_cache(action[name], self) for action in self
                    }
                    if current == {value}:
                        continue
                elif value == field.convert_to_cache(
                    "too_early" if name == "effect" else False, self
                ):
                    continue
                forced.add(name)
            if forced:
                raise UserError(
                    self.env._(
                        "The effect of an improvement action is measured by the key-account "
                        "engine and cannot be written directly (%(fields)s): use Measure "
                        "Effect, or the action's buttons for its state.",
                        fields=", ".join(
                            sorted(self._fields[name].string for name in forced)
                        ),
                    )
                )

    def _check_account_scope(self, vals=None):
        """A KAM creates and edits actions on the accounts they manage, a manager
        on their team's (and unassigned ones), an administrator on all; an
        action of a review they may read counts too (its account is the
        review's). The owner of an action on another account may still carry
        it out (state, description, deadline)."""
        if self.env.su or not self:
            return
        if vals is not None and set(vals) <= OWNER_FIELDS:
            return
        allowed = (
            self.env["res.partner"]
            .sudo()
            .search(
                self.env["res.partner"]._key_account_managed_domain()
                + [("id", "in", self.sudo().partner_id.ids)]
            )
        )
        outside = self.sudo().filtered(
            lambda action: (
                action.partner_id not in allowed
                and not (
                    action.review_id
                    and action.review_id.partner_id == action.partner_id
                    and action.review_id.with_env(self.env).has_access("read")
                )
            )
        )
        if outside:
            raise AccessError(
                self.env._(
                    "You can only create or change improvement actions on the key accounts "
                    "you may see (not %(names)s).",
                    names=", ".join(outside.partner_id[:5].mapped("display_name")),
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        self._check_effect_write(vals_list)
        actions = super().create(vals_list)
        actions._check_account_scope()
        actions._measure_effect()
        return actions

    def write(self, vals):
        self._check_effect_write([vals])
        asked = dict(vals)
        self._check_account_scope(asked)
        if vals.get("state") == "done":
            vals = dict(vals, date_done=kpi_math.company_today(self.env.company))
        elif vals.get("state") in ("todo", "in_progress", "cancelled"):
            vals = dict(vals, date_done=False)
        result = super().write(vals)
        self._check_account_scope(asked)
        if vals.get("state") in ("done", "cancelled"):
            self.activity_feedback([ACTIVITY_OVERDUE])
        if {
            "kpi_id",
            "partner_id",
            "baseline_value",
            "baseline_date_from",
            "baseline_date_to",
            "target_value",
        } & set(vals):
            self._measure_effect()
        return result

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_start(self):
        self.write({"state": "in_progress"})
        return True

    def action_done(self):
        self.write({"state": "done"})
        return True

    def action_cancel(self):
        self.write({"state": "cancelled"})
        return True

    def action_reset(self):
        self.write({"state": "todo"})
        return True

    def action_measure_effect(self):
        # whoever may read the actions may have them measured (the button of
        # their form); the measurement itself runs as the addon, with the
        # owner's rights (what the owner may read)
        self.check_access("read")
        self._measure_effect()
        return True

    # ------------------------------------------------------------------
    # Effect
    # ------------------------------------------------------------------
    @api.model
    def _measure_effect_for_period(self, date_from, date_to):
        """Measure the actions whose follow-up period is (date_from, date_to)."""
        actions = self.sudo().search(
            [
                ("company_id", "=", self.env.company.id),
                ("state", "!=", "cancelled"),
                ("effect_date_from", "=", date_from),
                ("effect_date_to", "=", date_to),
            ]
        )
        actions._measure_effect()
        return actions

    def _measure_effect(self):
        """The KPI's value in the period after the baseline against the
        baseline: improved / not improved, or too early while that period
        runs or has no value yet. The values are read with the rights of the
        action's owner (what they may read), within the action's company:
        one query per owner and company, whatever the number of actions."""
        actions = self.sudo().filtered(
            lambda a: a.kpi_id and a.partner_id and a.effect_date_to
        )
        if not actions:
            return
        by_key = {}
        for (owner, company), group in actions.grouped(
            lambda a: (a.user_id, a.company_id)
        ).items():
            by_key.update(group._effect_values(owner, company))
        today = kpi_math.company_today(self.env.company)
        for action in actions:
            value = by_key.get(
                (
                    action.partner_id.id,
                    action.kpi_id.id,
                    action.effect_date_from,
                    action.effect_date_to,
                )
            )
            if value is None or action.effect_date_to >= today:
                vals = {
                    "effect": "too_early",
                    "effect_value": 0.0,
                    "effect_delta": 0.0,
                    "target_reached": False,
                }
            else:
                lower = action.kpi_id.direction == "lower"
                delta = value - action.baseline_value
                improved = delta < 0 if lower else delta > 0
                reached = (
                    value <= action.target_value
                    if lower
                    else value >= action.target_value
                )
                vals = {
                    "effect": "improved" if improved else "not_improved",
                    "effect_value": value,
                    "effect_delta": delta,
                    "target_reached": reached,
                }
            changed = {key: val for key, val in vals.items() if action[key] != val}
            if changed:
                # the engine's fields, past this model's own write guard
                super(KeyAccountImprovementAction, action).write(changed)  # pylint: disable=super-method-mismatch

    def _effect_values(self, owner, company):
        """{(partner, kpi, date_from, date_to): value} of these actions'
        follow-up periods, as ``owner`` may read them in ``company`` (no owner:
        the company's values)."""
        Value = self.env["key.account.kpi.value"].sudo()
        if owner:
            Value = Value.with_user(owner).with_context(
                allowed_company_ids=owner.sudo().company_ids.ids
            )
            if company not in owner.sudo().company_ids or not Value.has_access("read"):
                return {}
        values = Value.search_fetch(
            [
                ("company_id", "=", company.id),
                ("partner_id", "in", self.partner_id.ids),
                ("kpi_id", "in", self.kpi_id.ids),
                ("date_from", "in", list(set(self.mapped("effect_date_from")))),
            ],
            ["partner_id", "kpi_id", "date_from", "date_to", "value"],
        )
        return {
            (v.partner_id.id, v.kpi_id.id, v.date_from, v.date_to): v.value
            for v in values
        }

    # ------------------------------------------------------------------
    # Scheduled actions
    # ------------------------------------------------------------------
    @api.model
    def _cron_remind_overdue(self):
        """One activity for the owner of each overdue action, none while one is open."""
        overdue = self.sudo().search(
            [("is_overdue", "=", True), ("user_id", "!=", False)]
        )
        if not overdue:
            return True
        activity_type = self.env.ref(ACTIVITY_OVERDUE)
        open_activities = (
            self.env["mail.activity"]
            .sudo()
            .search(
                [
                    ("res_model", "=", self._name),
                    ("res_id", "in", overdue.ids),
                    ("activity_type_id", "=", activity_type.id),
                ]
            )
        )
        already = set(open_activities.mapped("res_id"))
        today = kpi_math.company_today(self.env.company)
        for action in overdue.filtered(lambda a: a.id not in already):
            try:
                with self.env.cr.savepoint():
                    action.activity_schedule(
                        ACTIVITY_OVERDUE,
                        date_deadline=today,
                        user_id=action.user_id.id,
                        summary=self.env._("Overdue: %(name)s", name=action.name),
                        note=self.env._(
                            "The improvement action %(name)s for %(partner)s was due on %(deadline)s.",
                            name=action.name,
                            partner=action.partner_id.name,
                            deadline=action.date_deadline,
                        ),
                    )
            except Exception:  # noqa: BLE001 - one action never stops the reminders
                _logger.exception(
                    "Overdue reminder failed for improvement action %s", action.id
                )
        return True

    @api.model
    def _cron_measure_effect(self):
        """Measure the effect of actions still waiting for their follow-up period."""
        actions = self.sudo().search(
            [
                ("state", "!=", "cancelled"),
                ("effect", "=", "too_early"),
                ("effect_date_to", "<", kpi_math.company_today(self.env.company)),
            ]
        )
        actions._measure_effect()
        return True
