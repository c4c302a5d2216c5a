from odoo import fields, models
from odoo.tools import SQL
from odoo.tools.mail import generate_tracking_message_id


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


def log_notes(env, model, bodies, message_type="comment"):
    """{record id: body} of ``model`` as internal notes in the records'
    chatter, what ``_message_log_batch`` writes (author, note subtype, no
    notification) in one INSERT, rather than through the ORM's create of
    mail.message (100 rows per statement, and its per-message work)."""
    if not bodies:
        return {}
    Message = env["mail.message"]
    Message.flush_model()
    author_id, email_from = env[model]._message_compute_author(
        None, None, raise_on_email=False
    )
    res_ids = list(bodies)
    now = fields.Datetime.now()
    created = env.execute_query(
        SQL(
            """
        INSERT INTO mail_message (
            model, res_id, body, message_type, subtype_id, is_internal,
            author_id, email_from, date, message_id,
            create_uid, create_date, write_uid, write_date)
        SELECT %(model)s, x.res_id, x.body, %(message_type)s, %(subtype)s, TRUE,
               %(author)s, %(email_from)s, %(now)s, x.message_id,
               %(uid)s, %(now)s, %(uid)s, %(now)s
          FROM unnest(%(res_ids)s::int[], %(bodies)s::text[], %(message_ids)s::varchar[])
               AS x(res_id, body, message_id)
        RETURNING res_id, id
    """,
            model=model,
            message_type=message_type,
            subtype=env["ir.model.data"]._xmlid_to_res_id("mail.mt_note"),
            author=author_id or None,
            email_from=email_from or None,
            now=now,
            uid=env.uid,
            res_ids=res_ids,
            bodies=[str(bodies[res_id]) for res_id in res_ids],
            message_ids=[
                generate_tracking_message_id("message-notify") for _res_id in res_ids
            ],
        )
    )
    Message.invalidate_model()
    env[model].browse(res_ids).invalidate_recordset(["message_ids"])
    return dict(created)


def log_tracking(env, model, changes):
    """{record id: [(field name, old, new)]} of float, char or selection
    fields, as the chatter's tracking of ``model``'s records ("Score: 60.0 →
    70.0"), what mail.thread's tracking logs (a note with no body, its
    tracking values) in two INSERTs whatever the number of records. A
    selection is stored as its label, as mail.thread stores it, never as its
    raw value."""
    changes = {res_id: items for res_id, items in changes.items() if items}
    if not changes:
        return
    Tracking = env["mail.tracking.value"]
    Tracking.flush_model()
    messages = log_notes(
        env, model, dict.fromkeys(changes, ""), message_type="notification"
    )
    Fields = env["ir.model.fields"]
    labels = {
        name: dict(env[model]._fields[name]._description_selection(env))
        for items in changes.values()
        for name, _old, _new in items
        if env[model]._fields[name].type == "selection"
    }
    rows = []
    for res_id, items in changes.items():
        for name, old, new in items:
            kind = env[model]._fields[name].type
            if kind == "selection":
                old = labels[name].get(old, old) if old else None
                new = labels[name].get(new, new) if new else None
                kind = "char"
            rows.append(
                (
                    messages[res_id],
                    Fields._get(model, name).id,
                    old if kind == "float" else None,
                    new if kind == "float" else None,
                    (old or None) if kind == "char" else None,
                    (new or None) if kind == "char" else None,
                )
            )
    columns = list(zip(*rows))
    now = fields.Datetime.now()
    env.execute_query(
        SQL(
            """
        INSERT INTO mail_tracking_value (
            mail_message_id, field_id, old_value_float, new_value_float,
            old_value_char, new_value_char,
            create_uid, create_date, write_uid, write_date)
        SELECT x.*, %(uid)s, %(now)s, %(uid)s, %(now)s
          FROM unnest(%(m)s::int[], %(f)s::int[], %(of)s::float8[], %(nf)s::float8[],
                      %(oc)s::varchar[], %(nc)s::varchar[]) AS x
    """,
            uid=env.uid,
            now=now,
            m=list(columns[0]),
            f=list(columns[1]),
            of=list(columns[2]),
            nf=list(columns[3]),
            oc=list(columns[4]),
            nc=list(columns[5]),
        )
    )
    Tracking.invalidate_model()


def subscribe(env, model, followers):
    """{record id: partner ids} as followers of ``model``'s records with the
    model's default subtypes (what ``mail.followers._insert_followers`` gives
    internal users), in two INSERTs whatever the number of records; existing
    followers are left as they are."""
    pairs = sorted(
        {(res_id, pid) for res_id, pids in followers.items() for pid in pids if pid}
    )
    env["mail.followers"].flush_model()
    subtype_ids = env["mail.message.subtype"].sudo()._default_subtypes(model)[0]
    res_ids = [res_id for res_id, _pid in pairs]
    partner_ids = [pid for _res_id, pid in pairs]
    env.execute_query(
        SQL(
            """
        WITH new AS (
            INSERT INTO mail_followers (res_model, res_id, partner_id)
            SELECT %(model)s, x.res_id, x.partner_id
              FROM unnest(%(res_ids)s::int[], %(partner_ids)s::int[]) AS x(res_id, partner_id)
            ON CONFLICT DO NOTHING
            RETURNING id
        )
        INSERT INTO mail_followers_mail_message_subtype_rel (mail_followers_id, mail_message_subtype_id)
        SELECT new.id, s.id FROM new CROSS JOIN unnest(%(subtype_ids)s::int[]) AS s(id)
    """,
            model=model,
            res_ids=res_ids,
            partner_ids=partner_ids,
            subtype_ids=subtype_ids,
        )
    )
    env["mail.followers"].invalidate_model()
    env[model].browse(list(followers)).invalidate_recordset(
        ["message_follower_ids", "message_partner_ids"]
    )
