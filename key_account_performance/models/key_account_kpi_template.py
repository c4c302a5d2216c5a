from odoo import api, fields, models, tools
from odoo.exceptions import UserError, ValidationError

from ..sql import templates as template_sql


class KeyAccountKpiTemplate(models.Model):
    """The KPI set (with weights, targets, thresholds) for a tier x segment."""

    _name = "key.account.kpi.template"
    _description = "Key Account KPI Template"
    _inherit = ["mail.thread"]
    _order = "sequence, name"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    description = fields.Text(translate=True)
    company_id = fields.Many2one("res.company", index="btree_not_null")
    tier_ids = fields.Many2many(
        "key.account.tier",
        "key_account_kpi_template_tier_rel",
        "template_id",
        "tier_id",
        string="Tiers",
    )
    segment_ids = fields.Many2many(
        "key.account.segment",
        "key_account_kpi_template_segment_rel",
        "template_id",
        "segment_id",
        string="Segments",
    )
    is_company_default = fields.Boolean(
        string="Company Default",
        help="Used for key accounts that no other template matches.",
    )
    line_ids = fields.One2many(
        "key.account.kpi.template.line", "template_id", string="KPIs", copy=True
    )
    version = fields.Integer(
        default=1,
        readonly=True,
        copy=False,
        tracking=True,
        help="Incremented whenever the KPI lines change; reviews keep the version "
        "they were scored with.",
    )
    partner_ids = fields.One2many(
        "res.partner", "key_account_template_id", string="Accounts (explicit)"
    )
    total_weight = fields.Float(compute="_compute_total_weight")

    @api.depends("line_ids.weight")
    def _compute_total_weight(self):
        for template in self:
            template.total_weight = sum(template.line_ids.mapped("weight"))

    # ------------------------------------------------------------------
    # Validation
    # ------------------------------------------------------------------
    @api.constrains(
        "tier_ids", "segment_ids", "company_id", "active", "is_company_default"
    )
    def _check_overlap(self):
        for template in self.filtered("active"):
            others = self.search(
                [
                    ("id", "!=", template.id),
                    ("company_id", "=", template.company_id.id),
                ]
            )
            for other in others:
                if template.is_company_default and other.is_company_default:
                    raise ValidationError(
                        self.env._(
                            "Templates %(a)s and %(b)s are both the company default.",
                            a=template.name,
                            b=other.name,
                        )
                    )
                if not (template.tier_ids and other.tier_ids):
                    continue
                tiers = template.tier_ids & other.tier_ids
                if not tiers:
                    continue
                seg_a, seg_b = template.segment_ids, other.segment_ids
                if (not seg_a and not seg_b) or (seg_a & seg_b):
                    raise ValidationError(
                        self.env._(
                            "Templates %(a)s and %(b)s both apply to tier %(tier)s for the same "
                            "segment: an account would be in two templates.",
                            a=template.name,
                            b=other.name,
                            tier=tiers[0].name,
                        )
                    )

    # ------------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------------
    def _bump_version(self):
        if self.env.context.get("kap_no_version_bump"):
            return
        for template in self:
            template.sudo().write({"version": template.version + 1})
        self._mark_accounts_stale()

    # the fields that decide which accounts a template applies to, and (with
    # the order among templates) what the cached template choice holds
    _REACH_FIELDS = frozenset(
        {"tier_ids", "segment_ids", "is_company_default", "company_id", "active"}
    )

    def write(self, vals):
        result = super().write(vals)
        if (self._REACH_FIELDS | {"sequence"}) & set(vals):
            self._key_account_config_changed()
        if self._REACH_FIELDS & set(vals):
            # which accounts the templates apply to may have changed
            self._mark_accounts_stale(all_of_companies=True)
        return result

    def unlink(self):
        result = super().unlink()
        self._key_account_config_changed()
        return result

    def _mark_accounts_stale(self, all_of_companies=False):
        """The scored key accounts these templates apply to (or, when the
        templates' reach changed, every key account of their companies) get
        their score flagged out of date, until the next computation."""
        if not self:
            return
        Partner = self.env["res.partner"].sudo()
        company_ids = self.company_id.ids
        domain = [
            ("is_key_account", "=", True),
            ("key_account_score_date", "!=", False),
        ]
        if not all(template.company_id for template in self):
            company_ids = None  # a shared template reaches every company
        partners = Partner.search(
            domain
            + (
                [("company_id", "in", company_ids + [False])]
                if company_ids is not None
                else []
            )
        )
        if not all_of_companies:
            resolved = self._resolve_for_partners(partners)
            partners = partners.filtered(lambda p: resolved.get(p.id) in self)
        partners._key_account_mark_stale()

    @api.model_create_multi
    def create(self, vals_list):
        # lines created with their template are version 1, not a change
        templates = (
            super(KeyAccountKpiTemplate, self.with_context(kap_no_version_bump=True))
            .create(vals_list)
            .with_env(self.env)
        )
        self._key_account_config_changed()
        return templates

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used_by_approved_review(self):
        # sudo: counts approved reviews, whoever may read them
        if "key.account.review" in self.env and self.env[
            "key.account.review"
        ].sudo().search_count(
            [("template_id", "in", self.ids), ("state", "=", "approved")], limit=1
        ):
            raise UserError(
                self.env._(
                    "A template used by an approved review cannot be deleted; archive it instead."
                )
            )

    # ------------------------------------------------------------------
    # Business
    # ------------------------------------------------------------------
    @api.model
    def _resolve_for_partners(self, partners, company=None, sources=None):
        """{partner id: template} following the documented precedence.

        The partner's own template, else the template matching both tier and
        segment (a template without segments matches any segment), else the
        tier's default, else the company default. Two queries in all.
        ``sources``, a dict when given, receives {partner id: where the
        template comes from}: ``own``, ``tier_segment``, ``tier``,
        ``company`` or False (none applies).
        """
        rows = {
            partner.id: (
                partner.key_account_template_id.id,
                partner.key_account_tier_id.id,
                partner.key_account_segment_id.id,
            )
            for partner in partners
        }
        template_ids = self._resolve_for_rows(rows, company, sources)
        return {
            pid: self.browse(template_id) for pid, template_id in template_ids.items()
        }

    def _resolve_for_rows(self, rows, company=None, sources=None):
        """The same precedence on plain data (the engine reads partners in
        SQL): ``rows`` {partner id: (own template id, tier id, segment id)}
        -> {partner id: template id or None}; ``sources`` as in
        ``_resolve_for_partners``."""
        company = company or self.env.company
        default, by_tier_segment, by_tier, tier_default = self._key_account_choice(
            company.id
        )
        result = {}
        for pid, (own, tier_id, segment_id) in rows.items():
            template_id, source = own, "own"
            if not template_id and tier_id:
                template_id, source = (
                    by_tier_segment.get((tier_id, segment_id)) or by_tier.get(tier_id),
                    "tier_segment",
                )
                if not template_id:
                    template_id, source = tier_default.get(tier_id), "tier"
            if not template_id:
                template_id, source = default, "company"
            result[pid] = template_id
            if sources is not None:
                sources[pid] = source if template_id else False
        return result

    def _kpi_bands(self):
        """{template id: {kpi id: (target, threshold, weight)}}, from the
        cache of every template's lines (``_key_account_all_bands``)."""
        bands = self._key_account_all_bands()
        return {template.id: dict(bands.get(template.id, ())) for template in self}

    # ------------------------------------------------------------------
    # The configuration, cached: every read of an account's page and every
    # computation resolve templates and read their lines, which change only
    # when an administrator edits templates, their lines, tiers or account
    # types (each of which clears the cache, here and in every worker)
    # ------------------------------------------------------------------
    @api.model
    @tools.ormcache("company_id")
    def _key_account_choice(self, company_id):
        """(company default template id, {(tier id, segment id): template id},
        {tier id: template id}, {tier id: tier's default template id}) of the
        company's active templates and the shared ones, in one statement.
        Cached: the result is shared, do not modify it."""
        self.env["key.account.tier"].flush_model(["active", "template_id"])
        self.env["key.account.segment"].flush_model(["active"])
        self.flush_model(
            [
                "active",
                "company_id",
                "sequence",
                "is_company_default",
                "tier_ids",
                "segment_ids",
            ]
        )
        default = None
        by_tier_segment = {}
        by_tier = {}
        tier_default = {}
        for (
            template_id,
            _shared,
            _seq,
            is_default,
            tiers,
            segments,
            defaults,
        ) in self.env.execute_query(template_sql.candidates(company_id)):
            tier_default = {int(key): value for key, value in defaults.items()}
            if template_id is None:
                continue
            if is_default and default is None:
                default = template_id
            for tier_id in tiers:
                if segments:
                    for segment_id in segments:
                        by_tier_segment.setdefault((tier_id, segment_id), template_id)
                else:
                    by_tier.setdefault(tier_id, template_id)
        return default, by_tier_segment, by_tier, tier_default

    @api.model
    @tools.ormcache()
    def _key_account_all_bands(self):
        """{template id: {kpi id: (target, threshold, weight)}} of every
        template's lines, in one read. Cached: the result is shared, do not
        modify it."""
        bands = {}
        for line in (
            self.env["key.account.kpi.template.line"]
            .sudo()
            .search_fetch(
                [], ["template_id", "kpi_id", "target", "threshold", "weight"]
            )
        ):
            bands.setdefault(line.template_id.id, {})[line.kpi_id.id] = (
                line.target,
                line.threshold,
                line.weight,
            )
        return bands

    @api.model
    def _key_account_config_changed(self):
        """Templates, their lines, tiers or account types changed: what
        ``_key_account_choice`` and ``_key_account_all_bands`` cached is
        read again."""
        self.env.registry.clear_cache()

    def action_duplicate_version(self):
        self.ensure_one()
        return self.copy({"name": self.env._("%(name)s (copy)", name=self.name)})
