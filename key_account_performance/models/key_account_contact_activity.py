"""Contact activity: what the account team did with a customer, as rows the
KPI engine counts like any other source (``data/key_account_kpi_data.xml``:
meetings, calls, visits, all contacts).

A read-only SQL view with one row per document and account:

* a **done activity** of a type marked as a customer contact
  (``mail.activity.type.key_account_contact_kind``): the message Odoo leaves
  when an activity is marked done (``mail_activity_type_id`` set, whether the
  type keeps done activities or not), on the account, one of its contacts, or
  an opportunity or sale order of theirs. Its person is the message's author
  (the user who marked it done);
* a **calendar event** already started, not archived, attended by contacts
  of the account who did not decline: one row per event and account (two
  contacts of one account at one meeting make one meeting). Its people are
  the team members who attend (not declined) and the organiser.

Rows carry the account (commercial partner), the date, the company (the
document's, else the account's, else for an account shared between
companies the main company of the person who did it) and the people (``user_ids``, a relation
view): the engine reads them through the KPI's ``partner_field`` and
``date_field``, and the appraisal splits a KPI per person through its
``person_field`` (``user_ids``). Meetings come from the calendar: mail's own
"Meeting" activity type schedules a calendar event, so it is not marked as a
contact kind by default (it would count a meeting twice).
"""

from odoo import api, fields, models
from odoo.tools import SQL, drop_view_if_exists
from odoo.tools.sql import column_exists, create_column

CONTACT_KINDS = [
    ("meeting", "Meeting"),
    ("call", "Call"),
    ("visit", "Visit"),
]

# documents whose done activities count for the customer they belong to:
# (model, table, column of the customer); res.partner is the customer itself
CONTACT_DOCUMENTS = [
    ("crm.lead", "crm_lead", "partner_id"),
    ("sale.order", "sale_order", "partner_id"),
]

USER_RELATION = "key_account_contact_activity_user_rel"
KIND_COLUMN = "key_account_contact_kind"


