import datetime
from collections import ChainMap

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..tools import kpi_math
from .guard import internal
from .key_account_appraisal import (
    DEVELOPMENT_KPIS,
    EDITABLE_STATES,
    KAM_GROUP,
    MANAGER_GROUP,
)


class KeyAccountAppraisal(models.Model):
    """The computation of the appraisals (see the class docstring of
    key_account_appraisal.py for the definition of the score): the people
    credited on the accounts, one pass of pure arithmetic per person over
    the facts gathered once for all (key_account_appraisal_sources.py), the
    rows written in a few statements."""

    _inherit = "key.account.appraisal"  # pylint: disable=consider-merging-classes-inherited

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
        Member = self.env["key.account.member"]
        facts["account_roles"] = Member._account_roles(people, company)
        facts["roles"] = Member._main_roles(people, company, facts["account_roles"])
        facts["role_kpis"] = self.env["key.account.role.kpi"]._weights(company)
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
        main_teams = users._key_account_main_teams()
        now = fields.Datetime.now()
        to_create, to_refresh, new_lines, old_lines = [], {}, {}, {}
        for user in users:
            appraisal = current.get(user.id)
            if appraisal and appraisal.state not in EDITABLE_STATES:
                continue
            own_facts = self._role_facts(user.id, people[user.id], facts)
            vals, lines = self._person_values(
                people[user.id], own_facts, previous.get(user.id)
            )
            for line in lines:
                line["role"] = facts["account_roles"].get(
                    (line["partner_id"], user.id), "sales"
                )
            lines = lines + [
                dict(dev, _development=True)
                for dev in self._development_values(
                    people[user.id], own_facts, previous.get(user.id)
                )
            ]
            vals.update(self._payout_values(user.id, vals, facts))
            vals["role"] = facts["roles"][user.id]
            vals.update(
                cycle_id=cycle.id,
                period_label=label,
                team_id=main_teams[user.id].id,
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
            "role": "varchar",
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
            if name == "role":
                return value or "sales"
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
                has_long_term, role, user_id, company_id, date_from,
                create_uid, create_date, write_uid, write_date)
            SELECT x.*, a.user_id, a.company_id, a.date_from,
                   %(uid)s, %(now)s, %(uid)s, %(now)s
              FROM unnest(%(appraisal_id)s::int4[], %(partner_id)s::int4[],
                          %(share)s::float8[], %(weight)s::float8[],
                          %(account_score)s::float8[], %(has_score)s::bool[],
                          %(source)s::varchar[], %(review_id)s::int4[],
                          %(review_score)s::float8[], %(excluded_count)s::int4[],
                          %(long_term_score)s::float8[], %(has_long_term)s::bool[],
                          %(role)s::varchar[])
                   AS x(appraisal_id, partner_id, share, weight, account_score,
                        has_score, source, review_id, review_score, excluded_count,
                        long_term_score, has_long_term, role)
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
    def _role_facts(self, user_id, credited, facts):
        """``facts`` as one person sees them: on the accounts where their
        role has its own KPIs (``key.account.role.kpi``), the account's score
        is Σ w·s / Σ w over those KPIs only, w the role's weights (an account
        whose template has none of them counts every KPI, as for a role
        without KPIs of its own), and the KPI rows the development
        reads are those KPIs with those weights. ``facts`` itself when no
        account changes (a role counting every KPI: the design's score)."""
        role_kpis = facts.get("role_kpis") or {}
        if not role_kpis:
            return facts
        kpis, reviewed, values = {}, {}, {}
        for partner_id, _share in credited:
            role = facts["account_roles"].get((partner_id, user_id), "sales")
            weights = role_kpis.get(role)
            if not weights:
                continue
            rows = [
                (kpi_id, score, weights[kpi_id])
                for kpi_id, score, _weight in facts["kpis"].get(partner_id, ())
                if kpi_id in weights
            ]
            if not rows:
                # the account's template has none of the role's KPIs: the
                # role counts every KPI there (the design's score)
                continue
            score = kpi_math.weighted_score([(s, w) for _k, s, w in rows])
            kpis[partner_id] = rows
            if partner_id in facts["reviewed"]:
                review_id, _s, own, left_out = facts["reviewed"][partner_id]
                reviewed[partner_id] = (review_id, score, own, left_out)
            else:
                values[partner_id] = score
        if not kpis:
            return facts
        return dict(
            facts,
            kpis=ChainMap(kpis, facts["kpis"]),
            reviewed=ChainMap(reviewed, facts["reviewed"]),
            values=ChainMap(values, facts["values"]),
        )

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
