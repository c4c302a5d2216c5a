"""Early warnings after a KPI computation.

Like with like:

* a **closed** period (the latest one) compares its values with the previous
  period's stored values;
* a **running** period compares what happened so far (first day .. today)
  with the same number of days at the start of the previous period, both
  gathered fresh by the engine; targets and thresholds of additive KPIs
  (counts and sums over the period) are pro-rated to the elapsed share;
* a KPI crosses its threshold only when it has a value now **and** had a
  value, not beyond the threshold, before: no data is never read as 0.

Grade drops and score falls concern closed periods (the partner shows the
latest closed period). Each warning is a ``key.account.warning`` record
with a unique key per company and account, so that recomputing says
nothing twice; the KAM gets one open activity per account (extended, never
stacked) that names what happened without its figures (a partner's
activities and chatter are open to every internal user; the figures stay
in the warning records, read under the KPI values' rules). Detection is plain Python over the dicts
the engine already holds, and the notes and activities are written in one
batch each: the number of queries does not depend on the number of accounts.

The texts are written in the language of the KAM they are addressed to (their
user's language; the company's, then the computing user's, for an account
without a KAM): each text is translated once per language of a computation,
never per account.
"""

import collections
import datetime

from markupsafe import escape

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import kpi_math
from .key_account_mail_sender import subscribe

MARKER = "o_kap_warning_"
# one warning: its unique key, the text with its figures (kept in the
# warning record), the headline without figures (the account's to-do), what
# kind it is and the KPI it is about
Warning = collections.namedtuple("Warning", "key text headline kind kpi_id")
ADDITIVE_MODES = ("count", "sum")


