"""Values given to the addon's fields, checked before the database sees them.

'abc' for a number, NaN or infinity, a NUL byte in a text, an unknown
selection key or a date that is not one used to reach PostgreSQL (or
Python's float()) and come back as a traceback quoting the SQL. Every
create and write of the addon's models, and of the addon's fields on the
models it extends, is checked here first: the error names the field and
what it accepts.
"""

import math

from odoo import api, models
from odoo.exceptions import ValidationError

from ..tools import kpi_math

ADDON = "key_account_performance"
NUMBER_TYPES = ("float", "integer", "monetary")
TEXT_TYPES = ("char", "text", "html")
DATE_TYPES = ("date", "datetime")
# PostgreSQL int4
INTEGER_MIN, INTEGER_MAX = -(2**31), 2**31 - 1


def _number_problem(env, field, value):
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    elif isinstance(value, (int, float)):
        number = value
    else:
        number = None
    if number is None or not math.isfinite(number):
        return env._("a finite number is expected, not %(value)s.", value=repr(value))
    if field.type == "integer" and not INTEGER_MIN <= number <= INTEGER_MAX:
        return env._(
            "a whole number between %(min)s and %(max)s is expected, not %(value)s.",
            min=INTEGER_MIN,
            max=INTEGER_MAX,
            value=repr(value),
        )
    return False


def _text_problem(env, field, value):
    texts = value.values() if isinstance(value, dict) else [value]
    if any(isinstance(text, str) and "\x00" in text for text in texts):
        return env._("a text cannot contain a NUL character (\\x00).")
    return False


def _selection_problem(env, field, value):
    if not value:
        return False
    allowed = field.get_values(env)
    if value not in allowed:
        return env._(
            "%(value)s is not one of the allowed values (%(allowed)s).",
            value=repr(value),
            allowed=", ".join(allowed),
        )
    return False


def _date_problem(env, field, value):
    if not value or not isinstance(value, str):
        return False
    try:
        field.to_date(value) if field.type == "date" else field.to_datetime(value)
    except ValueError:
        return env._(
            "%(value)s is not a date (YYYY-MM-DD expected).", value=repr(value)
        )
    return False


CHECKS = {
    **dict.fromkeys(NUMBER_TYPES, _number_problem),
    **dict.fromkeys(TEXT_TYPES, _text_problem),
    "selection": _selection_problem,
    **dict.fromkeys(DATE_TYPES, _date_problem),
}


def check_values(records, vals_list):
    """Raise a ValidationError naming the first field of the addon whose
    value in ``vals_list`` (as given to create / write) cannot be stored."""
    env = records.env
    for vals in vals_list:
        for name, value in vals.items():
            field = records._fields.get(name)
            if field is None or field._module != ADDON:
                continue
            check = CHECKS.get(field.type)
            problem = check and check(env, field, value)
            if problem:
                raise ValidationError(
                    env._(
                        "%(model)s, field %(field)s: %(problem)s",
                        # sudo: the model's (translated) name only
                        model=env["ir.model"].sudo()._get(records._name).name,
                        field=field._description_string(env),
                        problem=problem,
                    )
                )


class KeyAccountInputCheck(models.AbstractModel):
    """Checks what create and write are given (see ``check_values``)."""

    _name = "key.account.input.check"
    _description = "Key Account Input Check"

    @api.model_create_multi
    def create(self, vals_list):
        check_values(self, vals_list)
        return super().create(vals_list)

    def write(self, vals):
        check_values(self, [vals])
        return super().write(vals)


def _checked(name):
    """The model ``name`` extended with the input check."""
    return type(
        "KeyAccountInputCheck_%s" % name.replace(".", "_"),
        (models.Model,),
        {
            "__module__": __name__,
            "_name": name,
            "_inherit": [name, "key.account.input.check"],
        },
    )


# the addon's models and the models it extends with fields of its own
CHECKED_MODELS = (
    "key.account.tier",
    "key.account.segment",
    "key.account.grade",
    "key.account.kpi",
    "key.account.kpi.template",
    "key.account.kpi.template.line",
    "key.account.kpi.value",
    "key.account.review",
    "key.account.review.line",
    "key.account.improvement.action",
    "key.account.score.history",
    "key.account.value.model",
    "res.company",
    "res.partner",
)
for _model_name in CHECKED_MODELS:
    _checked(_model_name)
del _model_name


class KeyAccountReviewCycle(models.Model):
    _name = "key.account.review.cycle"
    _inherit = ["key.account.review.cycle", "key.account.input.check"]

    @api.constrains("date_from", "date_to")
    def _check_period_in_range(self):
        for cycle in self:
            if (
                cycle.date_from
                and cycle.date_to
                and not kpi_math.period_in_range(cycle.date_from, cycle.date_to)
            ):
                raise ValidationError(
                    self.env._(
                        "Review cycle %(cycle)s: the period %(date_from)s – %(date_to)s is out "
                        "of range: review cycles lie between %(min)s and %(max)s.",
                        cycle=cycle.display_name,
                        date_from=cycle.date_from,
                        date_to=cycle.date_to,
                        min=kpi_math.PERIOD_MIN_DATE,
                        max=kpi_math.PERIOD_MAX_DATE,
                    )
                )
