"""The demo story's service and satisfaction: complaints, survey answers and the KAMs' manual KPI scores."""

import datetime
import logging

from odoo import Command
from odoo.tools import SQL

from ..tools import kpi_math
from .story import (
    COMPLAINTS,
    MODULE,
)

_logger = logging.getLogger(__name__)


class ServiceSteps:
    """The demo story's service and satisfaction: complaints, survey answers and the KAMs' manual KPI scores."""

    def _mood(self, spec, day):
        """The customer's satisfaction (0-1) on ``day``: the account's own,
        moving with its story. No noise: an answer's own spread is added
        where it is drawn, so that a healthy account's scores do not swing
        across a threshold from one quarter to the next."""
        months = (day - self.start).days / 30.0
        mood = spec["mood"]
        if spec["story"] == "growing":
            mood += 0.012 * months
        elif spec["story"] == "declining":
            mood -= 0.016 * months
        elif spec["story"] == "stopped":
            mood -= 0.01 * months
        return min(1.0, max(0.05, mood))

    def _random_moment(self, date_from, date_to):
        date_to = min(date_to, self.today - datetime.timedelta(days=1))
        day = date_from + datetime.timedelta(
            days=self.rng.randint(0, max(0, (date_to - date_from).days))
        )
        return datetime.datetime.combine(
            day, datetime.time(self.rng.randint(1, 9), self.rng.randint(0, 59))
        )

    def _create_complaints(self):
        env, rng = self.quiet, self.rng
        tag = env["crm.tag"].search([("name", "=ilike", "complaint")], limit=1) or env[
            "crm.tag"
        ].create({"name": "Complaint"})
        won_stage = env["crm.stage"].search([("is_won", "=", True)], limit=1)
        rows = []  # (vals, created, opened, closed)
        for date_from, date_to in self.quarters:
            quarter_rows = []
            for partner, spec in self.accounts:
                if spec["story"] == "stopped" and date_from > self._stop_date():
                    continue
                months = (date_from - self.start).days / 30.0
                rate = (
                    0.1
                    + (0.4 + 0.05 * months if spec["story"] == "declining" else 0.0)
                    + (0.15 if spec["mood"] < 0.65 else 0.0)
                )
                count = sum(1 for _i in range(3) if rng.random() < rate / 3)
                for _i in range(count):
                    quarter_rows.append((partner, spec))
            if not quarter_rows:  # every quarter has complaints
                quarter_rows.append(self.accounts[rng.randrange(len(self.accounts))])
            for partner, spec in quarter_rows:
                created = self._random_moment(date_from, date_to)
                opened = created + datetime.timedelta(hours=rng.uniform(0.5, 30))
                closed = created + datetime.timedelta(hours=rng.uniform(12, 240))
                if closed.date() >= self.today:
                    closed = None
                subject = rng.choice(COMPLAINTS[spec["segment"]])
                rows.append(
                    (
                        {
                            "name": "%s – %s" % (subject, partner.name),
                            "type": "opportunity",
                            "partner_id": partner.id,
                            "email_from": partner.email,
                            "user_id": partner.key_account_manager_id.id,
                            "team_id": self.team.id,
                            "tag_ids": [Command.set(tag.ids)],
                            "expected_revenue": 0.0,
                            "stage_id": won_stage.id if closed and won_stage else False,
                        },
                        created,
                        opened,
                        closed,
                    )
                )
        vals_list = []
        for vals, *_dates in rows:
            if not vals["stage_id"]:
                del vals["stage_id"]
            vals_list.append(vals)
        leads = env["crm.lead"].create(vals_list)
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
            UPDATE crm_lead l SET create_date = x.c, date_open = x.o, date_closed = x.d,
                   date_last_stage_update = COALESCE(x.d, x.c)
              FROM unnest(%s::int[], %s::timestamp[], %s::timestamp[], %s::timestamp[])
                   AS x(id, c, o, d)
             WHERE l.id = x.id
        """,
                leads.ids,
                [r[1] for r in rows],
                [r[2] for r in rows],
                [r[3] for r in rows],
            )
        )
        leads.invalidate_recordset()
        self.counts["complaints"] = len(leads)

    def _create_survey_answers(self):
        env, rng, ref = self.quiet, self.rng, self.ref
        nps = ref("%s.survey_nps_question" % MODULE)
        csat = ref("%s.survey_csat_question" % MODULE)
        answer_rate = {"strategic": 1.0, "key": 0.9, "growth": 0.75}
        vals_list, moments = [], []
        for date_from, date_to in self.quarters:
            for partner, spec in self.accounts:
                if spec["story"] == "stopped" and date_from > self._stop_date():
                    continue
                for contact in partner.child_ids:
                    if rng.random() > answer_rate[spec["tier"]]:
                        continue
                    # sent after the quarterly business review, in the quarter's last two months
                    moment = self._random_moment(
                        kpi_math.add_months(date_from, 1), date_to
                    )
                    if moment.date() < date_from:
                        continue
                    mood = self._mood(spec, moment.date())
                    scores = (
                        (
                            nps,
                            min(10, max(0, round(16 * mood - 3 + rng.gauss(0, 0.08)))),
                        ),
                        (
                            csat,
                            min(5, max(1, round(1 + 4 * mood + rng.gauss(0.5, 0.15)))),
                        ),
                    )
                    for question, value in scores:
                        vals_list.append(
                            {
                                "survey_id": question.survey_id.id,
                                "partner_id": contact.id,
                                "email": contact.email,
                                "state": "done",
                                "end_datetime": moment,
                                "user_input_line_ids": [
                                    Command.create(
                                        {
                                            "question_id": question.id,
                                            "answer_type": "scale",
                                            "value_scale": value,
                                            "skipped": False,
                                        }
                                    )
                                ],
                            }
                        )
                        moments.append(moment)
        answers = env["survey.user_input"].create(vals_list)
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
            UPDATE survey_user_input i SET create_date = x.d, start_datetime = x.d
              FROM unnest(%s::int[], %s::timestamp[]) AS x(id, d)
             WHERE i.id = x.id
        """,
                answers.ids,
                moments,
            )
        )
        answers.invalidate_recordset()
        self.counts["survey answers"] = len(answers)

    def _create_manual_values(self):
        """The KAMs' own assessment (1-5) of every closed quarter."""
        env, rng = self.env, self.rng
        Template = env["key.account.kpi.template"]
        templates = Template._resolve_for_partners(self.partners, self.company)
        vals_list = []
        for date_from, date_to in self.quarters[:-1]:
            for partner, spec in self.accounts:
                mood = self._mood(spec, date_to)
                # a KAM's assessment of a steady account stays where it is;
                # the accounts of the stories move
                spread = rng.gauss(0, 0.25) if spec["story"] else 0.0
                for line in templates[partner.id].line_ids:
                    if line.kpi_id.computation_mode != "manual":
                        continue
                    value = min(
                        5.0,
                        max(1.0, round((1 + 4 * mood + spread) * 2) / 2),
                    )
                    vals_list.append(
                        {
                            "partner_id": partner.id,
                            "kpi_id": line.kpi_id.id,
                            "date_from": date_from,
                            "date_to": date_to,
                            "value": value,
                            "target": line.target,
                            "threshold": line.threshold,
                            "weight": line.weight,
                            "is_manual": True,
                            "company_id": self.company.id,
                        }
                    )
        env["key.account.kpi.value"].create(vals_list)
