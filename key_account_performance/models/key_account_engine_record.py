from odoo import api, models

from .guard import refuse_derived, stored_fields


class KeyAccountEngineRecord(models.AbstractModel):
    """Records the engine writes whole (in SQL): score history rows, early
    warnings. Every stored field is the engine's; a create or write through
    the ORM is refused for every user."""

    _name = "key.account.engine.record"
    _description = "Key Account Engine Record"

    @api.model_create_multi
    def create(self, vals_list):
        refuse_derived(self, vals_list, stored_fields(self))
        return super().create(vals_list)

    def write(self, vals):
        refuse_derived(self, [vals], stored_fields(self))
        return super().write(vals)
