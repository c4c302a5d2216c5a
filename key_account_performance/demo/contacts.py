"""The demo story's customer contacts: the calls and visits each KAM logged
(done activities) and the meetings held with each account's contacts
(calendar events), every quarter of the history, so that the contact KPIs
(meetings, calls, visits) have figures. The accounts in trouble are seen
less and less; the healthy ones have each kind of contact every quarter
(and so far in the running one). The contact KPIs join the shipped templates for
information (weight 0: they do not move the story's scores)."""

import datetime

from odoo import Command

CONTACT_KPI_CODES = (
    "contact_meetings",
    "contact_calls",
    "contact_visits",
    "contact_total",
)
CALL_TOPICS = (
    "Delivery schedule",
    "Price review",
    "Forecast for next quarter",
    "Open issues",
)
VISIT_TOPICS = ("Site visit", "Plant tour", "Quarterly business review on site")
MEETING_TOPICS = ("Account review", "Roadmap presentation", "Contract renewal talks")


class ContactSteps:
    """Done calls and visits, and meetings, with the accounts' contacts."""

    def _contact_plan(self, spec, date_from):
        """(calls, visits, meetings) of one account in one quarter."""
        rng = self.rng
        calls, visits, meetings = (
            rng.randint(3, 6),
            rng.randint(0, 2),
            rng.randint(1, 3),
        )
        if spec["story"] in ("declining", "stopped"):
            quarters_in = (date_from - self.start).days // 91
            fewer = max(0.2, 1.0 - 0.12 * quarters_in)
            calls, visits, meetings = (
                round(calls * fewer),
                round(visits * fewer),
                max(0, round(meetings * fewer)),
            )
        if spec["tier"] == "strategic":
            visits += 1
        if spec["story"] not in ("declining", "stopped"):
            # a healthy account is called, visited and met every quarter (and
            # so far in the running one): a count of nothing is 0, which is
            # the threshold of the contact KPIs (an early warning)
            calls, visits, meetings = max(calls, 1), max(visits, 1), max(meetings, 1)
        return calls, visits, meetings

    def _create_contacts(self):
        env, ref, rng = self.quiet, self.ref, self.rng
        call = ref("mail.mail_activity_data_call")
        visit = ref("key_account_performance.mail_activity_type_visit")
        subtype = ref("mail.mt_activities")
        messages, events = [], []
        for date_from, date_to in self.quarters:
            for partner, spec in self.accounts:
                kam = self.kams[spec["kam"] - 1]
                contacts = partner.child_ids
                calls, visits, meetings = self._contact_plan(spec, date_from)
                for activity_type, count, topics in (
                    (call, calls, CALL_TOPICS),
                    (visit, visits, VISIT_TOPICS),
                ):
                    for _i in range(count):
                        contact = rng.choice(contacts) if contacts else partner
                        summary = rng.choice(topics)
                        messages.append(
                            {
                                "model": "res.partner",
                                "res_id": contact.id,
                                "record_name": contact.display_name,
                                "message_type": "notification",
                                "subtype_id": subtype.id,
                                "mail_activity_type_id": activity_type.id,
                                "author_id": kam.partner_id.id,
                                "date": self._random_moment(date_from, date_to),
                                "body": "<div><p>%s done: %s</p></div>"
                                % (activity_type.name, summary),
                            }
                        )
                for _i in range(meetings):
                    start = self._random_moment(date_from, date_to)
                    attendees = contacts[: rng.randint(1, max(1, len(contacts)))]
                    events.append(
                        {
                            "name": "%s – %s"
                            % (rng.choice(MEETING_TOPICS), partner.name),
                            "user_id": kam.id,
                            "start": start,
                            "stop": start + datetime.timedelta(hours=1),
                            "partner_ids": [
                                Command.set((attendees | kam.partner_id).ids)
                            ],
                        }
                    )
        env["mail.message"].create(messages)
        env["calendar.event"].with_context(dont_notify=True).create(events)
        # the contact KPIs in the shipped templates, for information
        kpis = env["key.account.kpi"].search([("code", "in", CONTACT_KPI_CODES)])
        templates = env["key.account.kpi.template"].search(
            [("company_id", "in", [self.company.id, False])]
        )
        for template in templates:
            missing = kpis - template.line_ids.kpi_id
            template.line_ids = [
                Command.create({"kpi_id": kpi.id, "weight": 0.0, "sequence": 50 + i})
                for i, kpi in enumerate(missing.sorted("sequence"))
            ]
        self.counts["logged calls and visits"] = len(messages)
        self.counts["customer meetings"] = len(events)
