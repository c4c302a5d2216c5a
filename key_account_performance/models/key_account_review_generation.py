"""Review generation for a cycle: the reviews and their lines of many accounts
in a few statements (the SQL builders are in ``sql/reviews.py``), and the
refresh of a draft's lines from the account's KPI values."""

import collections

from odoo import api, fields, models
from odoo.tools import SQL

from ..sql import pg_array as _pg_array
from ..sql import reviews as sql_reviews
from ..tools import kpi_math
from .key_account_mail_sender import log_notes, log_tracking, subscribe
from .key_account_review import (
    EDITABLE_STATES,
    LINE_FIELDS,
)

# a KPI value as review lines read it (id and figure)
PeriodValue = collections.namedtuple("PeriodValue", "id value")


class KeyAccountReviewGeneration(models.Model):
    _inherit = "key.account.review"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------
    # Generation
    # ------------------------------------------------------------------
    @api.model
    def _create_for_partners(self, cycle, partners):
        """Create the reviews of ``partners`` in ``cycle``, lines pre-filled
        from the period's KPI values and the account's template.

        In a fixed number of statements, whatever the number of accounts:
        one INSERT of the reviews, one of their lines (their stored computed
        fields worked out here, as their computes do), two of the followers
        (the user who generates, and each review's KAM) and one of the
        creation notes. The ORM's create would insert 100 rows per
        statement, and subscribe each review's KAM and e-mail them "you have
        been assigned" one review at a time (about 13 queries and one e-mail
        per account). A KAM is not e-mailed for each account of a cycle: the
        reviews are in their *My Reviews* and they follow them.
        """
        if not partners:
            return self.browse()
        company = cycle.company_id
        accounts = self._account_rows(partners.ids)
        templates = self._templates_of(accounts, company)
        values = self._period_values(
            partners.ids, cycle.date_from, cycle.date_to, company
        )
        previous = self._previous_reviews(partners, cycle.date_from, cycle.company_id)
        by_partner = {}  # grouped once: not a scan of every value per partner
        for (pid, kpi_id), value in values.items():
            by_partner.setdefault(pid, {})[kpi_id] = value
        grade_bands = self.env["key.account.grade"]._get_bands(company)
        users = (
            self.env["res.users"]
            .sudo()
            .browse({row["kam_id"] for row in accounts.values() if row["kam_id"]})
        )
        users.fetch(["active", "partner_id"])
        kams = {
            pid: self.env["res.users"].browse(row["kam_id"]).sudo()
            for pid, row in accounts.items()
        }
        approvers = self._default_approvers(set(kams.values()), company)
        review_rows, lines_of = [], {}
        for partner in partners:
            template = templates.get(partner.id)
            lines = [
                self._line_row(vals)
                for vals in self._line_values(template, by_partner.get(partner.id, {}))
            ]
            score = kpi_math.weighted_score(
                (line["score"], line["weight"]) for line in lines if line["has_value"]
            )
            kam = kams[partner.id]
            review_rows.append(
                (
                    partner.id,
                    kam.id or None,
                    approvers[kam].id or None,
                    template.id if template else None,
                    template.version if template else 0,
                    previous.get(partner.id) or None,
                    "%s – %s" % (cycle.name or "", accounts[partner.id]["name"] or ""),
                    score or 0.0,
                    (kpi_math.grade_for(score, grade_bands) or None)
                    if score is not None
                    else None,
                    sum(1 for line in lines if line["status"] == "alert"),
                )
            )
            lines_of[partner.id] = lines
        self.flush_model()
        self.env["key.account.review.line"].flush_model()
        created = self.env.execute_query(
            sql_reviews.insert_reviews(
                cycle, company.id, (self.env.uid, fields.Datetime.now()), review_rows
            )
        )
        review_of = {pid: rid for rid, pid in created}
        self._insert_lines(
            [
                dict(
                    line,
                    review_id=review_of[pid],
                    partner_id=pid,
                    company_id=company.id,
                    date_from=cycle.date_from,
                    date_to=cycle.date_to,
                )
                for pid, lines in lines_of.items()
                for line in lines
            ]
        )
        self.invalidate_model()
        self.env["key.account.review.line"].invalidate_model()
        cycle.invalidate_recordset(["review_ids"])
        reviews = self.browse(sorted(review_of.values()))
        # what mail.thread's create does, in bulk: the user who generates
        # follows the reviews (OdooBot, who runs the scheduled action, is
        # inactive and does not), each review's KAM follows it, and each
        # review's chatter starts with its creation note
        me = self.env.user
        creator = [me.partner_id.id] if me.active else []
        subscribe(
            self.env,
            self._name,
            {
                review_of[pid]: creator
                + ([kams[pid].partner_id.id] if kams[pid].active else [])
                for pid in review_of
            },
        )
        # mail's own "<document> created", in the language of who generates
        note = reviews[:1]._creation_message()
        log_notes(
            self.env,
            self._name,
            {rid: note for rid in reviews.ids},
            message_type="notification",
        )
        return reviews

    @api.model
    def _line_row(self, vals):
        """A line's stored values from ``_line_values``, with the score and
        status its compute gives."""
        score = (
            kpi_math.kpi_score(
                vals["value"], vals["target"], vals["threshold"], vals["direction"]
            )
            if vals["has_value"]
            else None
        )
        return dict(
            vals,
            kpi_value_id=vals["kpi_value_id"] or None,
            score=score or 0.0,
            status=kpi_math.score_status(score) or None,
        )

    @api.model
    def _insert_lines(self, rows):
        """Insert review lines, one statement: ``rows`` are dicts of the
        line's stored fields (those of ``_line_row`` and the review's
        partner, company and dates)."""
        keys = (
            "review_id",
            "partner_id",
            "company_id",
            "date_from",
            "date_to",
            "kpi_id",
        ) + LINE_FIELDS
        columns = {
            key: _pg_array(
                str(row[key]) if key.startswith("date_") else row[key] for row in rows
            )
            for key in keys
        }
        self.env.execute_query(
            sql_reviews.insert_review_lines(
                (self.env.uid, fields.Datetime.now()), columns
            )
        )

    @api.model
    def _account_rows(self, partner_ids):
        """{partner id: {name, kam_id, template_id, tier_id, segment_id}} of
        accounts, one query (the KAM: the key account manager, else the
        salesperson)."""
        self.env["res.partner"].flush_model(
            [
                "name",
                "complete_name",  # the reviews' partner_name
                "key_account_manager_id",
                "user_id",
                "key_account_template_id",
                "key_account_tier_id",
                "key_account_segment_id",
            ]
        )
        rows = self.env.execute_query_dict(
            SQL(
                """
            SELECT id, name, COALESCE(key_account_manager_id, user_id) AS kam_id,
                   key_account_template_id AS template_id,
                   key_account_tier_id AS tier_id, key_account_segment_id AS segment_id
              FROM res_partner WHERE id = ANY(%s::int[])
        """,
                _pg_array(partner_ids),
            )
        )
        return {row["id"]: row for row in rows}

    @api.model
    def _templates_of(self, accounts, company):
        """{partner id: template (maybe empty)} of ``_account_rows``."""
        Template = self.env["key.account.kpi.template"].sudo()
        template_ids = Template._resolve_for_rows(
            {
                pid: (row["template_id"], row["tier_id"], row["segment_id"])
                for pid, row in accounts.items()
            },
            company,
        )
        return {
            pid: Template.browse(template_id).with_env(self.env)
            for pid, template_id in template_ids.items()
        }

    @api.model
    def _period_values(self, partner_ids, date_from, date_to, company):
        """{(partner id, kpi id): PeriodValue(id, value)} of a period computed
        by ``company``, one query."""
        self.env["key.account.kpi.value"].flush_model(
            ["partner_id", "kpi_id", "date_from", "date_to", "value"]
        )
        rows = self.env.execute_query(
            SQL(
                """
            SELECT partner_id, kpi_id, id, value FROM key_account_kpi_value
             WHERE partner_id = ANY(%s::int[]) AND company_id = %s
               AND date_from = %s AND date_to = %s
        """,
                _pg_array(partner_ids),
                company.id,
                date_from,
                date_to,
            )
        )
        return {
            (pid, kpi_id): PeriodValue(vid, value) for pid, kpi_id, vid, value in rows
        }

    @api.model
    def _previous_reviews(self, partners, before, company):
        """{partner id: id of the company's latest review of the account that
        ended before ``before``}, one query (another company's review of a
        shared partner is not this company's previous review)."""
        self.flush_model(["partner_id", "date_to", "company_id"])
        rows = self.env.execute_query(
            SQL(
                """
            SELECT DISTINCT ON (partner_id) partner_id, id FROM key_account_review
             WHERE partner_id = ANY(%s::int[]) AND date_to < %s AND company_id = %s
             ORDER BY partner_id, date_to DESC, id DESC
        """,
                _pg_array(partners.ids),
                before,
                company.id,
            )
        )
        return dict(rows)

    @api.model
    def _line_values(self, template, values_by_kpi):
        """Values of the review lines for a template and {kpi id: kpi value}."""
        result = []
        if not template:
            return result
        for line in template.sudo().line_ids.filtered("kpi_id.active"):
            kpi = line.kpi_id
            value = values_by_kpi.get(kpi.id)
            result.append(
                {
                    "sequence": line.sequence,
                    "kpi_id": kpi.id,
                    "is_manual": kpi.computation_mode == "manual",
                    "direction": kpi.direction,
                    "target": line.target,
                    "threshold": line.threshold,
                    "weight": line.weight,
                    "value": value.value if value else 0.0,
                    "has_value": bool(value),
                    "kpi_value_id": value.id if value else False,
                }
            )
        return result

    def _refresh_lines(self):
        """Re-read the computed values (and the template's current bands) into
        draft or rejected reviews; manual values and comments are kept.

        A fixed number of statements whatever the number of reviews (one
        UPDATE of the kept lines, one INSERT of the new ones, one DELETE of
        those the template dropped, one UPDATE of the reviews), the stored
        scores worked out here as their computes do."""
        Line = self.env["key.account.review.line"]
        # what is pending (a manual value just typed) is read as stored
        self.env.flush_all()
        # the reviews and their lines in one query each, not through the
        # ORM's prefetch (1,000 records per query)
        heads_of = {
            row["id"]: row
            for row in self.env.execute_query_dict(
                SQL(
                    """
                SELECT id, cycle_id, company_id, partner_id, date_from, date_to,
                       score, grade
                  FROM key_account_review
                 WHERE id = ANY(%s::int[]) AND state IN %s
            """,
                    _pg_array(self.ids),
                    EDITABLE_STATES,
                )
            )
        }
        if not heads_of:
            return True
        lines_of = {}
        for row in self.env.execute_query_dict(
            SQL(
                """
            SELECT id, review_id, kpi_id, is_manual, direction, value, has_value,
                   kpi_value_id
              FROM key_account_review_line WHERE review_id = ANY(%s::int[])
        """,
                _pg_array(list(heads_of)),
            )
        ):
            lines_of.setdefault(row["review_id"], {})[row["kpi_id"]] = row
        groups = {}
        for head in heads_of.values():
            key = (head["company_id"], head["date_from"], head["date_to"])
            groups.setdefault(key, []).append(head)
        kept, new, dropped, heads, tracked = [], [], [], [], {}
        for (company_id, date_from, date_to), group in groups.items():
            company = self.env["res.company"].browse(company_id)
            partner_ids = [head["partner_id"] for head in group]
            templates = self._templates_of(self._account_rows(partner_ids), company)
            values = self._period_values(partner_ids, date_from, date_to, company)
            by_partner = {}
            for (pid, kpi_id), value in values.items():
                by_partner.setdefault(pid, {})[kpi_id] = value
            grade_bands = self.env["key.account.grade"]._get_bands(company)
            for head in group:
                pid = head["partner_id"]
                template = templates.get(pid)
                existing = dict(lines_of.get(head["id"], {}))
                final = []
                for vals in self._line_values(template, by_partner.get(pid, {})):
                    line = existing.pop(vals["kpi_id"], None)
                    if line is not None and line["is_manual"]:
                        # the KAM's value stays; the band follows the template
                        vals = dict(
                            vals,
                            is_manual=True,
                            direction=line["direction"],
                            value=line["value"] or 0.0,
                            has_value=bool(line["has_value"]),
                            kpi_value_id=line["kpi_value_id"],
                        )
                    row = self._line_row(vals)
                    if line is None:
                        new.append(
                            dict(
                                row,
                                review_id=head["id"],
                                partner_id=pid,
                                company_id=company_id,
                                date_from=date_from,
                                date_to=date_to,
                            )
                        )
                    else:
                        kept.append(dict(row, id=line["id"]))
                    final.append(row)
                dropped.extend(line["id"] for line in existing.values())
                score = kpi_math.weighted_score(
                    (row["score"], row["weight"]) for row in final if row["has_value"]
                )
                grade = (
                    (kpi_math.grade_for(score, grade_bands) or None)
                    if score is not None
                    else None
                )
                tracked[head["id"]] = [
                    (name, before, after)
                    for name, before, after in (
                        ("score", head["score"] or 0.0, score or 0.0),
                        ("grade", head["grade"] or None, grade),
                    )
                    if before != after
                ]
                heads.append(
                    (
                        head["id"],
                        template.id if template else None,
                        template.version if template else 0,
                        score or 0.0,
                        grade,
                        sum(1 for row in final if row["status"] == "alert"),
                    )
                )
        now = fields.Datetime.now()
        keys = ("id",) + LINE_FIELDS
        self.env.execute_query(
            SQL(
                """
            UPDATE key_account_review_line l
               SET sequence = x.sequence, is_manual = x.is_manual, direction = x.direction,
                   value = x.value, has_value = x.has_value, target = x.target,
                   threshold = x.threshold, weight = x.weight, score = x.score,
                   status = x.status, kpi_value_id = x.kpi_value_id,
                   write_uid = %(uid)s, write_date = %(now)s
              FROM unnest(%(id)s::int[], %(sequence)s::int[], %(is_manual)s::bool[],
                          %(direction)s::varchar[], %(value)s::float8[], %(has_value)s::bool[],
                          %(target)s::float8[], %(threshold)s::float8[], %(weight)s::float8[],
                          %(score)s::float8[], %(status)s::varchar[], %(kpi_value_id)s::int[])
                   AS x(id, sequence, is_manual, direction, value, has_value, target,
                        threshold, weight, score, status, kpi_value_id)
             WHERE l.id = x.id
        """,
                uid=self.env.uid,
                now=now,
                **{key: _pg_array(row[key] for row in kept) for key in keys},
            )
        )
        self._insert_lines(new)
        self.env.execute_query(
            SQL(
                "DELETE FROM key_account_review_line WHERE id = ANY(%s::int[])",
                _pg_array(dropped),
            )
        )
        columns = list(zip(*heads))
        self.env.execute_query(
            SQL(
                """
            UPDATE key_account_review r
               SET template_id = x.t, template_version = x.tv, score = x.s, grade = x.g,
                   alert_count = x.al, write_uid = %(uid)s, write_date = %(now)s
              FROM unnest(%(id)s::int[], %(t)s::int[], %(tv)s::int[], %(s)s::float8[],
                          %(g)s::varchar[], %(al)s::int[]) AS x(id, t, tv, s, g, al)
             WHERE r.id = x.id
        """,
                uid=self.env.uid,
                now=now,
                id=_pg_array(columns[0]),
                t=_pg_array(columns[1]),
                tv=_pg_array(columns[2]),
                s=_pg_array(columns[3]),
                g=list(columns[4]),
                al=_pg_array(columns[5]),
            )
        )
        self.invalidate_model()
        Line.invalidate_model()
        # the chatter tracks score and grade (tracking=True) as a write would
        if not self.env.context.get("tracking_disable") and not self.env.context.get(
            "mail_notrack"
        ):
            log_tracking(self.env, self._name, tracked)
        return True
