from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..engine import persons as kpi_persons
from ..engine import records as kpi_records
from ..tools import kpi_math
from .guard import is_internal, refuse_derived


class KeyAccountAppraisalActivity(models.Model):
    """What the appraised person did on one account: a count KPI with a
    person field (meetings, calls, visits with the customer) counted for the
    person, next to the account's count, over the appraisal's period. Worked
    out by ``compute_appraisals`` for the accounts of the appraisal, one
    statement per KPI (``engine/persons.py``)."""

    _name = "key.account.appraisal.activity"
    _description = "Key Account Appraisal Contact Activity"
    _order = "appraisal_id, partner_id, kpi_sequence, id"
    _rec_name = "kpi_id"

    appraisal_id = fields.Many2one(
        "key.account.appraisal", required=True, index=True, ondelete="cascade"
    )
    user_id = fields.Many2one(related="appraisal_id.user_id", store=True)
    company_id = fields.Many2one(related="appraisal_id.company_id", store=True)
    date_from = fields.Date(related="appraisal_id.date_from")
    date_to = fields.Date(related="appraisal_id.date_to")
    partner_id = fields.Many2one(
        "res.partner", string="Account", required=True, ondelete="cascade"
    )
    kpi_id = fields.Many2one(
        "key.account.kpi", string="KPI", required=True, ondelete="cascade"
    )
    kpi_sequence = fields.Integer(related="kpi_id.sequence")
    value = fields.Float(
        string="Own",
        digits=(16, 0),
        help="What the appraised person did on the account in the period.",
    )
    account_value = fields.Float(
        string="Account Total",
        digits=(16, 0),
        help="What the whole account team did on the account in the period (the KPI's value).",
    )

    @api.model_create_multi
    def create(self, vals_list):
        if not is_internal(self.env):
            raise UserError(
                self.env._(
                    "The contact activity of an appraisal is worked out by Compute "
                    "Appraisals."
                )
            )
        return super().create(vals_list)

    def write(self, vals):
        refuse_derived(self, [vals], frozenset(self._fields))
        return super().write(vals)

    def action_open_records(self):
        """The records behind the person's own figure: the KPI's records of
        the account in the period that are the person's, as the reader may
        read them."""
        self.ensure_one()
        self.check_access("read")
        # sudo: the KPI's configuration, for a reader checked above
        kpi = self.kpi_id.sudo()
        Model, ids = kpi_records.record_ids(
            kpi, self.partner_id.id, self.date_from, self.date_to, self.company_id
        )
        Records = self.env[Model._name]
        mine = Records.with_context(active_test=False).search(
            kpi_persons.person_record_domain(kpi, ids, self.user_id.id)
        )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._(
                "%(kpi)s – %(partner)s, %(period)s: %(person)s",
                kpi=kpi.with_context(lang=self.env.lang).name,
                partner=self.partner_id.display_name,
                period=kpi_math.period_label(None, self.date_from, self.date_to),
                person=self.user_id.name,
            ),
            "res_model": Model._name,
            "view_mode": "list,form",
            "views": [
                (kpi_records.records_view_id(kpi, Records), "list"),
                (False, "form"),
            ],
            "domain": [("id", "in", mine.ids)],
            "limit": max(80, len(mine)),
            "context": {"create": False},
        }


class KeyAccountAppraisal(models.Model):
    _inherit = "key.account.appraisal"  # pylint: disable=consider-merging-classes-inherited

    contact_activity_ids = fields.One2many(
        "key.account.appraisal.activity",
        "appraisal_id",
        string="Customer Contact",
        readonly=True,
        help="What the person did with each account's customer in the period (meetings, "
        "calls, visits), next to what the account team did.",
    )

    def _compute_appraisals(self, company, date_from, date_to, user_ids):
        ids = super()._compute_appraisals(company, date_from, date_to, user_ids)
        self.browse(ids)._compute_contact_activity(company, date_from, date_to)
        return ids

    def _compute_contact_activity(self, company, date_from, date_to):
        """The person's own figure of each count KPI with a person field on
        each account of these appraisals (one period and company): one
        statement per KPI for all accounts and people, the rows written in
        one statement."""
        Activity = self.env["key.account.appraisal.activity"]
        Line = self.env["key.account.appraisal.line"]
        if not self:
            return
        Activity.flush_model()
        Line.flush_model(["appraisal_id", "partner_id"])
        self.flush_model(["user_id"])
        self.env.execute_query(
            SQL(
                "DELETE FROM key_account_appraisal_activity WHERE appraisal_id = ANY(%s)",
                self.ids,
            )
        )
        lines = self.env.execute_query(
            SQL(
                """
            SELECT l.appraisal_id, l.partner_id, a.user_id
              FROM key_account_appraisal_line l
              JOIN key_account_appraisal a ON a.id = l.appraisal_id
             WHERE l.appraisal_id = ANY(%s)
        """,
                self.ids,
            )
        )
        partner_ids = sorted({partner_id for _a, partner_id, _u in lines})
        columns = {
            "appraisal_id": [],
            "partner_id": [],
            "kpi_id": [],
            "value": [],
            "account_value": [],
        }
        for kpi in kpi_persons.person_kpis(self.env, company):
            accounts, people = kpi_persons.person_counts(
                kpi, partner_ids, date_from, date_to, company
            )
            for appraisal_id, partner_id, user_id in lines:
                own = people.get((partner_id, user_id), 0.0)
                total = accounts.get(partner_id, 0.0)
                if not (own or total):
                    continue
                columns["appraisal_id"].append(appraisal_id)
                columns["partner_id"].append(partner_id)
                columns["kpi_id"].append(kpi.id)
                columns["value"].append(own)
                columns["account_value"].append(total)
        if columns["appraisal_id"]:
            now = fields.Datetime.now()
            self.env.execute_query(
                SQL(
                    """
                INSERT INTO key_account_appraisal_activity (
                    appraisal_id, partner_id, kpi_id, value, account_value,
                    user_id, company_id, create_uid, create_date, write_uid, write_date)
                SELECT x.*, a.user_id, a.company_id, %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM unnest(%(appraisal_id)s::int4[], %(partner_id)s::int4[],
                              %(kpi_id)s::int4[], %(value)s::float8[],
                              %(account_value)s::float8[])
                       AS x(appraisal_id, partner_id, kpi_id, value, account_value)
                  JOIN key_account_appraisal a ON a.id = x.appraisal_id
                """,
                    uid=self.env.uid,
                    now=now,
                    **columns,
                )
            )
        Activity.invalidate_model()
        self.invalidate_model(["contact_activity_ids"])
