"""The KPI templates a company's accounts can resolve to, with their active
tiers and account types, in one statement (template resolution, see
``key.account.kpi.template._resolve_for_rows``)."""

from odoo.tools import SQL


def candidates(company_id):
    """Rows (template id, shared, sequence, company default, [active tier ids],
    [active segment ids], tier default template ids as {tier id: template id})
    of the active templates of ``company_id`` and the shared ones (no
    company), own-company first, then by sequence and id; the defaults of
    every tier that has one in the first row's last column (and in a row of
    NULLs when the company has no template)."""
    return SQL(
        """
        WITH tier_default AS (
            SELECT COALESCE(jsonb_object_agg(id, template_id), '{}'::jsonb) AS defaults
              FROM key_account_tier
             WHERE template_id IS NOT NULL
        ), candidate AS (
            SELECT t.id, t.company_id IS NULL AS shared, t.sequence,
                   COALESCE(t.is_company_default, FALSE) AS is_default,
                   ARRAY(SELECT r.tier_id
                           FROM key_account_kpi_template_tier_rel r
                           JOIN key_account_tier tier ON tier.id = r.tier_id
                          WHERE r.template_id = t.id AND tier.active
                          ORDER BY r.tier_id) AS tier_ids,
                   ARRAY(SELECT r.segment_id
                           FROM key_account_kpi_template_segment_rel r
                           JOIN key_account_segment segment ON segment.id = r.segment_id
                          WHERE r.template_id = t.id AND segment.active
                          ORDER BY r.segment_id) AS segment_ids
              FROM key_account_kpi_template t
             WHERE t.active AND (t.company_id = %(company_id)s OR t.company_id IS NULL)
        )
        SELECT c.id, c.shared, c.sequence, c.is_default, c.tier_ids, c.segment_ids,
               d.defaults
          FROM tier_default d
          LEFT JOIN candidate c ON TRUE
         ORDER BY c.shared, c.sequence, c.id
        """,
        company_id=company_id,
    )
