"""Data for the upgrade test, run inside ``odoo-bin shell`` (``env`` is given).

``build(env)`` runs at the previous release: it creates key accounts with
orders, KPI values of two quarters (``compute_for_period``), a review cycle
with reviews in every state (draft, submitted, approved, rejected) and
improvement actions in every state. ``snapshot(env)`` reads what a user must
find again after the update, with the fields of the previous release only, so
the same function runs before and after ``-u key_account_performance``.
Plain data out (JSON), no test framework: this file is not part of the addon.
"""

import datetime
import json

from odoo import Command, fields

from odoo.addons.key_account_performance.tools import kpi_math

PREFIX = "Upgrade Account "
MARK = "KAP_UPGRADE_JSON "


def periods(env):
    today = fields.Date.context_today(env["res.partner"].with_context(tz="UTC"))
    last = kpi_math.last_closed_period(today, "quarter")
    return kpi_math.previous_period(*last), last


def build(env):
    env = env(context=dict(env.context, no_reset_password=True))
    company = env.company
    company.partner_id.tz = "UTC"
    company.key_account_period_type = "quarter"
    p0, p1 = periods(env)

    def group(xmlid):
        return env.ref("key_account_performance." + xmlid).id

    def user(login, name, grp):
        return env["res.users"].create(
            {
                "name": name,
                "login": login,
                "email": f"{login}@example.com",
                "company_id": company.id,
                "company_ids": [Command.set(company.ids)],
                "groups_id": [Command.link(group(grp))],
            }
        )

    kam = user("kap_up_kam", "Upgrade KAM", "group_key_account_user")
    kam2 = user("kap_up_kam2", "Upgrade KAM 2", "group_key_account_user")
    leader = user("kap_up_leader", "Upgrade Team Leader", "group_key_account_manager")
    env["crm.team"].create(
        {
            "name": "Upgrade team",
            "user_id": leader.id,
            "member_ids": [Command.set((kam | kam2).ids)],
        }
    )
    Kpi = env["key.account.kpi"]
    revenue = Kpi.search([("code", "=", "revenue"), ("company_id", "=", False)])
    orders = Kpi.search([("code", "=", "order_count"), ("company_id", "=", False)])
    manual = Kpi.create(
        {
            "name": "Relationship (upgrade)",
            "code": "t_up_relationship",
            "computation_mode": "manual",
            "target": 5.0,
            "threshold": 1.0,
            "unit": "/5",
        }
    )
    template = env["key.account.kpi.template"].create(
        {
            "name": "Upgrade template",
            "line_ids": [
                Command.create(
                    {
                        "kpi_id": revenue.id,
                        "sequence": 1,
                        "weight": 2.0,
                        "target": 1000.0,
                        "threshold": 200.0,
                    }
                ),
                Command.create(
                    {
                        "kpi_id": orders.id,
                        "sequence": 2,
                        "weight": 1.0,
                        "target": 4.0,
                        "threshold": 0.0,
                    }
                ),
                Command.create(
                    {
                        "kpi_id": manual.id,
                        "sequence": 3,
                        "weight": 1.0,
                        "target": 5.0,
                        "threshold": 1.0,
                    }
                ),
            ],
        }
    )
    tier = env["key.account.tier"].create({"name": "Upgrade tier", "sequence": 97})
    product = env["product.product"].create(
        {"name": "Upgrade Widget", "list_price": 100.0, "type": "consu"}
    )

    def noon(period, offset):
        day = period[0] + datetime.timedelta(days=offset)
        return datetime.datetime.combine(day, datetime.time(12, 0))

    partners = {}
    for letter, owner, amounts in (
        ("A", kam, [(p1, 10, 300.0), (p1, 40, 300.0), (p0, 20, 1200.0)]),
        ("B", kam2, [(p1, 15, 100.0), (p0, 5, 500.0)]),
        ("C", kam, [(p1, 3, 900.0), (p1, 33, 400.0), (p0, 30, 800.0)]),
        ("D", kam2, [(p1, 60, 150.0)]),
    ):
        partner = env["res.partner"].create(
            {
                "name": PREFIX + letter,
                "is_company": True,
                "email": f"up{letter}@example.com",
                "key_account_tier_id": tier.id,
                "key_account_manager_id": owner.id,
                "key_account_template_id": template.id,
            }
        )
        partners[letter] = partner
        for period, offset, amount in amounts:
            order = env["sale.order"].create(
                {
                    "partner_id": partner.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": product.id,
                                "product_uom_qty": 1,
                                "price_unit": amount,
                                "tax_id": [Command.clear()],
                            }
                        )
                    ],
                }
            )
            order.action_confirm()
            order.date_order = noon(period, offset)  # action_confirm() sets it to now
    ids = [p.id for p in partners.values()]
    Value = env["key.account.kpi.value"]
    Value.compute_for_period(str(p0[0]), str(p0[1]), partner_ids=ids)
    Value.compute_for_period(str(p1[0]), str(p1[1]), partner_ids=ids)

    cycle = env["key.account.review.cycle"].create(
        {"period_type": "quarter", "date_from": p1[0], "date_to": p1[1]}
    )
    cycle.action_generate_reviews()
    reviews = {r.partner_id.name[-1]: r for r in cycle.review_ids}

    def submit(letter, value, as_user):
        review = reviews[letter].with_user(as_user)
        review.line_ids.filtered(lambda line: line.kpi_id == manual).write(
            {"value": value}
        )
        review.action_submit()

    submit("B", 3.0, kam2)  # B: submitted
    submit("C", 4.0, kam)  # C: approved
    reviews["C"].with_user(leader).action_approve()
    submit("D", 2.0, kam2)  # D: rejected
    reviews["D"].with_user(leader).action_reject(reason="Add the Q3 complaints")
    # A stays draft

    Action = env["key.account.improvement.action"]
    actions = []
    for letter, kpi, state in (
        ("A", revenue, "todo"),
        ("B", revenue, "in_progress"),
        ("C", orders, "done"),
        ("D", revenue, "cancelled"),
    ):
        review = reviews[letter]
        line = review.line_ids.filtered(lambda line, kpi=kpi: line.kpi_id == kpi)
        action = Action.create(
            {
                "name": f"Upgrade action {letter}",
                "partner_id": review.partner_id.id,
                "review_id": review.id,
                "kpi_id": kpi.id,
                "user_id": review.user_id.id,
                "date_deadline": p1[1] + datetime.timedelta(days=60),
                "baseline_value": line.value,
                "target_value": line.target,
            }
        )
        if state == "in_progress":
            action.action_start()
        elif state == "done":
            action.action_start()
            action.action_done()
        elif state == "cancelled":
            action.action_cancel()
        actions.append(action)
    env.cr.commit()


