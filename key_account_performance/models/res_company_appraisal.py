from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools import payout_curve

DEFAULT = payout_curve.DEFAULT_CURVE


class ResCompany(models.Model):
    """The company's appraisal settings beyond the score: the payout curve
    (tools/payout_curve.py) and the ranking."""

    _inherit = "res.company"  # pylint: disable=consider-merging-classes-inherited

    # payout curve: score -> payout in % of the person's variable-pay target
    key_account_payout_threshold = fields.Float(
        string="Payout Threshold",
        default=DEFAULT.threshold,
        help="Appraisal score below which no variable pay is paid.",
    )
    key_account_payout_threshold_rate = fields.Float(
        string="Payout at Threshold (%)",
        default=DEFAULT.threshold_payout,
        help="Payout, in percent of the variable-pay target, at the threshold score; it ramps "
        "up linearly to 100 % at the target score.",
    )
    key_account_payout_target = fields.Float(
        string="Payout Target Score",
        default=DEFAULT.target,
        help="Appraisal score that pays 100 % of the variable-pay target.",
    )
    key_account_payout_accelerator = fields.Float(
        string="Payout Accelerator",
        default=DEFAULT.accelerator,
        help="Above the target score the ramp's rate is multiplied by this factor "
        "(marginal mode: for the points above the target; tiered mode: for the whole "
        "payout).",
    )
    key_account_payout_cap = fields.Float(
        string="Payout Cap (%)",
        default=DEFAULT.cap,
        help="The highest payout, in percent of the variable-pay target.",
    )
    key_account_payout_mode = fields.Selection(
        [("marginal", "Marginal"), ("tiered", "Tiered")],
        string="Payout Mode",
        default=DEFAULT.mode,
        required=True,
        help="Marginal: above the target only the points above it earn the accelerated "
        "rate. Tiered: once above the target, the accelerator multiplies the whole payout.",
    )

    # fair ranking
    key_account_appraisal_rank_by_team = fields.Boolean(
        string="Rank Appraisals Within Teams",
        help="Rank each appraisal among the same role in the same sales team, not among the "
        "same role in the whole company. Applies from the next Compute Appraisals.",
    )
    key_account_appraisal_top_count = fields.Integer(
        string="Top Performers Shown",
        default=3,
        help="How many of the best of each role the team's appraisals mark as top performers.",
    )

    # external factors
    key_account_external_factor_materiality = fields.Float(
        string="External Factor Materiality",
        default=0.0,
        help="An accepted external factor that changes an account's score for the appraisal "
        "by more than this many points counts only after a key-account administrator's "
        "second approval. 0: no second approval.",
    )

    # acknowledge or dispute
    key_account_appraisal_dispute_days = fields.Integer(
        string="Days to Dispute an Appraisal",
        default=10,
        help="After approval, the appraised person can dispute the appraisal for this many "
        "days; then it can only be acknowledged.",
    )

    def _key_account_payout_curve(self):
        """The company's payout curve (a payout_curve.Curve)."""
        self.ensure_one()
        return payout_curve.Curve(
            self.key_account_payout_threshold,
            self.key_account_payout_threshold_rate,
            self.key_account_payout_target,
            self.key_account_payout_accelerator,
            self.key_account_payout_cap,
            self.key_account_payout_mode or DEFAULT.mode,
        )

    @api.constrains(
        "key_account_payout_threshold",
        "key_account_payout_threshold_rate",
        "key_account_payout_target",
        "key_account_payout_accelerator",
        "key_account_payout_cap",
    )
    def _check_key_account_payout_curve(self):
        messages = {
            "threshold_target": self.env._(
                "The payout threshold must be below the payout target score, both "
                "between 0 and 100."
            ),
            "threshold_payout": self.env._(
                "The payout at the threshold is between 0 and 100 %."
            ),
            "accelerator": self.env._("The payout accelerator cannot be negative."),
            "cap": self.env._("The payout cap cannot be negative."),
            "mode": self.env._("Unknown payout mode."),
        }
        for company in self:
            errors = payout_curve.curve_errors(company._key_account_payout_curve())
            if errors:
                raise ValidationError("\n".join(messages[error] for error in errors))
