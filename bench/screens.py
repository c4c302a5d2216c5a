"""Server time and SQL queries of the key-account screens next to Odoo's own
Contacts screens, for the same partners (imported by ``benchmark.py``).

Each screen is read the way the web client reads it, with the view's own
field specification (the fields of the arch, a many2one's display name, an
x2many's sub-list): ``web_search_read`` for a kanban's or a list's first
page, ``web_read_group`` then one ``web_search_read`` per group for a kanban
grouped by tier, ``web_read`` for a form, ``read_group`` for each cell level
of a pivot. It runs as the administrator without superuser mode (record
rules apply), and the account page and the pivot once more as the account's
key account manager (whose record rules read the accounts' managers), with
that KAM's key-account list filtered At Risk and sorted by score (conditions
on the figures, scoped to the accounts the KAM may see), next to the
Contacts form and list as that user; the record cache emptied before
each run; each screen and
the Contacts screen it is compared with are run in turns, ``runs`` times
each, after one run that fills Odoo's caches; the best time and the fewest
queries of each are kept, and the median time of each screen and of its
Contacts screen over those turns (on a machine whose speed moves from one
run to the next, the best of a few runs of a screen whose times spread
widely is a lottery: the median of the same turns is the steadier figure).

The baselines are Odoo's Contacts views on the same key accounts: the
kanban ``base.res_partner_kanban_view``, the list ``base.view_partner_tree``
and the form ``base.view_partner_form`` without the addon's fields (the
account page is that very form with the addon's fields).
"""

import statistics
import time

from lxml import etree

KANBAN_LIMIT = 40  # the web client's first page of a kanban
LIST_LIMIT = 80  # and of a list
SUB_LIMIT = 40  # rows of an x2many read with its record


def _spec(model, node, fields):
    """{field: spec} of the <field> nodes of ``node`` (not those of the
    sub-views inside an x2many field), as the web client asks for them."""
    spec = {}

    def walk(element):
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "field" and child.get("name") in fields:
                name = child.get("name")
                field = fields[name]
                if field["type"] in ("many2one", "many2many") and not any(
                    sub.tag in ("list", "kanban") for sub in child
                ):
                    spec[name] = {"fields": {"display_name": {}}}
                elif field["type"] in ("one2many", "many2many"):
                    sub_model = model.env[field["relation"]]
                    sub_fields = sub_model.fields_get()
                    arch = next(
                        (sub for sub in child if sub.tag in ("list", "kanban")), None
                    )
                    spec[name] = {
                        "fields": _spec(sub_model, arch, sub_fields)
                        if arch is not None
                        else {"display_name": {}},
                        "limit": SUB_LIMIT,
                    }
                else:
                    spec.setdefault(name, {})
            else:
                walk(child)

    walk(node)
    return spec


def view_spec(model, xmlid, view_type, keep=None):
    """The field specification of the view ``xmlid`` (with its inheriting
    views; the model's default view when ``xmlid`` is None), restricted to
    the fields for which ``keep(name)`` is true."""
    view_id = model.env.ref(xmlid).id if xmlid else False
    arch = model.get_views([(view_id, view_type)])["views"][view_type]["arch"]
    spec = _spec(model, etree.fromstring(arch), model.fields_get())
    if keep:
        spec = {name: sub for name, sub in spec.items() if keep(name)}
    return spec


