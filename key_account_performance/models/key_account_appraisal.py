import datetime
import io

import xlsxwriter
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..tools import kpi_math
from .guard import internal, is_internal, refuse_derived

MANAGER_GROUP = "key_account_performance.group_key_account_manager"
KAM_GROUP = "key_account_performance.group_key_account_user"
EDITABLE_STATES = ("draft", "rejected")
# how many previous periods the long-term part looks back on
LONG_TERM_PERIODS = 3
# how many of the weakest KPIs an appraisal lists for the person's development
DEVELOPMENT_KPIS = 3
COACHING_ACTIVITY = "key_account_performance.mail_activity_type_appraisal_coaching"
# worked out by compute_appraisals and the workflow: never written by hand,
# administrators included
DERIVED_FIELDS = frozenset(
    {
        "name",
        "user_id",
        "company_id",
        "date_from",
        "date_to",
        "cycle_id",
        "period_label",
        "team_id",
        "state",
        "account_score",
        "long_term_score",
        "has_long_term",
        "score",
        "grade",
        "incentive_rate",
        "previous_score",
        "has_previous",
        "trend",
        "account_count",
        "line_ids",
        "development_ids",
        "follow_up_ids",
        "computed_date",
        "submitted_by_id",
        "submitted_date",
        "approved_by_id",
        "approved_date",
        "rejected_by_id",
        "reject_reason",
    }
)
# written by mail.thread / mail.activity.mixin on any record, even a frozen one
MAIL_FIELD_PREFIXES = ("message_", "activity_", "website_message_")


