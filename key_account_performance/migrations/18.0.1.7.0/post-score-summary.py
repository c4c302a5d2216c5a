"""The score-history summary (new in 18.0.1.7.0) is filled from the score
history the database already has."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["key.account.score.summary"]._rebuild()
