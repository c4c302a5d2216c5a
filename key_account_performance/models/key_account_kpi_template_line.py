from odoo import api, fields, models
from odoo.exceptions import ValidationError


class KeyAccountKpiTemplateLine(models.Model):
    _name = "key.account.kpi.template.line"
    _description = "Key Account KPI Template Line"
    _order = "sequence, id"
    _check_company_auto = True

    template_id = fields.Many2one(
        "key.account.kpi.template", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="template_id.company_id", store=True)
    sequence = fields.Integer(default=10)
    kpi_id = fields.Many2one(
        "key.account.kpi",
        string="KPI",
        required=True,
        ondelete="restrict",
        check_company=True,
    )
    computation_mode = fields.Selection(related="kpi_id.computation_mode")
    direction = fields.Selection(related="kpi_id.direction")
    unit = fields.Char(related="kpi_id.unit")
    weight = fields.Float(
        compute="_compute_from_kpi", store=True, readonly=False, precompute=True
    )
    target = fields.Float(
        compute="_compute_from_kpi", store=True, readonly=False, precompute=True
    )
    threshold = fields.Float(
        compute="_compute_from_kpi", store=True, readonly=False, precompute=True
    )

    _sql_constraints = [
        (
            "kpi_unique",
            "UNIQUE(template_id, kpi_id)",
            "A KPI appears only once in a template.",
        ),
    ]

    @api.depends("kpi_id")
    def _compute_from_kpi(self):
        for line in self:
            line.weight = line.kpi_id.weight
            line.target = line.kpi_id.target
            line.threshold = line.kpi_id.threshold

    @api.constrains("weight", "target", "threshold")
    def _check_band(self):
        for line in self:
            if line.weight < 0:
                raise ValidationError(
                    self.env._(
                        "Template %(template)s, KPI %(kpi)s: the weight cannot be negative.",
                        template=line.template_id.name,
                        kpi=line.kpi_id.name,
                    )
                )
            if line.target == line.threshold:
                raise ValidationError(
                    self.env._(
                        "Template %(template)s, KPI %(kpi)s: the target (%(target)s) must differ "
                        "from the threshold.",
                        template=line.template_id.name,
                        kpi=line.kpi_id.name,
                        target=line.target,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        self.env["key.account.kpi.template"]._key_account_config_changed()
        lines.template_id._bump_version()
        return lines

    def write(self, vals):
        result = super().write(vals)
        if {"template_id", "kpi_id", "weight", "target", "threshold"} & set(vals):
            self.env["key.account.kpi.template"]._key_account_config_changed()
        if {"kpi_id", "weight", "target", "threshold"} & set(vals):
            self.template_id._bump_version()
        return result

    def unlink(self):
        templates = self.template_id
        result = super().unlink()
        self.env["key.account.kpi.template"]._key_account_config_changed()
        templates.exists()._bump_version()
        return result
