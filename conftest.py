"""What Odoo 18's own test runner sets around each test, for tests run by pytest-odoo.

Odoo's runner (``odoo/tests/suite.py``) points ``odoo.modules.module.current_test``
at the running test case, from its class set-up to its tear-down. Odoo reads it:
the mail server sends nothing during a test (``ir_mail_server``), HTTP requests
of an ``HttpCase`` are checked against the test's cursor, and this addon's
scheduled actions skip their per-batch ``cr.commit()``. pytest-odoo 2.3.0 sets it
only for Odoo 19 and later; without it the same tests behave differently under
pytest than under Odoo's runner. This file is outside the addon (not packaged):
it applies to ``pytest --odoo-database=… key_account_performance/tests`` run
from this repository, as ``./kap test`` and ``./kap pytest`` do.
"""

import sys

import pytest


def _odoo_test_case(item):
    odoo = sys.modules.get("odoo")
    if odoo is None or not odoo.tools.config.get("db_name"):
        return None  # not a pytest-odoo session (e.g. the top-level tests/)
    from odoo.tests.common import BaseCase

    instance = getattr(item, "instance", None)
    return instance if isinstance(instance, BaseCase) else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    test = _odoo_test_case(item)
    if test is None:
        return (yield)
    from odoo.modules import module

    module.current_test = test
    try:
        return (yield)
    finally:
        module.current_test = False
