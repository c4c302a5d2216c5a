"""pylint checks of this repository, beside pylint-odoo's (loaded by .pylintrc).

sudo-without-reason
    A public method of a model (no leading underscore) is callable over RPC by
    every user who may read the record, and ``sudo()`` inside it bypasses
    access rights and record rules. pylint-odoo has no check of ``sudo()``, so
    this one asks each such call to say why it is safe, in a comment on the
    line above the statement or on any of its lines up to the ``sudo()``:
    ``# sudo: <reason>``. Private
    methods, tests and migration scripts are not checked.
"""

from astroid import nodes
from pylint.checkers import BaseChecker

MARK = "# sudo:"


class SudoReasonChecker(BaseChecker):
    name = "kap-sudo"
    msgs = {
        "W8901": (
            "sudo() in the public method %s without a '# sudo: <reason>' comment",
            "sudo-without-reason",
            "A public model method is callable over RPC; sudo() inside it bypasses "
            "access rights and record rules. Say why it is safe on the line of the "
            "call or the line above: '# sudo: <reason>'.",
        ),
    }

    def visit_call(self, node):
        func = node.func
        if not (isinstance(func, nodes.Attribute) and func.attrname == "sudo"):
            return
        path = node.root().file or ""
        if "/tests/" in path or "/migrations/" in path:
            return
        method = node.frame()
        while method is not None and not (
            isinstance(method, nodes.FunctionDef)
            and isinstance(method.parent, nodes.ClassDef)
        ):
            method = method.parent.frame() if method.parent is not None else None
        if method is None or method.name.startswith("_"):
            return
        with open(path, encoding="utf-8") as source:
            lines = source.read().split("\n")
        # from the line above the statement holding the call to the line of `.sudo(`
        first = node.statement().fromlineno - 1
        last = func.expr.end_lineno or node.lineno
        around = lines[max(first - 1, 0) : last]
        if not any(MARK in line for line in around):
            self.add_message("sudo-without-reason", node=node, args=(method.name,))


def register(linter):
    linter.register_checker(SudoReasonChecker(linter))
