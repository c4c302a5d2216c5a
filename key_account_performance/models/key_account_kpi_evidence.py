from odoo import api, fields, models
from odoo.exceptions import UserError

from .guard import internal, is_internal


class KeyAccountKpiEvidence(models.TransientModel):
    """One source record behind a KPI value, measured as the value counts it.

    When a record's own column would not add up to the value — the value is
    read through a path (``partner_id.x``), or converted to the company
    currency by the record's rate — *Open the records behind a value* lists
    these lines instead: the record, its date and its measured figure in the
    company currency, whose total (or mean) is the value. Each line opens its
    record with the reader's own rights. Written by the addon only, for the
    reader who opened them (transient: vacuumed by Odoo)."""

    _name = "key.account.kpi.evidence"
    _description = "Key Account KPI Evidence"
    _order = "date desc, id"
    _rec_name = "name"

    value_id = fields.Many2one(
        "key.account.kpi.value", string="KPI Value", readonly=True, ondelete="cascade"
    )
    res_model = fields.Char(string="Model", readonly=True)
    res_id = fields.Integer(string="Record ID", readonly=True)
    name = fields.Char(string="Record", readonly=True)
    date = fields.Date(readonly=True)
    measure = fields.Float(
        string="Measured (company currency)",
        readonly=True,
        digits=(16, 2),
        help="The record's figure as the KPI counts it: through its path, converted to the "
        "company currency by the record's rate.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        if not is_internal(self.env):
            raise UserError(
                self.env._(
                    "The records behind a KPI value are listed by Open the records, not "
                    "created by hand."
                )
            )
        return super().create(vals_list)

    def action_open_record(self):
        """The record itself, with the reader's rights."""
        self.ensure_one()
        record = self.env[self.res_model].browse(self.res_id)
        record.check_access("read")
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
            "views": [(False, "form")],
        }

    @api.model
    def _lines_for(self, value, Model, measures, ids):
        """The evidence lines of ``value`` for the readable records ``ids``
        (one INSERT through the ORM's batch create)."""
        names = dict(
            (record.id, record.display_name)
            for record in self.env[Model._name].browse(ids)
        )
        return internal(self).create(
            [
                {
                    "value_id": value.id,
                    "res_model": Model._name,
                    "res_id": rid,
                    "name": names.get(rid) or "%s,%s" % (Model._name, rid),
                    "date": measures[rid][0],
                    "measure": measures[rid][1],
                }
                for rid in ids
            ]
        )
