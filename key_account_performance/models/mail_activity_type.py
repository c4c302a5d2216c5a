from odoo import fields, models

from .key_account_contact_activity import CONTACT_KINDS


class MailActivityType(models.Model):
    _inherit = "mail.activity.type"

    key_account_contact_kind = fields.Selection(
        CONTACT_KINDS,
        string="Customer Contact",
        help="Activities of this type, once done on a customer, its contacts, or their "
        "opportunities and sale orders, count in the key-account contact KPIs as this kind "
        "of contact (calls, visits). Meetings are counted from the calendar: mark a meeting "
        "type only if its meetings are not also calendar events.",
    )
