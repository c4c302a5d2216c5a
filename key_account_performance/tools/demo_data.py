"""Demo data for key_account_performance (loaded by demo/key_account_demo.xml).

Dates are relative to the day of installation: two years of confirmed orders
per key account, survey answers, complaints, manual scores, and computed KPIs
for every closed quarter so that scores, grades and trends are filled.
"""
import datetime
import random

from . import kpi_math

ACCOUNTS = [
    # name, tier, segment, kam index, monthly base revenue, growth per month, city
    ("Huaxin Global Logistics", "tier_strategic", "segment_multinational", 0, 60000, 0.015, "Shanghai"),
    ("Orient Pharma Group", "tier_strategic", "segment_domestic", 1, 45000, 0.02, "Guangzhou"),
    ("Nordlicht Automotive China", "tier_key", "segment_multinational", 0, 30000, -0.02, "Suzhou"),
    ("Jiangnan Power Grid", "tier_key", "segment_domestic", 1, 25000, 0.005, "Hangzhou"),
    ("Pacific Retail Holdings", "tier_key", "segment_multinational", 1, 22000, 0.03, "Shenzhen"),
    ("Chengdu Smart Agriculture", "tier_growth", "segment_domestic", 0, 9000, 0.04, "Chengdu"),
    ("Bluewave Semiconductors", "tier_growth", "segment_multinational", 1, 12000, -0.035, "Wuxi"),
    ("Yellow River Construction", "tier_growth", "segment_domestic", 0, 7000, 0.0, "Zhengzhou"),
]


