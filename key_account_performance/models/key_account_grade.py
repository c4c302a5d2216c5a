from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools import kpi_math


class KeyAccountGrade(models.Model):
    """A grade band: an account whose score reaches ``min_score`` gets this grade."""

    _name = "key.account.grade"
    _description = "Key Account Grade Band"
    _order = "min_score desc, id"

    name = fields.Char(required=True, translate=True)
    min_score = fields.Float(string="Minimum Score", required=True)
    color = fields.Integer()
    incentive_rate = fields.Float(
        string="Incentive Rate (%)",
        digits=(16, 2),
        help="Incentive of a person whose appraisal reaches this grade, as a percentage "
        "(of the target bonus, or as the company's incentive plan defines it).",
    )
    company_id = fields.Many2one("res.company", index="btree_not_null")
    active = fields.Boolean(default=True)

    @api.constrains("min_score")
    def _check_min_score(self):
        for grade in self:
            if not 0 <= grade.min_score <= 100:
                raise ValidationError(
                    self.env._(
                        "Grade %(grade)s: the minimum score must be between 0 and 100.",
                        grade=grade.name,
                    )
                )

    @api.model
    def _get_bands(self, company=None):
        """Bands [(name, min_score)] of the company (its own, else shared, else defaults)."""
        company = company or self.env.company
        # one query: the screens that show an account's grade read the bands
        grades = self.sudo().search_fetch(
            [("company_id", "in", [company.id, False])],
            ["name", "min_score", "company_id"],
        )
        own = grades.filtered(lambda g: g.company_id == company)
        grades = own or grades
        if not grades:
            return list(kpi_math.DEFAULT_GRADE_BANDS)
        return [(g.name, g.min_score) for g in grades]

    @api.model
    def _get_incentive_rates(self, company=None):
        """{grade name: incentive rate (%)} of the bands ``_get_bands`` uses."""
        company = company or self.env.company
        grades = self.sudo().search([("company_id", "in", [company.id, False])])
        own = grades.filtered(lambda g: g.company_id == company)
        return {g.name: g.incentive_rate for g in (own or grades)}

    @api.model
    def _grade_for(self, score, company=None, bands=None):
        return kpi_math.grade_for(score, bands or self._get_bands(company))
