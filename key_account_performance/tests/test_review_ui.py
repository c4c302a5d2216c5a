from odoo.tests import HttpCase, tagged

from .common import ReviewCommon

WAIT_FOR = """
const selectors = %s;
const waitFor = (selector) => new Promise((resolve, reject) => {
    let tries = 0;
    const timer = setInterval(() => {
        if (document.querySelector(selector)) {
            clearInterval(timer);
            resolve();
        } else if (++tries > 150) {
            clearInterval(timer);
            reject(new Error("not rendered: " + selector));
        }
    }, 100);
});
selectors.reduce((done, selector) => done.then(() => waitFor(selector)), Promise.resolve())
    .then(() => console.log("test successful"))
    .catch((error) => console.error(error.message));
"""


@tagged("post_install", "-at_install")
class TestReviewUi(ReviewCommon, HttpCase):
    """The views render in the web client (kanban cards, calendar, review form)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for user in (cls.kam, cls.leader):
            user.password = user.login
        cycle = cls._cycle()
        cycle.action_generate_reviews()
        cls.review = cycle.review_ids.filtered(lambda r: r.partner_id == cls.partner_a)
        line = cls.review.line_ids.filtered(lambda ln: ln.kpi_id == cls.kpi_revenue)
        cls.action = cls.env["key.account.improvement.action"].browse(
            line.with_user(cls.kam).action_create_improvement_action()["res_id"]
        )
        cls.action.date_deadline = cls.today

    def _open(self, path, selectors, login):
        self.browser_js(path, WAIT_FOR % repr(selectors).replace("'", '"'), login=login)

    def test_improvement_action_views(self):
        base = (
            "/odoo/action-key_account_performance.action_key_account_improvement_action"
        )
        self._open(
            base, [".o_kanban_view .o_kanban_record", ".o_kanban_group"], "kap_rt_kam"
        )
        self._open(base + "?view_type=calendar", [".o_calendar_view"], "kap_rt_kam")
        self._open(base + "?view_type=list", [".o_list_view .o_data_row"], "kap_rt_kam")

    def test_review_views(self):
        base = "/odoo/action-key_account_performance.action_key_account_review"
        self._open(
            "%s/%s" % (base, self.review.id),
            [
                ".o_form_view .o_field_widget[name=line_ids] .o_data_row",
                "button[name=action_submit]",
            ],
            "kap_rt_kam",
        )
        self._open(
            base + "?view_type=kanban",
            [".o_kanban_view .o_kanban_record"],
            "kap_rt_leader",
        )
        self._open(
            "/odoo/action-key_account_performance.action_key_account_review_cycle",
            [".o_list_view .o_data_row"],
            "kap_rt_leader",
        )
