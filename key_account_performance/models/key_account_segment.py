from odoo import fields, models


class KeyAccountSegment(models.Model):
    _name = "key.account.segment"
    _description = "Key Account Segment (account type)"
    _order = "sequence, name"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    description = fields.Text(translate=True)
    company_id = fields.Many2one("res.company", index="btree_not_null")

    # the account types' active flag is part of the cached template
    # resolution (key.account.kpi.template)
    def write(self, vals):
        result = super().write(vals)
        if "active" in vals:
            self.env["key.account.kpi.template"]._key_account_config_changed()
        return result

    def unlink(self):
        result = super().unlink()
        self.env["key.account.kpi.template"]._key_account_config_changed()
        return result