class KeyAccountContactActivity(models.Model):
    _name = "key.account.contact.activity"
    _description = "Key Account Contact Activity"
    _auto = False
    _order = "date desc, id desc"
    _rec_name = "name"
    # the drill-down of a KPI on these rows lists them with this view
    _key_account_records_view = (
        "key_account_performance.key_account_contact_activity_view_list"
    )

    kind = fields.Selection(CONTACT_KINDS, readonly=True)
    origin = fields.Selection(
        [("activity", "Done Activity"), ("event", "Calendar Event")], readonly=True
    )
    date = fields.Datetime(readonly=True)
    partner_id = fields.Many2one("res.partner", string="Account", readonly=True)
    contact_id = fields.Many2one(
        "res.partner",
        readonly=True,
        help="The customer contact (or document partner) the activity was with.",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Done By",
        readonly=True,
        help="Who marked the activity done, or the event's organiser.",
    )
    user_ids = fields.Many2many(
        "res.users",
        USER_RELATION,
        "activity_id",
        "user_id",
        string="Team Members",
        readonly=True,
        help="The people credited with it: who marked the activity done; the event's "
        "organiser and the team members attending it.",
    )
    company_id = fields.Many2one("res.company", readonly=True)
    message_id = fields.Many2one("mail.message", readonly=True)
    event_id = fields.Many2one("calendar.event", readonly=True)
    activity_type_id = fields.Many2one("mail.activity.type", readonly=True)
    res_model = fields.Char(string="Document Model", readonly=True)
    res_id = fields.Many2oneReference(
        string="Document ID", model_field="res_model", readonly=True
    )
    name = fields.Char(string="Subject", readonly=True)

    @api.depends("kind", "name")
    def _compute_display_name(self):
        kinds = dict(self._fields["kind"]._description_selection(self.env))
        for row in self:
            row.display_name = "%s · %s" % (kinds.get(row.kind, ""), row.name or "")

    # ------------------------------------------------------------------
    # The views
    # ------------------------------------------------------------------
    def init(self):
        # the kind of an activity type: this addon's column, which Odoo may
        # add after this view (it sets up the inherited model later)
        if not column_exists(self.env.cr, "mail_activity_type", KIND_COLUMN):
            create_column(self.env.cr, "mail_activity_type", KIND_COLUMN, "varchar")
        drop_view_if_exists(self.env.cr, USER_RELATION)
        drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(self._view_sql())
        self.env.cr.execute(self._user_relation_sql())

    def _documents_sql(self):
        """(model, res_id, customer, company) of the documents a done
        activity may sit on."""
        parts = [
            SQL(
                "SELECT 'res.partner'::varchar AS model, p.id AS res_id, "
                "p.id AS contact_id, p.company_id FROM res_partner p"
            )
        ]
        for model, table, column in CONTACT_DOCUMENTS:
            parts.append(
                SQL(
                    "SELECT %s::varchar, d.id, d.%s, d.company_id FROM %s d "
                    "WHERE d.%s IS NOT NULL",
                    model,
                    SQL.identifier(column),
                    SQL.identifier(table),
                    SQL.identifier(column),
                )
            )
        return SQL(" UNION ALL ").join(parts)

    def _event_accounts_sql(self):
        """(event, account, first attendee, first contact) of the customers
        attending an event: attendees who are not team members and did not
        decline, grouped by their commercial partner."""
        return SQL(
            """
            SELECT att.event_id, p.commercial_partner_id AS partner_id,
                   MIN(att.id) AS attendee_id, MIN(att.partner_id) AS contact_id
              FROM calendar_attendee att
              JOIN res_partner p ON p.id = att.partner_id
             WHERE att.state IS DISTINCT FROM 'declined'
               AND NOT EXISTS (SELECT 1 FROM res_users u
                                WHERE u.partner_id = att.partner_id AND NOT u.share)
          GROUP BY att.event_id, p.commercial_partner_id
            """
        )

    def _view_sql(self):
        # ids: a message's id doubled (even), an event's first attendee of the
        # account doubled plus one (odd): stable, unique per document and account
        return SQL(
            """
            CREATE VIEW %(view)s AS (
            SELECT m.id * 2 AS id,
                   'activity'::varchar AS origin,
                   t.key_account_contact_kind AS kind,
                   m.date AS date,
                   cp.commercial_partner_id AS partner_id,
                   d.contact_id AS contact_id,
                   author.id AS user_id,
                   COALESCE(d.company_id, acct.company_id, author.company_id) AS company_id,
                   m.id AS message_id,
                   NULL::integer AS event_id,
                   m.mail_activity_type_id AS activity_type_id,
                   m.model AS res_model,
                   m.res_id AS res_id,
                   COALESCE(
                       NULLIF(m.subject, ''),
                       NULLIF(left(btrim(regexp_replace(regexp_replace(
                           m.body, '<[^>]*>', ' ', 'g'), '\\s+', ' ', 'g')), 200), ''),
                       m.record_name) AS name
              FROM mail_message m
              JOIN mail_activity_type t ON t.id = m.mail_activity_type_id
              JOIN (%(documents)s) d ON d.model = m.model AND d.res_id = m.res_id
              JOIN res_partner cp ON cp.id = d.contact_id
              JOIN res_partner acct ON acct.id = cp.commercial_partner_id
              LEFT JOIN LATERAL (
                    SELECT u.id, u.company_id FROM res_users u
                     WHERE u.partner_id = m.author_id AND NOT u.share
                  ORDER BY u.id LIMIT 1) author ON TRUE
             WHERE t.key_account_contact_kind IS NOT NULL
               AND m.message_type = 'notification'
            UNION ALL
            SELECT a.attendee_id * 2 + 1,
                   'event',
                   'meeting',
                   e.start,
                   a.partner_id,
                   a.contact_id,
                   e.user_id,
                   COALESCE(acct.company_id, organiser.company_id),
                   NULL::integer,
                   e.id,
                   NULL::integer,
                   e.res_model,
                   e.res_id,
                   e.name
              FROM calendar_event e
              JOIN (%(event_accounts)s) a ON a.event_id = e.id
              JOIN res_partner acct ON acct.id = a.partner_id
              LEFT JOIN res_users organiser ON organiser.id = e.user_id
             WHERE e.active AND e.start <= (now() AT TIME ZONE 'UTC')
            )
            """,
            view=SQL.identifier(self._table),
            documents=self._documents_sql(),
            event_accounts=self._event_accounts_sql(),
        )

    def _user_relation_sql(self):
        """(row, team member): who marked a done activity done; the organiser
        and the team members attending an event (not declined)."""
        return SQL(
            """
            CREATE VIEW %(relation)s AS (
            SELECT m.id * 2 AS activity_id, author.id AS user_id
              FROM mail_message m
              JOIN mail_activity_type t ON t.id = m.mail_activity_type_id
              JOIN LATERAL (
                    SELECT u.id FROM res_users u
                     WHERE u.partner_id = m.author_id AND NOT u.share
                  ORDER BY u.id LIMIT 1) author ON TRUE
             WHERE t.key_account_contact_kind IS NOT NULL
               AND m.message_type = 'notification'
            UNION ALL
            SELECT a.attendee_id * 2 + 1, team.user_id
              FROM (%(event_accounts)s) a
              JOIN (SELECT att.event_id, u.id AS user_id
                      FROM calendar_attendee att
                      JOIN res_users u ON u.partner_id = att.partner_id AND NOT u.share
                     WHERE att.state IS DISTINCT FROM 'declined'
                     UNION
                    SELECT e.id, e.user_id FROM calendar_event e
                      JOIN res_users o ON o.id = e.user_id AND NOT o.share) team ON team.event_id = a.event_id
            )
            """,
            relation=SQL.identifier(USER_RELATION),
            event_accounts=self._event_accounts_sql(),
        )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_open_document(self):
        """The event, or the document the activity was done on, with the
        reader's own rights."""
        self.ensure_one()
        if self.event_id:
            model, res_id = "calendar.event", self.event_id.id
        else:
            model, res_id = self.res_model, self.res_id
        record = self.env[model].browse(res_id)
        record.check_access("read")
        return {
            "type": "ir.actions.act_window",
            "res_model": model,
            "res_id": res_id,
            "view_mode": "form",
            "views": [(False, "form")],
        }
