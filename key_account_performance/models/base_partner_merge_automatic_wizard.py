from odoo import models
from odoo.tools import SQL

from ..sql import summary as sql_summary
from .res_partner import _ENGINE_WRITE


class BasePartnerMergeAutomaticWizard(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _update_values(self, src_partners, dst_partner):
        """Merging contacts copies every stored field onto the kept partner,
        the engine's scores and customer value among them: let that copy
        through the engine-only guard (the next computation refreshes them).
        Who may reclassify an account is still checked."""
        return super()._update_values(
            src_partners,
            dst_partner.with_context(key_account_merge_write=_ENGINE_WRITE),
        )

    def _update_foreign_keys(self, src_partners, dst_partner):
        """The reviews moved onto the kept partner (in SQL, by Merge Contacts)
        take its name, by which the review lists are sorted. The score
        history moved (or dropped, when the kept partner has its own row for
        the period) follows in the score-history summary."""
        with self.env["key.account.score.summary"]._changing(
            sql_summary.rows_of_partners((src_partners | dst_partner).ids), dst_partner
        ):
            result = super()._update_foreign_keys(src_partners, dst_partner)
        self.env["res.partner"].flush_model(["complete_name"])
        self.env.execute_query(
            SQL(
                "UPDATE key_account_review r SET partner_name = p.complete_name "
                "FROM res_partner p WHERE p.id = r.partner_id AND r.partner_id = %s "
                "AND r.partner_name IS DISTINCT FROM p.complete_name",
                dst_partner.id,
            )
        )
        self.env["key.account.review"].invalidate_model(["partner_name"])
        return result
