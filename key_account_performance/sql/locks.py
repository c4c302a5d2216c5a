"""Advisory locks of a computation, keyed by a text (hashed)."""

from odoo.tools import SQL


def try_xact_lock(key):
    """Take a transaction-level lock at once, or not: one row, True / False."""
    return SQL("SELECT pg_try_advisory_xact_lock(hashtext(%s))", key)


def wait_xact_lock(key):
    """Wait for a transaction-level lock."""
    return SQL("SELECT pg_advisory_xact_lock(hashtext(%s))", key)


def try_session_lock(key):
    """Take a session-level lock (kept across commits) at once, or not."""
    return SQL("SELECT pg_try_advisory_lock(hashtext(%s))", key)


def session_unlock(key):
    return SQL("SELECT pg_advisory_unlock(hashtext(%s))", key)
