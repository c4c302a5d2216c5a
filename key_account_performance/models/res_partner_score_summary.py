from odoo import models

from ..sql import summary as sql_summary


class ResPartner(models.Model):
    """The score-history summary follows each account's current key account
    manager (the history's record rules do): a change of manager moves the
    account's rows to the new manager's, a deleted account takes its rows
    with it (``key.account.score.summary``). Both in a savepoint: a write or
    a deletion refused leaves the summary as it was."""

    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    def write(self, vals):
        if "key_account_manager_id" not in vals or not self:
            return super().write(vals)
        with self.env["key.account.score.summary"]._changing(
            sql_summary.rows_of_partners(self.ids), self
        ):
            return super().write(vals)

    def unlink(self):
        if not self:
            return super().unlink()
        with self.env["key.account.score.summary"]._changing(
            sql_summary.rows_of_partners(self.ids), self, moved=False
        ):
            return super().unlink()
