"""Per-person figures of count KPIs: what each person did on each account.

A KPI with a ``person_field`` (a path from its source records to users)
counts, besides the account's value, the records of each person on each
account: one grouped statement per KPI and period for all accounts and
people together (``sql.aggregate.person_select``), whatever their number.
The appraisal shows them next to the account's figure
(``key.account.appraisal.activity``); the records of one person open with
``person_record_domain``.
"""

from ..sql import aggregate as sql_aggregate


def person_kpis(env, company):
    """The active count KPIs with a person field that the company uses (its
    own and the shared ones), sudo, in sequence order."""
    return (
        env["key.account.kpi"]
        .sudo()
        .search(
            [
                ("computation_mode", "=", "count"),
                ("person_field", "!=", False),
                ("model_id", "!=", False),
                ("date_field", "!=", False),
                ("company_id", "in", [company.id, False]),
            ]
        )
    )


def person_counts(kpi, partner_ids, date_from, date_to, company):
    """({partner id: count of the account}, {(partner id, user id): count of
    the person}) of one count KPI over the period: one statement."""
    if not partner_ids:
        return {}, {}
    source = sql_aggregate.source_query(
        kpi, partner_ids, kpi._scope_start(date_from, date_to), date_to, company
    )
    Model = source.Model
    person = sql_aggregate.person_sql(
        Model, Model._table, kpi.person_field, source.query
    )
    rows = kpi.env.execute_query(
        sql_aggregate.person_select(kpi, source, person, company)
    )
    accounts, people = {}, {}
    for partner_id, user_id, whole, count in rows:
        if whole:
            accounts[partner_id] = float(count)
        elif user_id:
            people[(partner_id, user_id)] = float(count)
    return accounts, people


def person_record_domain(kpi, record_ids, user_id):
    """The domain of the records of one person among ``record_ids`` (the
    records behind an account's value)."""
    return [("id", "in", list(record_ids)), (kpi.person_field, "in", [user_id])]
