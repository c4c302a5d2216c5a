"""The records behind a KPI value (``key.account.kpi.value.action_open_records``):
which source records a value was computed from, what each measures, and a
list view of them whose total adds up to the value. ``kpi`` is a
``key.account.kpi`` record (sudo: its configuration, for a reader the caller
checked)."""

from odoo.tools import SQL

from ..sql import aggregate as sql_aggregate
from ..tools.field_paths import resolve_path
from .gathering import RECORD_MODES


def record_ids(kpi, partner_id, date_from, date_to, company):
    """The source records behind one value (for 'open the records')."""
    kpi.ensure_one()
    if kpi.computation_mode not in RECORD_MODES:
        return kpi.env["ir.model"], []
    Model, query, _cp, _date, _field = kpi._source_query(
        [partner_id], kpi._scope_start(date_from, date_to), date_to, company
    )
    rows = kpi.env.execute_query(query.select(SQL.identifier(Model._table, "id")))
    return Model, [row[0] for row in rows]


def record_measures(kpi, partner_id, date_from, date_to, company):
    """{record id: (date, measured value)} of the source records behind one
    value of a sum or average KPI, each measured as the aggregate counts
    it: the value field through its path, converted to the company
    currency by the record's rate. One statement."""
    kpi.ensure_one()
    if kpi.computation_mode not in ("sum", "average") or not kpi.value_field:
        return {}
    Model, query, _cp, date_sql, _field = kpi._source_query(
        [partner_id], kpi._scope_start(date_from, date_to), date_to, company
    )
    alias = Model._table
    value_sql = sql_aggregate.measured_value(
        kpi, sql_aggregate.Source(Model, query, _cp, date_sql, _field)
    )
    rows = kpi.env.execute_query(
        query.select(SQL.identifier(alias, "id"), date_sql, value_sql)
    )
    # a path through a one2many gives a row per line: a record counts them all
    measures = {}
    for rid, day, value in rows:
        if value is not None:
            measures[rid] = (day, measures.get(rid, (day, 0.0))[1] + float(value))
    return measures


def need_measures(kpi, Model, measures):
    """Whether the records' own column would not add up to the value: the
    value is read through a path, or converted from another currency."""
    kpi.ensure_one()
    if not measures:
        return False
    if "." in kpi.value_field or kpi.value_field not in Model._fields:
        return True
    if not kpi.currency_rate_field:
        return False
    records = Model.browse(list(measures))
    raw = {row["id"]: row[kpi.value_field] for row in records.read([kpi.value_field])}
    return any(
        abs((raw.get(rid) or 0.0) - measure) > 1e-6
        for rid, (_day, measure) in measures.items()
    )


def measure_label(kpi, Model):
    """What the records behind a value measure, e.g. 'sum of Untaxed Amount'."""
    kpi.ensure_one()
    _ = kpi.env._

    def label(path):
        try:
            return resolve_path(Model, path)[1]._description_string(kpi.env)
        except ValueError:
            return path

    mode = kpi.computation_mode
    if mode == "sum":
        return _("sum of %(field)s", field=label(kpi.value_field))
    if mode in ("average", "rating"):
        return _("average of %(field)s", field=label(kpi.value_field))
    if mode == "duration":
        return _(
            "average time from %(start)s to %(end)s",
            start=label(kpi.date_field),
            end=label(kpi.date_end_field),
        )
    return _("number of records")


def records_view_id(kpi, Model):
    """A list view of the source records showing the measured column with
    its total (sum) or mean (average), so that the records behind a value
    add up to it; the partner and the date placing a record in the
    period beside it. Made once per model and columns (a primary view of
    low priority, never the model's default list)."""
    kpi.ensure_one()
    # a source model made for KPIs (contact activity) names its own list
    own = getattr(Model, "_key_account_records_view", None)
    if own and kpi.computation_mode == "count":
        view = kpi.env.ref(own, raise_if_not_found=False)
        if view:
            return view.id

    def direct(path):
        return bool(path) and "." not in path and path in Model._fields

    columns = []
    for path in (kpi.date_field, kpi.partner_field):
        if direct(path) and path not in columns:
            columns.append(path)
    if kpi.computation_mode == "duration" and direct(kpi.date_end_field):
        columns.append(kpi.date_end_field)
    measure = None
    if kpi.computation_mode in ("sum", "average", "rating") and direct(kpi.value_field):
        measure = kpi.value_field
    parts = ['<list create="0" edit="0">', '<field name="display_name"/>']
    parts += ['<field name="%s"/>' % name for name in columns if name != measure]
    if measure:
        field = Model._fields[measure]
        aggregate = "sum" if kpi.computation_mode == "sum" else "avg"
        parts.append('<field name="%s" %s="%s"/>' % (measure, aggregate, aggregate))
        currency = getattr(field, "currency_field", None)
        if field.type == "monetary" and currency and currency in Model._fields:
            parts.append('<field name="%s" column_invisible="1"/>' % currency)
    parts.append("</list>")
    arch = "".join(parts)
    name = "key_account_performance records %s %s" % (
        Model._name,
        "-".join(columns + [measure or "", kpi.computation_mode]),
    )
    View = kpi.env["ir.ui.view"].sudo()
    view = View.search(
        [("name", "=", name), ("model", "=", Model._name), ("type", "=", "list")],
        limit=1,
    )
    if not view:
        view = View.create(
            {
                "name": name,
                "model": Model._name,
                "type": "list",
                "mode": "primary",
                "priority": 1000,
                "arch": arch,
            }
        )
    elif view.arch_db != arch:
        view.arch = arch
    return view.id
