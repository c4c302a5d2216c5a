"""The cockpit's fields of an account (kanban card, account page, filters):
trend arrow and grade colour, open early warnings, reviewed this period,
at risk, latest review and open actions, last computation error. Each is
computed for the accounts read, in a fixed number of queries."""

from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools import kpi_math
from .res_partner import KAM_GROUP


# one concern of the account per file (see res_partner.py)
class ResPartner(models.Model):
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------
    # Cockpit (kanban card, account page, filters)
    # ------------------------------------------------------------------
    key_account_has_previous = fields.Boolean(
        groups=KAM_GROUP,
        string="Has Previous Period",
        compute="_compute_key_account_cockpit",
        help="The period before the one the score shows has a score: the trend means something.",
    )
    key_account_trend_arrow = fields.Char(
        groups=KAM_GROUP,
        string="Trend Arrow",
        compute="_compute_key_account_cockpit",
        help="▲ up, ▼ down, – no previous period to compare with.",
    )
    key_account_grade_color = fields.Integer(
        groups=KAM_GROUP, string="Grade Colour", compute="_compute_key_account_cockpit"
    )
    key_account_warning_count = fields.Integer(
        groups=KAM_GROUP,
        string="Open Early Warnings",
        compute="_compute_key_account_warning_count",
        search="_search_key_account_warning_count",
    )
    key_account_reviewed = fields.Boolean(
        groups=KAM_GROUP,
        string="Reviewed This Period",
        compute="_compute_key_account_reviews",
        search="_search_key_account_reviewed",
        help="The account has a review for the last closed review period.",
    )
    key_account_at_risk = fields.Boolean(
        groups=KAM_GROUP,
        string="At Risk",
        compute="_compute_key_account_at_risk",
        search="_search_key_account_at_risk",
        help="An open early warning, churn risk, the lowest grade, or a score fall beyond "
        "the company's warning step.",
    )
    key_account_latest_review_id = fields.Many2one(
        "key.account.review",
        groups=KAM_GROUP,
        string="Latest Review",
        compute="_compute_key_account_reviews",
    )
    key_account_open_action_ids = fields.Many2many(
        "key.account.improvement.action",
        groups=KAM_GROUP,
        string="Open Improvement Actions",
        compute="_compute_key_account_actions",
    )
    # from the run log of the KPI computation (key.account.kpi.run)
    key_account_compute_error = fields.Text(
        groups=KAM_GROUP,
        string="Last Computation Error",
        compute="_compute_key_account_compute_error",
        compute_sudo=True,
        help="The error of the last KPI computation of this account, when it "
        "failed: the score shown is then the one of an earlier computation.",
    )

    # ------------------------------------------------------------------
    # Cockpit computes (batched: a fixed number of queries for any number of partners)
    # ------------------------------------------------------------------
    @api.depends(
        "key_account_score",
        "key_account_grade",
        "key_account_trend",
        "key_account_score_date",
    )
    def _compute_key_account_cockpit(self):
        # a trend other than 0 has a previous period (the engine's trend is 0
        # without one): the score history is asked only about a flat trend,
        # which may be an equal score or no previous period
        dated = self.filtered(
            lambda partner: (
                partner.key_account_score_date and not partner.key_account_trend
            )
        )
        history = {}
        if dated:
            for row in (
                self.env["key.account.score.history"]
                .sudo()
                .search_fetch(
                    [
                        ("partner_id", "in", dated.ids),
                        ("company_id", "=", self.env.company.id),
                        (
                            "date_to",
                            "in",
                            list(set(dated.mapped("key_account_score_date"))),
                        ),
                    ],
                    ["partner_id", "date_to", "has_previous"],
                )
            ):
                history[row.partner_id.id, row.date_to] = row.has_previous
        colors = self.env["key.account.grade"]._get_colors()
        for partner in self:
            known = history.get((partner.id, partner.key_account_score_date))
            has_previous = (
                known if known is not None else bool(partner.key_account_trend)
            )
            partner.key_account_has_previous = has_previous
            trend = partner.key_account_trend
            if not partner.key_account_score_date or not has_previous:
                arrow = "–"
            elif trend >= 0.05:
                arrow = "▲"
            elif trend <= -0.05:
                arrow = "▼"
            else:
                arrow = "="
            partner.key_account_trend_arrow = arrow
            partner.key_account_grade_color = colors.get(partner.key_account_grade, 0)

    def _key_account_warning_domain(self, partner_ids=None):
        """Open early-warning activities (of ``partner_ids`` when given), or
        None when the warning activity type is gone."""
        activity_type_id = self._key_account_xmlid_to_id(
            "key_account_performance.mail_activity_type_key_account_warning"
        )
        if not activity_type_id:
            return None
        domain = [
            ("res_model", "=", "res.partner"),
            ("activity_type_id", "=", activity_type_id),
        ]
        if partner_ids is not None:
            domain.append(("res_id", "in", list(partner_ids)))
        return domain

    def _key_account_warnings_query(self):
        """The open early-warning activities of all partners, as a query."""
        domain = self._key_account_warning_domain()
        # sudo: which partners have one, no content is disclosed
        return (
            self.env["mail.activity"]
            .sudo()
            ._search(domain if domain is not None else [(0, "=", 1)])
        )

    def _key_account_warning_counts(self, partner_ids=None):
        """{partner id: open early-warning activities}; all partners when no ids."""
        domain = self._key_account_warning_domain(partner_ids)
        if domain is None:
            return {}
        # counting activities of partners the reader may see: no content is disclosed
        return dict(
            self.env["mail.activity"]
            .sudo()
            ._read_group(domain, ["res_id"], ["__count"])
        )

    def _compute_key_account_warning_count(self):
        counts = self._key_account_warning_counts(self.ids)
        for partner in self:
            partner.key_account_warning_count = counts.get(partner.id, 0)

    def _search_key_account_warning_count(self, operator, value):
        self._check_key_account_reader()
        if operator not in ("=", "!=", ">", ">=", "<", "<=") or not isinstance(
            value, int
        ):
            raise UserError(self.env._("Unsupported search on open early warnings."))
        import operator as py_operator

        compare = {
            "=": py_operator.eq,
            "!=": py_operator.ne,
            ">": py_operator.gt,
            ">=": py_operator.ge,
            "<": py_operator.lt,
            "<=": py_operator.le,
        }[operator]
        counts = self._key_account_warning_counts()
        if compare(0, value):  # partners without any warning match too
            return [
                (
                    "id",
                    "not in",
                    [pid for pid, count in counts.items() if not compare(count, value)],
                )
            ]
        return [
            (
                "id",
                "in",
                [pid for pid, count in counts.items() if compare(count, value)],
            )
        ]

    @api.model
    def _key_account_reviewed_domain(self):
        """The reviews "reviewed" asks about: the current company's, of its
        last closed review period."""
        company = self.env.company
        date_from, date_to = kpi_math.last_closed_period(
            kpi_math.company_today(company), company.key_account_period_type
        )
        return [
            ("date_from", "=", date_from),
            ("date_to", "=", date_to),
            ("company_id", "=", company.id),
        ]

    def _key_account_reviews_query(self):
        """The reviews of the last closed period of the current company, as a
        query."""
        # sudo: whether a review exists, not what it says
        return (
            self.env["key.account.review"]
            .sudo()
            ._search(self._key_account_reviewed_domain())
        )

    def _key_account_with_accounts_ids(self):
        """Ids of these partners and of their accounts (commercial partners):
        the counts are a partner's own, the lists its account's."""
        return list(set(self.ids) | set(self.commercial_partner_id.ids))

    def _search_key_account_reviewed(self, operator, value):
        self._check_key_account_reader()
        if operator not in ("=", "!="):
            raise UserError(self.env._("Unsupported search on reviewed accounts."))
        positive = (operator == "=") == bool(value)
        reviews = self._key_account_reviews_query()
        return [
            (
                "id",
                "in" if positive else "not in",
                reviews.subselect(SQL.identifier(reviews.table, "partner_id")),
            )
        ]

    @api.depends_context("company")
    def _compute_key_account_at_risk(self):
        """The condition of ``_search_key_account_at_risk``, on these accounts'
        own fields (their warning count included): nothing read about others."""
        lowest, step = self._key_account_at_risk_levels()
        for partner in self:
            partner.key_account_at_risk = bool(
                partner.is_key_account
                and (
                    partner.key_account_churn_risk
                    or partner.key_account_warning_count
                    or (lowest and partner.key_account_grade == lowest)
                    or partner.key_account_trend < -step
                )
            )

    @api.model
    def _key_account_at_risk_levels(self):
        """(lowest grade of the company's bands or False, score drop step)."""
        company = self.env.company
        bands = self.env["key.account.grade"]._get_bands(company)
        lowest = min(bands, key=lambda band: band[1])[0] if bands else False
        # the one column, not the company's hundred (a search on At Risk
        # reads it)
        company.fetch(["key_account_score_drop_step"])
        return lowest, company.key_account_score_drop_step or 10.0

    def _search_key_account_at_risk(self, operator, value):
        self._check_key_account_reader()
        if operator not in ("=", "!="):
            raise UserError(self.env._("Unsupported search on accounts at risk."))
        lowest, step = self._key_account_at_risk_levels()
        domain = [
            "|",
            "|",
            "|",
            ("key_account_churn_risk", "=", True),
            (
                "id",
                "in",
                self._key_account_warnings_query().subselect(
                    SQL.identifier("mail_activity", "res_id")
                ),
            ),
            "&",
            ("key_account_grade", "=", lowest),
            ("key_account_grade", "!=", False),
            ("key_account_trend", "<", -step),
        ]
        positive = (operator == "=") == bool(value)
        return [("is_key_account", "=", True)] + (
            domain if positive else ["!"] + domain
        )

    def _compute_key_account_compute_error(self):
        failed = self.env["key.account.kpi.run"]._failed_accounts(
            [pid for pid in self.ids if pid]
        )
        for partner in self:
            partner.key_account_compute_error = failed.get(partner.id, (False,))[0]

    @api.depends("commercial_partner_id")
    @api.depends_context("company")
    def _compute_key_account_reviews(self):
        """Reviews of these partners, in one search for any number of
        partners: the count is the partner's own, the latest review its
        company's; reviewed whether the company has a review of the last
        closed period, which the user may read or not (no content is
        disclosed)."""
        Review = self.env["key.account.review"]
        found = self._key_account_search_sudo(
            "key.account.review",
            [("partner_id", "in", self._key_account_with_accounts_ids())],
            ["partner_id", "date_from", "date_to", "company_id", "name"],
            order="date_to desc, id desc",
        )
        # the condition of _search_key_account_reviewed, on what was found
        reviewed = set(
            found.filtered_domain(self._key_account_reviewed_domain()).partner_id.ids
        )
        review_counts = defaultdict(int)
        latest = {}
        for review in found.with_env(self.env)._filtered_access("read"):
            review_counts[review.partner_id.id] += 1
            latest.setdefault(review.partner_id.id, review)
        for partner in self:
            commercial = partner.commercial_partner_id.id
            partner.key_account_review_count = review_counts[partner.id]
            partner.key_account_latest_review_id = latest.get(commercial, Review)
            partner.key_account_reviewed = commercial in reviewed

    @api.depends("commercial_partner_id")
    def _compute_key_account_actions(self):
        """Open improvement actions of these partners, in one search for any
        number of partners (the cards and the list count them, the page
        lists them): the count is the partner's own, the list its
        company's."""
        Action = self.env["key.account.improvement.action"]
        open_actions = defaultdict(list)
        for action in self._key_account_readable(
            "key.account.improvement.action",
            [
                ("partner_id", "in", self._key_account_with_accounts_ids()),
                ("state", "in", ("todo", "in_progress")),
            ],
            ["partner_id"],
            order="date_deadline, id",
        ):
            open_actions[action.partner_id.id].append(action.id)
        for partner in self:
            partner.key_account_action_count = len(open_actions[partner.id])
            partner.key_account_open_action_ids = Action.browse(
                open_actions[partner.commercial_partner_id.id]
            )

    # ------------------------------------------------------------------
    # Reading the screens
    # ------------------------------------------------------------------
    @api.readonly
    def web_read(self, specification):
        """As Odoo's, with the names of the key-account many-to-ones (tier,
        account type, manager, team, templates) read alone.

        The screens show them by name (``{"fields": {"display_name": {}}}``).
        Odoo reads a many-to-one's display name by loading the record's row
        whole (every prefetched column; for a user, the user's row and then
        its contact's) for that one name: on the account page, about a sixth
        of its time. Here the ids are read with the accounts, then the names
        alone (``_rec_name``, through the parent for a user), and the display
        names are Odoo's own, computed from the names in cache.
        """
        name_only = {"fields": {"display_name": {}}}
        fields = self._fields
        names = [
            name
            for name, spec in specification.items()
            if spec == name_only
            and name.startswith("key_account_")
            and fields.get(name)
            and fields[name].type == "many2one"
        ]
        if (
            not names
            or not all(isinstance(id_, int) for id_ in self._ids)
            or self.env.context.get("prefetch_langs")
        ):
            # (new records: Odoo's own reading, which knows their values;
            # all languages at once: Odoo's, which reads them as such)
            return super().web_read(specification)
        result = super().web_read(dict(specification, **dict.fromkeys(names, {})))
        # sudo: as Odoo's web_read reads the display names of many-to-ones
        records = {
            name: self.env[fields[name].comodel_name]
            .sudo()
            .browse({values[name] for values in result if values.get(name)})
            for name in names
        }
        self._key_account_fetch_names(records.values())
        for name in names:
            display_names = {record.id: record.display_name for record in records[name]}
            for values in result:
                if values.get(name):
                    values[name] = {
                        "id": values[name],
                        "display_name": display_names[values[name]],
                    }
        return result

    @api.model
    def _key_account_fetch_names(self, recordsets):
        """Fetch the ``_rec_name`` alone of the records of ``recordsets``
        (an inherited name through its parent: a user's through its
        contact), for all of them in one statement, put in cache as Odoo's
        fetch puts them (values already in cache are kept; records whose
        name is in cache are not asked). Text names only, stored in a column
        of the record or of its parent: any other kind of name is left to
        Odoo's own reading when the display name is computed. (The
        comodels' ``_fetch_query`` overrides do not see this read: Odoo's
        own, on users, hides private fields, which names are not.)"""

        def text_column(field):
            return (
                field is not None
                and field.store
                and field.column_type
                and not field.inherited
                and field.type in ("char", "text")
            )

        by_model = {}
        for records in recordsets:
            if records:
                by_model[records._name] = by_model.get(records._name, records) | records
        cache = self.env.cache
        selects = []
        targets = []
        for records in by_model.values():
            field = records._fields.get(records._rec_name)
            if field is not None and field.inherited:
                # (a user's name is its contact's: one join)
                link, _dot, name = field.related.partition(".")
                parent = records._fields[link]
                Parent = records.env[parent.comodel_name]
                if "." in name or not text_column(Parent._fields.get(name)):
                    continue
                missing = records.browse(cache.get_missing_ids(records, parent))
                name_sql = Parent._field_to_sql("parent", name)
                source = SQL(
                    "%s LEFT JOIN %s AS parent ON parent.id = %s",
                    SQL.identifier(records._table),
                    SQL.identifier(Parent._table),
                    SQL.identifier(records._table, link, to_flush=parent),
                )
                link_sql = SQL.identifier(records._table, link)
                target = (records, parent, Parent._fields[name])
            elif text_column(field):
                missing = records.browse(cache.get_missing_ids(records, field))
                name_sql = records._field_to_sql(records._table, field.name)
                source = SQL.identifier(records._table)
                link_sql = SQL("NULL::int4")
                target = (records, None, field)
            else:
                continue
            if not missing:
                continue
            targets.append(target)
            selects.append(
                SQL(
                    "SELECT %s AS target, %s AS id, %s AS link, %s AS name"
                    " FROM %s WHERE %s IN %s",
                    len(targets) - 1,
                    SQL.identifier(records._table, "id"),
                    link_sql,
                    name_sql,
                    source,
                    SQL.identifier(records._table, "id"),
                    tuple(missing.ids),
                )
            )
        if not selects:
            return
        rows = defaultdict(list)
        for target, id_, link, name in self.env.execute_query(
            SQL(" UNION ALL ").join(selects)
        ):
            rows[target].append((id_, link, name))
        for target, found in rows.items():
            records, link_field, name_field = targets[target]
            ids, links, names = zip(*found)
            if link_field is None:
                cache.insert_missing(records.browse(ids), name_field, names)
                continue
            cache.insert_missing(records.browse(ids), link_field, links)
            parents = {link: name for link, name in zip(links, names) if link}
            cache.insert_missing(
                records.env[link_field.comodel_name].browse(list(parents)),
                name_field,
                list(parents.values()),
            )
