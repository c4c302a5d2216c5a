"""The formula sandbox of ``formula`` KPIs: what a formula may contain, how it
is compiled (floats only, at every step) and evaluated with a few math
builtins. Pure Python: no Odoo, testable without a database.

A formula is an arithmetic expression over KPI codes, ``<code>_prev``,
``period_days`` and ``period_months``; ``min``, ``max``, ``abs`` and
``round`` are the only calls.
"""

import ast
import math

FORMULA_BUILTINS = {
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
}
FORMULA_PERIOD_NAMES = ("period_days", "period_months")
# what validation gives the period names (a quarter)
FORMULA_PERIOD_DEFAULTS = {"period_days": 90.0, "period_months": 3.0}
# a formula is a short arithmetic expression; longer ones are refused unparsed
FORMULA_MAX_LENGTH = 2000


_FORMULA_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
    ast.boolop,
)


def shorten(text, limit=200):
    """``text`` cut to ``limit`` characters: messages and logs never echo a
    huge formula whole."""
    text = str(text)
    return (
        text
        if len(text) <= limit
        else "%s… (%d characters)" % (text[:limit], len(text))
    )


def _float_round(number, ndigits=None):
    # round() of a float without ndigits returns an int: keep floats only
    digits = 0 if ndigits is None else max(-400, min(400, int(ndigits)))
    return float(round(float(number), digits))


def _float_min(*args):
    return float(min(*args))


def _float_max(*args):
    return float(max(*args))


def _float_abs(number):
    return float(abs(number))


def _float_pow(base, exponent):
    # a power of floats only: bounded in time and memory whatever its operands
    return float(base) ** float(exponent)


# names the compiled formula calls: not identifiers, so that no KPI code and
# nothing written in a formula can name them
_FORMULA_FLOAT = "kap float"
_FORMULA_POW = "kap pow"

FORMULA_EVAL_BUILTINS = {
    "min": _float_min,
    "max": _float_max,
    "abs": _float_abs,
    "round": _float_round,
    "True": True,
    "False": False,
    "None": None,
    _FORMULA_FLOAT: float,
    _FORMULA_POW: _float_pow,
}


class _FloatsOnly(ast.NodeTransformer):
    """Every number of a formula is a float, at every step: constants become
    floats, comparisons and ``not`` (booleans, which are integers) are turned
    into floats, and ``**`` is a power of floats. Float arithmetic takes
    constant time and memory and raises OverflowError where integer
    arithmetic would build numbers of billions of digits (``9**9**9**9``,
    or the same tower built from ``(x == x) + (x == x) + …``)."""

    def visit_Constant(self, node):
        if isinstance(node.value, (int, float)):
            node.value = float(node.value)
        return node

    def _call(self, name, *args):
        return ast.Call(
            func=ast.Name(id=name, ctx=ast.Load()), args=list(args), keywords=[]
        )

    def visit_Compare(self, node):
        self.generic_visit(node)
        return self._call(_FORMULA_FLOAT, node)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        return (
            self._call(_FORMULA_FLOAT, node) if isinstance(node.op, ast.Not) else node
        )

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Pow):
            return self._call(_FORMULA_POW, node.left, node.right)
        return node


def formula_names(expression):
    """The names a formula reads (KPI codes, ``<code>_prev``, period names,
    builtins)."""
    tree = ast.parse(expression, mode="eval")
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def formula_compile(expression):
    """Compile a formula (already checked by ``formula_shape_problem``) for
    ``formula_evaluate``: floats only, at every step (``_FloatsOnly``)."""
    tree = _FloatsOnly().visit(ast.parse(expression, mode="eval"))
    return compile(ast.fix_missing_locations(tree), "<formula>", "eval")


def formula_evaluate(code, context, finite=True):
    """Evaluate compiled formula ``code`` with ``context`` {name: number}:
    a finite float, or None (no value: infinite or not a number). With
    ``finite`` False, NaN and infinities are returned as they are (the
    engine reports them as the KPI's run error).

    Raises ArithmeticError (division by zero, overflow), TypeError (e.g. a
    complex result) or ValueError."""
    names = {
        name: float(value) if isinstance(value, (int, float)) else value
        for name, value in context.items()
    }
    # the code was checked by test_python_expr and compiled by formula_compile
    # (numbers only, a few math builtins)
    value = eval(code, {"__builtins__": dict(FORMULA_EVAL_BUILTINS)}, names)  # noqa: S307 pylint: disable=eval-used
    if value is None:
        return None
    value = float(value)
    return value if not finite or math.isfinite(value) else None


def formula_shape_problem(expression):
    """Arithmetic over names and min/max/abs/round only: no attributes,
    subscripts, lambdas, comprehensions or other calls."""
    for node in ast.walk(ast.parse(expression, mode="eval")):
        if not isinstance(node, _FORMULA_NODES):
            return "%s is not allowed" % type(node).__name__
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name)
            and node.func.id in FORMULA_BUILTINS
            and not node.keywords
        ):
            return "only min(), max(), abs() and round() may be called"
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)):
            return "only numbers are allowed as constants"
    return False
