"""Calls count as customer contacts on upgrade as on a new install
(data/mail_activity_type_data.xml is noupdate, and mail's Call activity type
already exists: an upgrade does not write its contact kind)."""

from odoo.tools import SQL


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        SQL(
            """
        UPDATE mail_activity_type t
           SET key_account_contact_kind = 'call'
          FROM ir_model_data d
         WHERE d.module = 'mail' AND d.name = 'mail_activity_data_call'
           AND d.model = 'mail.activity.type' AND d.res_id = t.id
           AND t.key_account_contact_kind IS NULL
        """
        )
    )
