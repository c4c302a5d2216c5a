"""Access matrix and the review workflow's guards over XML-RPC, against a real
Odoo server on the test database (issue 7).

Roles: a sales user without the addon's groups, a portal user, two KAMs with
one account each, two key-account managers. Everything is created here, with
unique logins, so that the module can run again on the same database.
"""

import threading
import time
import xmlrpc.client

import pytest
from test_xmlrpc import server  # noqa: F401 - the module-scoped server fixture

ADMIN = "admin"
PERIOD = ("2018-01-01", "2018-03-31")
KEY_ACCOUNT_FIELDS = (
    "key_account_score",
    "key_account_grade",
    "key_account_trend",
    "key_account_clv",
    "key_account_rfm_segment",
    "key_account_churn_risk",
)


class Client:
    def __init__(self, url, db, login, password):
        self.db, self.password = db, password
        self.url = url
        common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common", allow_none=True)
        self.uid = common.authenticate(db, login, password, {})
        assert self.uid, f"cannot log in as {login}"

    def __call__(self, model, method, *args, **kw):
        # one proxy per call: several threads may call at once
        models = xmlrpc.client.ServerProxy(
            f"{self.url}/xmlrpc/2/object", allow_none=True
        )
        return models.execute_kw(
            self.db, self.uid, self.password, model, method, list(args), kw
        )


def fault(call, *args, **kw):
    """The xmlrpc Fault raised by ``call``; fails the test if it succeeds."""
    with pytest.raises(xmlrpc.client.Fault) as caught:
        call(*args, **kw)
    return caught.value.faultString


def denied(call, *args, **kw):
    text = fault(call, *args, **kw)
    assert "access" in text.lower() or "not allowed" in text or "rights" in text, text[
        -600:
    ]
    return text


@pytest.fixture(scope="module")
def world(server, test_db):  # noqa: F811
    admin = Client(server, test_db, ADMIN, ADMIN)
    suffix = str(time.time_ns())

    def xmlid(name):
        module, name = name.split(".")
        return admin(
            "ir.model.data",
            "search_read",
            [("module", "=", module), ("name", "=", name)],
            fields=["res_id"],
        )[0]["res_id"]

    def user(key, groups, email=True):
        login = f"rpc_{key}_{suffix}"
        uid = admin(
            "res.users",
            "create",
            {
                "name": f"RPC {key}",
                "login": login,
                "password": login,
                "email": f"{login}@example.com" if email else False,
                "groups_id": [(6, 0, [xmlid(group) for group in groups])],
            },
        )
        return Client(server, test_db, login, login), uid

    users = {
        "sales": user(
            "sales", ["sales_team.group_sale_salesman", "base.group_partner_manager"]
        ),
        "portal": user("portal", ["base.group_portal"]),
        "kam1": user(
            "kam1",
            [
                "key_account_performance.group_key_account_user",
                "base.group_partner_manager",
            ],
        ),
        "kam2": user("kam2", ["key_account_performance.group_key_account_user"]),
        "manager1": user(
            "manager1",
            ["key_account_performance.group_key_account_manager"],
            email=False,
        ),
        "manager2": user(
            "manager2", ["key_account_performance.group_key_account_manager"]
        ),
    }
    kpis = admin(
        "key.account.kpi",
        "search",
        [("code", "in", ["revenue", "order_count"]), ("company_id", "=", False)],
    )
    template = admin(
        "key.account.kpi.template",
        "create",
        {
            "name": f"RPC access template {suffix}",
            "line_ids": [
                (
                    0,
                    0,
                    {"kpi_id": kpi, "weight": 1.0, "target": 1000.0, "threshold": 10.0},
                )
                for kpi in kpis
            ],
        },
    )
    tier = admin("key.account.tier", "search", [], limit=1)[0]
    company = admin("res.users", "read", [admin.uid], fields=["company_id"])[0][
        "company_id"
    ][0]
    product = admin(
        "product.product",
        "create",
        {
            "name": f"RPC access product {suffix}",
            "type": "service",
            "list_price": 100.0,
            "taxes_id": [(6, 0, [])],
        },
    )
    accounts = {}
    for key in ("kam1", "kam2"):
        partner = admin(
            "res.partner",
            "create",
            {
                "name": f"RPC account of {key} {suffix}",
                "is_company": True,
                "company_id": company,
                "key_account_tier_id": tier,
                "key_account_manager_id": users[key][1],
                "key_account_template_id": template,
            },
        )
        order = admin(
            "sale.order",
            "create",
            {
                "partner_id": partner,
                "order_line": [
                    (
                        0,
                        0,
                        {
                            "product_id": product,
                            "product_uom_qty": 3,
                            "price_unit": 100.0,
                        },
                    )
                ],
            },
        )
        admin("sale.order", "action_confirm", [order])
        admin("sale.order", "write", [order], {"date_order": "2018-02-14 10:00:00"})
        accounts[key] = partner
    value_ids = admin(
        "key.account.kpi.value", "compute_for_period", *PERIOD, list(accounts.values())
    )
    assert value_ids
    cycles = admin(
        "key.account.review.cycle",
        "search",
        [
            ("date_from", "=", PERIOD[0]),
            ("date_to", "=", PERIOD[1]),
            ("company_id", "=", company),
        ],
    )
    cycle = (
        cycles[0]
        if cycles
        else admin(
            "key.account.review.cycle",
            "create",
            {"period_type": "quarter", "date_from": PERIOD[0], "date_to": PERIOD[1]},
        )
    )
    admin("key.account.review.cycle", "action_generate_reviews", [cycle])
    reviews, values, actions = {}, {}, {}
    for key, partner in accounts.items():
        reviews[key] = admin(
            "key.account.review",
            "search",
            [("cycle_id", "=", cycle), ("partner_id", "=", partner)],
        )[0]
        values[key] = admin(
            "key.account.kpi.value",
            "search",
            [("partner_id", "=", partner), ("date_from", "=", PERIOD[0])],
        )
        actions[key] = admin(
            "key.account.improvement.action",
            "create",
            {
                "name": f"RPC action {key}",
                "partner_id": partner,
                "review_id": reviews[key],
                "user_id": users[key][1],
                "company_id": company,
            },
        )
    return {
        "admin": admin,
        "users": users,
        "accounts": accounts,
        "reviews": reviews,
        "values": values,
        "actions": actions,
    }


