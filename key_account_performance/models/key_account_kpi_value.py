import datetime
import logging

from odoo import api, fields, models, modules
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from ..tools import kpi_math

_logger = logging.getLogger(__name__)

CRON_BATCH_SIZE = 1000


class KeyAccountKpiValue(models.Model):
    """One measured KPI for one partner and one period."""

    _name = "key.account.kpi.value"
    _description = "Key Account KPI Value"
    _order = "date_from desc, partner_id, kpi_sequence, id"
    _rec_name = "kpi_id"

    # ------------------------------------------------------------------
    # Keys
    # ------------------------------------------------------------------
    partner_id = fields.Many2one(
        "res.partner", string="Account", required=True, index=True, ondelete="cascade")
    kpi_id = fields.Many2one(
        "key.account.kpi", string="KPI", required=True, index=True, ondelete="cascade")
    date_from = fields.Date(required=True, index=True)
    date_to = fields.Date(required=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company)
    template_id = fields.Many2one("key.account.kpi.template", ondelete="set null")

    # ------------------------------------------------------------------
    # Measure and score
    # ------------------------------------------------------------------
    value = fields.Float(aggregator="avg")
    target = fields.Float(aggregator="avg")
    threshold = fields.Float(aggregator="avg")
    weight = fields.Float(default=1.0, aggregator="avg")
    score = fields.Float(
        compute="_compute_score", store=True, aggregator="avg",
        help="0 at the threshold, 100 at the target, linear in between.")
    is_manual = fields.Boolean(help="Entered by hand rather than computed.")
    comment = fields.Text()

    # ------------------------------------------------------------------
    # Display helpers
    # ------------------------------------------------------------------
    kpi_code = fields.Char(related="kpi_id.code", store=True, string="KPI Code")
    kpi_sequence = fields.Integer(related="kpi_id.sequence", store=True)
    computation_mode = fields.Selection(related="kpi_id.computation_mode")
    direction = fields.Selection(related="kpi_id.direction")
    unit = fields.Char(related="kpi_id.unit")
    user_id = fields.Many2one(
        related="partner_id.key_account_manager_id", store=True, string="Key Account Manager")
    tier_id = fields.Many2one(related="partner_id.key_account_tier_id", store=True, string="Tier")
    status = fields.Selection(
        list(kpi_math.SCORE_STATUSES), compute="_compute_score", store=True)
    is_running = fields.Boolean(
        string="Running Period", compute="_compute_is_running", search="_search_is_running",
        help="The period is not over yet: figures are period-to-date.")

    _sql_constraints = [
        ("partner_kpi_period_unique", "UNIQUE(partner_id, kpi_id, date_from, date_to)",
         "There is already a value for this account, KPI and period."),
        ("period_order", "CHECK(date_from <= date_to)",
         "The end of the period cannot be before its start."),
    ]

    @api.depends("value", "target", "threshold", "kpi_id.direction")
    def _compute_score(self):
        for record in self:
            score = kpi_math.kpi_score(
                record.value, record.target, record.threshold, record.kpi_id.direction or "higher")
            record.score = score or 0.0
            record.status = kpi_math.score_status(score)

    def _compute_is_running(self):
        today = fields.Date.context_today(self)
        for record in self:
            record.is_running = bool(record.date_to and record.date_to >= today)

    def _search_is_running(self, operator, value):
        if operator not in ("=", "!="):
            raise UserError(self.env._("Unsupported search on running period."))
        running = (operator == "=") == bool(value)
        today = fields.Date.context_today(self)
        return [("date_to", ">=" if running else "<", today)]

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        for record in self:
            if record.date_to < record.date_from:
                raise ValidationError(self.env._(
                    "The end of the period (%(date_to)s) cannot be before its start (%(date_from)s).",
                    date_to=record.date_to, date_from=record.date_from))

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_open_records(self):
        """Open the source records a value was computed from."""
        self.ensure_one()
        Model, ids = self.kpi_id._gather_record_ids(
            self.partner_id.commercial_partner_id.id, self.date_from, self.date_to, self.company_id)
        if not ids:
            raise UserError(self.env._(
                "KPI %(kpi)s is not computed from records (mode %(mode)s) or has none "
                "in this period.", kpi=self.kpi_id.name, mode=self.computation_mode))
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("%(kpi)s – %(partner)s", kpi=self.kpi_id.name,
                               partner=self.partner_id.display_name),
            "res_model": Model._name,
            "view_mode": "list,form",
            "views": [(False, "list"), (False, "form")],
            "domain": [("id", "in", ids)],
            "context": {"create": False},
        }

    # ------------------------------------------------------------------
    # Public API
    # ------------------------------------------------------------------
    @api.model
    def compute_for_period(self, date_from, date_to, partner_ids=None):
        """Compute the KPI values of key accounts for an inclusive period.

        :param date_from: first day, a date or a ``YYYY-MM-DD`` string
        :param date_to: last day, a date or a ``YYYY-MM-DD`` string
        :param partner_ids: partner ids (contacts count for their company);
            all key accounts of the current company when omitted
        :return: ids of the values computed (created or updated)
        """
        date_from, date_to = self._parse_period(date_from, date_to)
        self.check_access("create")
        company = self.env.company
        partners = self._partners_for_compute(partner_ids, company)
        if not partners:
            return []
        return self._compute_values(partners, date_from, date_to, company)

    @api.model
    def _parse_period(self, date_from, date_to):
        def parse(value, label):
            if isinstance(value, datetime.datetime):
                return value.date()
            if isinstance(value, datetime.date):
                return value
            if isinstance(value, str):
                try:
                    return datetime.date.fromisoformat(value.strip())
                except ValueError:
                    pass
            raise ValidationError(self.env._(
                "%(label)s must be a date in the form YYYY-MM-DD, got %(value)r.",
                label=label, value=value))
        date_from = parse(date_from, "date_from")
        date_to = parse(date_to, "date_to")
        if date_to < date_from:
            raise ValidationError(self.env._(
                "date_to (%(date_to)s) is before date_from (%(date_from)s).",
                date_to=date_to, date_from=date_from))
        return date_from, date_to

    @api.model
    def _partners_for_compute(self, partner_ids, company):
        Partner = self.env["res.partner"]
        if partner_ids in (None, False):
            domain = [("is_key_account", "=", True), ("company_id", "in", [company.id, False])]
            if not self.env.su and not self.env.user.has_group(
                    "key_account_performance.group_key_account_manager"):
                domain.append(("key_account_manager_id", "=", self.env.uid))
            return Partner.sudo().search(domain)
        if isinstance(partner_ids, int):
            partner_ids = [partner_ids]
        if not isinstance(partner_ids, (list, tuple)) or not all(
                isinstance(pid, int) and not isinstance(pid, bool) for pid in partner_ids):
            raise ValidationError(self.env._(
                "partner_ids must be a list of partner ids, got %(value)r.", value=partner_ids))
        partners = Partner.browse(partner_ids).exists()
        missing = set(partner_ids) - set(partners.ids)
        if missing:
            raise ValidationError(self.env._(
                "These partners do not exist: %(ids)s.", ids=sorted(missing)))
        partners.check_access("read")
        partners = partners.sudo().commercial_partner_id
        # values are written in SQL: a KAM computes only the accounts they manage
        if not self.env.su and not self.env.user.has_group(
                "key_account_performance.group_key_account_manager"):
            foreign = partners.filtered(lambda p: p.key_account_manager_id != self.env.user)
            if foreign:
                raise AccessError(self.env._(
                    "You can only compute the KPIs of the accounts you manage (not %(names)s).",
                    names=", ".join(foreign[:5].mapped("display_name"))))
        return partners

    # ------------------------------------------------------------------
    # Engine
    # ------------------------------------------------------------------
    def _compute_values(self, partners, date_from, date_to, company):
        """Gather every KPI once for all partners, upsert, score the accounts.

        Per-partner work is plain Python over dicts: the ORM is only used for
        a handful of reads whose number does not depend on the partners.
        """
        Template = self.env["key.account.kpi.template"]
        template_of = {pid: template.id or None for pid, template in
                       Template._resolve_for_partners(partners, company).items()}
        bands = Template.browse(list(set(filter(None, template_of.values()))))._kpi_bands()
        kpis = self.env["key.account.kpi"].sudo().browse(
            {kpi_id for band in bands.values() for kpi_id in band})
        kpis = kpis.filtered("active").sorted(lambda k: (k.sequence, k.id))
        partner_ids = partners.ids
        partner_info = {p.id: (p.key_account_manager_id.id or None, p.key_account_tier_id.id or None)
                        for p in partners}
        memo = {}
        now = fields.Datetime.now()
        rows = []
        stale = []  # (kpi id, partner id) computed to "no data": their old value goes
        for kpi in kpis:
            if kpi.computation_mode == "manual":
                continue
            try:
                with self.env.cr.savepoint():
                    values = kpi._engine_values(partner_ids, date_from, date_to, memo, company)
            except Exception as exc:  # noqa: BLE001 - a broken KPI must not stop the others
                _logger.warning("KPI %s failed: %s", kpi.code, exc)
                memo.pop((kpi.id, date_from, date_to), None)
                kpi.write({"last_run": now, "last_error": str(exc) or repr(exc)})
                continue
            kpi.write({"last_run": now, "last_success": now, "last_error": False})
            kpi_id, code, sequence, direction = kpi.id, kpi.code, kpi.sequence, kpi.direction
            filled = kpi.computation_mode in ("count", "sum")
            for pid in partner_ids:
                template_id = template_of[pid]
                band = template_id and bands[template_id].get(kpi_id)
                if not band:
                    continue
                value = values.get(pid)
                if value is None:
                    if not filled:
                        stale.append((kpi_id, pid))
                        continue
                    value = 0.0
                target, threshold, weight = band
                score = kpi_math.kpi_score(value, target, threshold, direction)
                manager_id, tier_id = partner_info[pid]
                status = kpi_math.score_status(score) or None
                rows.append((pid, kpi_id, value, target, threshold, weight, score, status,
                             template_id, code, sequence, manager_id, tier_id))
        value_ids = self._upsert(rows, date_from, date_to, company, stale)
        self._refresh_manual_values(partner_ids, template_of, bands, date_from, date_to)
        changes = self._update_partner_scores(
            partners, template_of, bands, date_from, date_to, company)
        self._after_compute(self.browse(value_ids), partners, date_from, date_to, changes)
        return value_ids

    def _upsert(self, rows, date_from, date_to, company, stale):
        """Insert or update all rows in one statement; drop values gone to 'no data'."""
        self.flush_model()
        ids = []
        if rows:
            columns = list(zip(*rows))
            # array literals ('{1,2,3}') parse far faster than ARRAY[...] of
            # 100,000s of parameters
            arrays = dict(zip(("p", "k", "val", "tgt", "thr", "w", "s", "st", "t", "kc",
                               "ks", "u", "ti"), map(_pg_array, columns)))
            # rows whose figures did not change are left alone (no dead tuples,
            # no write_date churn): a daily recomputation mostly rewrites nothing
            self.env.execute_query(SQL("""
                INSERT INTO key_account_kpi_value AS v (
                    partner_id, kpi_id, value, target, threshold, weight, score, status,
                    template_id, kpi_code, kpi_sequence, user_id, tier_id,
                    date_from, date_to, company_id, is_manual,
                    create_uid, create_date, write_uid, write_date)
                SELECT p, k, val, tgt, thr, w, s, st, t, kc, ks, u, ti,
                       %(date_from)s, %(date_to)s, %(company)s, FALSE,
                       %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM unnest(%(p)s::int[], %(k)s::int[], %(val)s::float8[], %(tgt)s::float8[],
                              %(thr)s::float8[], %(w)s::float8[], %(s)s::float8[],
                              %(st)s::varchar[], %(t)s::int[], %(kc)s::varchar[],
                              %(ks)s::int[], %(u)s::int[], %(ti)s::int[])
                       AS x(p, k, val, tgt, thr, w, s, st, t, kc, ks, u, ti)
                ON CONFLICT (partner_id, kpi_id, date_from, date_to) DO UPDATE SET
                    value = EXCLUDED.value, target = EXCLUDED.target,
                    threshold = EXCLUDED.threshold, weight = EXCLUDED.weight,
                    score = EXCLUDED.score, status = EXCLUDED.status,
                    template_id = EXCLUDED.template_id, kpi_code = EXCLUDED.kpi_code,
                    kpi_sequence = EXCLUDED.kpi_sequence, user_id = EXCLUDED.user_id,
                    tier_id = EXCLUDED.tier_id, company_id = EXCLUDED.company_id,
                    is_manual = FALSE,
                    write_uid = EXCLUDED.write_uid, write_date = EXCLUDED.write_date
                WHERE (v.value, v.target, v.threshold, v.weight, v.score, v.status,
                       v.template_id, v.kpi_code, v.kpi_sequence, v.user_id, v.tier_id,
                       v.company_id, v.is_manual)
                      IS DISTINCT FROM
                      (EXCLUDED.value, EXCLUDED.target, EXCLUDED.threshold, EXCLUDED.weight,
                       EXCLUDED.score, EXCLUDED.status, EXCLUDED.template_id,
                       EXCLUDED.kpi_code, EXCLUDED.kpi_sequence, EXCLUDED.user_id,
                       EXCLUDED.tier_id, EXCLUDED.company_id, FALSE)
            """, date_from=date_from, date_to=date_to, company=company.id,
                uid=self.env.uid, now=fields.Datetime.now(), **arrays))
            ids = [row[0] for row in self.env.execute_query(SQL("""
                SELECT v.id FROM key_account_kpi_value v
                  JOIN unnest(%(p)s::int[], %(k)s::int[]) AS x(p, k)
                    ON v.partner_id = x.p AND v.kpi_id = x.k
                 WHERE v.date_from = %(date_from)s AND v.date_to = %(date_to)s
            """, p=arrays["p"], k=arrays["k"], date_from=date_from, date_to=date_to))]
        # always one statement, so that the query count does not depend on the data
        kpi_col, partner_col = (list(col) for col in zip(*stale)) if stale else ([], [])
        self.env.execute_query(SQL("""
            DELETE FROM key_account_kpi_value v
             USING unnest(%(k)s::int[], %(p)s::int[]) AS x(k, p)
             WHERE v.kpi_id = x.k AND v.partner_id = x.p
               AND v.date_from = %(date_from)s AND v.date_to = %(date_to)s
        """, k=kpi_col, p=partner_col, date_from=date_from, date_to=date_to))
        self.invalidate_model()
        return ids

    def _refresh_manual_values(self, partner_ids, template_of, bands, date_from, date_to):
        """Manual values keep the template's current band while their period is open."""
        manual = self.search([
            ("partner_id", "in", partner_ids), ("date_from", "=", date_from),
            ("date_to", "=", date_to), ("kpi_id.computation_mode", "=", "manual"),
        ])
        for record in manual:
            template_id = template_of.get(record.partner_id.id)
            band = template_id and bands[template_id].get(record.kpi_id.id)
            if band and (record.target, record.threshold, record.weight) != band:
                record.write(dict(zip(("target", "threshold", "weight"), band)))

    @api.model
    def _account_scores(self, partner_ids, template_of, bands, date_from, date_to):
        """{partner id: weighted score} over the template KPIs that have a value."""
        self.flush_model(["partner_id", "kpi_id", "date_from", "date_to", "score"])
        rows = self.env.execute_query(SQL("""
            SELECT partner_id, kpi_id, score FROM key_account_kpi_value
             WHERE partner_id = ANY(%s) AND date_from = %s AND date_to = %s
        """, list(partner_ids), date_from, date_to))
        pairs = {}
        for pid, kpi_id, score in rows:
            template_id = template_of.get(pid)
            band = template_id and bands[template_id].get(kpi_id)
            if band:
                pairs.setdefault(pid, []).append((score, band[2]))
        result = {}
        for pid, items in pairs.items():
            score = kpi_math.weighted_score(items)
            if score is not None:
                result[pid] = score
        return result

    def _update_partner_scores(self, partners, template_of, bands, date_from, date_to, company):
        """Write score, grade and trend on partners when the period is closed and newest."""
        today = fields.Date.context_today(self.with_context(tz=company.partner_id.tz or "UTC"))
        if date_to >= today:
            return {}
        scores = self._account_scores(partners.ids, template_of, bands, date_from, date_to)
        prev_from, prev_to = kpi_math.previous_period(date_from, date_to)
        previous = self._account_scores(partners.ids, template_of, bands, prev_from, prev_to)
        grade_bands = self.env["key.account.grade"]._get_bands(company)
        rows = []
        for partner in partners:
            shown = partner.key_account_score_date
            if shown and shown > date_to:
                continue
            score = scores.get(partner.id)
            grade = kpi_math.grade_for(score, grade_bands) if score is not None else None
            rows.append((partner.id, score, grade or None,
                         kpi_math.trend(score, previous.get(partner.id)),
                         partner.key_account_score or 0.0, partner.key_account_grade or None))
        if rows:
            self.env["res.partner"].flush_model()
            columns = list(zip(*rows))
            self.env.execute_query(SQL("""
                UPDATE res_partner p
                   SET key_account_score = x.s, key_account_grade = x.g,
                       key_account_trend = x.t, key_account_score_date = %(date_to)s
                  FROM unnest(%(p)s::int[], %(s)s::float8[], %(g)s::varchar[], %(t)s::float8[])
                       AS x(id, s, g, t)
                 WHERE p.id = x.id
            """, date_to=date_to, p=list(columns[0]), s=list(columns[1]),
                g=list(columns[2]), t=list(columns[3])))
            partners.invalidate_recordset([
                "key_account_score", "key_account_grade", "key_account_trend",
                "key_account_score_date"])
        return {row[0]: {"old_score": row[4], "old_grade": row[5],
                         "score": row[1], "grade": row[2]} for row in rows}

    def _after_compute(self, values, partners, date_from, date_to, score_changes):
        """Hook called after each computation (early warnings live here).

        ``score_changes``: {partner id: {old_score, old_grade, score, grade}}
        for the partners whose displayed score was just updated.

        Early warning: a KPI that crossed its threshold (beyond it now, not in
        the previous period or no value then), a grade drop, or a score fall
        larger than the company's step gives the KAM one open activity per
        account (extended, never stacked) and a note in the account's
        chatter. Only for the running period or the latest closed one, never
        for older history. Detection runs a fixed number of queries; each
        warning is remembered by a key in the note, so recomputing the same
        period does not repeat it.
        """
        import re

        from markupsafe import Markup

        from .key_account_review_cycle import next_period, period_label

        company = self.env.company
        today = fields.Date.context_today(self.with_context(tz=company.partner_id.tz or "UTC"))
        if not partners or next_period(date_from, date_to)[1] < today:
            return True
        period = next((period_label(kind, date_from, date_to) for kind in kpi_math.PERIOD_TYPES
                       if kpi_math.period_bounds(date_from, kind) == (date_from, date_to)),
                      period_label(None, date_from, date_to))

        def fmt(number):
            return ("{:,.0f}" if abs(number) >= 100 else "{:,.2f}").format(number)

        # -- detection: one query for the period, one grouped for the previous one
        warnings = {}  # partner id: [(key, text)]
        current = self.sudo().search_fetch(
            [("partner_id", "in", partners.ids), ("date_from", "=", date_from),
             ("date_to", "=", date_to), ("status", "=", "alert")],
            ["partner_id", "kpi_id", "value", "target", "threshold"])
        if current:
            prev_from, prev_to = kpi_math.previous_period(date_from, date_to)
            previous = {(partner.id, kpi.id): value for partner, kpi, value in self.sudo()._read_group(
                [("partner_id", "in", current.partner_id.ids), ("kpi_id", "in", current.kpi_id.ids),
                 ("date_from", "=", prev_from), ("date_to", "=", prev_to)],
                ["partner_id", "kpi_id"], ["value:max"])}
            for record in current:
                kpi = record.kpi_id
                before = previous.get((record.partner_id.id, kpi.id))
                if before is not None and not kpi_math.kpi_score(
                        before, record.target, record.threshold, kpi.direction):
                    continue  # already beyond the threshold in the previous period
                text = self.env._(
                    "%(kpi)s crossed its threshold (%(threshold)s) in %(period)s: %(before)s → %(now)s",
                    kpi=kpi.name, threshold=fmt(record.threshold), period=period,
                    before=fmt(before) if before is not None else self.env._("no value"),
                    now=fmt(record.value))
                warnings.setdefault(record.partner_id.id, []).append(
                    ("threshold-%s-%s-%s" % (kpi.id, date_from, date_to), text))
        if score_changes:
            ranks = dict(self.env["key.account.grade"]._get_bands(company))
            step = company.key_account_score_drop_step
            for pid, change in score_changes.items():
                if not change.get("old_grade") or change.get("score") is None:
                    continue
                old_rank, new_rank = ranks.get(change["old_grade"]), ranks.get(change["grade"])
                if old_rank is not None and new_rank is not None and new_rank < old_rank:
                    warnings.setdefault(pid, []).append((
                        "grade-%s-%s" % (date_from, date_to),
                        self.env._("Grade fell from %(old)s to %(new)s in %(period)s",
                                   old=change["old_grade"], new=change["grade"], period=period)))
                fall = (change["old_score"] or 0.0) - change["score"]
                if step and fall > step:
                    warnings.setdefault(pid, []).append((
                        "score-%s-%s" % (date_from, date_to),
                        self.env._("Score fell from %(old).1f to %(new).1f in %(period)s "
                                   "(more than %(step)s points)", old=change["old_score"],
                                   new=change["score"], period=period, step=fmt(step))))
        if not warnings:
            return True

        # -- forget what was already said about this period (keys kept in the notes)
        marker = "o_kap_warning_"
        said = set()
        for message in self.env["mail.message"].sudo().search_fetch(
                [("model", "=", "res.partner"), ("res_id", "in", list(warnings)),
                 ("message_type", "=", "comment"), ("body", "ilike", marker)], ["res_id", "body"]):
            said.update((message.res_id, key) for key in re.findall(
                marker + r"([\w-]+)", str(message.body or "")))
        warnings = {pid: [(key, text) for key, text in items if (pid, key) not in said]
                    for pid, items in warnings.items()}
        warnings = {pid: items for pid, items in warnings.items() if items}
        if not warnings:
            return True

        # -- one note and one open activity per warned account (system-generated: sudo)
        xmlid = "key_account_performance.mail_activity_type_key_account_warning"
        activity_type = self.env.ref(xmlid, raise_if_not_found=False)
        partners_sudo = self.env["res.partner"].sudo().browse(list(warnings))
        open_activities = {}
        if activity_type:
            for activity in self.env["mail.activity"].sudo().search(
                    [("res_model", "=", "res.partner"), ("res_id", "in", partners_sudo.ids),
                     ("activity_type_id", "=", activity_type.id)]):
                open_activities.setdefault(activity.res_id, activity)
        # batched: one insert of notes, one of activities, whatever the count
        bodies, new_activities = {}, []
        model_id = self.env["ir.model"]._get_id("res.partner")
        deadline = fields.Date.context_today(self)
        for partner in partners_sudo:
            items = Markup("").join(
                Markup('<li class="%s%s">%s</li>') % (marker, key, text) for key, text in warnings[partner.id])
            bodies[partner.id] = Markup("<p>%s</p><ul>%s</ul>") % (
                self.env._("Key account early warning"), items)
            kam = partner.key_account_manager_id
            activity = open_activities.get(partner.id)
            if activity:
                activity.note = (activity.note or Markup("")) + Markup("<ul>%s</ul>") % items
            elif kam and activity_type:
                new_activities.append({
                    "res_model_id": model_id, "res_id": partner.id,
                    "activity_type_id": activity_type.id, "user_id": kam.id,
                    "date_deadline": deadline,
                    "summary": self.env._("Early warning: %(partner)s", partner=partner.name),
                    "note": Markup("<ul>%s</ul>") % items,
                })
        partners_sudo._message_log_batch(bodies, message_type="comment")
        if new_activities:
            self.env["mail.activity"].sudo().create(new_activities)
        return True

    @api.model
    def _load_demo_data(self):
        from ..tools import demo_data
        return demo_data.load(self.env)

    # ------------------------------------------------------------------
    # Scheduled action
    # ------------------------------------------------------------------
    @api.model
    def _cron_compute_kpis(self, batch_size=CRON_BATCH_SIZE):
        """Compute the running and the just-closed period for all key accounts."""
        testing = modules.module.current_test
        for company in self.env["res.company"].sudo().search([]):
            Value = self.with_company(company).sudo()
            today = fields.Date.context_today(self.with_context(tz=company.partner_id.tz or "UTC"))
            period_type = company.key_account_period_type or "quarter"
            periods = [kpi_math.last_closed_period(today, period_type),
                       kpi_math.period_bounds(today, period_type)]
            partners = Value.env["res.partner"].search([
                ("is_key_account", "=", True), ("company_id", "in", [company.id, False])])
            for start in range(0, len(partners), batch_size):
                batch = partners[start:start + batch_size]
                for date_from, date_to in periods:
                    try:
                        with self.env.cr.savepoint():
                            Value._compute_values(batch, date_from, date_to, company)
                    except Exception:  # noqa: BLE001 - one batch never stops the run
                        # isolate the culprit: retry the batch one account at a time
                        for partner in batch:
                            try:
                                with self.env.cr.savepoint():
                                    Value._compute_values(partner, date_from, date_to, company)
                            except Exception:  # noqa: BLE001
                                _logger.exception(
                                    "Key account KPI computation failed for %s (%s) of %s",
                                    partner.display_name, partner.id, company.name)
                if not testing:
                    self.env.cr.commit()  # pylint: disable=invalid-commit
        return True


def _pg_array(values):
    """PostgreSQL array literal of numbers / identifiers / None."""
    def item(value):
        if value is None or value is False:
            return "NULL"
        if isinstance(value, str):
            return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')
        return repr(value)
    return "{%s}" % ",".join(map(item, values))
