"""The Customer Value report (Reporting > Customer Value) says what it shows
(issue 22, item 12): a KAM sees their own key accounts, the buy probability
reads as a percentage everywhere, and the RFM segment and the churn risk no
longer share the words "at risk"."""

from lxml import etree

from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from .common import ReviewCommon

ACTION = "key_account_performance.action_key_account_customer_value"
SEARCH = "key_account_performance.res_partner_view_search_key_account_value"


@tagged("post_install", "-at_install")
class TestCustomerValueReport(ReviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # a customer the KAM follows but which is no key account, and a
        # customer nobody manages: both get customer value
        cls.plain = cls.env["res.partner"].create(
            {
                "name": "Plain Customer",
                "is_company": True,
                "company_id": cls.company.id,
                "key_account_manager_id": cls.kam.id,
            }
        )
        cls.other = cls.env["res.partner"].create(
            {
                "name": "Nobody's Customer",
                "is_company": True,
                "company_id": cls.company.id,
            }
        )
        for partner in cls.plain | cls.other:
            cls._order(partner, 500.0, cls._day(cls.P, 10))
        cls.env["res.partner"].compute_key_account_value(as_of=cls.N[0])

    def _opened_by(self, user):
        """The partners the report lists to ``user`` as it opens: the
        action's domain and its default filters."""
        action = self.env.ref(ACTION)
        context = safe_eval(action.context or "{}")
        search = etree.fromstring(self.env.ref(SEARCH).arch)
        domain = safe_eval(action.domain)
        for node in search.iter("filter"):
            if context.get("search_default_%s" % node.get("name")):
                domain += safe_eval(node.get("domain"))
        Partner = self.env["res.partner"].with_user(user)
        found = Partner.search(domain)
        return found.filtered(lambda p: p.company_id == self.company)

    def test_a_kam_sees_their_own_key_accounts(self):
        self.assertTrue(self.plain.sudo().key_account_value_date)
        self.assertTrue(self.other.sudo().key_account_value_date)
        self.assertEqual(self._opened_by(self.kam), self.partner_a)
        self.assertEqual(self._opened_by(self.kam2), self.partner_b)
        # an administrator opens every key account, not every customer
        self.assertEqual(self._opened_by(self.admin), self.partner_a | self.partner_b)
        # without the default filter a KAM still only sees the accounts they may
        domain = safe_eval(self.env.ref(ACTION).domain)
        found = self.env["res.partner"].with_user(self.kam).search(domain)
        self.assertNotIn(self.other, found)
        self.assertNotIn(self.partner_b, found)

    def test_columns_and_filters_say_what_they_mean(self):
        arch = self.env["res.partner"].get_views(
            [
                (self.env.ref(view).id, mode)
                for view, mode in (
                    (
                        "key_account_performance.res_partner_view_pivot_key_account_value",
                        "pivot",
                    ),
                    (
                        "key_account_performance.res_partner_view_list_key_account_value",
                        "list",
                    ),
                    (
                        "key_account_performance.res_partner_view_form_key_account",
                        "form",
                    ),
                )
            ]
        )["views"]
        for mode, view in arch.items():
            tree = etree.fromstring(view["arch"])
            for node in tree.iter("field"):
                if node.get("name") == "key_account_buy_probability":
                    self.assertEqual(
                        node.get("widget"),
                        "percentage",
                        "the buy probability reads as a percentage in the %s view"
                        % mode,
                    )
        pivot = etree.fromstring(arch["pivot"]["arch"])
        self.assertFalse(
            [
                node
                for node in pivot.iter("field")
                if node.get("type") in ("row", "col")
                and self.env["res.partner"]._fields[node.get("name")].type == "boolean"
            ],
            "no grouping of the pivot reads a bare Yes / No",
        )
        search = etree.fromstring(self.env.ref(SEARCH).arch)
        labels = {
            node.get("name"): node.get("string") for node in search.iter("filter")
        }
        self.assertEqual(labels["churn_risk"], "Churn Risk")
        segments = dict(
            self.env["res.partner"]._fields["key_account_rfm_segment"].selection
        )
        self.assertNotIn("risk", segments["at_risk"].lower())