def test_no_addon_group_no_key_account_data(world):
    """A sales user without the addon's groups and a portal user see no KPI
    value, review, review line or action, cannot compute, and do not see the
    partner's key-account fields; the partner stays usable for sales."""
    partner = world["accounts"]["kam1"]
    for key in ("sales", "portal"):
        client = world["users"][key][0]
        for model in (
            "key.account.kpi.value",
            "key.account.review",
            "key.account.review.line",
            "key.account.improvement.action",
        ):
            denied(client, model, "search_read", [], fields=["id"])
        denied(
            client, "key.account.kpi.value", "read", world["values"]["kam1"], ["value"]
        )
        denied(
            client, "key.account.review", "read", [world["reviews"]["kam1"]], ["state"]
        )
        denied(
            client, "key.account.kpi.value", "compute_for_period", *PERIOD, [partner]
        )
        fields = client("res.partner", "fields_get", [], attributes=["type"])
        assert not set(KEY_ACCOUNT_FIELDS) & set(fields), key
        denied(client, "res.partner", "read", [partner], ["key_account_score"])
    sales = world["users"]["sales"][0]
    assert sales("res.partner", "read", [partner], ["name", "email"])[0]["name"]
    # a read of every field (what odoorpc's browse() does) works too, without
    # the key-account data or its counts
    row = sales("res.partner", "read", [partner])[0]
    assert row["name"]
    assert not set(KEY_ACCOUNT_FIELDS) & set(row)
    assert not {
        "key_account_value_count",
        "key_account_review_count",
        "key_account_action_count",
    } & set(row)
    sales("res.partner", "write", [partner], {"phone": "+86 21 5555 0199"})
    order = sales("sale.order", "create", {"partner_id": partner})
    assert (
        sales("sale.order", "read", [order], ["partner_id"])[0]["partner_id"][0]
        == partner
    )
    lead = sales("crm.lead", "create", {"name": "RPC lead", "partner_id": partner})
    assert lead


def test_kam_sees_only_own_accounts(world):
    kam1 = world["users"]["kam1"][0]
    own, other = world["accounts"]["kam1"], world["accounts"]["kam2"]
    seen = kam1(
        "key.account.kpi.value",
        "search_read",
        [("partner_id", "in", [own, other])],
        fields=["partner_id"],
    )
    assert seen and {row["partner_id"][0] for row in seen} == {own}
    denied(kam1, "key.account.kpi.value", "read", world["values"]["kam2"], ["value"])
    assert kam1("key.account.review", "search", [("partner_id", "=", other)]) == []
    denied(kam1, "key.account.review", "read", [world["reviews"]["kam2"]], ["state"])
    assert (
        kam1("key.account.improvement.action", "search", [("partner_id", "=", other)])
        == []
    )
    denied(
        kam1,
        "key.account.improvement.action",
        "read",
        [world["actions"]["kam2"]],
        ["name"],
    )
    assert kam1("key.account.review", "read", [world["reviews"]["kam1"]], ["state"])
    # the drill-down of their own value
    revenue = [
        v
        for v in kam1(
            "key.account.kpi.value", "read", world["values"]["kam1"], ["kpi_code"]
        )
        if v["kpi_code"] == "revenue"
    ][0]
    action = kam1("key.account.kpi.value", "action_open_records", [revenue["id"]])
    assert action["res_model"] == "sale.order"


