"""18.0.1.3.0 -> 18.0.1.4.0: a key account's score is per company.

A partner shared between companies (no company of its own) is scored by each
company that computes it; the score, grade, trend and score date on the
partner were one column each, and the last company to compute overwrote the
others'. They are company-dependent from this version on (a jsonb column
{company id: value}, as Odoo stores its own company-dependent fields). This
script converts the four columns before Odoo would otherwise move them aside:
each stored score is kept under the company whose score history row it came
from (the row of the score's period), else the partner's own company, else
the first company.

KPI values and score history rows were unique per partner and period; they
are unique per partner, period and company now (Odoo replaces the unique
constraints itself when the module is updated).
"""

import logging

_logger = logging.getLogger(__name__)

COLUMNS = {
    "key_account_score": "float8",
    "key_account_grade": "varchar",
    "key_account_trend": "float8",
    "key_account_score_date": "date",
}


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """
        SELECT column_name, data_type FROM information_schema.columns
         WHERE table_name = 'res_partner' AND column_name = ANY(%s)
        """,
        [list(COLUMNS)],
    )
    todo = [name for name, data_type in cr.fetchall() if data_type != "jsonb"]
    if not todo:
        return
    # the score history came with 18.0.1.1.0: older databases have none
    cr.execute("SELECT to_regclass('key_account_score_history') IS NOT NULL")
    has_history = cr.fetchone()[0]
    history_company = (
        """(SELECT h.company_id FROM key_account_score_history h
             WHERE h.partner_id = p.id AND h.date_to = p.key_account_score_date
             ORDER BY h.write_date DESC NULLS LAST, h.id DESC LIMIT 1),"""
        if has_history
        else ""
    )
    cr.execute(
        f"""
        CREATE TEMPORARY TABLE kap_score_company ON COMMIT DROP AS
        SELECT p.id AS partner_id,
               COALESCE(
                   {history_company}
                   p.company_id,
                   (SELECT MIN(id) FROM res_company)
               )::text AS company
          FROM res_partner p
         WHERE p.key_account_score_date IS NOT NULL
            OR p.key_account_grade IS NOT NULL
        """
    )
    for name in todo:
        cr.execute(
            f"""
            ALTER TABLE res_partner ADD COLUMN {name}_kap_new jsonb;
            UPDATE res_partner p
               SET {name}_kap_new = jsonb_build_object(c.company, p.{name})
              FROM kap_score_company c
             WHERE c.partner_id = p.id AND p.{name} IS NOT NULL;
            ALTER TABLE res_partner DROP COLUMN {name};
            ALTER TABLE res_partner RENAME COLUMN {name}_kap_new TO {name};
            """
        )
    _logger.info(
        "key_account_performance: %s converted to company-dependent values",
        ", ".join(todo),
    )