def measure(env, runs, log, accounts_domain):
    """{screen: (seconds, queries)} of every screen and its baseline."""
    cr = env.cr
    admin = env.ref("base.user_admin")
    uenv = env(user=admin.id, su=False)
    Partner = uenv["res.partner"]
    Review = uenv["key.account.review"]
    History = uenv["key.account.score.history"]

    warm = set()

    def timed(call, runs):
        """(best time, fewest queries) of ``runs`` runs: the first run of a
        screen only fills Odoo's caches (record rules, groups) and is not
        counted, so the query count is the one of a warm run, as a user's
        second click."""
        if call not in warm:
            warm.add(call)
            uenv.invalidate_all()
            call()
        best, fewest = None, None
        for _run in range(runs):
            uenv.invalidate_all()
            before = cr.sql_log_count
            started = time.perf_counter()
            call()
            elapsed = time.perf_counter() - started
            queries = cr.sql_log_count - before
            best = elapsed if best is None else min(best, elapsed)
            fewest = queries if fewest is None else min(fewest, queries)
        return best, fewest

    ours = lambda name: True  # noqa: E731
    not_ours = lambda name: not name.startswith("key_account_")  # noqa: E731
    cockpit_kanban = view_spec(
        Partner, "key_account_performance.res_partner_view_kanban_key_account", "kanban"
    )
    cockpit_list = view_spec(
        Partner, "key_account_performance.res_partner_view_list_key_account", "list"
    )
    account_form = view_spec(Partner, "base.view_partner_form", "form", ours)
    contacts_kanban = view_spec(Partner, "base.res_partner_kanban_view", "kanban")
    contacts_list = view_spec(Partner, "base.view_partner_tree", "list")
    contacts_form = view_spec(Partner, "base.view_partner_form", "form", not_ours)
    queue_action = uenv.ref(
        "key_account_performance.action_key_account_review_to_approve"
    ).sudo()
    review_list = view_spec(
        Review,
        queue_action.view_id.get_external_id().get(queue_action.view_id.id),
        "list",
    )
    log(
        "screens: fields read: cockpit kanban %s, key-account list %s, account page %s; "
        "Contacts kanban %s, list %s, form %s; approval queue %s"
        % (
            len(cockpit_kanban),
            len(cockpit_list),
            len(account_form),
            len(contacts_kanban),
            len(contacts_list),
            len(contacts_form),
            len(review_list),
        )
    )

    first_ids = Partner.search(accounts_domain, limit=1, order="id").ids
    # the account with the most score history, as its KAM opens it
    cr.execute(
        "SELECT partner_id FROM key_account_score_history "
        "GROUP BY partner_id ORDER BY COUNT(*) DESC, partner_id LIMIT 1"
    )
    row = cr.fetchone()
    account_id = row[0] if row else first_ids[0]
    # the account's key account manager reads it too (record rules on every
    # read), with the views as they are rendered for them
    kam = Partner.sudo().browse(account_id).key_account_manager_id
    kenv = env(user=kam.id, su=False) if kam else uenv
    kam_partner = kenv["res.partner"]
    kam_history = kenv["key.account.score.history"]
    kam_form = view_spec(kam_partner, "base.view_partner_form", "form", ours)
    kam_contacts_form = view_spec(
        kam_partner, "base.view_partner_form", "form", not_ours
    )
    kam_contacts_list = view_spec(kam_partner, "base.view_partner_tree", "list")
    kam_list = view_spec(
        kam_partner, "key_account_performance.res_partner_view_list_key_account", "list"
    )

    def kanban_grouped(spec):
        def call():
            groups = Partner.web_read_group(
                accounts_domain, ["key_account_tier_id"], ["key_account_tier_id"]
            )["groups"]
            for group in groups:
                Partner.web_search_read(
                    group["__domain"], spec, limit=KANBAN_LIMIT, count_limit=10001
                )

        return call

    def first_page(model, domain, spec, limit):
        return lambda: model.web_search_read(
            domain, spec, limit=limit, count_limit=10001
        )

    def pivot(history=History):
        # the pivot's cells as the view opens: rows tier, columns quarter,
        # measure score (one read_group per level, as the pivot view asks them)
        domain = [("is_running", "=", False)]
        for groupby in (
            [],
            ["date_from:quarter"],
            ["tier_id"],
            ["tier_id", "date_from:quarter"],
        ):
            history.read_group(domain, ["score:avg"], groupby, lazy=False)

    queue_domain = [("state", "=", "submitted"), ("approver_id", "=", admin.id)]
    calls = {
        "cockpit kanban, first page": first_page(
            Partner, accounts_domain, cockpit_kanban, KANBAN_LIMIT
        ),
        "cockpit kanban, grouped by tier": kanban_grouped(cockpit_kanban),
        "key-account list": first_page(
            Partner, accounts_domain, cockpit_list, LIST_LIMIT
        ),
        "account page (form web_read)": lambda: Partner.browse(account_id).web_read(
            account_form
        ),
        "score-history pivot": pivot,
        "approval queue": first_page(Review, queue_domain, review_list, LIST_LIMIT),
        "Contacts kanban, first page": first_page(
            Partner, accounts_domain, contacts_kanban, KANBAN_LIMIT
        ),
        "Contacts kanban, grouped by tier": kanban_grouped(contacts_kanban),
        "Contacts list": first_page(
            Partner, accounts_domain, contacts_list, LIST_LIMIT
        ),
        "Contacts form (web_read)": lambda: Partner.browse(account_id).web_read(
            contacts_form
        ),
        "account page, as its KAM": lambda: kam_partner.browse(account_id).web_read(
            kam_form
        ),
        "score-history pivot, as a KAM": lambda: pivot(kam_history),
        "Contacts form, as the KAM": lambda: kam_partner.browse(account_id).web_read(
            kam_contacts_form
        ),
        "Contacts list, as the KAM": first_page(
            kam_partner, accounts_domain, kam_contacts_list, LIST_LIMIT
        ),
        # the KAM's own questions of the list: which of my accounts are at
        # risk, which score lowest (conditions on the figures, scoped to the
        # accounts the KAM may see)
        "key-account list At Risk, as its KAM": first_page(
            kam_partner,
            accounts_domain + [("key_account_at_risk", "=", True)],
            kam_list,
            LIST_LIMIT,
        ),
        "key-account list by score, as its KAM": lambda: kam_partner.web_search_read(
            accounts_domain,
            kam_list,
            limit=LIST_LIMIT,
            count_limit=10001,
            order="key_account_score",
        ),
    }
    # each screen and its Contacts screen timed in turns (screen, Contacts,
    # screen, ...), so that a ratio compares runs of the same seconds on a
    # machine whose speed drifts; the Contacts screen's own row keeps its
    # best time over all the pairs it was part of
    figures = {}
    for screen, baseline in BASELINES:
        pair = {screen: [], baseline: []}
        for _run in range(runs):
            for name in (screen, baseline):
                pair[name].append(timed(calls[name], 1))
        figures[MEDIAN + screen] = tuple(
            statistics.median(sample[0] for sample in pair[name])
            for name in (screen, baseline)
        )
        for name, samples in pair.items():
            best = (
                min(sample[0] for sample in samples),
                min(sample[1] for sample in samples),
            )
            if name == baseline:
                figures["%s%s" % (PAIRED, screen)] = best
                if name in figures:
                    best = tuple(map(min, figures[name], best))
            figures[name] = best
    counts = {
        "approval queue rows": Review.search_count(queue_domain),
        "score-history rows": History.search_count([("is_running", "=", False)]),
    }
    return figures, counts


