"""The screens cost per page, not per account (issue 25, item 4).

Reading the partner form of one key account (``web_read`` with the form
view's own field specification, as the web client does) makes a fixed number
of queries that read a fixed number of rows, however many accounts, reviews,
warnings and at-risk accounts the database holds. The cockpit kanban (first
page and grouped by tier), the key-account list and the approval queue make
as many queries for a page of 2 rows as for a page of 25 (every field of a
page is computed for the whole page at once), and the score-history pivot
as many for 3 accounts as for 33."""

from contextlib import contextmanager
from unittest.mock import patch

from lxml import etree

from odoo import Command
from odoo.exceptions import AccessError
from odoo.sql_db import Cursor
from odoo.tests import tagged

from ..models.res_partner import KAM_GROUP
from ..tools import kpi_math
from .common import ReviewCommon

# what the form of one key account may cost at most, read by a team leader
# (31 today; 35 before the many-to-ones' names came in one statement, 43
# before the template resolution and the templates' lines were cached, 49
# before the grade bands and the visible KAMs were cached and the breakdown
# read its list's fields with its values; 60 before the page read its stored
# dependencies with its fields and resolved its template in one statement:
# Odoo's own partner form with the sales, CRM and survey apps is about 20 of
# them, the key-account page, its breakdown and its lists the rest)
MAX_QUERIES = 32


def form_specification(model, arch):
    """The web_read specification the web client sends for a form: every
    field of the arch, many2ones with their display name, x2manys with the
    fields of their inline list."""

    def walk(node, model, spec):
        for child in node:
            if not isinstance(child.tag, str):
                continue
            if child.tag != "field":
                walk(child, model, spec)
                continue
            name = child.get("name")
            field = model._fields[name]
            if field.type in ("one2many", "many2many"):
                sub = {}
                inline = child.find("list")
                if inline is not None:
                    walk(inline, model.env[field.comodel_name], sub)
                else:
                    sub = {"display_name": {}}
                spec.setdefault(name, {"fields": {}})["fields"].update(sub)
            elif field.type == "many2one":
                spec[name] = {"fields": {"display_name": {}}}
            else:
                spec.setdefault(name, {})

    spec = {}
    walk(etree.fromstring(arch), model, spec)
    return spec


