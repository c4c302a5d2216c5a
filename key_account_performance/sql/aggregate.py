"""The aggregate of a KPI's source records per commercial partner.

One builder serves both readers: a KPI read alone (its aggregate over the
period) and several KPIs of one source read by one scan (each aggregate
``FILTER``-ed by its own period). Records reach their account through a
field path (``partner_id.commercial_partner_id``), amounts are converted to
the company currency by the record's rate, datetimes are compared in the
company's time zone.
"""

import collections

from odoo.tools import SQL

from ..tools import kpi_math

# the source query of a KPI: model (sudo, company set), Query, SQL of the
# commercial partner, SQL of the date and the date field
Source = collections.namedtuple("Source", "Model query cp_sql date_sql date_field")


def sql_path(model, alias, path, query):
    """SQL expression of a dotted field path, adding LEFT JOINs to ``query``;
    returns (SQL, last field)."""
    names = path.split(".")
    current, alias = _join_many2ones(model, alias, names[:-1], query)
    # _field_to_sql follows non-stored related fields to their stored target
    return current._field_to_sql(alias, names[-1], query), current._fields[names[-1]]


def _join_many2ones(model, alias, names, query):
    """LEFT JOIN the many2ones ``names`` from ``alias``; returns (model, alias)
    of the last one."""
    current = model
    for name in names:
        field = current._fields[name]
        comodel = current.env[field.comodel_name]
        column = current._field_to_sql(alias, name, query)
        co_alias = query.make_alias(alias, name)
        query.add_join(
            "LEFT JOIN",
            co_alias,
            comodel._table,
            SQL("%s = %s", column, SQL.identifier(co_alias, "id")),
        )
        current, alias = comodel, co_alias
    return current, alias


def person_sql(model, alias, path, query):
    """SQL of the person (a res.users id) of a record through ``path``
    (``kpi.person_field``), adding joins to ``query``: a many2many last step
    LEFT JOINs its relation table, one row per person."""
    names = path.split(".")
    current, alias = _join_many2ones(model, alias, names[:-1], query)
    field = current._fields[names[-1]]
    if field.type != "many2many":
        return current._field_to_sql(alias, names[-1], query)
    rel_alias = query.make_alias(alias, names[-1])
    query.add_join(
        "LEFT JOIN",
        rel_alias,
        field.relation,
        SQL(
            "%s = %s",
            SQL.identifier(rel_alias, field.column1),
            SQL.identifier(alias, "id"),
        ),
    )
    return SQL.identifier(rel_alias, field.column2)


def period_condition(sql_expr, field, date_from, date_to, company):
    """``sql_expr`` (of ``field``) inside the inclusive period: datetimes
    from the first to the last instant of the company's days."""
    if field.type == "datetime":
        start, end = kpi_math.datetime_bounds(
            date_from, date_to, kpi_math.company_tz(company)
        )
        return SQL("(%s >= %s AND %s < %s)", sql_expr, start, sql_expr, end)
    return SQL("(%s >= %s AND %s <= %s)", sql_expr, date_from, sql_expr, date_to)


def source_query(kpi, partner_ids, date_from, date_to, company):
    """The query of the source records of a record KPI for these commercial
    partners in the period, as a ``Source``. Shared by the aggregation and
    by 'open the records behind a value'."""
    Model = kpi.env[kpi.model_id.model].sudo().with_company(company)
    query = Model._search(kpi._source_domain())
    alias = Model._table
    partner_sql, _field = sql_path(Model, alias, kpi.partner_field, query)
    cp_alias = query.make_alias(alias, "kap_commercial")
    query.add_join(
        "JOIN",
        cp_alias,
        "res_partner",
        SQL("%s = %s", SQL.identifier(cp_alias, "id"), partner_sql),
    )
    cp_sql = SQL.identifier(cp_alias, "commercial_partner_id")
    query.add_where(SQL("%s IN %s", cp_sql, tuple(partner_ids)))
    date_sql, date_field = sql_path(Model, alias, kpi.date_field, query)
    query.add_where(period_condition(date_sql, date_field, date_from, date_to, company))
    if "company_id" in Model._fields and Model._fields["company_id"].store:
        company_sql = Model._field_to_sql(alias, "company_id", query)
        query.add_where(
            SQL("(%s = %s OR %s IS NULL)", company_sql, company.id, company_sql)
        )
    if kpi.computation_mode == "duration":
        end_sql, _end_field = sql_path(Model, alias, kpi.date_end_field, query)
        query.add_where(SQL("%s IS NOT NULL", end_sql))
    return Source(Model, query, cp_sql, date_sql, date_field)