# key prefix of a Contacts screen's figures timed in turns with a screen
PAIRED = "Contacts screen timed with: "
# key prefix of (median of the screen, median of its Contacts screen) over
# the same turns
MEDIAN = "medians: "
# screen -> the Contacts screen it is compared with
BASELINES = [
    ("cockpit kanban, first page", "Contacts kanban, first page"),
    ("cockpit kanban, grouped by tier", "Contacts kanban, grouped by tier"),
    ("key-account list", "Contacts list"),
    ("account page (form web_read)", "Contacts form (web_read)"),
    ("score-history pivot", "Contacts list"),
    ("approval queue", "Contacts list"),
    ("account page, as its KAM", "Contacts form, as the KAM"),
    ("score-history pivot, as a KAM", "Contacts list, as the KAM"),
    ("key-account list At Risk, as its KAM", "Contacts list, as the KAM"),
    ("key-account list by score, as its KAM", "Contacts list, as the KAM"),
]


def table(figures):
    """Markdown lines: each screen, its baseline and the ratios."""
    lines = [
        "| screen | ms | queries | Contacts screen | ms | queries | time ratio "
        "| median ms | Contacts median ms | median ratio | query ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for screen, baseline in BASELINES:
        s, q = figures[screen]
        bs, bq = figures.get(PAIRED + screen, figures[baseline])
        ms, mbs = figures.get(MEDIAN + screen, (s, bs))
        lines.append(
            "| %s | %.1f | %d | %s | %.1f | %d | %.2f× | %.1f | %.1f | %.2f× | %.2f× |"
            % (
                screen,
                s * 1000,
                q,
                baseline,
                bs * 1000,
                bq,
                s / bs,
                ms * 1000,
                mbs * 1000,
                ms / mbs,
                q / bq if bq else 0,
            )
        )
    return lines
