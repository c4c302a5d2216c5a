from odoo import models

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