def _r(value):
    return round(value, 6) if isinstance(value, float) else value


def _messages(env, record):
    msgs = (
        env["mail.message"]
        .sudo()
        .search([("model", "=", record._name), ("res_id", "=", record.id)], order="id")
    )
    return [
        [
            m.message_type,
            m.subtype_id.name or "",
            m.body and str(m.body) or "",
            len(m.tracking_value_ids),
        ]
        for m in msgs
    ]


def snapshot(env):
    env = env(context=dict(env.context, active_test=False))
    sudo = env(su=True)
    partners = sudo["res.partner"].search(
        [("name", "=like", PREFIX + "%")], order="name"
    )
    cycle = sudo["key.account.review.cycle"].search(
        [("review_ids.partner_id", "in", partners.ids)]
    )
    reviews = sudo["key.account.review"].search(
        [("partner_id", "in", partners.ids)], order="id"
    )
    actions = sudo["key.account.improvement.action"].search(
        [("partner_id", "in", partners.ids)], order="id"
    )
    values = sudo["key.account.kpi.value"].search(
        [("partner_id", "in", partners.ids)], order="partner_id, kpi_id, date_from"
    )
    return {
        "version": sudo["ir.module.module"]
        .search([("name", "=", "key_account_performance")])
        .latest_version,
        "counts": {
            model: sudo[model].search_count([])
            for model in (
                "key.account.kpi.value",
                "key.account.review",
                "key.account.review.line",
                "key.account.review.cycle",
                "key.account.improvement.action",
                "key.account.kpi.template",
                "key.account.tier",
                "key.account.segment",
            )
        },
        # every KPI found again (an update may ship new ones)
        "kpi_codes": sorted(
            sudo["key.account.kpi"]
            .with_context(active_test=False)
            .search([])
            .mapped("code")
        ),
        "partners": [
            {
                "name": p.name,
                "is_key_account": p.is_key_account,
                "tier": p.key_account_tier_id.name,
                "kam": p.key_account_manager_id.login,
                "score": _r(p.key_account_score),
                "grade": p.key_account_grade,
                "trend": _r(p.key_account_trend),
                "messages": len(_messages(env, p)),
            }
            for p in partners
        ],
        "values": [
            [
                v.partner_id.name,
                v.kpi_id.code,
                str(v.date_from),
                str(v.date_to),
                _r(v.value),
                _r(v.target),
                _r(v.threshold),
                _r(v.weight),
                _r(v.score),
                # stored copies up to 18.0.1.1.0, read through the account since
                v.user_id.login or False,
                v.tier_id.name or False,
            ]
            for v in values
        ],
        "cycle": [
            {
                "name": c.name,
                "state": c.state,
                "period": [str(c.date_from), str(c.date_to)],
                "messages": _messages(env, c),
            }
            for c in cycle
        ],
        "reviews": [
            {
                "partner": r.partner_id.name,
                "state": r.state,
                "user": r.user_id.login,
                "approver": r.approver_id.login,
                "score": _r(r.score),
                "grade": r.grade,
                "reject_reason": r.reject_reason or "",
                "lines": sorted(
                    [
                        [
                            line.kpi_id.code,
                            _r(line.value),
                            _r(line.target),
                            _r(line.threshold),
                            _r(line.weight),
                            _r(line.score),
                            line.comment or "",
                        ]
                        for line in r.line_ids
                    ]
                ),
                "messages": _messages(env, r),
                "activities": sorted(
                    [a.activity_type_id.name, a.user_id.login] for a in r.activity_ids
                ),
            }
            for r in reviews
        ],
        "actions": [
            {
                "name": a.name,
                "state": a.state,
                "partner": a.partner_id.name,
                "review": a.review_id.partner_id.name,
                "kpi": a.kpi_id.code,
                "owner": a.user_id.login,
                "baseline": _r(a.baseline_value),
                "target": _r(a.target_value),
                "deadline": str(a.date_deadline),
                "messages": _messages(env, a),
            }
            for a in actions
        ],
    }


