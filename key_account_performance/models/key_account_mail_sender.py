from odoo import models


class KeyAccountMailSender(models.AbstractModel):
    """Chatter for users without an e-mail address.

    Integrators often create users without one; Odoo then refuses every
    message they cause ("Unable to send message, please configure the
    sender's email address"). On the addon's documents (review cycles,
    reviews, improvement actions) such a user still drives the work: the
    messages keep them as author, and the e-mails they cause (to-dos,
    followers' notifications) go out from the company's address (or
    OdooBot's) instead of failing for want of a sender."""

    _name = "key.account.mail.sender"
    _inherit = ["mail.thread"]
    _description = "Key Account Chatter Sender"

    def _message_compute_author(
        self, author_id=None, email_from=None, raise_on_email=True
    ):
        author_id, email_from = super()._message_compute_author(
            author_id, email_from, raise_on_email=False
        )
        if not email_from:
            email_from = (
                self.env.company.email_formatted
                or self.env.ref("base.partner_root").sudo().email_formatted
            )
        return author_id, email_from