def test_kam_cannot_reclassify_own_account(world):
    kam1 = world["users"]["kam1"][0]
    own = world["accounts"]["kam1"]
    other_tier = world["admin"](
        "key.account.tier", "create", {"name": f"RPC tier {time.time_ns()}"}
    )
    for vals in (
        {"key_account_tier_id": other_tier},
        {"key_account_manager_id": world["users"]["kam2"][1]},
        {"key_account_template_id": False},
        {
            "key_account_segment_id": world["admin"](
                "key.account.segment", "search", [], limit=1
            )[0]
        },
        {"key_account_tier_locked": True},
    ):
        assert "Only key-account managers" in fault(
            kam1, "res.partner", "write", [own], vals
        )
    kam1("res.partner", "write", [own], {"phone": "+86 21 5555 0100"})


def test_four_eyes_and_engine_fields_over_rpc(world):
    admin = world["admin"]
    review = world["reviews"]["kam2"]
    for vals in (
        {"state": "approved"},
        {"approved_by_id": admin.uid},
        {"submitted_by_id": admin.uid},
        {"approved_date": "2018-04-01 10:00:00"},
    ):
        assert "cannot be written directly" in fault(
            admin, "key.account.review", "write", [review], vals
        )
    # a context sent by the client does not open the guard
    assert "cannot be written directly" in fault(
        admin,
        "key.account.review",
        "write",
        [review],
        {"state": "approved"},
        context={"key_account_review_workflow": True},
    )
    assert (
        admin("key.account.review", "read", [review], ["state"])[0]["state"] == "draft"
    )
    partner = world["accounts"]["kam2"]
    assert "key-account engine" in fault(
        admin, "res.partner", "write", [partner], {"key_account_score": 100}
    )
    assert "key-account engine" in fault(
        admin,
        "res.partner",
        "write",
        [partner],
        {"key_account_churn_risk": True},
        context={"key_account_engine_write": True},
    )


def _submit(world, key):
    review = world["reviews"][key]
    kam = world["users"][key][0]
    state = world["admin"]("key.account.review", "read", [review], ["state"])[0][
        "state"
    ]
    if state in ("draft", "rejected"):
        kam("key.account.review", "action_submit", [review])
    return review


def test_approver_keeps_sight_of_decided_review(world):
    review = _submit(world, "kam1")
    manager2 = world["users"]["manager2"][0]
    manager2("key.account.review", "action_approve", [review])
    row = manager2("key.account.review", "read", [review], ["state", "approved_by_id"])[
        0
    ]
    assert (
        row["state"] == "approved"
        and row["approved_by_id"][0] == world["users"]["manager2"][1]
    )
    assert review in manager2(
        "key.account.review", "search", [("decider_ids", "in", [manager2.uid])]
    )
    assert manager2(
        "key.account.improvement.action", "read", [world["actions"]["kam1"]], ["name"]
    )