@tagged("post_install", "-at_install")
class TestAccountPageQueries(ReviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Value = cls.env["key.account.kpi.value"]
        Value.compute_for_period(*cls.P0)
        Value.compute_for_period(*cls.P)
        cls._generate_cycle()
        cls.env["res.partner"].compute_key_account_value()
        cls.warning_type = cls.env.ref(
            "key_account_performance.mail_activity_type_key_account_warning"
        )
        cls._warn(cls.partner_a)

    @classmethod
    def _warn(cls, partners):
        cls.env["mail.activity"].create(
            [
                {
                    "res_model_id": cls.env["ir.model"]._get_id("res.partner"),
                    "res_id": partner.id,
                    "activity_type_id": cls.warning_type.id,
                    "user_id": cls.kam.id,
                    "summary": "Early warning",
                }
                for partner in partners
            ]
        )

    def _grow(self, count):
        """``count`` more key accounts with orders, KPI values of two
        periods, a review of the last closed period and an open early
        warning."""
        accounts = self.env["res.partner"].create(
            [
                {
                    "name": "Crowd Account %03d" % i,
                    "is_company": True,
                    "company_id": self.company.id,
                    "key_account_tier_id": self.tier.id,
                    "key_account_manager_id": self.kam2.id,
                    "key_account_template_id": self.template.id,
                }
                for i in range(count)
            ]
        )
        for account in accounts:
            self._order(account, 900.0, self._day(self.P0, 5))
        Value = self.env["key.account.kpi.value"]
        Value.compute_for_period(*self.P0, partner_ids=accounts.ids)
        Value.compute_for_period(*self.P, partner_ids=accounts.ids)
        self.cycle.action_generate_reviews()
        self._warn(accounts)
        self.assertEqual(
            self.env["key.account.review"].search_count(
                [("cycle_id", "=", self.cycle.id)]
            ),
            count + 2,
        )
        return accounts

    @contextmanager
    def _cost(self):
        """{'queries': n, 'rows': n} of what runs inside the block."""
        cost = {"queries": 0, "rows": 0}
        execute = Cursor.execute

        def counting(cursor, query, params=None, log_exceptions=True):
            result = execute(cursor, query, params, log_exceptions)
            cost["queries"] += 1
            if cursor.description is not None:
                cost["rows"] += max(cursor.rowcount, 0)
            return result

        self.env.flush_all()
        with patch.object(Cursor, "execute", counting):
            yield cost

    @contextmanager
    def _statements(self):
        """The SQL (text without parameters) of what runs inside the block."""
        statements = []
        execute = Cursor.execute

        def logging(cursor, query, params=None, log_exceptions=True):
            statements.append(str(getattr(query, "code", query)))
            return execute(cursor, query, params, log_exceptions)

        with patch.object(Cursor, "execute", logging):
            yield statements

    def _spec(self, model, xmlid, view_type):
        """The web client's specification of the view ``xmlid``."""
        view_id = self.env.ref(xmlid).id
        arch = model.get_views([(view_id, view_type)])["views"][view_type]["arch"]
        return form_specification(model, arch)

    def _page(self, model, domain, spec, limit):
        """(queries, result) of reading the first page of ``limit`` rows, as
        the web client does (a warm read: Odoo's caches of rules and groups
        are filled by a first one)."""
        self.env.invalidate_all()
        model.web_search_read(domain, spec, limit=limit, count_limit=10001)
        self.env.invalidate_all()
        with self._cost() as cost:
            result = model.web_search_read(domain, spec, limit=limit, count_limit=10001)
        return cost["queries"], result

    def _grouped(self, model, domain, spec, limit):
        """The kanban grouped by tier: the groups, then a page of each."""
        groups = model.web_read_group(
            domain, ["key_account_tier_id"], ["key_account_tier_id"]
        )["groups"]
        return [
            model.web_search_read(
                group["__domain"], spec, limit=limit, count_limit=10001
            )
            for group in groups
        ]

    def _read_form(self, user):
        Partner = self.env["res.partner"].with_user(user)
        arch = Partner.get_views([(False, "form")])["views"]["form"]["arch"]
        spec = form_specification(Partner, arch)
        partner = self.partner_a.with_user(user)
        # warm the registry's caches (access rules, groups) for this user:
        # from an empty record cache, as the measured read starts
        self.env.invalidate_all()
        partner.web_read(spec)
        self.env.invalidate_all()
        with self._cost() as cost:
            [record] = partner.web_read(spec)
        return cost, record, spec

    def test_account_form_costs_the_same_whatever_the_database_holds(self):
        users = (self.leader, self.kam)
        small = {}
        for user in users:
            cost, record, spec = self._read_form(user)
            # the page shows what it should
            self.assertIn("key_account_breakdown_ids", spec)
            self.assertIn("key_account_at_risk", spec)
            self.assertIn("key_account_reviewed", spec)
            self.assertTrue(record["key_account_breakdown_ids"])
            self.assertTrue(record["key_account_at_risk"])
            self.assertTrue(record["key_account_reviewed"])
            self.assertLessEqual(cost["queries"], MAX_QUERIES, (user.login, cost))
            small[user] = cost, record
        self._grow(30)
        for user in users:
            cost, record, _spec = self._read_form(user)
            self.assertEqual(record, small[user][1], user.login)
            # neither more queries nor more rows read: nothing depends on the
            # other accounts, their reviews or their warnings
            self.assertEqual(cost, small[user][0], user.login)

    def test_breakdown_is_built_once_per_read(self):
        """The breakdown lines' points come with the account's breakdown:
        reading the page builds it once."""
        Partner = self.env["res.partner"]
        calls = []
        original = type(Partner)._key_account_breakdown_data

        def counted(model, periods):
            calls.append(periods)
            return original(model, periods)

        arch = Partner.get_views([(False, "form")])["views"]["form"]["arch"]
        spec = form_specification(Partner, arch)
        self.env.invalidate_all()
        with patch.object(type(Partner), "_key_account_breakdown_data", counted):
            [record] = self.partner_a.web_read(spec)
        self.assertEqual(len(calls), 1, calls)
        lines = record["key_account_breakdown_ids"]
        self.assertTrue(lines)
        rows = self.partner_a.key_account_score_breakdown(
            str(self.P[0]), str(self.P[1])
        )
        by_value = {row["value_id"]: row for row in rows}
        for line in lines:
            self.assertAlmostEqual(
                line["points"], by_value[line["id"]]["points"], delta=0.1
            )
            self.assertAlmostEqual(
                line["delta_points"], by_value[line["id"]]["delta_points"], delta=0.1
            )
        # the list's column totals are the score and the change, rounded as
        # the list rounds them (tenths), not a drift of rounded lines
        self.assertEqual(
            round(sum(line["points"] for line in lines), 1),
            kpi_math.round_half_up(self.partner_a.key_account_score, 1),
        )
        self.assertEqual(
            round(sum(line["delta_points"] for line in lines), 1),
            kpi_math.round_half_up(
                sum(row["delta_points"] for row in rows if row["value_id"]), 1
            ),
        )

    def test_many2one_names_as_odoo_reads_them(self):
        """The page's key-account many-to-ones (tier, account type, manager,
        team, templates) come as Odoo's web_read gives them, {id, display
        name}, without loading the manager's row whole."""
        segment = self.env["key.account.segment"].create({"name": "Utilities"})
        self.partner_a.sudo().key_account_segment_id = segment
        cost, record, spec = self._read_form(self.kam)
        names = [
            name
            for name, field in self.env["res.partner"]._fields.items()
            if name in spec
            and name.startswith("key_account_")
            and field.type == "many2one"
        ]
        self.assertIn("key_account_manager_id", names)
        self.assertIn("key_account_tier_id", names)
        # Odoo's own reading: a field specification the addon leaves alone
        # (with a context) is read by Odoo's web_read
        partner = self.partner_a.with_user(self.kam)
        self.env.invalidate_all()
        [odoo] = partner.web_read(
            {name: {"fields": {"display_name": {}}, "context": {}} for name in names}
        )
        for name in names:
            self.assertEqual(record[name], odoo[name], name)
        self.assertEqual(
            record["key_account_manager_id"],
            {"id": self.kam.id, "display_name": self.kam.display_name},
        )
        self.assertEqual(
            record["key_account_segment_id"],
            {"id": segment.id, "display_name": "Utilities"},
        )
        # saved from the form (web_save reads the record back the same way):
        # the team leader moves the account to another tier and KAM
        tier = self.env["key.account.tier"].create({"name": "Moved Tier"})
        [saved] = self.partner_a.with_user(self.leader).web_save(
            {"key_account_tier_id": tier.id, "key_account_manager_id": self.kam2.id},
            {
                "key_account_tier_id": {"fields": {"display_name": {}}},
                "key_account_manager_id": {"fields": {"display_name": {}}},
                "key_account_segment_id": {"fields": {"display_name": {}}},
            },
        )
        self.assertEqual(
            saved,
            {
                "id": self.partner_a.id,
                "key_account_tier_id": {"id": tier.id, "display_name": "Moved Tier"},
                "key_account_manager_id": {
                    "id": self.kam2.id,
                    "display_name": self.kam2.name,
                },
                "key_account_segment_id": {
                    "id": segment.id,
                    "display_name": "Utilities",
                },
            },
        )
        self.partner_a.sudo().key_account_manager_id = self.kam
        self.env.flush_all()
        # in Chinese: the tier's Chinese name, as Odoo's web_read gives it
        self.env["res.lang"]._activate_lang("zh_CN")
        tier.with_context(lang="zh_CN").name = "移动层级"
        self.env.flush_all()
        chinese = self.partner_a.with_user(self.leader).with_context(lang="zh_CN")
        self.env.invalidate_all()
        [ours] = chinese.web_read(
            {"key_account_tier_id": {"fields": {"display_name": {}}}}
        )
        self.env.invalidate_all()
        [odoo] = chinese.web_read(
            {"key_account_tier_id": {"fields": {"display_name": {}}, "context": {}}}
        )
        self.assertEqual(ours, odoo)
        self.assertEqual(ours["key_account_tier_id"]["display_name"], "移动层级")
        # a record not saved yet is read by Odoo itself
        draft = (
            self.env["res.partner"]
            .with_user(self.leader)
            .new({"name": "Draft", "key_account_tier_id": tier.id})
        )
        [values] = draft.web_read(
            {"key_account_tier_id": {"fields": {"display_name": {}}}}
        )
        self.assertEqual(
            values["key_account_tier_id"], {"id": tier.id, "display_name": "Moved Tier"}
        )
        # none of the page's queries reads the manager's user row whole (its
        # signature, say)
        # (a warm read: the first one after the change refills Odoo's caches)
        self.env.invalidate_all()
        partner.web_read(spec)
        self.env.invalidate_all()
        with self._statements() as statements:
            partner.web_read(spec)
        self.assertTrue(statements)
        self.assertFalse(
            [sql for sql in statements if '"res_users"."signature"' in sql],
        )
        # the names of the tier, account type, manager, team and templates
        # come in one statement, not one per model
        names = [sql for sql in statements if "AS target" in sql]
        self.assertEqual(len(names), 1, names)
        for table in (
            "key_account_tier",
            "key_account_segment",
            "res_users",
            "crm_team",
        ):
            self.assertIn('FROM "%s"' % table, names[0])

    def test_names_fetched_only_as_text_columns(self):
        """The one-statement read of names fetches text names only, and only
        those not in cache yet; any other name (a many-to-one, say), and a
        read of every language at once, are left to Odoo."""
        Partner = self.env["res.partner"]
        tier = self.partner_a.key_account_tier_id.sudo()
        history = self.env["key.account.score.history"].sudo().search([], limit=2)
        self.assertTrue(history)
        # a model whose _rec_name is a many-to-one: left to Odoo's reading
        self.assertEqual(history._fields[history._rec_name].type, "many2one")
        self.env.invalidate_all()
        expected = history.mapped("display_name")
        self.env.invalidate_all()
        Partner._key_account_fetch_names([history, tier])
        self.assertEqual(history.mapped("display_name"), expected)
        self.assertTrue(all(isinstance(id_, int) for id_ in history.partner_id.ids))
        # the tier's name is in cache: not asked again
        with self._statements() as statements:
            Partner._key_account_fetch_names([tier, tier])
        self.assertEqual(statements, [])
        # all the languages at once (prefetch_langs): Odoo's own reading
        spec = {
            "key_account_tier_id": {"fields": {"display_name": {}}},
            "key_account_manager_id": {"fields": {"display_name": {}}},
        }
        partner = self.partner_a.with_user(self.kam).with_context(prefetch_langs=True)
        self.env.invalidate_all()
        [values] = partner.web_read(spec)
        self.assertEqual(
            values["key_account_tier_id"],
            {"id": tier.id, "display_name": tier.display_name},
        )
        self.assertEqual(values["key_account_manager_id"]["id"], self.kam.id)

    def test_key_account_columns_checked_once_per_fetch(self):
        """A fetch of the account's key-account columns asks whether the
        user is in the key-account group once for the columns, not once per
        column; a user outside the group is still refused them, in the same transaction,
        before and after a key-account user's fetch."""
        salesman = self._new_user(
            "kap_rt_plain_salesman", "Plain Salesman", "sales_team.group_sale_salesman"
        )
        self.assertFalse(salesman.has_group(KAM_GROUP))
        columns = [
            name
            for name, field in self.env["res.partner"]._fields.items()
            if name.startswith("key_account_")
            and field.store
            and field.column_type
            and field.groups == KAM_GROUP
        ]
        self.assertGreater(len(columns), 10)
        Users = type(self.env["res.users"])
        asked = []
        has_group = Users._has_group

        def counted(user, group):
            if group == KAM_GROUP:
                asked.append(user.id)
            return has_group(user, group)

        for _round in range(2):
            with self.assertRaises(AccessError):
                self.partner_a.with_user(salesman).fetch(columns)
            self.env.invalidate_all()
            with patch.object(Users, "_has_group", counted):
                self.partner_a.with_user(self.kam).fetch(columns)
            # (once for the fields asked, once for the statement's columns)
            self.assertEqual(set(asked), {self.kam.id})
            self.assertLessEqual(len(asked), 2, asked)
            self.assertEqual(
                self.partner_a.with_user(self.kam).key_account_score,
                self.partner_a.sudo().key_account_score,
            )
            asked.clear()
            self.env.invalidate_all()
        # and a salesman's own fetch of the partner leaves the columns out
        self.partner_a.with_user(salesman).fetch(["name"])
        with self.assertRaises(AccessError):
            self.partner_a.with_user(salesman).key_account_score  # noqa: B018

    def test_at_risk_and_reviewed_as_before(self):
        """Computed for the accounts asked, they answer as the searches do."""
        accounts = self._grow(3)
        accounts[1].activity_ids.unlink()
        everyone = self.partner_a | self.partner_b | accounts
        self.env.invalidate_all()
        at_risk = everyone.filtered("key_account_at_risk")
        self.assertEqual(
            at_risk,
            self.env["res.partner"].search(
                [("id", "in", everyone.ids), ("key_account_at_risk", "=", True)]
            ),
        )
        self.assertEqual(
            everyone - at_risk,
            self.env["res.partner"].search(
                [("id", "in", everyone.ids), ("key_account_at_risk", "=", False)]
            ),
        )
        reviewed = everyone.filtered("key_account_reviewed")
        self.assertEqual(reviewed, everyone)
        self.assertEqual(
            reviewed,
            self.env["res.partner"].search(
                [("id", "in", everyone.ids), ("key_account_reviewed", "=", True)]
            ),
        )
        # a contact answers for its company
        contact = self.env["res.partner"].create(
            {"name": "Contact of A", "parent_id": self.partner_a.id}
        )
        self.assertTrue(contact.key_account_reviewed)
        # an account without review, warning, risk or low grade
        calm = self.env["res.partner"].create(
            {
                "name": "Calm Account",
                "is_company": True,
                "company_id": self.company.id,
                "key_account_tier_id": self.tier.id,
                "key_account_manager_id": self.kam.id,
                "child_ids": [Command.create({"name": "Calm contact"})],
            }
        )
        self.assertFalse(calm.key_account_reviewed)
        self.assertFalse(calm.key_account_at_risk)

    def test_screens_cost_the_same_for_any_page_size(self):
        accounts = self._grow(30)
        # every review of the cycle waits for the team leader's approval (a
        # fixture: the workflow's own submission is tested elsewhere)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE key_account_review SET state = 'submitted', approver_id = %s "
            "WHERE cycle_id = %s",
            [self.leader.id, self.cycle.id],
        )
        self.env.invalidate_all()
        cockpit = [("is_key_account", "=", True)]
        queue = [("state", "=", "submitted"), ("approver_id", "=", self.leader.id)]
        for user in (self.leader, self.kam2):
            Partner = self.env["res.partner"].with_user(user)
            screens = [
                (
                    "cockpit kanban",
                    Partner,
                    cockpit,
                    "key_account_performance.res_partner_view_kanban_key_account",
                    "kanban",
                ),
                (
                    "key-account list",
                    Partner,
                    cockpit,
                    "key_account_performance.res_partner_view_list_key_account",
                    "list",
                ),
            ]
            if user == self.leader:
                screens.append(
                    (
                        "approval queue",
                        self.env["key.account.review"].with_user(user),
                        queue,
                        "key_account_performance.key_account_review_view_list",
                        "list",
                    )
                )
            for name, model, domain, xmlid, view_type in screens:
                spec = self._spec(model, xmlid, view_type)
                small, small_page = self._page(model, domain, spec, 2)
                large, large_page = self._page(model, domain, spec, 25)
                self.assertEqual(len(small_page["records"]), 2, (name, user.login))
                self.assertEqual(len(large_page["records"]), 25, (name, user.login))
                self.assertEqual(small, large, (name, user.login))
            # the cockpit grouped by tier: one page per group
            spec = self._spec(
                Partner,
                "key_account_performance.res_partner_view_kanban_key_account",
                "kanban",
            )

            self._grouped(Partner, cockpit, spec, 2)
            self.env.invalidate_all()
            with self._cost() as small:
                self._grouped(Partner, cockpit, spec, 2)
            self.env.invalidate_all()
            with self._cost() as large:
                pages = self._grouped(Partner, cockpit, spec, 25)
            self.assertEqual(
                max(len(page["records"]) for page in pages), 25, user.login
            )
            self.assertEqual(small["queries"], large["queries"], user.login)
        # the queue lists the period's reviews by account name, as stored on
        # the review, and a renamed account moves in the list
        Review = self.env["key.account.review"].with_user(self.leader)
        reviews = Review.search(queue)
        self.assertEqual(
            reviews.mapped("partner_name"),
            sorted(reviews.partner_id.mapped("complete_name")),
        )
        accounts[0].name = "AAA First Account"
        self.assertEqual(Review.search(queue, limit=1).partner_id, accounts[0])

    def test_pivot_cost_does_not_grow_with_the_accounts(self):
        """The score-history pivot as it opens (rows tier, columns quarter,
        one read_group per level) makes as many queries for 33 accounts as
        for 3."""
        History = self.env["key.account.score.history"].with_user(self.admin)

        def pivot():
            cells = []
            for groupby in (
                [],
                ["date_from:quarter"],
                ["tier_id"],
                ["tier_id", "date_from:quarter"],
            ):
                cells.append(
                    History.read_group(
                        [("is_running", "=", False)],
                        ["score:avg"],
                        groupby,
                        lazy=False,
                    )
                )
            return cells

        pivot()
        self.env.invalidate_all()
        with self._cost() as small:
            before = pivot()
        self._grow(30)
        self.env.invalidate_all()
        with self._cost() as large:
            after = pivot()
        self.assertGreater(after[0][0]["__count"], before[0][0]["__count"] + 29)
        self.assertEqual(small["queries"], large["queries"])