def load(env):
    """Create the demo story once (a module update replays demo files)."""
    if env["res.users"].with_context(active_test=False).search_count([("login", "=", "kap_manager")]):
        return env["res.partner"]
    rng = random.Random(2024)
    ref = env.ref
    today = datetime.date.today()
    company = env.company

    Users = env["res.users"].with_context(no_reset_password=True)
    manager_group = ref("key_account_performance.group_key_account_manager")
    user_group = ref("key_account_performance.group_key_account_user")
    leader = Users.create({
        "name": "Wang Fang", "login": "kap_manager", "password": "kap_manager",
        "email": "wang.fang@example.com",
        "groups_id": [(4, manager_group.id), (4, ref("sales_team.group_sale_manager").id)],
    })
    kams = Users.create([
        {"name": "Li Wei", "login": "kap_kam1", "password": "kap_kam1", "email": "li.wei@example.com",
         "groups_id": [(4, user_group.id)]},
        {"name": "Chen Jing", "login": "kap_kam2", "password": "kap_kam2",
         "email": "chen.jing@example.com", "groups_id": [(4, user_group.id)]},
    ])
    env["crm.team"].create({
        "name": "Key Accounts", "user_id": leader.id,
        "member_ids": [(6, 0, kams.ids)],
    })
    products = env["product.product"].create([
        {"name": "Industrial IoT Gateway", "list_price": 1200.0, "standard_price": 780.0, "type": "consu"},
        {"name": "Fleet Analytics Licence (year)", "list_price": 5000.0, "standard_price": 1500.0,
         "type": "service"},
        {"name": "On-site Support Day", "list_price": 800.0, "standard_price": 450.0, "type": "service"},
    ])
    tags = env["crm.tag"].create([{"name": "Complaint"}, {"name": "Renewal"}])

    partners = env["res.partner"]
    for name, tier, segment, kam, _base, _growth, city in ACCOUNTS:
        partner = env["res.partner"].create({
            "name": name, "is_company": True, "city": city,
            "country_id": ref("base.cn").id,
            "key_account_tier_id": ref("key_account_performance.%s" % tier).id,
            "key_account_segment_id": ref("key_account_performance.%s" % segment).id,
            "key_account_manager_id": kams[kam].id,
            "user_id": kams[kam].id,
            "key_account_goal": "<p>Grow revenue by 20%% this year and keep satisfaction above 90%% (%s).</p>" % city,
        })
        env["res.partner"].create({
            "name": "Procurement – %s" % name.split()[0], "parent_id": partner.id,
            "email": "procurement@%s.example.com" % name.split()[0].lower(), "type": "contact",
        })
        partners |= partner

    # Two years of orders: a monthly rhythm with growth (or decline) and noise.
    start = kpi_math.add_months(today.replace(day=1), -24)
    orders_vals = []
    order_dates = []
    for index, (partner, spec) in enumerate(zip(partners, ACCOUNTS)):
        base, growth = spec[4], spec[5]
        for month in range(25):
            month_start = kpi_math.add_months(start, month)
            if month_start > today:
                break
            expected = base * (1 + growth) ** month
            n_orders = rng.choice([1, 1, 2, 2, 3]) if (index < 5 or rng.random() > 0.3) else 0
            for _n in range(n_orders):
                day = month_start + datetime.timedelta(days=rng.randint(0, 27))
                if day > today:
                    continue
                amount = expected / max(n_orders, 1) * rng.uniform(0.7, 1.3)
                lines = []
                for product in products:
                    qty = max(1, round(amount / 3 / product.list_price))
                    lines.append((0, 0, {"product_id": product.id, "product_uom_qty": qty}))
                contact = partner.child_ids[:1] if rng.random() < 0.3 else partner
                orders_vals.append({"partner_id": contact.id, "order_line": lines,
                                    "user_id": partner.key_account_manager_id.id})
                order_dates.append(datetime.datetime.combine(day, datetime.time(rng.randint(1, 9), 0)))
    orders = env["sale.order"].create(orders_vals)
    orders.action_confirm()
    for order, date_order in zip(orders, order_dates):
        order.date_order = date_order

    # Complaints and renewals in CRM.
    leads = []
    for partner in partners:
        for _i in range(rng.randint(0, 4)):
            leads.append({"name": "Complaint: late delivery (%s)" % partner.name, "partner_id": partner.id,
                          "type": "opportunity", "tag_ids": [(6, 0, tags[0].ids)],
                          "user_id": partner.key_account_manager_id.id})
    env["crm.lead"].create(leads)

    # Satisfaction surveys answered by the accounts' contacts.
    nps_question = ref("key_account_performance.survey_nps_question")
    csat_question = ref("key_account_performance.survey_csat_question")
    for partner in partners:
        contact = partner.child_ids[:1]
        mood = rng.uniform(0.4, 1.0)
        for question, scale_max in ((nps_question, 10), (csat_question, 5)):
            for _i in range(3):
                answer = question.survey_id._create_answer(partner=contact, check_attempts=False)
                value = max(question.scale_min, min(scale_max, round(scale_max * mood + rng.uniform(-1.5, 1))))
                answer._save_lines(question, str(value))
                answer._mark_done()

    # KPI values for every closed quarter of the two years, then the running one.
    Value = env["key.account.kpi.value"]
    period = kpi_math.last_closed_period(today, "quarter")
    periods = []
    for _i in range(8):
        periods.append(period)
        period = kpi_math.previous_period(*period)
    manual_codes = ["relationship_strength", "cultural_adaptability", "compliance",
                    "global_coordination", "local_influence", "local_regulation", "localised_service"]
    manual_kpis = env["key.account.kpi"].search([("code", "in", manual_codes)])
    templates = env["key.account.kpi.template"]._resolve_for_partners(partners, company)
    for date_from, date_to in reversed(periods):
        Value.create([{
            "partner_id": partner.id, "kpi_id": line.kpi_id.id, "date_from": date_from,
            "date_to": date_to, "value": round(rng.uniform(2.5, 5.0), 1), "target": line.target,
            "threshold": line.threshold, "weight": line.weight, "is_manual": True,
        } for partner in partners for line in templates[partner.id].line_ids
            if line.kpi_id in manual_kpis])
        Value.compute_for_period(date_from, date_to, partners.ids)
    Value.compute_for_period(*kpi_math.period_bounds(today, "quarter"), partners.ids)
    partners._compute_key_account_customer_value(company)
    load_reviews(env, partners, rng)
    return partners


# ---------------------------------------------------------------------------
# Reviews and improvement actions
# ---------------------------------------------------------------------------

