"""Who sees an account's key-account data: the one visibility rule, applied
to reading, searching, grouping and sorting the partner."""

from contextvars import ContextVar

from odoo import api, fields, models, tools
from odoo.exceptions import AccessError, UserError
from odoo.tools.sql import create_index

from .res_partner import (
    KAM_ADMIN_GROUP,
    KAM_GROUP,
    KAM_MANAGER_GROUP,
    KEY_ACCOUNT_PUBLIC_FIELDS,
)

# up to how many visible accounts a search on figures names them by id
SCOPE_IDS_LIMIT = 5000

# the environment whose user was found in the key-account group for the
# fetch under way (see ResPartner._fetch_query)
_KAM_FETCH_ENV = ContextVar("key_account_kam_fetch_env", default=None)


# one concern of the account per file (see res_partner.py)
class ResPartner(models.Model):
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------
    # Visibility
    # ------------------------------------------------------------------
    key_account_visible = fields.Boolean(
        groups=KAM_GROUP,
        string="Key-Account Data Visible",
        compute="_compute_key_account_visible",
        search="_search_key_account_visible",
        help="The current user may see this account's key-account data: its KAM, the "
        "leader of the KAM's sales team, the members of a team that shares its key "
        "accounts, key-account managers for their teams' and unassigned accounts, "
        "administrators for all.",
    )

    def init(self):
        result = super().init()
        # the record rules of the account's data (reviews, actions, KPI values,
        # history, warnings) select "the accounts of these KAMs" as a subquery
        # that PostgreSQL evaluates once per statement; on the whole table, not
        # only key accounts (the rules' OR with the team's KAMs reads every
        # row), this index answers it without reading the partners themselves
        create_index(
            self.env.cr,
            "res_partner_key_account_manager_id_id_index",
            self._table,
            ["key_account_manager_id", "id"],
        )
        return result

    @api.model
    def check_field_access_rights(self, operation, field_names):
        """As Odoo's, asking whether the user is in the key-account group once
        for all the key-account fields named (Odoo asks it per field, and a
        read of the account's page names them three times: about 130
        checks)."""
        if self.env.su or not field_names:
            return super().check_field_access_rights(operation, field_names)
        fields = self._fields
        ours = {
            name
            for name in field_names
            if name in fields and fields[name].groups == KAM_GROUP
        }
        # (_has_group: has_group's checks are for asking about another user
        # or the debug-mode group, neither of which applies here)
        if not ours or (
            _KAM_FETCH_ENV.get() is not self.env
            and not self.env.user._has_group(KAM_GROUP)
        ):
            return super().check_field_access_rights(operation, field_names)
        others = [name for name in field_names if name not in ours]
        if others:
            super().check_field_access_rights(operation, others)
        return field_names

    def _fetch_query(self, query, fields):
        """As Odoo's, asking whether the user is in the key-account group
        once for the fetch: Odoo checks each column again as it puts it in
        the statement (``_field_to_sql``), a group lookup per key-account
        column, two dozen on the account page. The answer holds for this
        environment during this fetch only."""
        if (
            self.env.su
            or _KAM_FETCH_ENV.get() is self.env
            or not any(field.groups == KAM_GROUP for field in fields)
            or not self.env.user._has_group(KAM_GROUP)
        ):
            return super()._fetch_query(query, fields)
        token = _KAM_FETCH_ENV.set(self.env)
        try:
            return super()._fetch_query(query, fields)
        finally:
            _KAM_FETCH_ENV.reset(token)

    @api.model
    def _check_key_account_reader(self):
        """Searching on a restricted computed field answers the same question
        as reading it: only the addon's groups may."""
        if not self.env.su and not self.env.user.has_group(KAM_GROUP):
            raise AccessError(
                self.env._(
                    "Only key-account users may search on key-account figures (open early "
                    "warnings, reviewed this period, at risk)."
                )
            )

    @api.model
    def _key_account_visible_domain(self):
        """The one rule of who sees an account's key-account data (score,
        grade, trend, breakdown, KPI values, history, reviews, actions,
        warnings, customer value): the accounts one manages (see
        ``_key_account_managed_domain``), plus, for everyone in the addon's
        groups, the accounts of the KAMs of the sales teams one leads and of
        the teams one belongs to that share their key accounts. The record
        rules of those models say the same (security/*.xml)."""
        user = self.env.user
        managed = self._key_account_managed_domain()
        if not managed or not user.has_group(KAM_GROUP):
            return managed
        if user.has_group(KAM_MANAGER_GROUP):
            # a manager manages their teams' accounts: the shared ones among them
            return managed
        return [
            (
                "key_account_manager_id",
                "in",
                list(self._key_account_visible_kam_ids(every_team=False)),
            )
        ]

    @api.model
    @tools.ormcache(
        "self.env.uid", "tuple(sorted(self.env.companies.ids))", "every_team"
    )
    def _key_account_visible_kam_ids(self, every_team):
        """The ids of the KAMs whose accounts the current user sees: themself,
        the members of the teams they lead and of the teams they belong to
        (only those that share their key accounts unless ``every_team``, for
        a key-account manager). One query of the users, in the user's
        environment (the teams' company rule applies), cached per user and
        allowed companies: every read of an account's page asks it, and a
        change of a team's leader, sharing, company or members clears the
        cache (crm_team.py)."""
        user = self.env.user
        return tuple(
            self._key_account_kam_ids(
                [
                    ("id", "=", user.id),
                    *self._key_account_through_teams(user, every_team),
                ]
            )
        )

    @api.model
    def _key_account_through_teams(self, user, every_team):
        """The conditions on res.users (to be OR-ed) of the KAMs whose
        accounts ``user`` reads through a sales team: the members of the
        teams they lead, and of the teams they belong to (only those that
        share their key accounts unless ``every_team``). The visibility and
        the team record rules (res.users._key_account_team_kam_ids) both
        read them here."""
        member = [self._key_account_team_member(user)]
        if not every_team:
            member.insert(0, ("key_account_shared", "=", True))
        return [
            self._key_account_team_kams([("user_id", "=", user.id)]),
            self._key_account_team_kams(member),
        ]

    @api.model
    def _key_account_team_member(self, user):
        """Condition on crm.team: ``user`` is one of its members (an active
        membership, as ``user.crm_team_ids`` reads them)."""
        return (
            "crm_team_member_ids",
            "any",
            [("user_id", "=", user.id), ("active", "=", True)],
        )

    @api.model
    def _key_account_team_kams(self, teams):
        """Condition on res.users: an active member of an active team that
        meets ``teams`` (a domain on crm.team), as ``user.crm_team_ids``
        reads a user's teams (a removed member's membership is archived)."""
        return (
            "crm_team_member_ids",
            "any",
            [
                ("active", "=", True),
                ("crm_team_id", "any", [("active", "=", True), *teams]),
            ],
        )

    @api.model
    def _key_account_kam_ids(self, kams):
        """The ids of the users (archived ones included, as a path through an
        account's manager reads them) who meet one of the conditions
        ``kams`` (on res.users), in one query, in the environment's rights.
        The visibility names the accounts' managers by id: a condition on
        the manager by id is answered from its index and estimated right,
        where a path through the manager is a scan of every partner."""
        return list(
            self.env["res.users"]
            .with_context(active_test=False)
            ._search(["|"] * (len(kams) - 1) + list(kams))
            .get_result_ids()
        )

    @api.depends("commercial_partner_id.key_account_manager_id")
    @api.depends_context("uid", "company")
    def _compute_key_account_visible(self):
        domain = self._key_account_visible_domain()
        commercial = self.sudo().commercial_partner_id
        visible = set(
            commercial.filtered_domain(domain).ids if domain else commercial.ids
        )
        for partner in self:
            partner.key_account_visible = partner.commercial_partner_id.id in visible

    def _search_key_account_visible(self, operator, value):
        self._check_key_account_reader()
        if operator not in ("=", "!="):
            raise UserError(self.env._("Unsupported search on visible accounts."))
        domain = self._key_account_visible_domain() or [(1, "=", 1)]
        ids = self.sudo().with_context(active_test=False)._search(domain)
        positive = (operator == "=") == bool(value)
        return [("id", "in" if positive else "not in", ids)]

    def _check_key_account_visible(self):
        """AccessError unless the user may see these accounts' key-account data."""
        if self.env.su:
            return
        domain = self._key_account_visible_domain()
        if not domain:
            return
        partners = self.commercial_partner_id
        hidden = partners - partners.sudo().filtered_domain(domain)
        if hidden:
            raise AccessError(
                self.env._(
                    "The key-account data of %(names)s is visible to its key account "
                    "manager, their sales team's leader (and members, where the team "
                    "shares its key accounts) and key-account managers only.",
                    names=", ".join(hidden[:5].sudo().mapped("display_name")),
                )
            )

    @api.model
    def _key_account_hidden(self, names):
        """Whether any of these field names (first component of a path) is
        the key-account data of an account (not one of the public fields)."""
        return any(
            name.startswith("key_account_") and name not in KEY_ACCOUNT_PUBLIC_FIELDS
            for name in names
        )

    @api.model
    def _key_account_scope_domain(self, names):
        """The visibility condition to add to a search, a grouping or an
        ordering that uses key-account data (``names``): a condition on an
        account's figures only ever matches the accounts the user may see,
        so that searching, sorting or grouping is no oracle for what reading
        returns empty. [] when nothing needs adding."""
        if self.env.su or not self._key_account_hidden(names):
            return []
        visible = self._key_account_visible_domain()
        if not visible:
            return []
        # the visible accounts by id when they are a KAM's or a team's few
        # thousands: PostgreSQL then reads the condition on the figures
        # (company-dependent values, not indexed) for those accounts only,
        # where a subquery made it read it for every partner first
        # (in the user's environment, as the subquery below: the partners'
        # record rules apply to the visible accounts too)
        accounts = (
            self.with_context(active_test=False)
            ._search(visible, limit=SCOPE_IDS_LIMIT + 1, order="id")
            .get_result_ids()
        )
        # (none visible: the subquery still, which keeps the search's other
        # conditions checked, where an empty list would skip them)
        if 0 < len(accounts) <= SCOPE_IDS_LIMIT:
            return [("commercial_partner_id", "in", list(accounts))]
        return [("commercial_partner_id", "any", visible)]

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None):
        names = [
            leaf[0].split(".", 1)[0]
            for leaf in domain or ()
            if isinstance(leaf, (list, tuple)) and leaf and isinstance(leaf[0], str)
        ]
        scope = self._key_account_scope_domain(
            names + self._key_account_order_names(order)
        )
        if scope:
            domain = ["&", *scope, *domain] if domain else scope
        return super()._search(domain, offset=offset, limit=limit, order=order)

    @api.model
    def _key_account_order_names(self, order):
        """The field names (first component of a path) an ordering uses."""
        return [
            part.strip().split(" ", 1)[0].split(".", 1)[0]
            for part in (order or "").split(",")
        ]

    @api.model
    @api.readonly
    def web_search_read(
        self, domain, specification, offset=0, limit=None, order=None, count_limit=None
    ):
        """A list sorted by a key-account figure holds the visible accounts
        only (see ``_search``): its count, which Odoo makes without the
        ordering, counts them only too (the pager of a KAM's list sorted by
        score said 10001 with a thousand accounts to show). The search
        itself is left to ``_search``: the scope added twice made PostgreSQL
        plan the list five times slower."""
        model = self
        if not self.env.su and self._key_account_hidden(
            self._key_account_order_names(order)
        ):
            model = self.with_context(key_account_count_order=order)
        return super(ResPartner, model).web_search_read(
            domain,
            specification,
            offset=offset,
            limit=limit,
            order=order,
            count_limit=count_limit,
        )

    @api.model
    def _format_web_search_read_results(
        self, domain, records, offset=0, limit=None, count_limit=None
    ):
        order = self.env.context.get("key_account_count_order")
        if order:
            scope = self._key_account_scope_domain(self._key_account_order_names(order))
            if scope:
                domain = ["&", *scope, *domain] if domain else scope
        return super()._format_web_search_read_results(
            domain, records, offset=offset, limit=limit, count_limit=count_limit
        )

    @api.model
    def _read_group(
        self,
        domain,
        groupby=(),
        aggregates=(),
        having=(),
        offset=0,
        limit=None,
        order=None,
    ):
        names = [
            spec.split(":", 1)[0].split(".", 1)[0] for spec in (*groupby, *aggregates)
        ]
        scope = self._key_account_scope_domain(names)
        if scope:
            domain = ["&", *scope, *domain] if domain else scope
        return super()._read_group(
            domain, groupby, aggregates, having, offset=offset, limit=limit, order=order
        )

    def _read_format(self, fnames, load="_classic_read"):
        """Those who may not see an account's key-account data read the
        partner as Sales does: its key-account figures come back empty (one
        query for the whole batch), whatever reads them (form, list, RPC)."""
        result = super()._read_format(fnames, load=load)
        hidden_fields = [
            name
            for name in fnames
            if name.startswith("key_account_") and name not in KEY_ACCOUNT_PUBLIC_FIELDS
        ]
        if not hidden_fields or self.env.su or not result:
            return result
        if "key_account_visible" in fnames:
            # read with them (the account page): the same rule, already applied
            visible_ids = {
                row["id"] for row in result if row.get("key_account_visible")
            }
        else:
            domain = self._key_account_visible_domain()
            if not domain:
                return result
            ids = [row["id"] for row in result if isinstance(row.get("id"), int)]
            commercial = {
                p.id: p.commercial_partner_id.id for p in self.sudo().browse(ids)
            }
            # one query, whatever the accounts' KAMs and their teams (filtering
            # in Python would read each KAM's teams)
            visible = set(
                self.sudo()
                .with_context(active_test=False)
                ._search([("id", "in", list(set(commercial.values()))), *domain])
            )
            visible_ids = {pid for pid, cid in commercial.items() if cid in visible}
        for row in result:
            if row.get("id") in visible_ids:
                continue
            for name in hidden_fields:
                if name in row:
                    row[name] = (
                        []
                        if self._fields[name].type in ("one2many", "many2many")
                        else False
                    )
        return result

    @api.model
    def _key_account_managed_domain(self):
        """The accounts the current user manages, as the record rules of the
        KPI values, reviews and score history see them: a KAM the accounts
        they are the key account manager of; a key-account manager also the
        unassigned accounts and those of their teams' KAMs; an administrator
        (and the superuser) all. A domain on res.partner, to be searched or
        filtered as superuser."""
        user = self.env.user
        if self.env.su or user.has_group(KAM_ADMIN_GROUP):
            return []
        if user.has_group(KAM_MANAGER_GROUP):
            return [
                "|",
                ("key_account_manager_id", "=", False),
                (
                    "key_account_manager_id",
                    "in",
                    list(self._key_account_visible_kam_ids(every_team=True)),
                ),
            ]
        if user.has_group(KAM_GROUP):
            return [("key_account_manager_id", "=", user.id)]
        return [(0, "=", 1)]
