"""The key-account KPIs of Odoo's periodic digest are offered in the default
digest on upgrade as on a new install (data/digest_data.xml is noupdate: an
upgrade does not apply it to the digest record that already exists)."""

from odoo import SUPERUSER_ID, api

KPIS = (
    "kpi_key_account_score",
    "kpi_key_account_at_risk",
    "kpi_key_account_review_to_approve",
    "kpi_key_account_action_overdue",
)


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    digest = env.ref("digest.digest_digest_default", raise_if_not_found=False)
    if digest:
        digest.write(dict.fromkeys(KPIS, True))