REVIEW_COMMENTS = [
    "<p>Solid quarter: volumes follow the plan agreed at the kick-off meeting. "
    "The buyer asked for a consolidated monthly delivery report.</p>",
    "<p>Two large orders slipped to next quarter because of the customer's budget freeze. "
    "Relationship with the new procurement director is still being built.</p>",
    "<p>Complaints about late deliveries were escalated; the logistics team now joins our "
    "monthly call.</p>",
]
ACTION_IDEAS = [
    ("Monthly business review with the buyer", "Agree a three-month order forecast."),
    ("Bundle support days with the licence renewal", "Renewal signed before the deadline."),
    ("Joint delivery-quality workshop", "Complaint rate back under the threshold."),
    ("Introduce the regional sales director to procurement", "Executive sponsor named."),
    ("Cross-sell the analytics licence", "One new licence order this quarter."),
    ("Weekly shipment status e-mail", "No escalation about delivery dates."),
]


def load_reviews(env, partners, rng):
    """A closed cycle with every review approved and actions measured, and the
    latest cycle with reviews in every state and actions in every state."""
    today = datetime.date.today()
    Users = env["res.users"]
    leader = Users.search([("login", "=", "kap_manager")], limit=1)
    kams = {user.login: user for user in Users.search([("login", "in", ["kap_kam1", "kap_kam2"])])}
    if not leader or not kams:
        return
    Cycle = env["key.account.review.cycle"].with_user(leader)
    Action = env["key.account.improvement.action"]
    last = kpi_math.last_closed_period(today, "quarter")
    before = kpi_math.previous_period(*last)

    def fill(review):
        """As the KAM: manual values (where missing) and comments."""
        review = review.with_user(review.user_id)
        for line in review.line_ids.filtered(lambda l: l.is_manual and not l.has_value):
            line.value = round(rng.uniform(2.5, 5.0), 1)
        review.comment = rng.choice(REVIEW_COMMENTS)
        return review

    def actions_from(review, count):
        lines = review.line_ids.filtered(lambda l: l.status == "alert")[:count]
        if len(lines) < count:
            lines |= review.line_ids.filtered(lambda l: l.status == "watch")[:count - len(lines)]
        created = Action
        for line in lines:
            name, expected = ACTION_IDEAS[rng.randrange(len(ACTION_IDEAS))]
            action = Action.browse(line.with_user(review.user_id).action_create_improvement_action()["res_id"])
            action.with_user(review.user_id).write({
                "name": name, "expected_result": expected,
                "date_deadline": review.date_to + datetime.timedelta(days=rng.randint(20, 80)),
            })
            created |= action
        return created

    # The quarter before: everything approved, actions decided and carried out.
    cycle_before = Cycle.create({"period_type": "quarter", "date_from": before[0], "date_to": before[1]})
    cycle_before.action_generate_reviews()
    old_actions = Action
    for review in cycle_before.review_ids:
        fill(review).action_submit()
        review.with_user(leader).action_approve()
        old_actions |= actions_from(review, 1)
    for index, action in enumerate(old_actions):
        action = action.with_user(action.user_id)
        if index % 4 == 3:
            action.action_cancel()
        else:
            action.action_done()
    cycle_before.action_close()

    # The last closed quarter: the next cycle measures the effect of those actions.
    cycle = Cycle.create({"period_type": "quarter", "date_from": last[0], "date_to": last[1]})
    cycle.action_generate_reviews()
    reviews = cycle.review_ids.sorted("id")
    for index, review in enumerate(reviews):
        if index in (0, 1):  # approved
            fill(review).action_submit()
            review.with_user(leader).action_approve()
        elif index == 2:  # rejected, back with the KAM
            fill(review).action_submit()
            review.with_user(leader).action_reject(
                reason="Please back the relationship score with the minutes of the last "
                       "steering meeting, and explain the drop in orders.")
        elif index in (3, 4):  # waiting for approval
            fill(review).action_submit()
        # the others stay draft
    states = ["todo", "in_progress", "todo", "done", "cancelled", "in_progress"]
    for index, action in enumerate(actions_from(reviews[0], 2) | actions_from(reviews[1], 2)
                                   | actions_from(reviews[2], 2)):
        action = action.with_user(action.user_id)
        state = states[index % len(states)]
        if index == 0:  # one overdue, reminded by the scheduled action
            action.date_deadline = today - datetime.timedelta(days=5)
        if state == "in_progress":
            action.action_start()
        elif state == "done":
            action.action_done()
        elif state == "cancelled":
            action.action_cancel()
    Action._cron_remind_overdue()
