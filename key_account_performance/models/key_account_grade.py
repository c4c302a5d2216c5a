from odoo import api, fields, models, tools
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

    @api.model_create_multi
    def create(self, vals_list):
        grades = super().create(vals_list)
        self.env.registry.clear_cache()
        return grades

    def write(self, vals):
        result = super().write(vals)
        self.env.registry.clear_cache()
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result

    def _update_field_translations(
        self, field_name, translations, digest=None, source_lang=None
    ):
        # a band renamed in another language (the translation dialog writes
        # the names without write())
        result = super()._update_field_translations(
            field_name, translations, digest=digest, source_lang=source_lang
        )
        self.env.registry.clear_cache()
        return result

    @api.model
    @tools.ormcache("company_id", "self.env.lang")
    def _grade_rows(self, company_id):
        """The active bands of a company and the shared ones, in their order:
        a tuple of (name, min_score, color, incentive_rate, own) in the
        language of the environment. Cached: the screens that show an
        account's grade read the bands (its colour, whether it is the lowest)
        on every read; a change of any band clears the cache. Active bands
        only, whatever the caller's active_test (the cache serves everyone)."""
        return tuple(
            (
                grade.name,
                grade.min_score,
                grade.color,
                grade.incentive_rate,
                bool(grade.company_id),
            )
            for grade in self.sudo()
            .with_context(active_test=True)
            .search_fetch(
                [("company_id", "in", [company_id, False])],
                ["name", "min_score", "color", "incentive_rate", "company_id"],
            )
        )

    @api.model
    def _company_grade_rows(self, company=None):
        """The rows of ``_grade_rows`` that count for the company: its own
        bands, else the shared ones."""
        rows = self._grade_rows((company or self.env.company).id)
        return [row for row in rows if row[4]] or list(rows)

    @api.model
    def _get_bands(self, company=None):
        """Bands [(name, min_score)] of the company (its own, else shared, else defaults)."""
        rows = self._company_grade_rows(company)
        if not rows:
            return list(kpi_math.DEFAULT_GRADE_BANDS)
        return [(row[0], row[1]) for row in rows]

    @api.model
    def _get_incentive_rates(self, company=None):
        """{grade name: incentive rate (%)} of the bands ``_get_bands`` uses."""
        return {row[0]: row[3] for row in self._company_grade_rows(company)}

    @api.model
    def _get_colors(self, company=None):
        """{grade name: colour}: the company's own band wins over a shared
        one of the same name."""
        colors = {}
        for name, _min, color, _rate, own in self._grade_rows(
            (company or self.env.company).id
        ):
            if own or name not in colors:
                colors[name] = color
        return colors

    @api.model
    def _grade_for(self, score, company=None, bands=None):
        return kpi_math.grade_for(score, bands or self._get_bands(company))
