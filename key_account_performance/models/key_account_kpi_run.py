"""The run log of the KPI computation: one row per computation of one
company and period (a scheduled run, the scheduled action run by hand, a
queue job, a button or an RPC call of ``compute_for_period``), with the
accounts done and failed and the error of each failed account.

Insert-mostly: a run writes only its own row (at its start, after each
committed chunk, at its end) and inserts its failures; concurrent runs never
update the same row. The accounts' "last computation failed" warning
(res.partner.key_account_compute_error) is read from it.
"""

import datetime
from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import SQL

# {(db, thread, company id, date_from, date_to, partner ids): (since, last seen)}
# of the calls of compute_for_period waiting for another computation
_WAITING = {}
WAIT_TTL = datetime.timedelta(minutes=2)

ORIGINS = [
    ("cron", "Scheduled action"),
    ("manual", "Scheduled action run by hand"),
    ("job", "Queue job"),
    ("rpc", "Computation requested by a user"),
]


class KeyAccountKpiRun(models.Model):
    _name = "key.account.kpi.run"
    _description = "Key Account KPI Computation Run"
    _order = "date_start desc, id desc"

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, index=True, ondelete="cascade"
    )
    date_from = fields.Date(string="Period Start", required=True, readonly=True)
    date_to = fields.Date(string="Period End", required=True, readonly=True)
    origin = fields.Selection(
        ORIGINS, string="Started By", required=True, readonly=True, default="rpc"
    )
    user_id = fields.Many2one(
        "res.users",
        readonly=True,
        ondelete="set null",
        help="The user who started the computation, or the user the scheduled "
        "action runs as.",
    )
    date_start = fields.Datetime(string="Started", readonly=True)
    date_end = fields.Datetime(string="Finished", readonly=True)
    state = fields.Selection(
        [
            ("running", "Running"),
            ("done", "Done"),
            ("partial", "Done with failures"),
            ("stopped", "Stopped, work left"),
            ("failed", "Failed"),
        ],
        default="running",
        required=True,
        readonly=True,
        index=True,
    )
    accounts_total = fields.Integer(string="Accounts", readonly=True)
    accounts_done = fields.Integer(readonly=True)
    accounts_failed = fields.Integer(readonly=True)
    last_partner_id = fields.Integer(
        string="Last Account Done",
        readonly=True,
        help="Id of the last account committed: a resumed run goes on after it.",
    )
    error = fields.Text(readonly=True)
    # the accounts of a computation of some accounts only (None: all the
    # key accounts of the company); tells which accounts a later run covered
    partner_scope = fields.Json(string="Accounts Computed", readonly=True)
    failure_ids = fields.One2many(
        "key.account.kpi.run.failure", "run_id", string="Failures", readonly=True
    )

    @api.depends("company_id", "date_from", "date_to", "date_start")
    def _compute_display_name(self):
        for run in self:
            run.display_name = "%s %s – %s" % (
                run.company_id.name or "",
                run.date_from or "",
                run.date_to or "",
            )

    # ------------------------------------------------------------------
    # Writing the log (called by the engine, as superuser)
    # ------------------------------------------------------------------
    @api.model
    def _origin_of_context(self):
        """Who started a scheduled run, from the context ir.cron gives: its
        "Run Manually" button (method_direct_trigger: a progress record, no
        cron id) or the scheduler."""
        context = self.env.context
        if context.get("ir_cron_progress_id") and not context.get("cron_id"):
            return "manual"
        return "cron"

    @api.model
    def _start(self, company, date_from, date_to, origin, total, scope=None):
        return self.sudo().create(
            {
                "company_id": company.id,
                "date_from": date_from,
                "date_to": date_to,
                "origin": origin,
                "user_id": self.env.uid,
                "date_start": fields.Datetime.now(),
                "accounts_total": total,
                "partner_scope": scope,
            }
        )

    @api.model
    def _resumable(self, company, date_from, date_to):
        """The unfinished scheduled run of this company and period (a run
        killed or stopped mid-way), to go on with."""
        return self.sudo().search(
            [
                ("company_id", "=", company.id),
                ("date_from", "=", date_from),
                ("date_to", "=", date_to),
                ("origin", "in", ("cron", "manual")),
                ("state", "in", ("running", "stopped")),
            ],
            limit=1,
        )

    def _progress(self, done, failures, last_partner_id):
        """After a chunk: count what it did, insert its failures
        ({partner id: error}). Only this run's own row is updated."""
        self.ensure_one()
        if failures:
            self.env["key.account.kpi.run.failure"].sudo().create(
                [
                    {"run_id": self.id, "partner_id": pid, "error": error}
                    for pid, error in failures.items()
                ]
            )
        self.sudo().write(
            {
                "accounts_done": self.accounts_done + done,
                "accounts_failed": self.accounts_failed + len(failures),
                "last_partner_id": last_partner_id,
                "state": "running",
            }
        )

    def _log_kpi_errors(self, failed):
        """{kpi id: error} of the KPIs that could not be computed."""
        self.ensure_one()
        if failed:
            self.env["key.account.kpi.run.failure"].sudo().create(
                [
                    {"run_id": self.id, "kpi_id": kpi_id, "error": error}
                    for kpi_id, error in failed.items()
                ]
            )

    def _write_state_running(self):
        """A stopped run goes on (resumed): running again."""
        if self.state != "running":
            self.sudo().write({"state": "running", "error": False, "date_end": False})

    def _finish(self, state=None, error=None):
        self.ensure_one()
        if state is None:
            # an account or a KPI that failed: done, with failures
            state = "partial" if self.accounts_failed or self.failure_ids else "done"
        self.sudo().write(
            {"state": state, "date_end": fields.Datetime.now(), "error": error}
        )

    # ------------------------------------------------------------------
    # A caller that waited for another computation of the same period
    # ------------------------------------------------------------------
    @api.model
    def _waiting_since(self, key):
        """Remember (for this thread: the retry of the same call) since when
        this call waits for another computation of its period; the first
        wait counts."""
        now = fields.Datetime.now()
        for other in [k for k, (_s, seen) in _WAITING.items() if seen < now - WAIT_TTL]:
            _WAITING.pop(other, None)
        since, _seen = _WAITING.get(key, (now, now))
        _WAITING[key] = (since, now)

    @api.model
    def _values_computed_meanwhile(self, key):
        """The ids of the values of a call that waited for another
        computation of the same company, period and accounts, which finished
        without failure meanwhile: computing them again would give the same
        figures (no new retry computes the period once more). None when the
        call did not wait, or the other computation did not cover it."""
        since, _seen = _WAITING.pop(key, (None, None))
        if since is None:
            return None
        _db, _thread, company_id, date_from, date_to, partner_ids = key
        runs = self.sudo().search(
            [
                ("company_id", "=", company_id),
                ("date_from", "=", date_from),
                ("date_to", "=", date_to),
                ("state", "=", "done"),
                ("date_end", ">=", since),
            ]
        )
        wanted = set(partner_ids)
        if not any(
            run.partner_scope is None or wanted <= set(run.partner_scope)
            for run in runs
        ):
            return None
        self.env["key.account.kpi.value"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
            SELECT v.id FROM key_account_kpi_value v
              JOIN key_account_kpi k ON k.id = v.kpi_id
             WHERE v.partner_id = ANY(%s) AND v.date_from = %s AND v.date_to = %s
               AND v.company_id = %s AND k.computation_mode != 'manual'
          ORDER BY v.id
        """,
                list(partner_ids),
                date_from,
                date_to,
                company_id,
            )
        )
        return [row[0] for row in rows]

    # ------------------------------------------------------------------
    # Reading the log
    # ------------------------------------------------------------------
    @api.model
    def _describe_running(self, company, date_from, date_to):
        """A sentence for a caller that meets a run in progress: since when,
        how far. Read through a fresh cursor: the run commits its progress
        after each chunk, which the caller's own snapshot may not show."""
        if company:
            domain = [
                ("company_id", "=", company.id),
                ("date_from", "=", date_from),
                ("date_to", "=", date_to),
            ]
        else:  # any scheduled run
            domain = [("origin", "in", ("cron", "manual"))]
        with self.env.registry.cursor() as cr:
            env = api.Environment(cr, self.env.uid, self.env.context)
            run = (
                env[self._name]
                .sudo()
                .search(domain + [("state", "=", "running")], limit=1)
            )
            if not run:
                return None
            company = run.company_id
            return self.env._(
                "The KPIs of %(company)s for %(date_from)s – %(date_to)s are being "
                "computed since %(since)s (%(origin)s): %(done)s of %(total)s accounts "
                "done. Try again when it has finished.",
                company=company.name,
                date_from=run.date_from,
                date_to=run.date_to,
                since=fields.Datetime.context_timestamp(run, run.date_start).strftime(
                    "%Y-%m-%d %H:%M:%S"
                ),
                origin=dict(run._fields["origin"]._description_selection(env)).get(
                    run.origin
                ),
                done=run.accounts_done,
                total=run.accounts_total,
            )

    @api.model
    def _failed_accounts(self, partner_ids):
        """{partner id: (error, run)} of the accounts whose last computation
        in the current company failed: a failure not followed by a finished
        run (a later one: a greater id) of the same company and period that
        covered the account without failing on it. Two queries, whatever the
        number of accounts."""
        if not partner_ids:
            return {}
        Failure = self.env["key.account.kpi.run.failure"].sudo()
        Failure.flush_model()
        self.flush_model()
        rows = self.env.execute_query(
            SQL(
                """
            SELECT DISTINCT ON (f.partner_id) f.partner_id, f.error, r.id,
                   r.company_id, r.date_from, r.date_to, r.date_start
              FROM key_account_kpi_run_failure f
              JOIN key_account_kpi_run r ON r.id = f.run_id
             WHERE f.partner_id = ANY(%s) AND r.company_id = %s
          ORDER BY f.partner_id, r.id DESC, f.id DESC
        """,
                list(partner_ids),
                self.env.company.id,
            )
        )
        if not rows:
            return {}
        # later runs of the same periods, and the accounts they covered
        periods = {
            (company, start, end) for _p, _e, _r, company, start, end, _d in rows
        }
        since = min(row[2] for row in rows)
        later = self.env.execute_query(
            SQL(
                """
            SELECT r.id, r.company_id, r.date_from, r.date_to, r.id,
                   r.partner_scope,
                   ARRAY(SELECT partner_id FROM key_account_kpi_run_failure
                          WHERE run_id = r.id AND partner_id IS NOT NULL)
              FROM key_account_kpi_run r
             WHERE r.id > %s AND r.state IN ('done', 'partial')
               AND (r.company_id, r.date_from, r.date_to) IN %s
        """,
                since,
                tuple(periods),
            )
        )
        by_period = defaultdict(list)
        for _id, company, start, end, later_id, scope, failed in later:
            by_period[(company, start, end)].append(
                (later_id, set(scope) if scope is not None else None, set(failed))
            )
        result = {}
        for pid, error, run_id, company, start, end, _date in rows:
            resolved = any(
                later_id > run_id
                and (scope is None or pid in scope)
                and pid not in failed
                for later_id, scope, failed in by_period[(company, start, end)]
            )
            if not resolved:
                result[pid] = (error, run_id)
        return result


class KeyAccountKpiRunFailure(models.Model):
    _name = "key.account.kpi.run.failure"
    _description = "Key Account KPI Computation Failure"
    _order = "id"

    run_id = fields.Many2one(
        "key.account.kpi.run",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    partner_id = fields.Many2one(
        "res.partner", string="Account", readonly=True, index=True, ondelete="cascade"
    )
    kpi_id = fields.Many2one(
        "key.account.kpi", string="KPI", readonly=True, ondelete="cascade"
    )
    error = fields.Text(readonly=True)