class KeyAccountAppraisal(models.Model):
    """One person's appraisal for one period and company (绩效考核).

    ``compute_appraisals`` builds it from the accounts the person is credited
    on (``key.account.member``; an account without members credits its KAM
    with share 1):

    * each account's score ``s``: from the approved review of the period when
      there is one (its frozen lines, leaving out the lines whose external
      factor was accepted: Σ weight·score / Σ weight over the kept lines that
      have a value), otherwise from the account's KPI values of the period
      (Σ weight·score / Σ weight of ``key.account.kpi.value``);
    * ``account_score`` = Σ (w · share · s) / Σ (w · share), ``w`` the
      tier's ``appraisal_weight``; accounts without any score are left out;
    * ``long_term_score``: the same weighted mean of each account's mean
      score over the previous three periods of the same length
      (``key.account.score.history``, closed periods only; accounts without
      history left out). Without any history it equals ``account_score``
      (neutral: the blend then leaves the short-term score as it is);
    * ``score`` = (1 − λ) · ``account_score`` + λ · ``long_term_score``, λ the
      company's ``key_account_appraisal_long_term_weight``;
    * ``grade`` from the company's grade bands, ``incentive_rate`` from the
      grade.

    Workflow: draft → submitted (by the person or a key-account manager) →
    approved or rejected with a reason (by the person's team leader or a
    key-account manager, never by the person). Approved appraisals are
    frozen; submitted and approved ones are never recomputed.
    """

    _name = "key.account.appraisal"
    _description = "Key Account Appraisal"
    _inherit = ["key.account.mail.sender", "mail.activity.mixin"]
    _order = "date_from desc, score desc, id"

    name = fields.Char(readonly=True)
    user_id = fields.Many2one(
        "res.users", string="Appraised Person", required=True, index=True, readonly=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, readonly=True
    )
    date_from = fields.Date(required=True, readonly=True)
    date_to = fields.Date(required=True, readonly=True)
    period_label = fields.Char(string="Period", readonly=True)
    cycle_id = fields.Many2one(
        "key.account.review.cycle",
        string="Review Cycle",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
    )
    team_id = fields.Many2one(
        "crm.team", string="Sales Team", readonly=True, index="btree_not_null"
    )
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("submitted", "Submitted"),
            ("approved", "Approved"),
            ("rejected", "Rejected"),
        ],
        default="draft",
        required=True,
        readonly=True,
        tracking=True,
        index=True,
        copy=False,
    )
    account_score = fields.Float(
        aggregator="avg",
        readonly=True,
        help="Σ (tier weight × share × account score) / Σ (tier weight × share) over the "
        "accounts the person is credited on.",
    )
    long_term_score = fields.Float(
        aggregator="avg",
        readonly=True,
        help="The same weighted mean of each account's mean score over the previous three "
        "periods (score history); the account score when there is no history.",
    )
    has_long_term = fields.Boolean(
        string="Has History",
        readonly=True,
        help="Unset: no account has a score history, the long-term part is the account score.",
    )
    score = fields.Float(
        aggregator="avg",
        readonly=True,
        tracking=True,
        help="(1 − long-term weight) × account score + long-term weight × long-term score.",
    )
    grade = fields.Char(readonly=True, tracking=True)
    incentive_rate = fields.Float(
        string="Incentive Rate (%)",
        aggregator="avg",
        readonly=True,
        digits=(16, 2),
        help="The incentive rate of the grade (Configuration > Grade Bands).",
    )
    previous_score = fields.Float(aggregator="avg", readonly=True)
    has_previous = fields.Boolean(readonly=True)
    trend = fields.Float(
        aggregator="avg",
        readonly=True,
        help="Score minus the score of the person's appraisal of the previous period.",
    )
    account_count = fields.Integer(string="Accounts", readonly=True)
    line_ids = fields.One2many(
        "key.account.appraisal.line",
        "appraisal_id",
        string="Appraised Accounts",
        readonly=True,
    )
    development_ids = fields.One2many(
        "key.account.appraisal.development",
        "appraisal_id",
        string="Weakest KPIs",
        domain=[("kind", "=", "weak")],
        readonly=True,
        help="The KPIs where the person's accounts lose the most points, weighted as the score "
        "is (tier weight × share × KPI weight), with the accounts behind each.",
    )
    follow_up_ids = fields.One2many(
        "key.account.appraisal.development",
        "appraisal_id",
        string="Last Period's Weak KPIs",
        domain=[("kind", "=", "follow_up")],
        readonly=True,
        help="The weakest KPIs of the person's appraisal of the previous period: their weighted "
        "score then and now.",
    )
    computed_date = fields.Datetime(string="Computed On", readonly=True)
    comment = fields.Html(
        help="What went well, what did not, what the person plans for the next period."
    )
    submitted_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    submitted_date = fields.Datetime(readonly=True, copy=False)
    approved_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    approved_date = fields.Datetime(readonly=True, copy=False)
    rejected_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    reject_reason = fields.Text(readonly=True, copy=False, tracking=True)
    can_decide = fields.Boolean(compute="_compute_ui_flags")
    can_submit = fields.Boolean(compute="_compute_ui_flags")

    _sql_constraints = [
        (
            "user_period_company_unique",
            "UNIQUE(user_id, company_id, date_from, date_to)",
            "A person has one appraisal per period and company.",
        ),
    ]

    @api.depends_context("uid")
    @api.depends("state", "user_id")
    def _compute_ui_flags(self):
        for appraisal in self:
            appraisal.can_submit = appraisal.state in EDITABLE_STATES and (
                appraisal.user_id == self.env.user
                or self.env.user.has_group(MANAGER_GROUP)
            )
            appraisal.can_decide = (
                appraisal.state == "submitted" and appraisal._is_decider()
            )

    # ------------------------------------------------------------------
    # ORM: derived fields for nobody, frozen once submitted
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        if not is_internal(self.env):
            raise UserError(
                self.env._(
                    "Appraisals are created by Compute Appraisals (compute_appraisals), "
                    "not by hand."
                )
            )
        return super().create(vals_list)

    def _derived_fields(self):
        """The fields only the addon writes (extended by the payout, ranking...)."""
        return DERIVED_FIELDS

    def write(self, vals):
        refuse_derived(self, [vals], self._derived_fields())
        content = {name for name in vals if not name.startswith(MAIL_FIELD_PREFIXES)}
        if content and not is_internal(self.env):
            frozen = self.filtered(lambda a: a.state not in EDITABLE_STATES)
            if frozen:
                raise UserError(
                    self.env._(
                        "Appraisal %(name)s is %(state)s: it can no longer be changed.",
                        name=frozen[0].name,
                        state=dict(
                            self._fields["state"]._description_selection(self.env)
                        )[frozen[0].state],
                    )
                )
            if not self.env.user.has_group(MANAGER_GROUP) and self.filtered(
                lambda a: a.user_id != self.env.user
            ):
                raise AccessError(
                    self.env._("You can only comment on your own appraisal.")
                )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_decided(self):
        decided = self.filtered(lambda a: a.state in ("submitted", "approved"))
        if decided:
            raise UserError(
                self.env._(
                    "Appraisal %(name)s is submitted or approved and cannot be deleted.",
                    name=decided[0].name,
                )
            )

    # ------------------------------------------------------------------
    # Computation
    # ------------------------------------------------------------------
    @api.model
    def compute_appraisals(self, date_from, date_to, user_ids=None):
        """Create or refresh the draft (and rejected) appraisals of the period
        ``date_from``…``date_to`` (dates or ``YYYY-MM-DD`` strings) for the
        people credited on the current company's key accounts, or only
        ``user_ids``; submitted and approved appraisals are never touched.
        Key-account managers compute anyone's; a key account manager only
        their own. Returns the ids of the appraisals created or refreshed.

        A bounded number of queries, whatever the number of people and
        accounts.
        """
        date_from, date_to = self._parse_period(date_from, date_to)
        if user_ids is not None:
            if isinstance(user_ids, int):
                user_ids = [user_ids]
            if not isinstance(user_ids, (list, tuple)) or not all(
                isinstance(uid, int) for uid in user_ids
            ):
                raise UserError(
                    self.env._(
                        "user_ids is a list of user ids, not %(value)s.",
                        value=repr(user_ids),
                    )
                )
        if not self.env.su and not self.env.user.has_group(MANAGER_GROUP):
            if not self.env.user.has_group(KAM_GROUP):
                raise AccessError(
                    self.env._("Only the key-account team computes appraisals.")
                )
            if user_ids is not None and set(user_ids) - {self.env.uid}:
                raise AccessError(
                    self.env._(
                        "A key account manager computes their own appraisal only."
                    )
                )
            user_ids = [self.env.uid]
        company = self.env.company
        # sudo: the caller was checked above; the appraisal reads every account the person is credited on
        return self.sudo()._compute_appraisals(company, date_from, date_to, user_ids)

    @api.model
    def _parse_period(self, date_from, date_to):
        try:
            date_from = fields.Date.to_date(date_from)
            date_to = fields.Date.to_date(date_to)
        except (TypeError, ValueError):
            date_from = date_to = None
        if not isinstance(date_from, datetime.date) or not isinstance(
            date_to, datetime.date
        ):
            raise UserError(
                self.env._(
                    "compute_appraisals needs date_from and date_to as dates or "
                    "'YYYY-MM-DD' strings."
                )
            )
        if date_from > date_to or not kpi_math.period_in_range(date_from, date_to):
            raise UserError(
                self.env._(
                    "The appraisal period %(date_from)s – %(date_to)s is not valid.",
                    date_from=date_from,
                    date_to=date_to,
                )
            )
        return date_from, date_to

    def _compute_appraisals(self, company, date_from, date_to, user_ids):
        Partner = self.env["res.partner"]
        partners = Partner.search(
            [
                ("is_key_account", "=", True),
                ("company_id", "in", [company.id, False]),
            ]
        )
        credits = self.env["key.account.member"]._credits(partners, company)
        wanted = set(user_ids) if user_ids is not None else None
        # {user id: [(partner id, share)]}
        people = {}
        for partner_id, members in credits.items():
            for user_id, share in members:
                if wanted is not None and user_id not in wanted:
                    continue
                people.setdefault(user_id, []).append((partner_id, share))
        if wanted:
            for user_id in wanted:
                people.setdefault(user_id, [])
        if not people:
            return []
        partner_ids = sorted({pid for rows in people.values() for pid, _s in rows})
        kpis = {}
        reviewed = self._review_scores(
            company, date_from, date_to, partner_ids, kpis=kpis
        )
        from_values = self._value_scores(
            company, date_from, date_to, partner_ids, kpis=kpis
        )
        history = self._history_scores(company, date_from, date_to, partner_ids)
        # the accounts' tier weights and names in one query (the ORM's
        # prefetch read them 1,000 accounts a query)
        Partner.flush_model(["key_account_tier_id", "complete_name"])
        self.env["key.account.tier"].flush_model(["appraisal_weight"])
        accounts = self.env.execute_query(
            SQL(
                """
            SELECT p.id, p.complete_name, t.appraisal_weight
              FROM res_partner p
              LEFT JOIN key_account_tier t ON t.id = p.key_account_tier_id
             WHERE p.id = ANY(%s)
        """,
                partner_ids,
            )
        )
        weights = {pid: weight or 0.0 for pid, _name, weight in accounts}
        facts = {
            "reviewed": reviewed,
            "values": from_values,
            "kpis": kpis,
            "history": history,
            "weights": weights,
            "names": {pid: name for pid, name, _weight in accounts},
            "bands": self.env["key.account.grade"]._get_bands(company),
            "rates": self.env["key.account.grade"]._get_incentive_rates(company),
            "lambda": min(
                max(company.key_account_appraisal_long_term_weight, 0.0), 1.0
            ),
        }
        facts.update(self._payout_facts(company, people))
        facts["roles"] = self.env["key.account.member"]._main_roles(people, company)
        cycle = self.env["key.account.review.cycle"].search(
            [
                ("company_id", "=", company.id),
                ("date_from", "=", date_from),
                ("date_to", "=", date_to),
            ],
            limit=1,
        )
        period_type = kpi_math.period_type_of(date_from, date_to)
        label = (
            kpi_math.period_label(period_type, date_from, date_to)
            if period_type
            else "%s – %s" % (date_from, date_to)
        )
        previous_period = kpi_math.previous_period(date_from, date_to)
        existing = self.search(
            [
                ("company_id", "=", company.id),
                ("date_from", "in", [date_from, previous_period[0]]),
                ("date_to", "in", [date_to, previous_period[1]]),
                ("user_id", "in", list(people)),
            ]
        )
        current = {
            a.user_id.id: a
            for a in existing
            if (a.date_from, a.date_to) == (date_from, date_to)
        }
        previous = {
            a.user_id.id: a
            for a in existing
            if (a.date_from, a.date_to) == previous_period
        }
        facts["previous_weak"] = self._previous_weak([a.id for a in previous.values()])
        users = self.env["res.users"].browse(list(people))
        now = fields.Datetime.now()
        to_create, to_refresh, new_lines, old_lines = [], {}, {}, {}
        for user in users:
            appraisal = current.get(user.id)
            if appraisal and appraisal.state not in EDITABLE_STATES:
                continue
            vals, lines = self._person_values(
                people[user.id], facts, previous.get(user.id)
            )
            lines = lines + [
                dict(dev, _development=True)
                for dev in self._development_values(
                    people[user.id], facts, previous.get(user.id)
                )
            ]
            vals.update(self._payout_values(user.id, vals, facts))
            vals["role"] = facts["roles"][user.id]
            vals.update(
                cycle_id=cycle.id,
                period_label=label,
                team_id=user.sale_team_id.id,
                computed_date=now,
                name="%s · %s" % (user.name, label),
            )
            if appraisal:
                to_refresh[appraisal] = vals
                old_lines[appraisal.id] = lines
            else:
                to_create.append(
                    dict(
                        vals,
                        user_id=user.id,
                        company_id=company.id,
                        date_from=date_from,
                        date_to=date_to,
                    )
                )
                new_lines[user.id] = lines
        quiet = internal(self).with_context(
            tracking_disable=True, mail_create_nolog=True, mail_create_nosubscribe=True
        )
        created = quiet.create(to_create)
        refreshed = self.browse([a.id for a in to_refresh])
        if refreshed:
            internal(self.env["key.account.appraisal.line"]).search(
                [("appraisal_id", "in", refreshed.ids)]
            ).unlink()
            internal(self.env["key.account.appraisal.development"]).search(
                [("appraisal_id", "in", refreshed.ids)]
            ).unlink()
            for appraisal, vals in to_refresh.items():
                appraisal.with_env(quiet.env).write(vals)
        all_lines = [
            dict(vals, appraisal_id=appraisal.id)
            for appraisal in created
            for vals in new_lines[appraisal.user_id.id]
        ] + [
            dict(vals, appraisal_id=appraisal_id)
            for appraisal_id in refreshed.ids
            for vals in old_lines[appraisal_id]
        ]
        self._insert_lines([vals for vals in all_lines if not vals.get("_development")])
        internal(self.env["key.account.appraisal.development"]).create(
            [
                {k: v for k, v in vals.items() if k != "_development"}
                for vals in all_lines
                if vals.get("_development")
            ]
        )
        self._rank_period(company, date_from, date_to)
        return (created | refreshed).ids

    @api.model
    def _insert_lines(self, rows):
        """The appraisals' account lines in one INSERT ... SELECT, their
        stored related fields (person, company, start) taken from the
        appraisal in the same statement: the ORM inserts 100 rows a statement
        and then fills those fields, 400 statements for 20,000 accounts."""
        if not rows:
            return
        Line = self.env["key.account.appraisal.line"]
        Line.flush_model()
        self.flush_model(["user_id", "company_id", "date_from"])
        columns = {
            "appraisal_id": "int4",
            "partner_id": "int4",
            "share": "float8",
            "weight": "float8",
            "account_score": "float8",
            "has_score": "bool",
            "source": "varchar",
            "review_id": "int4",
            "review_score": "float8",
            "excluded_count": "int4",
            "long_term_score": "float8",
            "has_long_term": "bool",
        }
        unknown = {key for row in rows for key in row} - set(columns)
        if unknown:  # a value this statement would drop: say so, do not lose it
            raise ValueError("appraisal line values not written: %s" % sorted(unknown))

        def cell(row, name, sql_type):
            value = row.get(name)
            if sql_type == "bool":
                return bool(value)
            if name == "source":
                return value or "values"
            return None if value is False or value is None else value

        values = {
            name: [cell(row, name, sql_type) for row in rows]
            for name, sql_type in columns.items()
        }
        now = fields.Datetime.now()
        self.env.execute_query(
            SQL(
                """
            INSERT INTO key_account_appraisal_line (
                appraisal_id, partner_id, share, weight, account_score, has_score,
                source, review_id, review_score, excluded_count, long_term_score,
                has_long_term, user_id, company_id, date_from,
                create_uid, create_date, write_uid, write_date)
            SELECT x.*, a.user_id, a.company_id, a.date_from,
                   %(uid)s, %(now)s, %(uid)s, %(now)s
              FROM unnest(%(appraisal_id)s::int4[], %(partner_id)s::int4[],
                          %(share)s::float8[], %(weight)s::float8[],
                          %(account_score)s::float8[], %(has_score)s::bool[],
                          %(source)s::varchar[], %(review_id)s::int4[],
                          %(review_score)s::float8[], %(excluded_count)s::int4[],
                          %(long_term_score)s::float8[], %(has_long_term)s::bool[])
                   AS x(appraisal_id, partner_id, share, weight, account_score,
                        has_score, source, review_id, review_score, excluded_count,
                        long_term_score, has_long_term)
              JOIN key_account_appraisal a ON a.id = x.appraisal_id
        """,
                uid=self.env.uid,
                now=now,
                **values,
            )
        )
        Line.invalidate_model()
        self.invalidate_model(["line_ids"])

    @api.model
    def _person_values(self, credited, facts, before):
        """(appraisal values, line values) of one person credited on
        ``credited`` [(partner id, share)]: the definition of the score (see
        the class docstring); pure arithmetic over the gathered ``facts``."""
        lines = []
        short, long = [], []
        for partner_id, share in credited:
            weight = facts["weights"].get(partner_id) or 0.0
            if partner_id in facts["reviewed"]:
                review_id, s, own, left_out = facts["reviewed"][partner_id]
                source = "review"
            else:
                review_id, own, left_out = False, None, 0
                s = facts["values"].get(partner_id)
                source = "values"
            history = facts["history"].get(partner_id)
            lines.append(
                {
                    "partner_id": partner_id,
                    "share": share,
                    "weight": weight,
                    "account_score": s or 0.0,
                    "has_score": s is not None,
                    "source": source,
                    "review_id": review_id,
                    "review_score": own or 0.0,
                    "excluded_count": left_out,
                    "long_term_score": history or 0.0,
                    "has_long_term": history is not None,
                }
            )
            if s is not None:
                short.append((s, weight * share))
            if history is not None:
                long.append((history, weight * share))
        account_score = kpi_math.weighted_score(short)
        long_term = kpi_math.weighted_score(long)
        has_long_term = long_term is not None
        if long_term is None:
            long_term = account_score
        lam = facts["lambda"]
        score = (
            None
            if account_score is None
            else (1.0 - lam) * account_score + lam * long_term
        )
        grade = (
            kpi_math.grade_for(score, facts["bands"]) if score is not None else False
        )
        has_previous = bool(before and before.grade and grade)
        vals = {
            "account_score": account_score or 0.0,
            "long_term_score": long_term or 0.0,
            "has_long_term": has_long_term,
            "score": score or 0.0,
            "grade": grade,
            "incentive_rate": facts["rates"].get(grade, 0.0) if grade else 0.0,
            "previous_score": before.score if has_previous else 0.0,
            "has_previous": has_previous,
            "trend": (score - before.score) if has_previous else 0.0,
            "account_count": len(lines),
        }
        return vals, lines

    @api.model
    def _kpi_breakdown(self, credited, facts):
        """Per KPI of the accounts in ``credited`` [(partner id, share)] that
        count in the score: {kpi id: {"num": Σ W·s, "den": Σ W, "lost": points,
        "accounts": [(partner id, s)]}} with W = tier weight × share × KPI
        weight (the KPI's weighted score is num / den) and ``lost`` the points
        the KPI takes off the account score: Σ over the accounts of the
        account's weight in the score (w·share / Σ w·share) × the KPI's weight
        in the account (weight / Σ weight) × (100 − s); the ``lost`` of all
        KPIs add up to 100 − account score."""
        scored = []
        for partner_id, share in credited:
            weight = (facts["weights"].get(partner_id) or 0.0) * share
            rows = [row for row in facts["kpis"].get(partner_id, ()) if row[2] > 0]
            if weight > 0 and rows:
                scored.append((partner_id, weight, rows))
        total = sum(weight for _p, weight, _r in scored)
        kpis = {}
        for partner_id, weight, rows in scored:
            row_weights = sum(row[2] for row in rows)
            for kpi_id, s, line_weight in rows:
                kpi = kpis.setdefault(
                    kpi_id, {"num": 0.0, "den": 0.0, "lost": 0.0, "accounts": []}
                )
                kpi["num"] += weight * line_weight * s
                kpi["den"] += weight * line_weight
                kpi["lost"] += weight / total * line_weight / row_weights * (100.0 - s)
                kpi["accounts"].append((partner_id, s))
        return kpis

    @api.model
    def _development_values(self, credited, facts, before):
        """Values of the development lines of one person: the
        DEVELOPMENT_KPIS KPIs that take the most points off the account score
        (kind ``weak``, with the accounts below 100 on it, weakest first), and
        the weak KPIs of ``before`` (the person's appraisal of the previous
        period) with their weighted score then and now (kind ``follow_up``)."""
        kpis = self._kpi_breakdown(credited, facts)
        result = []
        weakest = sorted(
            (item for item in kpis.items() if item[1]["lost"] > 0.005),
            key=lambda item: (-item[1]["lost"], item[0]),
        )[:DEVELOPMENT_KPIS]
        for rank, (kpi_id, kpi) in enumerate(weakest, 1):
            accounts = sorted(
                ((pid, s) for pid, s in kpi["accounts"] if s < 100.0),
                key=lambda row: (row[1], row[0]),
            )
            result.append(
                {
                    "kind": "weak",
                    "sequence": rank,
                    "kpi_id": kpi_id,
                    "score": kpi["num"] / kpi["den"],
                    "has_score": True,
                    "points_lost": kpi["lost"],
                    "partner_ids": [fields.Command.set([pid for pid, _s in accounts])],
                    "accounts_detail": ", ".join(
                        "%s (%.0f)" % (facts["names"][pid], s) for pid, s in accounts
                    ),
                }
            )
        for rank, (kpi_id, previous_score) in enumerate(
            facts["previous_weak"].get(before.id, []) if before else [], 1
        ):
            kpi = kpis.get(kpi_id)
            score = kpi["num"] / kpi["den"] if kpi and kpi["den"] else None
            if score is None:
                movement = "no_data"
            elif score > previous_score + 0.005:
                movement = "improved"
            else:
                movement = "not_improved"
            result.append(
                {
                    "kind": "follow_up",
                    "sequence": rank,
                    "kpi_id": kpi_id,
                    "score": score or 0.0,
                    "has_score": score is not None,
                    "previous_score": previous_score,
                    "delta": (score - previous_score) if score is not None else 0.0,
                    "movement": movement,
                    "points_lost": kpi["lost"] if kpi else 0.0,
                    "partner_ids": [
                        fields.Command.set(
                            [pid for pid, s in kpi["accounts"] if s < 100.0]
                            if kpi
                            else []
                        )
                    ],
                }
            )
        return result

    @api.model
    def _previous_weak(self, appraisal_ids):
        """{appraisal id: [(kpi id, weighted score)]} of the weak KPIs of
        these appraisals, in their order (one query)."""
        if not appraisal_ids:
            return {}
        result = {}
        for row in self.env["key.account.appraisal.development"].search_read(
            [("appraisal_id", "in", appraisal_ids), ("kind", "=", "weak")],
            ["appraisal_id", "kpi_id", "score"],
            order="appraisal_id, sequence, id",
            load=None,
        ):
            result.setdefault(row["appraisal_id"], []).append(
                (row["kpi_id"], row["score"])
            )
        return result

    @api.model
    def _review_scores(self, company, date_from, date_to, partner_ids, kpis=None):
        """{partner id: (review id, score, review's own score, lines left out)}
        of the approved reviews of the period: the weighted mean of the frozen
        lines that have a value, without those whose external factor was
        accepted (None when none is left). Two queries. ``kpis`` (a dict)
        receives {partner id: [(kpi id, score, weight)]} of the kept lines."""
        reviews = self.env["key.account.review"].search_read(
            [
                ("company_id", "=", company.id),
                ("date_from", "=", date_from),
                ("date_to", "=", date_to),
                ("state", "=", "approved"),
                ("partner_id", "in", partner_ids),
            ],
            ["partner_id", "score"],
        )
        if not reviews:
            return {}
        lines = self.env["key.account.review.line"].search_read(
            [("review_id", "in", [r["id"] for r in reviews])],
            [
                "review_id",
                "kpi_id",
                "score",
                "weight",
                "has_value",
                "external_factor_effective",
            ],
            load=None,
        )
        partner_of = {review["id"]: review["partner_id"][0] for review in reviews}
        if kpis is not None:
            # an approved review answers for its account, even with no line kept
            for partner_id in partner_of.values():
                kpis.setdefault(partner_id, [])
        pairs, left_out = {}, {}
        for line in lines:
            review_id = line["review_id"]
            if line["external_factor_effective"]:
                left_out[review_id] = left_out.get(review_id, 0) + 1
                continue
            if line["has_value"]:
                pairs.setdefault(review_id, []).append((line["score"], line["weight"]))
                if kpis is not None:
                    kpis.setdefault(partner_of[review_id], []).append(
                        (line["kpi_id"], line["score"], line["weight"])
                    )
        return {
            review["partner_id"][0]: (
                review["id"],
                kpi_math.weighted_score(pairs.get(review["id"], [])),
                review["score"],
                left_out.get(review["id"], 0),
            )
            for review in reviews
        }

    @api.model
    def _value_scores(self, company, date_from, date_to, partner_ids, kpis=None):
        """{partner id: Σ weight·score / Σ weight} of the account's KPI values
        of the period and company (one query). ``kpis`` (a dict) receives
        {partner id: [(kpi id, score, weight)]} of the accounts it does not
        hold yet (those without an approved review)."""
        self.env["key.account.kpi.value"].flush_model(
            ["partner_id", "company_id", "date_from", "date_to", "score", "weight"]
        )
        rows = self.env.execute_query(
            SQL(
                """
            SELECT partner_id, kpi_id, SUM(score * weight), SUM(weight)
              FROM key_account_kpi_value
             WHERE company_id = %(company)s
               AND date_from = %(date_from)s AND date_to = %(date_to)s
               AND partner_id = ANY(%(partners)s)
               AND weight > 0 AND score IS NOT NULL
          GROUP BY partner_id, kpi_id
          ORDER BY partner_id, kpi_id
            """,
                company=company.id,
                date_from=date_from,
                date_to=date_to,
                partners=list(partner_ids),
            )
        )
        totals, per_kpi = {}, {}
        for pid, kpi_id, total, weights in rows:
            if not weights:
                continue
            num, den = totals.get(pid, (0.0, 0.0))
            totals[pid] = (num + total, den + weights)
            per_kpi.setdefault(pid, []).append((kpi_id, total / weights, weights))
        if kpis is not None:
            for pid, rows_of in per_kpi.items():
                kpis.setdefault(pid, rows_of)
        return {
            pid: max(0.0, min(100.0, num / den))
            for pid, (num, den) in totals.items()
            if den
        }

    @api.model
    def _history_scores(self, company, date_from, date_to, partner_ids):
        """{partner id: mean score over the previous three periods of the same
        length} from the score history (closed periods; one query)."""
        periods = []
        bounds = (date_from, date_to)
        for _i in range(LONG_TERM_PERIODS):
            bounds = kpi_math.previous_period(*bounds)
            periods.append(bounds)
        self.env["key.account.score.history"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
            SELECT h.partner_id, AVG(h.score)
              FROM key_account_score_history h
              JOIN unnest(%(starts)s::date[], %(ends)s::date[]) AS p(date_from, date_to)
                ON p.date_from = h.date_from AND p.date_to = h.date_to
             WHERE h.company_id = %(company)s
               AND h.partner_id = ANY(%(partners)s)
               AND h.is_running IS NOT TRUE
               AND h.grade IS NOT NULL
          GROUP BY h.partner_id
            """,
                starts=[p[0] for p in periods],
                ends=[p[1] for p in periods],
                company=company.id,
                partners=list(partner_ids),
            )
        )
        return dict(rows)

    # ------------------------------------------------------------------
    # Workflow
    # ------------------------------------------------------------------
    def _is_decider(self):
        """The person's team leader or a key-account manager, never the person."""
        self.ensure_one()
        user = self.env.user
        if user == self.user_id:
            return False
        if user.has_group(MANAGER_GROUP):
            return True
        person = self.user_id.sudo()
        leaders = person.sale_team_id.user_id | person.crm_team_ids.user_id
        return user in leaders

    def _check_decider(self):
        for appraisal in self:
            if self.env.user == appraisal.user_id:
                raise AccessError(
                    self.env._(
                        "You cannot approve or reject your own appraisal (%(name)s).",
                        name=appraisal.name,
                    )
                )
            if not appraisal._is_decider():
                raise AccessError(
                    self.env._(
                        "Only the team leader of %(person)s or a key-account manager can "
                        "decide on appraisal %(name)s.",
                        person=appraisal.user_id.name,
                        name=appraisal.name,
                    )
                )

    def _check_state(self, states, verb):
        for appraisal in self:
            if appraisal.state not in states:
                raise UserError(
                    self.env._(
                        "Appraisal %(name)s cannot be %(verb)s in its current status.",
                        name=appraisal.name,
                        verb=verb,
                    )
                )

    def action_submit(self):
        """The appraised person (or a key-account manager): ask for a decision."""
        self.check_access("read")
        self._check_state(EDITABLE_STATES, self.env._("submitted"))
        is_manager = self.env.user.has_group(MANAGER_GROUP)
        for appraisal in self:
            if appraisal.user_id != self.env.user and not is_manager:
                raise AccessError(
                    self.env._(
                        "Only %(person)s or a key-account manager can submit appraisal "
                        "%(name)s.",
                        person=appraisal.user_id.name,
                        name=appraisal.name,
                    )
                )
        # sudo: the submitter was checked just above
        internal(self.sudo()).write(
            {
                "state": "submitted",
                "submitted_by_id": self.env.uid,
                "submitted_date": fields.Datetime.now(),
                "reject_reason": False,
            }
        )
        # sudo: the submitter was checked above; chatter and to-do only
        appraisals = self.sudo()
        Review = self.env["key.account.review"]
        for company, of_company in appraisals.grouped("company_id").items():
            # the person's team leader, else a key-account manager of the
            # company (as for reviews): someone is always told
            approvers = Review._default_approvers(set(of_company.user_id), company)
            for appraisal in of_company:
                approver = approvers.get(appraisal.user_id)
                if approver and approver != appraisal.user_id:
                    appraisal.activity_schedule(
                        "mail.mail_activity_data_todo",
                        user_id=approver.id,
                        summary=self.env._(
                            "Approve the appraisal of %(person)s",
                            person=appraisal.user_id.name,
                        ),
                    )
        return True

    def action_approve(self):
        """Team leader or key-account manager: the appraisal is frozen."""
        self.check_access("read")
        self._check_state(("submitted",), self.env._("approved"))
        self._check_decider()
        # sudo: the decider was checked just above
        internal(self.sudo()).write(
            {
                "state": "approved",
                "approved_by_id": self.env.uid,
                "approved_date": fields.Datetime.now(),
            }
        )
        # sudo: the decider was checked above; activities only
        self.sudo().activity_feedback(
            ["mail.mail_activity_data_todo"],
            feedback=self.env._("Approved by %(user)s", user=self.env.user.name),
        )
        return True

    def action_reject(self, reason=None):
        """Team leader or key-account manager: send it back with a reason
        (``action_reject(reason="...")``)."""
        self.check_access("read")
        reason = self.env["key.account.review"]._reject_reason_text(reason)
        if not reason:
            raise UserError(
                self.env._(
                    'An appraisal is rejected with a reason: call action_reject(reason="...").'
                )
            )
        self._check_state(("submitted",), self.env._("rejected"))
        self._check_decider()
        # sudo: the decider was checked just above
        internal(self.sudo()).write(
            {
                "state": "rejected",
                "rejected_by_id": self.env.uid,
                "reject_reason": reason,
            }
        )
        # sudo: the decider was checked above; a chatter note only
        for appraisal in self.sudo():
            appraisal._message_log(
                body=Markup("<p><strong>%s</strong></p><p>%s</p>")
                % (self.env._("Appraisal rejected"), reason)
            )
        return True

    def action_open_reject_wizard(self):
        self.ensure_one()
        self._check_state(("submitted",), self.env._("rejected"))
        self._check_decider()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Reject Appraisal"),
            "res_model": "key.account.appraisal.reject.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_appraisal_id": self.id},
        }

    # ------------------------------------------------------------------
    # Development: coaching and training
    # ------------------------------------------------------------------
    def action_plan_coaching(self):
        """The person's team leader or a key-account manager plans a coaching
        conversation or a training for the appraised person: the Schedule
        Activity dialog, with the shipped "Coaching / training" type, the
        person and the weakest KPIs filled in. The activity shows in the
        appraisal's chatter."""
        self.ensure_one()
        self.check_access("read")
        if not self._is_decider():
            raise AccessError(
                self.env._(
                    "Only the team leader of %(person)s or a key-account manager plans "
                    "their coaching.",
                    person=self.user_id.name,
                )
            )
        activity_type = self.env.ref(COACHING_ACTIVITY)
        kpis = self.development_ids.kpi_id.mapped("name")
        note = Markup("")
        if self.development_ids:
            note = Markup("<p>%s</p><ul>%s</ul>") % (
                self.env._("Weakest KPIs of %(name)s:", name=self.name),
                Markup("").join(
                    Markup("<li>%s: %s (%s)</li>")
                    % (
                        dev.kpi_id.name,
                        kpi_math.format_score(dev.score, 1),
                        dev.accounts_detail or "",
                    )
                    for dev in self.development_ids
                ),
            )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Plan coaching"),
            "res_model": "mail.activity.schedule",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {
                "active_model": self._name,
                "active_id": self.id,
                "active_ids": [self.id],
                "default_activity_type_id": activity_type.id,
                "default_activity_user_id": self.user_id.id,
                "default_summary": self.env._(
                    "Coaching: %(kpis)s",
                    kpis=", ".join(kpis) if kpis else self.period_label,
                ),
                "default_note": note,
            },
        }

    # ------------------------------------------------------------------
    # Incentives export
    # ------------------------------------------------------------------
    def action_export_incentives(self):
        """Key-account managers: the appraisals (the selected ones, else those
        of the list's search: ``active_domain``) as an xlsx workbook, one row
        per appraisal (person, team, period, score, grade, incentive rate,
        accounts, status, variable-pay target, payout), downloaded from an attachment."""
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(
                self.env._("Only key-account managers export the incentives.")
            )
        appraisals = self or self.search(self.env.context.get("active_domain") or [])
        content = appraisals._incentives_xlsx()
        labels = set(appraisals.mapped("period_label"))
        name = "incentives_%s.xlsx" % (
            labels.pop().replace(" ", "_") if len(labels) == 1 else "appraisals"
        )
        attachment = self.env["ir.attachment"].create(
            {
                "name": name,
                "raw": content,
                "res_model": self._name,
                "mimetype": "application/vnd.openxmlformats-officedocument."
                "spreadsheetml.sheet",
            }
        )
        return {
            "type": "ir.actions.act_url",
            "url": "/web/content/%s?download=true" % attachment.id,
            "target": "self",
        }

    def _incentives_header(self):
        _ = self.env._
        return [
            _("Person"),
            _("Sales Team"),
            _("Period"),
            _("Score"),
            _("Grade"),
            _("Incentive Rate (%)"),
            _("Accounts"),
            _("Account Names"),
            _("Status"),
            _("Variable-Pay Target"),
            _("Payout (%)"),
            _("Payout"),
            _("Currency"),
        ]

    def _incentives_rows(self):
        states = dict(self._fields["state"]._description_selection(self.env))
        return [
            [
                appraisal.user_id.name,
                appraisal.team_id.name or "",
                appraisal.period_label or "",
                round(appraisal.score, 2),
                appraisal.grade or "",
                appraisal.incentive_rate,
                appraisal.account_count,
                ", ".join(appraisal.line_ids.partner_id.mapped("display_name")),
                states[appraisal.state],
                appraisal.payout_target,
                round(appraisal.payout_percent, 2),
                appraisal.currency_id.round(appraisal.payout_amount),
                appraisal.currency_id.name or "",
            ]
            for appraisal in self
        ]

    def _incentives_xlsx(self):
        """The workbook's bytes: a header row, then one row per appraisal."""
        buffer = io.BytesIO()
        workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
        sheet = workbook.add_worksheet(self.env._("Incentives"))
        bold = workbook.add_format({"bold": True})
        header = self._incentives_header()
        sheet.write_row(0, 0, header, bold)
        for row, values in enumerate(self._incentives_rows(), 1):
            sheet.write_row(row, 0, values)
        sheet.set_column(0, 2, 24)
        sheet.set_column(3, 6, 12)
        sheet.set_column(7, 7, 60)
        sheet.set_column(8, 12, 14)
        sheet.freeze_panes(1, 0)
        workbook.close()
        return buffer.getvalue()

    @api.model
    def _action_for_period(self, date_from, date_to, ids=None):
        """The team's appraisals of a period (after Compute Appraisals)."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "key_account_performance.action_key_account_appraisal_team"
        )
        action["domain"] = [
            ("date_from", "=", fields.Date.to_string(date_from)),
            ("date_to", "=", fields.Date.to_string(date_to)),
        ]
        return action

    def action_recompute(self):
        """Refresh these draft appraisals from the current reviews and values."""
        for (company, date_from, date_to), appraisals in self.grouped(
            lambda a: (a.company_id, a.date_from, a.date_to)
        ).items():
            self.with_company(company).compute_appraisals(
                date_from, date_to, appraisals.user_id.ids
            )
        return True


class KeyAccountAppraisalLine(models.Model):
    """One account in an appraisal: the person's share of it, the tier's
    weight and the account score used (from the approved review, or from the
    KPI values when there is none)."""

    _name = "key.account.appraisal.line"
    _description = "Key Account Appraisal Line"
    _order = "appraisal_id, weight desc, account_score desc, id"
    _rec_name = "partner_id"

    appraisal_id = fields.Many2one(
        "key.account.appraisal", required=True, index=True, ondelete="cascade"
    )
    user_id = fields.Many2one(related="appraisal_id.user_id", store=True)
    company_id = fields.Many2one(related="appraisal_id.company_id", store=True)
    date_from = fields.Date(related="appraisal_id.date_from", store=True)
    state = fields.Selection(related="appraisal_id.state", string="Appraisal Status")
    partner_id = fields.Many2one(
        "res.partner", string="Account", required=True, index=True, ondelete="cascade"
    )
    share = fields.Float(help="The person's share of the account (0-1).")
    weight = fields.Float(help="The appraisal weight of the account's tier.")
    account_score = fields.Float(
        aggregator="avg",
        help="The account's score used in the appraisal: from the approved review of the "
        "period without the KPIs hit by an accepted external factor, else from the KPI values.",
    )
    has_score = fields.Boolean(
        string="Scored",
        help="Unset: the account has no score for the period and does not count.",
    )
    source = fields.Selection(
        [("review", "Approved Review"), ("values", "KPI Values")],
        required=True,
        default="values",
    )
    review_id = fields.Many2one(
        "key.account.review", ondelete="set null", index="btree_not_null"
    )
    review_score = fields.Float(
        help="The account's own score in its review (external factors do not change it).",
    )
    excluded_count = fields.Integer(
        string="KPIs Left Out",
        help="KPIs of the review left out of the appraisal: their external factor was accepted.",
    )
    long_term_score = fields.Float(
        help="The account's mean score over the previous three periods.",
    )
    has_long_term = fields.Boolean(string="Has History")
    factor_note = fields.Char(
        string="Adjustment Reason",
        compute="_compute_factor_note",
        help="The external factors of the account's review: the KPI, the reason, bad luck or "
        "windfall, and the points it changes; those awaiting an administrator's second "
        "approval still count.",
    )

    @api.depends("review_id", "source")
    def _compute_factor_note(self):
        """One read of the external factors of all the lines' reviews."""
        factors = self.env["key.account.review.line"].search(
            [
                ("review_id", "in", self.review_id.ids),
                ("external_factor", "=", True),
            ],
            order="review_id, sequence, id",
        )
        by_review = factors.grouped("review_id")
        reasons = dict(
            factors._fields["external_factor_reason"]._description_selection(self.env)
        )
        directions = dict(
            factors._fields["external_factor_direction"]._description_selection(
                self.env
            )
        )
        for line in self:
            notes = []
            for factor in by_review.get(line.review_id, ()):
                if line.source != "review" or not factor.external_factor_accepted:
                    continue
                text = "%s: %s, %s (%s)" % (
                    factor.kpi_id.name,
                    reasons.get(factor.external_factor_reason, ""),
                    directions.get(
                        factor.external_factor_direction or "unfavourable", ""
                    ),
                    "%+.1f" % factor.external_factor_impact,
                )
                if not factor.external_factor_effective:
                    text = self.env._(
                        "%(factor)s, awaiting second approval", factor=text
                    )
                notes.append(text)
            line.factor_note = "; ".join(notes)

    @api.model_create_multi
    def create(self, vals_list):
        if not is_internal(self.env):
            raise UserError(
                self.env._(
                    "The accounts of an appraisal are worked out by Compute Appraisals."
                )
            )
        return super().create(vals_list)

    def write(self, vals):
        refuse_derived(self, [vals], frozenset(self._fields))
        return super().write(vals)


