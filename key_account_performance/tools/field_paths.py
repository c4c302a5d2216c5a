"""Dotted field paths of a KPI's source (``partner_id.commercial_partner_id``):
followed through many2one fields, and checked when a KPI is saved."""


def resolve_path(model, path):
    """Follow a dotted path; return (model of the last field, last field)."""
    names = (path or "").split(".")
    current = model
    for index, name in enumerate(names):
        field = current._fields.get(name)
        if field is None:
            raise ValueError(
                current.env._(
                    "%(model)s has no field %(field)r", model=current._name, field=name
                )
            )
        if index == len(names) - 1:
            return current, field
        if field.type != "many2one":
            raise ValueError(
                current.env._(
                    "%(field)s on %(model)s is not a many2one",
                    model=current._name,
                    field=name,
                )
            )
        current = current.env[field.comodel_name]
    raise ValueError("empty path")


def path_problem(model, path, kind, comodel=None):
    if kind == "users":
        return _users_path_problem(model, path)
    try:
        last_model, field = resolve_path(model, path)
    except ValueError as exc:
        return str(exc)
    _ = model.env._
    if not (field.store or field.related) or not field.column_type:
        return _("%(field)s is not stored in the database", field=field.name)
    if kind == "date" and field.type not in ("date", "datetime"):
        return _(
            "%(field)s is a %(type)s, not a date", field=field.name, type=field.type
        )
    if kind == "number" and field.type not in ("integer", "float", "monetary"):
        return _(
            "%(field)s is a %(type)s, not a number", field=field.name, type=field.type
        )
    if kind == "many2one" and (
        field.type != "many2one" or field.comodel_name != comodel
    ):
        return _(
            "%(field)s does not point to %(comodel)s", field=field.name, comodel=comodel
        )
    return False


def _users_path_problem(model, path):
    """A path to the people of a record: many2ones, then a many2one or a
    many2many to res.users (stored: a column or a relation table)."""
    try:
        _last_model, field = resolve_path(model, path)
    except ValueError as exc:
        return str(exc)
    _ = model.env._
    if field.type not in ("many2one", "many2many") or field.comodel_name != "res.users":
        return _("%(field)s does not point to users", field=field.name)
    if field.type == "many2one" and not (field.store or field.related):
        return _("%(field)s is not stored in the database", field=field.name)
    if field.type == "many2many" and not field.store:
        return _("%(field)s is not stored in the database", field=field.name)
    return False
