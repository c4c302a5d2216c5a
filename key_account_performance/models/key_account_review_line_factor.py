from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..tools import kpi_math
from .guard import internal, refuse_derived

ADMIN_GROUP = "key_account_performance.group_key_account_admin"
# the second approval is written on a frozen line, by the addon only
SECOND_APPROVAL_CONTEXT = "key_account_factor_second_approval"


class KeyAccountReviewLine(models.Model):
    """External factors both ways, with evidence and a second approval.

    A factor is unfavourable (bad luck: a competitor's price war) or
    favourable (a windfall the person did not win: a parent company's
    mandate, a competitor's exit); either way the KPI is left out of the
    appraisal of the account's people once accepted. Its ``impact`` is what
    leaving the KPI out changes in the account's score for the appraisal, in
    points (adjusted − raw: positive when bad luck is neutralised, negative
    for a windfall). Above the company's materiality threshold (appraisal
    points; 0: none) an accepted factor counts only after a key-account
    administrator's second approval.
    """

    _inherit = "key.account.review.line"  # pylint: disable=consider-merging-classes-inherited

    external_factor_direction = fields.Selection(
        [
            ("unfavourable", "Bad Luck (Unfavourable)"),
            ("favourable", "Windfall (Favourable)"),
        ],
        string="Factor Effect",
        default="unfavourable",
        help="Bad luck lowered the KPI; a windfall (an order the person did not win) raised "
        "it. Either way the KPI is left out of the appraisal of the account's people.",
    )
    external_factor_attachment_ids = fields.Many2many(
        "ir.attachment",
        "key_account_review_line_factor_attachment_rel",
        "line_id",
        "attachment_id",
        string="Evidence",
        help="Documents showing the external factor (a competitor's offer, the parent "
        "company's mandate, a regulation).",
    )
    external_factor_impact = fields.Float(
        string="Factor Impact",
        compute="_compute_external_factor_impact",
        help="Points the account's score for the appraisal changes when this KPI is left "
        "out: adjusted − raw.",
    )
    external_factor_material = fields.Boolean(
        string="Needs Second Approval",
        compute="_compute_external_factor_impact",
        help="The impact is above the company's materiality threshold: an administrator "
        "approves the factor a second time before it counts.",
    )
    external_factor_second_approver_id = fields.Many2one(
        "res.users", string="Second Approval By", readonly=True, copy=False
    )
    external_factor_second_approval_date = fields.Datetime(
        string="Second Approval On", readonly=True, copy=False
    )
    external_factor_effective = fields.Boolean(
        string="Factor Neutralised",
        compute="_compute_external_factor_impact",
        help="Accepted with the review, and approved a second time when material: the KPI "
        "is left out of the appraisal.",
    )

    @api.depends(
        "external_factor",
        "external_factor_accepted",
        "external_factor_second_approver_id",
        "score",
        "weight",
        "has_value",
        "review_id.line_ids.score",
        "review_id.company_id.key_account_external_factor_materiality",
    )
    def _compute_external_factor_impact(self):
        for review, lines in self.grouped("review_id").items():
            kept = [
                (line.score, line.weight) for line in review.line_ids if line.has_value
            ]
            raw = kpi_math.weighted_score(kept)
            threshold = review.company_id.key_account_external_factor_materiality
            for line in lines:
                impact = 0.0
                if line.external_factor and line.has_value and raw is not None:
                    without = kpi_math.weighted_score(
                        [
                            (other.score, other.weight)
                            for other in review.line_ids
                            if other.has_value and other != line
                        ]
                    )
                    impact = (without if without is not None else raw) - raw
                material = bool(
                    line.external_factor and threshold > 0 and abs(impact) > threshold
                )
                line.external_factor_impact = impact
                line.external_factor_material = material
                line.external_factor_effective = bool(
                    line.external_factor_accepted
                    and (not material or line.external_factor_second_approver_id)
                )

    def write(self, vals):
        refuse_derived(
            self,
            [vals],
            frozenset(
                {
                    "external_factor_second_approver_id",
                    "external_factor_second_approval_date",
                }
            ),
        )
        return super().write(vals)

    def _check_editable(self):
        if self.env.context.get(SECOND_APPROVAL_CONTEXT):
            return None
        return super()._check_editable()

    def action_open_external_factor(self):
        """The line's external factor in a dialog: effect, note, evidence."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("External Factor"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [
                (
                    self.env.ref(
                        "key_account_performance.key_account_review_line_factor_view_form"
                    ).id,
                    "form",
                )
            ],
            "target": "new",
        }

    def action_second_approve_external_factor(self):
        """A key-account administrator approves a material external factor a
        second time (after the review's approval, with its evidence): the KPI
        is then left out of the appraisal."""
        if not self.env.user.has_group(ADMIN_GROUP):
            raise AccessError(
                self.env._(
                    "Only a key-account administrator approves a material external factor "
                    "a second time."
                )
            )
        self.check_access("read")
        for line in self:
            if not line.external_factor_accepted:
                raise UserError(
                    self.env._(
                        "%(kpi)s: the external factor is approved a second time after the "
                        "review's approval.",
                        kpi=line.kpi_id.name,
                    )
                )
            if not line.external_factor_attachment_ids:
                raise UserError(
                    self.env._(
                        "%(kpi)s: attach the evidence of the external factor before its second "
                        "approval.",
                        kpi=line.kpi_id.name,
                    )
                )
            if line.review_id.approved_by_id == self.env.user:
                raise UserError(
                    self.env._(
                        "%(kpi)s: the second approval comes from another person than the "
                        "review's approver.",
                        kpi=line.kpi_id.name,
                    )
                )
        # sudo: the administrator was checked above; two derived fields only
        internal(self.sudo()).with_context(**{SECOND_APPROVAL_CONTEXT: True}).write(
            {
                "external_factor_second_approver_id": self.env.uid,
                "external_factor_second_approval_date": fields.Datetime.now(),
            }
        )
        return True