def dump(env):
    print(MARK + json.dumps(snapshot(env), sort_keys=True))


def _history(sudo, partners, period=None):
    domain = [("partner_id", "in", partners.ids)]
    if period:
        domain += [("date_from", "=", period[0]), ("date_to", "=", period[1])]
    rows = sudo["key.account.score.history"].search(domain)
    return sorted(
        [
            r.partner_id.name,
            str(r.date_from),
            str(r.date_to),
            _r(r.score),
            r.grade or "",
        ]
        for r in rows
    )


def after_upgrade(env):
    """At the new version: the upgraded data still works (nothing committed)."""
    sudo = env(su=True)
    partners = sudo["res.partner"].search(
        [("name", "=like", PREFIX + "%")], order="name"
    )
    p0, p1 = periods(env)
    out = {"history": None, "periods": [[str(d) for d in p0], [str(d) for d in p1]]}
    if "key.account.score.history" in env:
        out["history"] = _history(sudo, partners)
    approved = sudo["key.account.review"].search(
        [("partner_id", "in", partners.ids), ("state", "=", "approved")]
    )
    # mail's Call type counts as a customer contact (marked by the migration)
    out["call_contact_kind"] = sudo.ref(
        "mail.mail_activity_data_call"
    ).key_account_contact_kind
    # the score-history reports read the summary the migration filled: the
    # same counts and averages as the history's own rows
    History = sudo["key.account.score.history"]
    by_day = {}
    for row in History.search_read([], ["date_from", "score"]):
        by_day.setdefault(str(row["date_from"]), []).append(row["score"])
    out["summary_rows"] = sudo["key.account.score.summary"].search_count([])
    out["summary_matches_history"] = bool(by_day) and {
        str(day): [count, _r(average)]
        for day, count, average in History._read_group(
            [], ["date_from:day"], ["__count", "score:avg"]
        )
    } == {day: [len(v), _r(sum(v) / len(v))] for day, v in by_day.items()}
    # who decided the reviews of the old version (recorded by the migration)
    out["deciders"] = {
        review.partner_id.name: {
            "deciders": sorted(review.decider_ids.mapped("login")),
            "rejected_by": review.rejected_by_id.login or False,
        }
        for review in sudo["key.account.review"].search(
            [
                ("partner_id", "in", partners.ids),
                ("state", "in", ("approved", "rejected")),
            ]
        )
    }
    frozen = sorted(
        [line.kpi_id.code, _r(line.value), _r(line.score)] for line in approved.line_ids
    )
    # recomputing the reviewed quarter leaves the approved review's frozen lines alone
    env["key.account.kpi.value"].compute_for_period(
        str(p1[0]), str(p1[1]), partner_ids=partners.ids
    )
    approved.invalidate_recordset()
    # what the engine itself writes into the history for that quarter
    out["recomputed_history"] = _history(sudo, partners, p1)
    out["frozen_kept"] = frozen == sorted(
        [line.kpi_id.code, _r(line.value), _r(line.score)] for line in approved.line_ids
    )
    # the draft review is still submitted by its KAM, the rejected one too
    states = {}
    manual = sudo["key.account.kpi"].search([("code", "=", "t_up_relationship")])
    for review in sudo["key.account.review"].search(
        [("partner_id", "in", partners.ids), ("state", "in", ("draft", "rejected"))]
    ):
        review = review.with_user(review.user_id)
        line = review.line_ids.filtered(lambda line: line.kpi_id == manual)
        line.write({"value": line.value or 3.0})
        review.action_submit()
        states[review.partner_id.name] = review.state
    out["resubmitted"] = states
    # 18.0.1.2.0 dropped the value's stored KAM and tier copies (and its own
    # partner_id and company_id indexes): what is left of them in the schema
    env.cr.execute("""
        SELECT column_name FROM information_schema.columns
         WHERE table_name = 'key_account_kpi_value' AND column_name IN ('user_id', 'tier_id')
         UNION ALL
        SELECT indexname FROM pg_indexes
         WHERE tablename = 'key_account_kpi_value'
           AND indexname IN ('key_account_kpi_value__partner_id_index',
                             'key_account_kpi_value__company_id_index')
    """)
    out["dropped_left"] = sorted(row[0] for row in env.cr.fetchall())
    # 18.0.1.10.0 dropped the indexes of the partner's company-dependent
    # figures (the engine updates the rows in place): none is left
    env.cr.execute("""
        SELECT indexname FROM pg_indexes
         WHERE tablename = 'res_partner' AND indexname LIKE 'res\\_partner\\_\\_key\\_account\\_%'
    """)
    fields = env["res.partner"]._fields
    out["figure_indexes_left"] = sorted(
        name
        for (name,) in env.cr.fetchall()
        if (field := fields.get(name[len("res_partner__") : -len("_index")]))
        and field.company_dependent
    )
    print(MARK + json.dumps(out, sort_keys=True))
