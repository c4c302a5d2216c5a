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
