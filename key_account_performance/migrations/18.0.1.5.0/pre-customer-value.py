"""18.0.1.4.0 -> 18.0.1.5.0: a partner's customer value is per company.

A partner shared between companies had one CLV, RFM, churn risk, prediction
and "why at risk" for all of them, written by whichever company computed
last. These fields are company-dependent from this version on (a jsonb column
{company id: value}, as Odoo stores its own company-dependent fields). This
script converts the columns before Odoo would otherwise move them aside: each
value is kept under the partner's own company, else the company whose
customer-value run wrote it (the latest run of the partner's "value as of"
day), else the first company.

The reason a customer is at risk was a translated text; it is now stored as
figures (``key_account_churn_reason_data``) and written in the reader's
language. The stored texts are kept as they are, in every language they
had, until the next computation replaces them with figures.
"""

import logging

_logger = logging.getLogger(__name__)

COLUMNS = {
    "key_account_clv": "float8",
    "key_account_clv_predictive": "float8",
    "key_account_revenue_12m": "float8",
    "key_account_last_order_date": "date",
    "key_account_rfm_score": "varchar",
    "key_account_rfm_segment": "varchar",
    "key_account_churn_risk": "bool",
    "key_account_buy_probability": "float8",
    "key_account_expected_orders": "float8",
    "key_account_value_date": "date",
    "key_account_value_horizon": "int4",
}
REASON = "key_account_churn_reason"
REASON_DATA = "key_account_churn_reason_data"


def _columns(cr):
    cr.execute(
        """
        SELECT column_name, data_type FROM information_schema.columns
         WHERE table_name = 'res_partner' AND column_name = ANY(%s)
        """,
        [[*COLUMNS, REASON, REASON_DATA]],
    )
    return dict(cr.fetchall())


def migrate(cr, version):
    if not version:
        return
    existing = _columns(cr)
    todo = [name for name in COLUMNS if name in existing and existing[name] != "jsonb"]
    reason = REASON in existing and REASON_DATA not in existing
    if not todo and not reason:
        return
    # the retention cohorts (an SQL view) read two of these columns: init()
    # recreates the view once the columns are converted
    cr.execute("DROP VIEW IF EXISTS key_account_retention_cohort")
    # which company each partner's figures belong to
    run_company = ""
    if "key_account_value_date" in existing:
        cr.execute(
            """
            SELECT COUNT(*) = 2 FROM information_schema.columns
             WHERE table_name = 'key_account_value_model'
               AND column_name IN ('as_of', 'company_id')
            """
        )
        if cr.fetchone()[0]:
            run_company = """(SELECT m.company_id FROM key_account_value_model m
                               WHERE m.as_of = p.key_account_value_date
                               ORDER BY m.id DESC LIMIT 1),"""
    cr.execute(
        f"""
        CREATE TEMPORARY TABLE kap_value_company ON COMMIT DROP AS
        SELECT p.id AS partner_id,
               COALESCE(
                   p.company_id,
                   {run_company}
                   (SELECT MIN(id) FROM res_company)
               )::text AS company
          FROM res_partner p
        """
    )
    cr.execute("CREATE INDEX ON kap_value_company (partner_id)")
    for name in todo:
        cr.execute(
            f"""
            ALTER TABLE res_partner ADD COLUMN {name}_kap_new jsonb;
            UPDATE res_partner p
               SET {name}_kap_new = jsonb_build_object(
                       c.company, to_jsonb(p.{name}::{COLUMNS[name]}))
              FROM kap_value_company c
             WHERE c.partner_id = p.id AND p.{name} IS NOT NULL;
            ALTER TABLE res_partner DROP COLUMN {name};
            ALTER TABLE res_partner RENAME COLUMN {name}_kap_new TO {name};
            """
        )
    if reason:
        # the texts as they were, each language kept: {"code": "text",
        # "text": {lang: text}} under the partner's company
        texts = (
            f"p.{REASON}"
            if existing[REASON] == "jsonb"
            else f"jsonb_build_object('en_US', p.{REASON})"
        )
        cr.execute(
            f"""
            ALTER TABLE res_partner ADD COLUMN {REASON_DATA} jsonb;
            UPDATE res_partner p
               SET {REASON_DATA} = jsonb_build_object(
                       c.company,
                       jsonb_build_object('code', 'text', 'text', {texts})::text)
              FROM kap_value_company c
             WHERE c.partner_id = p.id AND p.{REASON} IS NOT NULL;
            ALTER TABLE res_partner DROP COLUMN {REASON};
            """
        )
    _logger.info(
        "key_account_performance: %s converted to company-dependent values",
        ", ".join(todo + ([REASON] if reason else [])),
    )
