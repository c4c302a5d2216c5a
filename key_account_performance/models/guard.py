"""Fields the addon derives, and the one way to write them.

Scores, grades, statuses, points, measured effects and the links between
reviews are worked out by the addon (the engine, the review's computes, the
effect measurement). A direct ``create`` or ``write`` of one of them, by any
user — administrators included — over RPC or through the ORM, is refused
with a clear error; the addon's own writes carry a context value no RPC
client can send (a JSON-RPC or XML-RPC context holds plain data only).
"""

from odoo import models
from odoo.exceptions import UserError

# the context value of the addon's own writes of derived fields
_INTERNAL = object()
CONTEXT_KEY = "key_account_internal_write"


def internal(records):
    """``records`` allowed to write the derived fields (the addon's code only)."""
    return records.with_context(**{CONTEXT_KEY: _INTERNAL})


def is_internal(env):
    return env.context.get(CONTEXT_KEY) is _INTERNAL


def stored_fields(model):
    """Every stored field of ``model`` but its id and log columns: for the
    models the engine writes whole (score history, warnings)."""
    return frozenset(
        name
        for name, field in model._fields.items()
        if field.store and name not in models.MAGIC_COLUMNS
    )


def refuse_derived(records, vals_list, derived):
    """Raise a UserError naming the fields of ``derived`` that ``vals_list``
    (as given to create or write) would set, unless the addon writes them.

    On create, an empty value of a derived field (what a form or an
    import sends for a field it shows) is the default, not a forgery.
    """
    if is_internal(records.env):
        return
    names = set()
    for vals in vals_list:
        given = derived.intersection(vals)
        if not records:
            given = {name for name in given if vals[name]}
        names |= given
    if names:
        env = records.env
        labels = sorted(
            records._fields[name]._description_string(env) for name in names
        )
        raise UserError(
            env._(
                "%(fields)s of %(model)s are worked out by the key-account addon and "
                "cannot be written directly (by any user, administrators included).",
                fields=", ".join(labels),
                model=env["ir.model"].sudo()._get(records._name).name,
            )
        )