class KeyAccountEarlyWarning(models.AbstractModel):
    _name = "key.account.early.warning"
    _description = "Key Account Early Warning"

    @api.model
    def _detect_and_notify(self, run):
        """Detect and notify the warnings of one computation (``run``: the
        engine's ``KpiRun``, scored and with the accounts updated).

        ``run.current`` / ``run.previous_values``: {partner id: {kpi id:
        (value, score)}} of the period and of the previous period;
        ``run.changes``: {partner id: {old_score, old_grade, score, grade}} of
        the partners whose displayed score was just updated. Only the running
        period and the latest closed one warn, never older history.
        """
        if (
            not run.partners
            or kpi_math.next_period(run.date_from, run.date_to)[1] < run.today
        ):
            return {}
        span = kpi_math.elapsed_span(run.date_from, run.date_to, run.today)
        if span:
            crossings = self._running_crossings(run, span)
        else:
            crossings = self._closed_crossings(run)
            self._resolve_recovered(run)
        langs = self._recipient_langs(run.partners, run.company)
        warnings = self._record(run, self._format(run, crossings, span, langs))
        if warnings:
            self._notify(warnings, run.partners, langs)
        return warnings

    @api.model
    def _recipient_langs(self, partners, company):
        """{partner id: language} of the texts about each account: its KAM's
        language, else the company's, else the computing user's (one query
        for all the KAMs)."""
        default = company.partner_id.lang or self.env.lang or "en_US"
        installed = {code for code, _name in self.env["res.lang"].get_installed()}
        manager_ids = {
            info.get("manager_id")
            for info in partners.values()
            if info.get("manager_id")
        }
        lang_of = {}
        if manager_ids:
            # sudo: the KAMs' language only, to write to them in it
            users = self.env["res.users"].sudo().browse(manager_ids)
            users.fetch(["lang"])
            lang_of = {user.id: user.lang for user in users if user.lang in installed}
        return {
            pid: lang_of.get((info or {}).get("manager_id")) or default
            for pid, info in partners.items()
        }

    # ------------------------------------------------------------------
    # Detection
    # ------------------------------------------------------------------
    @api.model
    def _beyond(self, value, band, direction):
        """True when the value is at or beyond the threshold (score 0)."""
        score = kpi_math.kpi_score(value, band[0], band[1], direction)
        return score is not None and score <= 0

    @api.model
    def _closed_crossings(self, run):
        """[(partner id, kpi, threshold, before, now)] of a closed period."""
        result = []
        by_id = {kpi.id: (kpi, kpi.direction) for kpi in run.kpis}
        for pid, by_kpi in run.current.items():
            template_id = run.template_of.get(pid)
            before_by_kpi = run.previous_values.get(pid)
            if not template_id or not before_by_kpi:
                continue  # no value before: nothing was crossed
            for kpi_id, (value, score) in by_kpi.items():
                if score is None or score > 0 or kpi_id not in by_id:
                    continue  # not beyond the threshold now
                kpi, direction = by_id[kpi_id]
                band = run.bands[template_id].get(kpi_id)
                before = before_by_kpi.get(kpi_id, (None, None))[0]
                if not band or value is None or before is None:
                    continue
                if self._beyond(value, band, direction) and not self._beyond(
                    before, band, direction
                ):
                    result.append((pid, kpi, band[1], before, value))
        return result

    @api.model
    def _running_crossings(self, run, span):
        """[(partner id, kpi, threshold, before, now)] of a running period:
        first day .. today against the same days of the previous period
        (``span``: ``kpi_math.elapsed_span`` of the period)."""
        elapsed, (ref_from, ref_to), fraction = span
        date_from, company = run.date_from, run.company
        today_to = date_from + datetime.timedelta(days=elapsed - 1)
        Engine = self.env["key.account.kpi.engine"]
        partner_ids = list(run.partners)
        memo = {}
        computed = run.kpis.filtered(lambda k: k.computation_mode != "manual")
        Engine._prefetch_shared_scans(
            computed, partner_ids, date_from, today_to, memo, company
        )
        Engine._prefetch_shared_scans(
            computed, partner_ids, ref_from, ref_to, memo, company
        )
        now_values, before_values = {}, {}
        for kpi in computed:
            try:
                with self.env.cr.savepoint():
                    now_values[kpi.id] = kpi._engine_values(
                        partner_ids, date_from, today_to, memo, company
                    )
                    before_values[kpi.id] = kpi._engine_values(
                        partner_ids, ref_from, ref_to, memo, company
                    )
            except Exception:  # noqa: BLE001 - the engine already recorded the KPI's error
                now_values.pop(kpi.id, None)
        result = []
        for pid in partner_ids:
            template_id = run.template_of.get(pid)
            if not template_id:
                continue
            for kpi in run.kpis:
                band = run.bands[template_id].get(kpi.id)
                if not band:
                    continue
                if kpi.computation_mode == "manual":
                    continue  # entered for the whole period in the review
                if kpi.id not in now_values:
                    continue
                now = now_values[kpi.id].get(pid)
                before = before_values[kpi.id].get(pid)
                if kpi.computation_mode in ADDITIVE_MODES:
                    # a count or sum of nothing is 0 (as the engine stores it)
                    now = now or 0.0
                    before = before or 0.0
                    if kpi.period_scope == "period":
                        band = (band[0] * fraction, band[1] * fraction, band[2])
                if now is None or before is None:
                    continue
                if self._beyond(now, band, kpi.direction) and not self._beyond(
                    before, band, kpi.direction
                ):
                    result.append((pid, kpi, band[1], before, now))
        return result

    # ------------------------------------------------------------------
    # Texts
    # ------------------------------------------------------------------
    @api.model
    def _format(self, run, crossings, span, langs=None):
        """{partner id: [Warning]}: the crossings and ``run.changes`` as texts,
        each account's in its language (``langs``: {partner id: language},
        by default the current one)."""
        langs = langs or {}
        changes = run.changes or {}
        warnings = {}
        for lang, pids in self._group_by_lang(
            {pid for pid, *_rest in crossings} | set(changes), langs
        ).items():
            texts = self.with_context(lang=lang)._format_lang(
                run,
                [c for c in crossings if c[0] in pids],
                {pid: c for pid, c in changes.items() if pid in pids},
                span,
            )
            warnings.update(texts)
        return warnings

    @api.model
    def _group_by_lang(self, pids, langs):
        """{language: {partner id}}; the current language where none is given."""
        result = {}
        for pid in pids:
            result.setdefault(langs.get(pid) or self.env.lang or "en_US", set()).add(
                pid
            )
        return result

    @api.model
    def _format_lang(self, run, crossings, score_changes, span):
        """{partner id: [Warning]} in the context's language."""
        _ = self.env._
        date_from, date_to, company = run.date_from, run.date_to, run.company
        period = kpi_math.period_label(None, date_from, date_to)
        if span:
            previous = kpi_math.period_label(
                None, *kpi_math.previous_period(date_from, date_to)
            )
            period = _(
                "%(period)s to date (day %(day)s, against the same days of %(previous)s)",
                period=period,
                day=span[0],
                previous=previous,
            )

        # the one rounding rule of every surface (half up: 72.5 reads 73)
        fmt = kpi_math.format_number

        # each text translated once per computation, not once per warning
        # (a translation looks its module up through the call stack)
        crossed = _(
            "%(kpi)s crossed its threshold (%(threshold)s) in %(period)s: "
            "%(before)s → %(now)s"
        )
        crossed_prorated = _(
            "%(kpi)s crossed its pro-rated threshold (%(threshold)s) in %(period)s: "
            "%(before)s → %(now)s"
        )
        # the same without figures, for the account's to-do (activities of a
        # partner are open to every internal user)
        crossed_headline = _("%(kpi)s crossed its threshold in %(period)s")
        kpi_names = {}
        warnings = {}
        for pid, kpi, threshold, before, now in crossings:
            prorated = (
                span
                and kpi.computation_mode in ADDITIVE_MODES
                and kpi.period_scope == "period"
            )
            if kpi.id not in kpi_names:
                # the KPI's name in this language (the KPIs read together)
                kpi_names[kpi.id] = kpi.with_env(self.env).name
            text = (crossed_prorated if prorated else crossed) % {
                "kpi": kpi_names[kpi.id],
                "threshold": fmt(threshold),
                "period": period,
                "before": fmt(before),
                "now": fmt(now),
            }
            warnings.setdefault(pid, []).append(
                Warning(
                    "threshold-%s-%s-%s" % (kpi.id, date_from, date_to),
                    text,
                    crossed_headline % {"kpi": kpi_names[kpi.id], "period": period},
                    "threshold",
                    kpi.id,
                )
            )
        if score_changes:
            ranks = dict(self.env["key.account.grade"]._get_bands(company))
            step = company.key_account_score_drop_step
            grade_fell = _("Grade fell from %(old)s to %(new)s in %(period)s")
            grade_headline = _("The grade fell in %(period)s", period=period)
            score_headline = _("The score fell sharply in %(period)s", period=period)
            score_fell = _(
                "Score fell from %(old).1f to %(new).1f in %(period)s "
                "(more than %(step)s points)"
            )
            for pid, change in score_changes.items():
                if not change.get("old_grade") or change.get("score") is None:
                    continue
                old_rank, new_rank = (
                    ranks.get(change["old_grade"]),
                    ranks.get(change["grade"]),
                )
                if (
                    old_rank is not None
                    and new_rank is not None
                    and new_rank < old_rank
                ):
                    warnings.setdefault(pid, []).append(
                        Warning(
                            "grade-%s-%s" % (date_from, date_to),
                            grade_fell
                            % {
                                "old": change["old_grade"],
                                "new": change["grade"],
                                "period": period,
                            },
                            grade_headline,
                            "grade",
                            None,
                        )
                    )
                fall = (change["old_score"] or 0.0) - change["score"]
                if step and fall > step:
                    warnings.setdefault(pid, []).append(
                        Warning(
                            "score-%s-%s" % (date_from, date_to),
                            score_fell
                            % {
                                "old": kpi_math.round_half_up(
                                    change["old_score"] or 0.0, 1
                                ),
                                "new": kpi_math.round_half_up(change["score"], 1),
                                "period": period,
                                "step": fmt(step),
                            },
                            score_headline,
                            "score",
                            None,
                        )
                    )
        return warnings

    @api.model
    def _resolve_recovered(self, run):
        """Resolve the open warnings whose cause recovered in this closed
        period (one UPDATE): a KPI back within its threshold (a warning of
        this period or an earlier one), a score that rose again (a grade or
        score warning of an earlier period)."""
        pairs = [
            (pid, kpi_id)
            for pid, by_kpi in run.current.items()
            for kpi_id, (_value, score) in by_kpi.items()
            if score is not None and score > 0
        ]
        rising = [
            pid
            for pid, change in (run.changes or {}).items()
            if change.get("score") is not None
            and change.get("old_score") is not None
            and change["score"] > change["old_score"]
        ]
        if not pairs and not rising:
            return
        self.env["key.account.warning"].flush_model()
        self.env.cr.execute(
            SQL(
                """
            UPDATE key_account_warning w
               SET state = 'resolved', resolution = 'recovered',
                   date_resolved = %(today)s, write_uid = %(uid)s,
                   write_date = (now() at time zone 'UTC')
             WHERE w.company_id = %(company)s AND w.state = 'open'
               AND ((w.kind = 'threshold' AND w.date_from <= %(date_from)s
                     AND (w.partner_id, w.kpi_id) IN (
                        SELECT * FROM unnest(%(pids)s::int[], %(kpi_ids)s::int[])))
                    OR (w.kind IN ('grade', 'score') AND w.date_from < %(date_from)s
                        AND w.partner_id = ANY(%(rising)s::int[])))
        """,
                today=run.today,
                uid=self.env.uid,
                company=run.company.id,
                date_from=run.date_from,
                pids=[pid for pid, _k in pairs],
                kpi_ids=[kpi_id for _p, kpi_id in pairs],
                rising=rising,
            )
        )
        self.env["key.account.warning"].invalidate_model(
            ["state", "resolution", "date_resolved"]
        )

    @api.model
    def _record(self, run, warnings):
        """Store the warnings as ``key.account.warning`` records, one INSERT;
        a warning already raised for the company and account (its unique
        key) is not raised again. Returns the new ones, {partner id:
        [Warning]}."""
        if not warnings:
            return warnings
        rows = [(pid, warning) for pid, items in warnings.items() for warning in items]
        Record = self.env["key.account.warning"].sudo()
        Record.flush_model()
        now = fields.Datetime.now()
        created = self.env.execute_query(
            SQL(
                """
            INSERT INTO key_account_warning (
                partner_id, company_id, key, kind, kpi_id, date_from, date_to,
                message, user_id, state, create_uid, create_date, write_uid, write_date)
            SELECT x.partner_id, %(company)s, x.key, x.kind, x.kpi_id, %(date_from)s,
                   %(date_to)s, x.message, x.user_id, 'open', %(uid)s, %(now)s, %(uid)s,
                   %(now)s
              FROM unnest(%(partner_ids)s::int[], %(keys)s::varchar[], %(kinds)s::varchar[],
                          %(kpi_ids)s::int[], %(messages)s::text[], %(user_ids)s::int[])
                   AS x(partner_id, key, kind, kpi_id, message, user_id)
             WHERE NOT EXISTS (
                    -- one open warning per cause: the same KPI beyond its
                    -- threshold, a grade drop or a score fall is not raised
                    -- again while the account has an open one
                    SELECT 1 FROM key_account_warning o
                     WHERE o.company_id = %(company)s AND o.partner_id = x.partner_id
                       AND o.kind = x.kind AND o.kpi_id IS NOT DISTINCT FROM x.kpi_id
                       AND o.state = 'open')
            ON CONFLICT (company_id, partner_id, key) DO NOTHING
            RETURNING partner_id, key
        """,
                company=run.company.id,
                date_from=run.date_from,
                date_to=run.date_to,
                uid=self.env.uid,
                now=now,
                partner_ids=[pid for pid, _w in rows],
                keys=[w.key for _pid, w in rows],
                kinds=[w.kind for _pid, w in rows],
                kpi_ids=[w.kpi_id for _pid, w in rows],
                messages=[w.text for _pid, w in rows],
                user_ids=[
                    (run.partners.get(pid) or {}).get("manager_id") or None
                    for pid, _w in rows
                ],
            )
        )
        new = set(map(tuple, created))
        warnings = {
            pid: [w for w in items if (pid, w.key) in new]
            for pid, items in warnings.items()
        }
        return {pid: items for pid, items in warnings.items() if items}

    # ------------------------------------------------------------------
    # Notes and activities, one batch each
    # ------------------------------------------------------------------
    @api.model
    def _notify(self, warnings, partners, langs=None):
        """The notes in the warned accounts' chatter, and the KAM's activity:
        an open one is extended, else a new one is created. A fixed number
        of statements whatever the number of accounts: the open activities
        read with their search, extended in one UPDATE, the new ones written
        in one INSERT (what mail.activity's create stores, the account's
        name as its document name), the KAMs subscribed to their accounts
        in one statement, one bus message per KAM for the activity counter
        (the ORM's create inserts 100 rows per statement and reads each
        account's display name through the prefetch, 1,000 per query). No
        e-mail per warned account: the activity tells the KAM."""
        xmlid = "key_account_performance.mail_activity_type_key_account_warning"
        activity_type = self.env.ref(xmlid, raise_if_not_found=False)
        Activity = self.env["mail.activity"].sudo()
        res_ids = list(warnings)
        open_activities = {}
        if activity_type:
            for activity in Activity.search_fetch(
                [
                    ("res_model", "=", "res.partner"),
                    ("res_id", "in", res_ids),
                    ("activity_type_id", "=", activity_type.id),
                ],
                ["res_id", "note"],
                order="id",
            ):
                open_activities.setdefault(activity.res_id, activity)
        extended, new_activities = {}, []
        langs = langs or {}
        summaries = {}  # the KAM's language: translated once per language
        for pid in res_ids:
            lang = langs.get(pid) or self.env.lang or "en_US"
            if lang not in summaries:
                summaries[lang] = self.with_context(lang=lang).env._(
                    "Early warning: %(partner)s"
                )
            summary = summaries[lang]
            info = partners.get(pid) or {}
            # keys are ours ([\w-]+), headlines are escaped; plain string work
            # (Markup's % escapes each argument again, 30,000 times a run).
            # Headlines only: the figures are in the warning records, which
            # only those who may read the account's figures read
            items = "".join(
                '<li class="%s%s">%s</li>'
                % (MARKER, warning.key, escape(warning.headline))
                for warning in warnings[pid]
            )
            activity = open_activities.get(pid)
            if activity:
                extended[activity.id] = "%s<ul>%s</ul>" % (activity.note or "", items)
            elif info.get("manager_id") and activity_type:
                new_activities.append(
                    (
                        pid,
                        info["manager_id"],
                        summary % {"partner": info.get("name") or ""},
                        "<ul>%s</ul>" % items,
                    )
                )
        if extended:
            Activity.flush_model(["note"])
            self.env.execute_query(
                SQL(
                    """
                UPDATE mail_activity a
                   SET note = x.note, write_uid = %(uid)s, write_date = %(now)s
                  FROM unnest(%(ids)s::int[], %(notes)s::text[]) AS x(id, note)
                 WHERE a.id = x.id
            """,
                    uid=self.env.uid,
                    now=fields.Datetime.now(),
                    ids=list(extended),
                    notes=list(extended.values()),
                )
            )
            Activity.browse(list(extended)).invalidate_recordset(["note"])
        if new_activities:
            self._create_activities(activity_type, new_activities)

    @api.model
    def _create_activities(self, activity_type, rows):
        """[(partner id, user id, summary, note html)] as to-do activities of
        ``activity_type`` on the accounts, due today (see ``_notify``)."""
        Activity = self.env["mail.activity"].sudo()
        Activity.flush_model()
        self.env["res.partner"].flush_model(["complete_name"])
        columns = list(zip(*rows))
        now = fields.Datetime.now()
        self.env.execute_query(
            SQL(
                """
            INSERT INTO mail_activity (
                res_model_id, res_model, res_id, res_name, activity_type_id,
                user_id, user_tz, date_deadline, summary, note, automated, active,
                create_uid, create_date, write_uid, write_date)
            SELECT %(model_id)s, 'res.partner', x.res_id, p.complete_name, %(type)s,
                   x.user_id, up.tz, %(deadline)s, x.summary, x.note, FALSE, TRUE,
                   %(uid)s, %(now)s, %(uid)s, %(now)s
              FROM unnest(%(res_ids)s::int[], %(user_ids)s::int[],
                          %(summaries)s::varchar[], %(notes)s::text[])
                   AS x(res_id, user_id, summary, note)
              JOIN res_partner p ON p.id = x.res_id
              JOIN res_users u ON u.id = x.user_id
              JOIN res_partner up ON up.id = u.partner_id
        """,
                model_id=self.env["ir.model"]._get_id("res.partner"),
                type=activity_type.id,
                deadline=fields.Date.context_today(self),
                uid=self.env.uid,
                now=now,
                res_ids=list(columns[0]),
                user_ids=list(columns[1]),
                summaries=list(columns[2]),
                notes=list(columns[3]),
            )
        )
        Activity.invalidate_model()
        Partner = self.env["res.partner"]
        Partner.browse(list(columns[0])).invalidate_recordset(["activity_ids"])
        # the KAM follows the account (as mail.activity's create subscribes
        # the responsible) and their activity counter is refreshed
        users = self.env["res.users"].sudo().browse(set(columns[1]))
        partner_of = {user.id: user.partner_id.id for user in users}
        subscribe(
            self.env,
            "res.partner",
            {pid: [partner_of.get(uid)] for pid, uid in zip(columns[0], columns[1])},
        )
        counts = {}
        for uid in columns[1]:
            counts[uid] = counts.get(uid, 0) + 1
        for user in users:
            user._bus_send(
                "mail.activity/updated",
                {"activity_created": True, "count_diff": counts[user.id]},
            )