class KeyAccountAppraisalDevelopment(models.Model):
    """A KPI of an appraisal for the person's development, worked out by
    ``compute_appraisals``:

    * ``weak``: one of the KPIs that take the most points off the person's
      account score (``points_lost``), with its weighted score over the
      person's accounts (Σ W·s / Σ W, W = tier weight × share × KPI weight)
      and the accounts below 100 on it;
    * ``follow_up``: a weak KPI of the person's appraisal of the previous
      period, with its weighted score then and now (improved or not).
    """

    _name = "key.account.appraisal.development"
    _description = "Key Account Appraisal Development KPI"
    _order = "appraisal_id, kind, sequence, id"
    _rec_name = "kpi_id"

    appraisal_id = fields.Many2one(
        "key.account.appraisal", required=True, index=True, ondelete="cascade"
    )
    user_id = fields.Many2one(related="appraisal_id.user_id", store=True)
    company_id = fields.Many2one(related="appraisal_id.company_id", store=True)
    kind = fields.Selection(
        [("weak", "Weakest KPI"), ("follow_up", "Follow-up")],
        required=True,
        default="weak",
    )
    sequence = fields.Integer(default=1)
    kpi_id = fields.Many2one(
        "key.account.kpi", string="KPI", required=True, ondelete="cascade"
    )
    score = fields.Float(
        string="Weighted Score",
        help="Σ (tier weight × share × KPI weight × KPI score) / Σ (tier weight × share × "
        "KPI weight) over the person's accounts, this period.",
    )
    has_score = fields.Boolean(
        help="Unset: none of the person's accounts has a score on this KPI this period."
    )
    points_lost = fields.Float(
        help="Points this KPI takes off the account score: over the accounts, the account's "
        "weight in the score × the KPI's weight in the account × (100 − KPI score).",
    )
    partner_ids = fields.Many2many(
        "res.partner",
        "key_account_appraisal_development_partner_rel",
        "development_id",
        "partner_id",
        string="Accounts",
        help="The person's accounts below 100 on this KPI.",
    )
    accounts_detail = fields.Char(
        string="Accounts (score)",
        help="The accounts below 100 on this KPI with their KPI score, weakest first.",
    )
    previous_score = fields.Float(
        string="Previous Weighted Score",
        help="The KPI's weighted score in the previous period's appraisal.",
    )
    delta = fields.Float(string="Change")
    movement = fields.Selection(
        [
            ("improved", "Improved"),
            ("not_improved", "Not Improved"),
            ("no_data", "No Data"),
        ],
    )

    @api.model_create_multi
    def create(self, vals_list):
        if not is_internal(self.env):
            raise UserError(
                self.env._(
                    "The development KPIs of an appraisal are worked out by Compute "
                    "Appraisals."
                )
            )
        return super().create(vals_list)

    def write(self, vals):
        refuse_derived(self, [vals], frozenset(self._fields))
        return super().write(vals)
