"""18.0.1.4.0 -> 18.0.1.5.0: *Why at Risk* is no longer a translated field.

It is computed in the reader's language from the figures stored per company
(``key_account_churn_reason_data``). Odoo reads which fields are translated
in the database before the update, and keeps such a field translated for the
whole update run, so the field's own record says it is translated still.
Corrected here, once the update has loaded the module, so that the next
update treats it as the plain computed text it is.
"""


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """
        UPDATE ir_model_fields SET translate = FALSE
         WHERE model = 'res.partner' AND name = 'key_account_churn_reason'
           AND translate AND NOT store
        """
    )