def test_simultaneous_approvals(world, db_settings):
    """A review locked by another approver gives a clear error; two managers
    approving at once end with one approval and one clear error."""
    psycopg2 = pytest.importorskip("psycopg2")
    review = _submit(world, "kam2")
    manager1, manager2 = world["users"]["manager1"][0], world["users"]["manager2"][0]
    lock = psycopg2.connect(
        dbname=db_settings["db"],
        host=db_settings["host"],
        port=db_settings["port"],
        user=db_settings["user"],
    )
    try:
        with lock.cursor() as cr:
            cr.execute(
                "SELECT id FROM key_account_review WHERE id = %s FOR UPDATE", (review,)
            )
            text = fault(manager1, "key.account.review", "action_approve", [review])
            assert "Someone else is approving or rejecting" in text, text[-600:]
    finally:
        lock.rollback()
        lock.close()
    assert (
        world["admin"]("key.account.review", "read", [review], ["state"])[0]["state"]
        == "submitted"
    )

    barrier = threading.Barrier(2)
    results = {}

    def approve(name, client):
        barrier.wait()
        try:
            results[name] = client("key.account.review", "action_approve", [review])
        except xmlrpc.client.Fault as exc:
            results[name] = exc.faultString

    threads = [
        threading.Thread(target=approve, args=(name, client))
        for name, client in (("manager1", manager1), ("manager2", manager2))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(map(type, results.values()), key=str) == [bool, str], results
    error = next(value for value in results.values() if isinstance(value, str))
    assert "Someone else is approving" in error or "only submitted reviews" in error, (
        error[-600:]
    )
    assert "could not serialize" not in error and "SerializationFailure" not in error
    row = world["admin"](
        "key.account.review", "read", [review], ["state", "approved_by_id"]
    )[0]
    winner = next(name for name, value in results.items() if value is True)
    assert row["state"] == "approved"
    assert row["approved_by_id"][0] == world["users"][winner][1]


@pytest.mark.parametrize("callers", [2, 4])
def test_simultaneous_computations_over_rpc(world, callers):
    """2 and 4 compute_for_period calls for the same period at once, each on
    its own connection: every call succeeds (no serialization error reaches
    a caller) and there is exactly one value per account, KPI and period."""
    admin = world["admin"]
    accounts = list(world["accounts"].values())

    def period_values():
        return admin(
            "key.account.kpi.value",
            "search_read",
            [
                ("partner_id", "in", accounts),
                ("date_from", "=", PERIOD[0]),
                ("date_to", "=", PERIOD[1]),
            ],
            fields=["partner_id", "kpi_id", "value"],
        )

    before = period_values()
    barrier = threading.Barrier(callers)
    results = {}

    def compute(index):
        client = Client(admin.url, admin.db, ADMIN, ADMIN)
        barrier.wait()
        try:
            results[index] = sorted(
                client("key.account.kpi.value", "compute_for_period", *PERIOD, accounts)
            )
        except xmlrpc.client.Fault as exc:
            results[index] = exc.faultString

    threads = [threading.Thread(target=compute, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    errors = [value for value in results.values() if isinstance(value, str)]
    assert not errors, [error[-600:] for error in errors]
    assert len(results) == callers
    rows = period_values()
    keys = [(row["partner_id"][0], row["kpi_id"][0]) for row in rows]
    assert len(keys) == len(set(keys)), "one value per account, KPI and period"
    assert sorted(row["id"] for row in rows) == sorted(row["id"] for row in before)
    # every caller got the ids of those values
    for ids in results.values():
        assert ids == sorted(row["id"] for row in rows)
    assert {(k, row["value"]) for k, row in zip(keys, rows)} == {
        ((row["partner_id"][0], row["kpi_id"][0]), row["value"]) for row in before
    }


def test_improvement_action_is_no_oracle(world):
    """A KAM cannot read another KAM's figures through an improvement action
    (issue 27.1), nor forge the measured effect of their own (27.6)."""
    kam1 = world["users"]["kam1"][0]
    revenue = world["admin"](
        "key.account.kpi",
        "search",
        [("code", "=", "revenue"), ("company_id", "=", False)],
    )[0]
    # the baseline the quarter before PERIOD: the effect would be kam2's revenue of PERIOD
    probe = {
        "name": "RPC probe",
        "partner_id": world["accounts"]["kam2"],
        "kpi_id": revenue,
        "user_id": kam1.uid,
        "baseline_date_from": "2017-10-01",
        "baseline_date_to": "2017-12-31",
    }
    refused = "You can only create or change improvement actions"
    assert refused in fault(kam1, "key.account.improvement.action", "create", probe)
    own = world["actions"]["kam1"]
    assert refused in fault(
        kam1,
        "key.account.improvement.action",
        "write",
        [own],
        {"partner_id": world["accounts"]["kam2"], "kpi_id": revenue},
    )
    assert "measured" in fault(
        kam1,
        "key.account.improvement.action",
        "write",
        [own],
        {"effect": "improved", "effect_value": 1e6, "target_reached": True},
    )


# ----------------------------------------------------------------------
# One case per class of hole closed in issue 27, as the attacker over RPC
# ----------------------------------------------------------------------
def test_kam_cannot_write_review_score(world):
    """A derived figure of a review is the addon's: refused, left as it was."""
    kam1, admin = world["users"]["kam1"][0], world["admin"]
    review = world["reviews"]["kam1"]
    before = admin("key.account.review", "read", [review], ["score", "grade"])[0]
    text = fault(
        kam1, "key.account.review", "write", [review], {"score": 100.0, "grade": "A"}
    )
    assert "cannot be written directly" in text, text[-600:]
    after = admin("key.account.review", "read", [review], ["score", "grade"])[0]
    assert (after["score"], after["grade"]) == (before["score"], before["grade"])


def test_kam_cannot_repoint_previous_review(world):
    """The link to the previous review (whose lines and actions a review
    shows) is set by the addon: a KAM cannot point it at a colleague's."""
    kam1, admin = world["users"]["kam1"][0], world["admin"]
    review = world["reviews"]["kam1"]
    before = admin("key.account.review", "read", [review], ["previous_review_id"])[0]
    text = fault(
        kam1,
        "key.account.review",
        "write",
        [review],
        {"previous_review_id": world["reviews"]["kam2"]},
    )
    assert "cannot be written directly" in text, text[-600:]
    after = admin("key.account.review", "read", [review], ["previous_review_id"])[0]
    assert after["previous_review_id"] == before["previous_review_id"]


def test_kam_cannot_create_review_of_colleague_account(world):
    """Reviews are created for the accounts one manages only."""
    kam1, admin = world["users"]["kam1"][0], world["admin"]
    period = ("2017-10-01", "2017-12-31")
    company = admin("res.users", "read", [admin.uid], ["company_id"])[0]["company_id"][
        0
    ]
    cycles = admin(
        "key.account.review.cycle",
        "search",
        [
            ("date_from", "=", period[0]),
            ("date_to", "=", period[1]),
            ("company_id", "=", company),
        ],
    )
    cycle = (
        cycles[0]
        if cycles
        else admin(
            "key.account.review.cycle",
            "create",
            {"period_type": "quarter", "date_from": period[0], "date_to": period[1]},
        )
    )
    other = world["accounts"]["kam2"]
    text = fault(
        kam1, "key.account.review", "create", {"cycle_id": cycle, "partner_id": other}
    )
    assert "accounts you manage" in text, text[-600:]
    assert not admin(
        "key.account.review",
        "search",
        [("cycle_id", "=", cycle), ("partner_id", "=", other)],
    )
    # their own account: accepted
    own = kam1(
        "key.account.review",
        "create",
        {"cycle_id": cycle, "partner_id": world["accounts"]["kam1"]},
    )
    assert own


def test_kam_reads_no_colleague_score(world):
    """A colleague's account reads as Sales reads it: its figures come back
    empty over RPC, and its breakdown is refused."""
    kam1, admin = world["users"]["kam1"][0], world["admin"]
    other = world["accounts"]["kam2"]
    names = ["key_account_score", "key_account_grade"]
    truth = admin("res.partner", "read", [other], names)[0]
    assert truth["key_account_score"] and truth["key_account_grade"], truth
    seen = kam1("res.partner", "read", [other], names)[0]
    assert seen["key_account_score"] is False and seen["key_account_grade"] is False
    # their own account's figures come back
    own = kam1("res.partner", "read", [world["accounts"]["kam1"]], names)[0]
    assert own["key_account_grade"]
    text = fault(kam1, "res.partner", "key_account_score_breakdown", [other], *PERIOD)
    assert "is visible to its key account manager" in text, text[-600:]


def test_plain_user_cannot_search_accounts_at_risk(world):
    """Searching on a restricted figure is reading it: refused without the
    addon's groups."""
    sales = world["users"]["sales"][0]
    for method, value in (("search", True), ("search_count", False)):
        text = fault(
            sales, "res.partner", method, [("key_account_at_risk", "=", value)]
        )
        assert "Only key-account users may search" in text, text[-600:]
    kam1 = world["users"]["kam1"][0]
    assert isinstance(
        kam1("res.partner", "search", [("key_account_at_risk", "=", True)]), list
    )


def test_plain_user_cannot_set_home_action(world):
    """Setting the key-account users' home action is for administrators."""
    for key in ("sales", "kam1", "manager1"):
        text = fault(
            world["users"][key][0],
            "res.config.settings",
            "action_key_account_set_home",
            [],
        )
        assert "administrators" in text, text[-600:]


def test_no_one_else_measures_an_action(world):
    """Measuring an action's effect is for those who may read the action."""
    action = world["actions"]["kam1"]
    for key in ("sales", "portal", "kam2"):
        denied(
            world["users"][key][0],
            "key.account.improvement.action",
            "action_measure_effect",
            [action],
        )
    assert world["users"]["kam1"][0](
        "key.account.improvement.action", "action_measure_effect", [action]
    )
