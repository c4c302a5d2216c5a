"""Contact activity as KPIs (issue 26, item 2): meetings, calls and visits
with the customer, counted per account and per person, with the records
behind them one click away and seen only by whom may see the account."""

import datetime

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from ..engine import persons as kpi_persons
from ..engine import records as kpi_records
from ..tools import kpi_math
from .common import KeyAccountCase

CONTACT_KPIS = ("contact_meetings", "contact_calls", "contact_visits", "contact_total")


@tagged("post_install", "-at_install")
class TestContactActivityKpis(KeyAccountCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ref = cls.env.ref
        cls.company = cls.env["res.company"].create({"name": "Contact KPI Company"})
        cls.other_company = cls.env["res.company"].create(
            {"name": "Contact KPI Other Company"}
        )
        cls.env.user.company_ids = [
            Command.link(cls.company.id),
            Command.link(cls.other_company.id),
        ]
        cls.env = cls.env(
            context=dict(
                cls.env.context,
                mail_create_nolog=True,
                mail_notrack=True,
                no_reset_password=True,
                dont_notify=True,
                allowed_company_ids=[cls.company.id],
            )
        )
        cls.company.partner_id.tz = "UTC"
        cls.company.key_account_period_type = "quarter"
        today = kpi_math.company_today(cls.company)
        cls.P = kpi_math.last_closed_period(today, "quarter")
        cls.P0 = kpi_math.previous_period(*cls.P)

        def user(login, group, company=None):
            company = company or cls.company
            return cls.env["res.users"].create(
                {
                    "name": login.replace("_", " ").title(),
                    "login": login,
                    "email": "%s@example.com" % login,
                    "company_id": company.id,
                    "company_ids": [Command.set(company.ids)],
                    "groups_id": [
                        Command.link(ref("key_account_performance.%s" % group).id),
                        Command.link(ref("sales_team.group_sale_salesman").id),
                    ],
                }
            )

        cls.kam = user("kap_ca_kam", "group_key_account_user")
        cls.kam2 = user("kap_ca_kam2", "group_key_account_user")
        cls.kam3 = user("kap_ca_kam3", "group_key_account_user")
        cls.other_user = user(
            "kap_ca_other", "group_key_account_user", cls.other_company
        )
        cls.tier = cls.env["key.account.tier"].create(
            {"name": "Contact KPI tier", "sequence": 96, "appraisal_weight": 1.0}
        )
        kpis = cls.env["key.account.kpi"].search([("code", "in", CONTACT_KPIS)])
        cls.kpi = {kpi.code: kpi for kpi in kpis}
        cls.template = cls.env["key.account.kpi.template"].create(
            {
                "name": "Contact KPI template",
                "company_id": cls.company.id,
                "line_ids": [
                    Command.create({"kpi_id": kpi.id, "weight": 1.0}) for kpi in kpis
                ],
            }
        )

        def account(name, kam):
            partner = cls.env["res.partner"].create(
                {
                    "name": name,
                    "is_company": True,
                    "key_account_tier_id": cls.tier.id,
                    "key_account_manager_id": kam.id,
                    "key_account_template_id": cls.template.id,
                }
            )
            contacts = cls.env["res.partner"].create(
                [
                    {"name": "%s contact %s" % (name, i), "parent_id": partner.id}
                    for i in (1, 2)
                ]
            )
            return partner, contacts

        cls.account_a, cls.contacts_a = account("Contact Account A", cls.kam)
        cls.account_b, cls.contacts_b = account("Contact Account B", cls.kam3)
        # the after-sales colleague on A: credited for a share of it
        cls.account_a.write(
            {
                "key_account_member_ids": [
                    Command.create(
                        {"user_id": cls.kam.id, "role": "sales", "share": 0.6}
                    ),
                    Command.create(
                        {"user_id": cls.kam2.id, "role": "after_sales", "share": 0.4}
                    ),
                ]
            }
        )
        cls.lead_a = cls.env["crm.lead"].create(
            {
                "name": "A's renewal",
                "partner_id": cls.contacts_a[0].id,
                "company_id": cls.company.id,
                "user_id": False,
            }
        )
        cls.lead_a_other = (
            cls.env["crm.lead"]
            .with_company(cls.other_company)
            .create(
                {
                    "name": "A's deal with the other company",
                    "partner_id": cls.account_a.id,
                    "company_id": cls.other_company.id,
                    "user_id": False,
                }
            )
        )
        call = ref("mail.mail_activity_data_call")
        visit = ref("key_account_performance.mail_activity_type_visit")
        meeting = ref("mail.mail_activity_data_meeting")
        day = cls._day
        # A, in the period: a call by the KAM on a contact, a call by KAM 2
        # on A's opportunity, a visit by the KAM on A itself
        cls.call_kam = cls._done(cls.kam, cls.contacts_a[1], call, day(cls.P, 3))
        cls.call_kam2 = cls._done(cls.kam2, cls.lead_a, call, day(cls.P, 20))
        cls.visit_kam = cls._done(cls.kam, cls.account_a, visit, day(cls.P, 30))
        # not counted: a meeting activity (meetings come from the calendar),
        # a call before the period, a call of the other company on A
        cls._done(cls.kam, cls.account_a, meeting, day(cls.P, 4))
        cls._done(cls.kam, cls.account_a, call, day(cls.P0, 10))
        cls._done(cls.other_user, cls.lead_a_other, call, day(cls.P, 5))
        # B: a call by its KAM
        cls.call_b = cls._done(cls.kam3, cls.contacts_b[0], call, day(cls.P, 8))
        # meetings: both of A's contacts with the KAM and KAM 2 (one meeting
        # of A, credited to both); one with B's contact; one with A before
        # the period; one where A's only contact declined; one not held yet
        cls.meeting_a = cls._event(
            "Quarterly review",
            cls.kam,
            cls.contacts_a | cls.kam2.partner_id,
            day(cls.P, 12),
        )
        cls.meeting_b = cls._event(
            "B kick-off", cls.kam3, cls.contacts_b[0], day(cls.P, 14)
        )
        cls._event("Old meeting", cls.kam, cls.contacts_a[0], day(cls.P0, 14))
        declined = cls._event("Declined", cls.kam, cls.contacts_a[1], day(cls.P, 16))
        declined.attendee_ids.filtered(
            lambda a: a.partner_id == cls.contacts_a[1]
        ).state = "declined"
        cls._event(
            "Next year",
            cls.kam,
            cls.contacts_a[0],
            datetime.datetime.now() + datetime.timedelta(days=400),
        )
        cls.env.flush_all()

    @classmethod
    def _done(cls, user, record, activity_type, when):
        """An activity of ``activity_type`` on ``record`` marked done by
        ``user`` at ``when``: the message it leaves."""
        activity = (
            cls.env["mail.activity"]
            .with_company(user.company_id)
            .create(
                {
                    "res_model_id": cls.env["ir.model"]._get_id(record._name),
                    "res_id": record.id,
                    "activity_type_id": activity_type.id,
                    "user_id": user.id,
                    "summary": "%s with %s" % (activity_type.name, record.display_name),
                }
            )
        )
        messages, _next = (
            activity.with_user(user)
            .with_context(allowed_company_ids=user.company_ids.ids)
            ._action_done()
        )
        messages.sudo().date = when
        return messages

    @classmethod
    def _event(cls, name, organiser, partners, when):
        return cls.env["calendar.event"].create(
            {
                "name": name,
                "user_id": organiser.id,
                "start": when,
                "stop": when + datetime.timedelta(hours=1),
                "partner_ids": [Command.set((partners | organiser.partner_id).ids)],
            }
        )

    def _values(self, code, partners, period=None, company=None):
        period = period or self.P
        return self.kpi[code]._engine_values(
            partners.ids, *period, {}, company or self.company
        )

    def _rows(self, code, partner, user=None, period=None):
        """The contact activity rows behind a KPI value (as superuser)."""
        kpi = self.kpi[code]
        period = period or self.P
        Model, ids = kpi_records.record_ids(kpi, partner.id, *period, self.company)
        self.assertEqual(Model._name, "key.account.contact.activity")
        rows = Model.browse(ids)
        if user:
            rows = rows.filtered(lambda r: user in r.user_ids)
        return rows

    # ------------------------------------------------------------------
    # Per account
    # ------------------------------------------------------------------
    def test_counts_per_account(self):
        accounts = self.account_a | self.account_b
        self.assertEqual(
            self._values("contact_calls", accounts),
            {self.account_a.id: 2.0, self.account_b.id: 1.0},
            "A: the KAM's call to a contact and KAM 2's on A's opportunity; not the "
            "call before the period nor the other company's",
        )
        self.assertEqual(
            self._values("contact_visits", accounts), {self.account_a.id: 1.0}
        )
        self.assertEqual(
            self._values("contact_meetings", accounts),
            {self.account_a.id: 1.0, self.account_b.id: 1.0},
            "one meeting of A with both its contacts; not the declined one, the one "
            "before the period, the one not held yet, nor the meeting activity",
        )
        self.assertEqual(
            self._values("contact_total", accounts),
            {self.account_a.id: 4.0, self.account_b.id: 2.0},
        )
        # the period before: A's old call and old meeting
        self.assertEqual(
            self._values("contact_total", accounts, period=self.P0),
            {self.account_a.id: 2.0},
        )

    def test_other_company_counts_its_own(self):
        """The call logged in the other company on A's deal there counts for
        the other company, never for this one."""
        self.assertEqual(
            self._values("contact_calls", self.account_a, company=self.other_company),
            {self.account_a.id: 1.0},
        )

    def test_account_company_before_the_person(self):
        """A call on a contact without a company, of an account of this
        company, marked done by a colleague whose main company is the other
        one, counts for the account's company and not for the colleague's."""
        ref = self.env.ref
        colleague = self.env["res.users"].create(
            {
                "name": "Kap Ca Both",
                "login": "kap_ca_both",
                "email": "kap_ca_both@example.com",
                "company_id": self.other_company.id,
                "company_ids": [Command.set((self.other_company | self.company).ids)],
                "groups_id": [
                    Command.link(
                        ref("key_account_performance.group_key_account_user").id
                    ),
                    Command.link(ref("sales_team.group_sale_salesman").id),
                ],
            }
        )
        account = self.env["res.partner"].create(
            {
                "name": "Contact Account C",
                "is_company": True,
                "company_id": self.company.id,
                "key_account_tier_id": self.tier.id,
                "key_account_manager_id": colleague.id,
                "key_account_template_id": self.template.id,
            }
        )
        contact = self.env["res.partner"].create(
            {"name": "C's buyer", "parent_id": account.id}
        )
        contact.company_id = False
        self._done(
            colleague,
            contact,
            ref("mail.mail_activity_data_call"),
            self._day(self.P, 6),
        )
        self.env.flush_all()
        self.assertEqual(self._values("contact_calls", account), {account.id: 1.0})
        self.assertFalse(
            self._values("contact_calls", account, company=self.other_company)
        )

    def test_rows_behind_the_values(self):
        rows = self._rows("contact_calls", self.account_a)
        self.assertEqual(
            set(rows.message_id.ids), set((self.call_kam | self.call_kam2).ids)
        )
        self.assertEqual(
            {(r.message_id.id, r.user_id.id, r.contact_id.id) for r in rows},
            {
                (self.call_kam.id, self.kam.id, self.contacts_a[1].id),
                (self.call_kam2.id, self.kam2.id, self.contacts_a[0].id),
            },
        )
        meeting = self._rows("contact_meetings", self.account_a)
        self.assertEqual(meeting.event_id, self.meeting_a)
        self.assertEqual(meeting.user_ids, self.kam | self.kam2)
        self.assertEqual(meeting.partner_id, self.account_a)
        self.assertTrue(all(r.company_id == self.company for r in rows | meeting))

    def test_value_stored_and_drill_down(self):
        """Computed with the account's template, the value opens exactly the
        records it counts, in the list made for them."""
        ids = self.env["key.account.kpi.value"].compute_for_period(
            *self.P, (self.account_a | self.account_b).ids
        )
        values = self.env["key.account.kpi.value"].browse(ids)
        calls = values.filtered(
            lambda v: v.partner_id == self.account_a and v.kpi_code == "contact_calls"
        )
        self.assertEqual(calls.value, 2.0)
        action = calls.with_user(self.kam).action_open_records()
        self.assertEqual(action["res_model"], "key.account.contact.activity")
        rows = self.env["key.account.contact.activity"].search(action["domain"])
        self.assertEqual(
            set(rows.message_id.ids), set((self.call_kam | self.call_kam2).ids)
        )
        self.assertEqual(
            action["views"][0][0],
            self.env.ref(
                "key_account_performance.key_account_contact_activity_view_list"
            ).id,
        )
        # every contact KPI of a healthy account: no warning from them
        warnings = (
            self.env["key.account.warning"]
            .sudo()
            .search([("partner_id", "in", (self.account_a | self.account_b).ids)])
        )
        self.assertFalse(warnings.filtered(lambda w: w.kpi_id.code in CONTACT_KPIS))
        # a row opens its document with the reader's rights
        row = rows.filtered(lambda r: r.message_id == self.call_kam2)
        document = row.with_user(self.kam).action_open_document()
        self.assertEqual(
            (document["res_model"], document["res_id"]), ("crm.lead", self.lead_a.id)
        )

    # ------------------------------------------------------------------
    # Per person
    # ------------------------------------------------------------------
    def test_counts_per_person(self):
        accounts, people = kpi_persons.person_counts(
            self.kpi["contact_calls"],
            (self.account_a | self.account_b).ids,
            *self.P,
            self.company,
        )
        self.assertEqual(accounts, {self.account_a.id: 2.0, self.account_b.id: 1.0})
        self.assertEqual(
            people,
            {
                (self.account_a.id, self.kam.id): 1.0,
                (self.account_a.id, self.kam2.id): 1.0,
                (self.account_b.id, self.kam3.id): 1.0,
            },
        )
        accounts, people = kpi_persons.person_counts(
            self.kpi["contact_meetings"], self.account_a.ids, *self.P, self.company
        )
        self.assertEqual(accounts, {self.account_a.id: 1.0}, "one meeting, two people")
        self.assertEqual(
            people,
            {
                (self.account_a.id, self.kam.id): 1.0,
                (self.account_a.id, self.kam2.id): 1.0,
            },
        )

    def test_appraisal_shows_own_count_and_opens_own_records(self):
        Appraisal = self.env["key.account.appraisal"]
        Appraisal.compute_appraisals(
            str(self.P[0]), str(self.P[1]), (self.kam | self.kam2).ids
        )
        appraisal = Appraisal.search(
            [("user_id", "=", self.kam2.id), ("date_from", "=", self.P[0])]
        )
        self.assertEqual(len(appraisal), 1)
        rows = {
            (r.partner_id, r.kpi_id.code): (r.value, r.account_value)
            for r in appraisal.contact_activity_ids
        }
        self.assertEqual(rows[(self.account_a, "contact_calls")], (1.0, 2.0))
        self.assertEqual(rows[(self.account_a, "contact_meetings")], (1.0, 1.0))
        self.assertEqual(rows[(self.account_a, "contact_visits")], (0.0, 1.0))
        self.assertEqual(rows[(self.account_a, "contact_total")], (2.0, 4.0))
        self.assertNotIn(self.account_b, appraisal.contact_activity_ids.partner_id)
        # KAM 2 opens their own calls on A: exactly the one they logged
        own_calls = appraisal.contact_activity_ids.filtered(
            lambda r: r.kpi_id.code == "contact_calls"
        ).with_user(self.kam2)
        action = own_calls.action_open_records()
        rows = (
            self.env["key.account.contact.activity"]
            .with_user(self.kam2)
            .search(action["domain"])
        )
        self.assertEqual(rows.message_id, self.call_kam2)
        # the appraisal's figures are written by Compute Appraisals only
        with self.assertRaises(UserError):
            own_calls.write({"value": 9.0})

    def test_person_field_of_any_count_kpi(self):
        """A person field through a many2one (the salesperson of an order)
        splits any count KPI per person; a path that does not reach users,
        or a KPI that is not a count, is refused when saved."""
        kpi = self.env["key.account.kpi"].create(
            {
                "name": "Orders per salesperson",
                "code": "kap_ca_orders",
                "company_id": self.company.id,
                "computation_mode": "count",
                "target": 5,
                "threshold": 0,
                "model_id": self.env["ir.model"]._get_id("sale.order"),
                "partner_field": "partner_id",
                "date_field": "date_order",
                "person_field": "user_id",
            }
        )
        Order = self.env["sale.order"].with_company(self.company)
        for user, contact in (
            (self.kam, self.contacts_a[0]),
            (self.kam, self.account_a),
            (self.kam2, self.contacts_a[1]),
        ):
            Order.create(
                {
                    "partner_id": contact.id,
                    "user_id": user.id,
                    "company_id": self.company.id,
                    "date_order": self._day(self.P, 7),
                }
            )
        accounts, people = kpi_persons.person_counts(
            kpi, self.account_a.ids, *self.P, self.company
        )
        self.assertEqual(accounts, {self.account_a.id: 3.0})
        self.assertEqual(
            people,
            {
                (self.account_a.id, self.kam.id): 2.0,
                (self.account_a.id, self.kam2.id): 1.0,
            },
        )
        with self.assertRaisesRegex(ValidationError, "does not point to users"):
            kpi.person_field = "partner_id"
        with self.assertRaisesRegex(ValidationError, "count KPIs only"):
            kpi.write(
                {
                    "person_field": "user_id",
                    "computation_mode": "sum",
                    "value_field": "amount_untaxed",
                }
            )

    # ------------------------------------------------------------------
    # Access
    # ------------------------------------------------------------------
    def test_kam_sees_only_their_accounts(self):
        Activity = self.env["key.account.contact.activity"]
        everything = Activity.search(
            [("partner_id", "in", (self.account_a | self.account_b).ids)]
        )
        seen_by_kam3 = Activity.with_user(self.kam3).search(
            [("id", "in", everything.ids)]
        )
        self.assertEqual(seen_by_kam3.partner_id, self.account_b)
        seen_by_kam = Activity.with_user(self.kam).search(
            [("id", "in", everything.ids)]
        )
        self.assertEqual(seen_by_kam.partner_id, self.account_a)
        # KAM 2 is not A's KAM: only what they did themselves on A
        seen_by_kam2 = Activity.with_user(self.kam2).search(
            [("id", "in", everything.ids)]
        )
        self.assertEqual(seen_by_kam2.message_id, self.call_kam2)
        self.assertEqual(seen_by_kam2.event_id, self.meeting_a)
        # the other company's row is not this company's users' either
        other = Activity.with_context(
            allowed_company_ids=[self.other_company.id]
        ).search([("company_id", "=", self.other_company.id)])
        self.assertTrue(other)
        self.assertFalse(Activity.with_user(self.kam).search([("id", "in", other.ids)]))
        # B's value: A's KAM may not open it, nor KAM 3 A's appraisal figures
        ids = self.env["key.account.kpi.value"].compute_for_period(
            *self.P, (self.account_a | self.account_b).ids
        )
        value_b = (
            self.env["key.account.kpi.value"]
            .browse(ids)
            .filtered(
                lambda v: (
                    v.partner_id == self.account_b and v.kpi_code == "contact_calls"
                )
            )
        )
        with self.assertRaises(AccessError):
            value_b.with_user(self.kam).action_open_records()
        self.env["key.account.appraisal"].compute_appraisals(
            str(self.P[0]), str(self.P[1]), self.kam.ids
        )
        own = self.env["key.account.appraisal.activity"].search(
            [("user_id", "=", self.kam.id)]
        )
        self.assertTrue(own)
        with self.assertRaises(AccessError):
            own[:1].with_user(self.kam3).action_open_records()

    # ------------------------------------------------------------------
    # Batching
    # ------------------------------------------------------------------
    def test_query_count_does_not_grow_with_accounts(self):
        call = self.env.ref("mail.mail_activity_data_call")

        def accounts(count, tag):
            partners = self.env["res.partner"].create(
                [
                    {
                        "name": "Q %s %s" % (tag, i),
                        "is_company": True,
                        "key_account_tier_id": self.tier.id,
                        "key_account_manager_id": self.kam.id,
                    }
                    for i in range(count)
                ]
            )
            for partner in partners:
                self._done(self.kam, partner, call, self._day(self.P, 2))
            self.env.flush_all()
            return partners

        def count(partners):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            values = self._values("contact_calls", partners)
            self.assertEqual(values, dict.fromkeys(partners.ids, 1.0))
            kpi_persons.person_counts(
                self.kpi["contact_calls"], partners.ids, *self.P, self.company
            )
            return self.env.cr.sql_log_count - before

        count(accounts(2, "warm"))
        small = count(accounts(2, "small"))
        large = count(accounts(15, "large"))
        self.assertEqual(large, small, "queries grow with the number of accounts")
