"""Why the score moved: each KPI's points in the account's score and their
change against the previous period."""

from odoo import api, fields, models

from ..tools import kpi_math
from .res_partner import KAM_GROUP


# one concern of the account per file (see res_partner.py)
class ResPartner(models.Model):
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------
    # Why the score moved
    # ------------------------------------------------------------------
    key_account_breakdown_ids = fields.Many2many(
        "key.account.kpi.value",
        groups=KAM_GROUP,
        string="Why the Score Moved",
        compute="_compute_key_account_breakdown",
        help="The KPI values of the period the score shows, biggest movers first.",
    )
    key_account_breakdown_gone_points = fields.Float(
        groups=KAM_GROUP,
        string="Points of KPIs Without a Value Now",
        compute="_compute_key_account_breakdown",
        help="Points the previous period had from KPIs that have no value in this period.",
    )

    @api.depends("key_account_score_date", "key_account_score")
    def _compute_key_account_breakdown(self):
        Value = self.env["key.account.kpi.value"]
        periods = {}
        company = self.env.company
        for partner in self:
            date_to = partner.key_account_score_date
            if partner.is_key_account and date_to:
                bounds = kpi_math.period_bounds(
                    date_to, company.key_account_period_type
                )
                if bounds[1] == date_to:
                    periods[partner.id] = bounds
        data = (
            self._key_account_breakdown_data(
                {(pid, *bounds) for pid, bounds in periods.items()}
            )
            if periods
            else {}
        )
        for partner in self:
            rows = (
                data.get((partner.id, *periods[partner.id]), [])
                if partner.id in periods
                else []
            )
            partner.key_account_breakdown_ids = Value.browse(
                [row["value_id"] for row in rows if row["value_id"]]
            )
            partner.key_account_breakdown_gone_points = sum(
                row["delta_points"] for row in rows if not row["value_id"]
            )
        # the lines' points are the rows just built: the list of the breakdown
        # reads them without building the breakdown a second time, rounded to
        # the list's tenths so that its column totals are the score and the
        # change rounded (each line rounded alone drifted by tenths)
        for rows in data.values():
            lines = [row for row in rows if row["value_id"]]
            if not lines:
                continue
            values = Value.browse([row["value_id"] for row in lines])
            for name in ("points", "previous_points", "delta_points"):
                field = Value._fields[name]
                self.env.cache.update(
                    values,
                    field,
                    kpi_math.rounded_to_total(
                        (row[name] for row in lines), field.get_digits(self.env)[1]
                    ),
                )

    def key_account_score_breakdown(self, date_from, date_to):
        """Per KPI of the account's template with a value: what it adds to the score.

        Public, callable over RPC (dates as ``YYYY-MM-DD`` strings). Returns a
        list of dicts, biggest movers first, with the keys ``kpi_code``,
        ``value``, ``score``, ``weight``, ``points``, ``previous_points``,
        ``delta_points`` and the extras ``kpi_id``, ``kpi_name``,
        ``value_id``, ``unit``, ``previous_value``, ``has_previous``.
        ``points`` add up to the account score of the period (the weighted
        mean of the KPI scores) and ``delta_points`` to the change against the
        previous period of the same length (the trend; 0 when either period
        has no score). A KPI that had a value in the previous period but has
        none now is listed too, with ``value`` False and 0 points, so that the
        changes still add up. Contacts answer for their company. Missing
        values are False, as in ``read()``: XML-RPC cannot carry None.
        """
        self.ensure_one()
        date_from, date_to = self.env["key.account.kpi.value"]._parse_period(
            date_from, date_to
        )
        self._check_key_account_visible()
        partner = self.commercial_partner_id
        rows = self._key_account_breakdown_data({(partner.id, date_from, date_to)}).get(
            (partner.id, date_from, date_to), []
        )
        return [
            {key: False if item is None else item for key, item in row.items()}
            for row in rows
        ]

    @api.model
    def _key_account_breakdown_data(self, periods):
        """{(partner id, date_from, date_to): [rows]} for a set of such triples.

        One read of the KPI values of every period and its previous one, one
        template resolution: the number of queries does not depend on the
        number of accounts, periods or KPIs.
        """
        bounds = {}
        for pid, date_from, date_to in periods:
            bounds[pid, date_from, date_to] = kpi_math.previous_period(
                date_from, date_to
            )
        wanted = {(date_from, date_to) for _pid, date_from, date_to in periods}
        wanted |= set(bounds.values())
        period_domain = []
        for date_from, date_to in wanted:
            period_domain = (
                (["|"] if period_domain else [])
                + period_domain
                + ["&", ("date_from", "=", date_from), ("date_to", "=", date_to)]
            )
        partner_ids = list({pid for pid, _f, _t in periods})
        # the current company's figures (a shared partner has one set per company)
        values = self._key_account_readable(
            "key.account.kpi.value",
            [
                ("partner_id", "in", partner_ids),
                ("company_id", "=", self.env.company.id),
            ]
            + period_domain,
            # (with what the page's list of the breakdown shows of them)
            [
                "partner_id",
                "kpi_id",
                "date_from",
                "date_to",
                "value",
                "score",
                "status",
                "weight",
                "company_id",
            ],
            # (the rows are sorted below: the values' own order would join
            # the partners for their names)
            order="id",
        )
        by_period = {}
        for record in values:
            by_period.setdefault(
                (record.partner_id.id, record.date_from, record.date_to), {}
            )[record.kpi_id.id] = record
        Template = self.env["key.account.kpi.template"]
        # the template used, as the account page also shows it (computed once
        # for both when the page reads them together)
        template_of = {
            partner.id: partner.key_account_template_effective_id.id
            for partner in self.browse(partner_ids)
        }
        bands = Template.browse(
            list(set(filter(None, template_of.values())))
        )._kpi_bands()
        kpis = (
            self.env["key.account.kpi"]
            .sudo()
            .browse({kpi_id for band in bands.values() for kpi_id in band})
        )
        # (with what the list of the breakdown reads of them: the mode, the
        # unit shown)
        kpis.fetch(
            ["code", "name", "unit", "computation_mode", "model_name", "value_field"]
        )
        result = {}
        for key, (prev_from, prev_to) in bounds.items():
            pid, date_from, date_to = key
            band = bands.get(template_of.get(pid)) or {}
            current = {
                kpi_id: record
                for kpi_id, record in by_period.get(
                    (pid, date_from, date_to), {}
                ).items()
                if kpi_id in band
            }
            previous = {
                kpi_id: record
                for kpi_id, record in by_period.get(
                    (pid, prev_from, prev_to), {}
                ).items()
                if kpi_id in band
            }
            points = kpi_math.score_breakdown(
                {
                    kpi_id: (record.score, band[kpi_id][2])
                    for kpi_id, record in current.items()
                },
                {
                    kpi_id: (record.score, band[kpi_id][2])
                    for kpi_id, record in previous.items()
                },
            )
            has_previous = bool(current) and bool(previous)
            rows = []
            for kpi_id, (now, before, delta) in points.items():
                kpi = kpis.browse(kpi_id)
                record = current.get(kpi_id)
                old = previous.get(kpi_id)
                rows.append(
                    {
                        "kpi_id": kpi_id,
                        "kpi_code": kpi.code,
                        "kpi_name": kpi.name,
                        "value_id": record.id if record else None,
                        "value": record.value if record else None,
                        "unit": kpi.unit or "",
                        "score": record.score if record else None,
                        "weight": band[kpi_id][2],
                        "points": now,
                        "previous_value": old.value if old else None,
                        "previous_points": before,
                        "delta_points": delta,
                        "has_previous": has_previous,
                    }
                )
            rows.sort(
                key=lambda row: (
                    -abs(row["delta_points"]),
                    -row["points"],
                    row["kpi_code"] or "",
                )
            )
            result[key] = rows
        return result