def measured_value(kpi, source):
    """SQL of the value a sum / average / rating KPI measures on a record:
    its value field through its path, converted to the company currency by
    the record's rate (sums and averages)."""
    Model, query = source.Model, source.query
    value_sql, _field = sql_path(Model, Model._table, kpi.value_field, query)
    if kpi.currency_rate_field and kpi.computation_mode in ("sum", "average"):
        rate_sql, _field = sql_path(Model, Model._table, kpi.currency_rate_field, query)
        value_sql = SQL("(%s / COALESCE(NULLIF(%s, 0), 1.0))", value_sql, rate_sql)
    return value_sql


def kpi_aggregate(kpi, source, company, condition=None):
    """SQL of the aggregate of one KPI over ``source``, grouped by partner.

    With ``condition`` (a period inside a wider scan) the aggregate counts
    the rows of that period only (``FILTER``), and a count of nothing is
    NULL (no value) as it is when the KPI is read alone (no row at all)."""
    mode = kpi.computation_mode
    if mode == "count":
        if kpi.count_distinct in ("day", "month"):
            local = source.date_sql
            if source.date_field.type == "datetime":
                local = SQL(
                    "timezone(%s, timezone('UTC', %s))",
                    kpi_math.company_tz(company),
                    source.date_sql,
                )
            aggregate = SQL(
                "COUNT(DISTINCT date_trunc(%s, %s))", kpi.count_distinct, local
            )
        else:
            aggregate = SQL("COUNT(*)")
    elif mode == "duration":
        end_sql, _field = sql_path(
            source.Model, source.Model._table, kpi.date_end_field, source.query
        )
        divisor = 86400.0 if kpi.duration_unit == "days" else 3600.0
        aggregate = SQL(
            "AVG(EXTRACT(EPOCH FROM (%s::timestamp - %s::timestamp)))",
            end_sql,
            source.date_sql,
        )
        if condition is not None:
            aggregate = SQL("%s FILTER (WHERE %s)", aggregate, condition)
        return SQL("%s / %s", aggregate, divisor)
    else:
        function = SQL("SUM") if mode == "sum" else SQL("AVG")
        aggregate = SQL("%s(%s)", function, measured_value(kpi, source))
    if condition is None:
        return aggregate
    aggregate = SQL("%s FILTER (WHERE %s)", aggregate, condition)
    return SQL("NULLIF(%s, 0)", aggregate) if mode == "count" else aggregate


def grouped_select(source, aggregates):
    """The statement: the commercial partner, then each aggregate."""
    source.query.groupby = source.cp_sql
    return source.query.select(source.cp_sql, *aggregates)


def person_select(kpi, source, person, company):
    """The statement of a count KPI per account and person: rows (commercial
    partner, person, GROUPING(person), count), the count of each person
    (``GROUPING`` 0; person NULL: records of nobody) and of the whole account
    (``GROUPING`` 1), each record counted once however many people it has."""
    if kpi.count_distinct in ("day", "month"):
        aggregate = kpi_aggregate(kpi, source, company)
    else:
        aggregate = SQL("COUNT(DISTINCT %s)", SQL.identifier(source.Model._table, "id"))
    source.query.groupby = SQL(
        "GROUPING SETS ((%s, %s), (%s))", source.cp_sql, person, source.cp_sql
    )
    return source.query.select(
        source.cp_sql, person, SQL("GROUPING(%s)", person), aggregate
    )
