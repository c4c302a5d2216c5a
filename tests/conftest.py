"""Fixtures for the top-level tests, run by ``./kap test`` after Odoo's own tests.

``./kap`` exports the resolved settings as environment variables:

==================  ==========================================================
KAP_REPO            the repository root
KAP_TEST_DB         the database the Odoo run just installed the addon into
KAP_PGHOST/PORT     the project-local PostgreSQL (role KAP_PGUSER, trust auth)
KAP_ODOO_SRC        the Odoo 18.0 source tree (also exported as ODOO_SRC)
KAP_PYTHON          the venv's python, which has Odoo's requirements
KAP_ADDONS_PATH     the addons path given to odoo-bin
KAP_DATA_DIR        the Odoo data dir (filestore) used by ./kap
==================  ==========================================================

Run outside ``./kap`` these default to what ``./kap`` would use, so a plain
``pytest tests/`` works for the tests that need no database.
"""

import os
import pathlib
import socket
import subprocess
import sys

import pytest

REPO = pathlib.Path(
    os.environ.get("KAP_REPO") or pathlib.Path(__file__).resolve().parent.parent
)
ADDON = "key_account_performance"

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _env(name, default=None):
    value = os.environ.get(name)
    return value if value else default


@pytest.fixture(scope="session")
def repo():
    return REPO


@pytest.fixture(scope="session")
def kap(repo):
    return repo / "kap"


@pytest.fixture(scope="session")
def addon_dir(repo):
    return repo / ADDON


@pytest.fixture(scope="session")
def manifest(addon_dir):
    import ast

    return ast.literal_eval((addon_dir / "__manifest__.py").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def odoo_src():
    src = _env("KAP_ODOO_SRC") or _env("ODOO_SRC")
    if not src:
        src = (
            subprocess.run(
                [str(REPO / "kap"), "env"], capture_output=True, text=True, check=True
            )
            .stdout.split("odoo source", 1)[1]
            .split()[0]
        )
    return pathlib.Path(src)


@pytest.fixture(scope="session")
def venv_python():
    py = _env("KAP_PYTHON")
    if not py:
        venv = _env(
            "KAP_VENV", os.path.expanduser("~/.cache/key_account_performance/venv")
        )
        py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        pytest.skip(f"venv python {py} not found: run ./kap test")
    return py


@pytest.fixture(scope="session")
def addons_path(odoo_src):
    return _env("KAP_ADDONS_PATH", f"{odoo_src}/addons,{odoo_src}/odoo/addons,{REPO}")


@pytest.fixture(scope="session")
def data_dir():
    return _env("KAP_DATA_DIR", str(REPO / ".kap" / "filestore"))


@pytest.fixture(scope="session")
def db_settings():
    return {
        "db": _env("KAP_TEST_DB", "kap_test"),
        "host": _env("KAP_PGHOST", "127.0.0.1"),
        "port": int(_env("KAP_PGPORT", "54329")),
        "user": _env("KAP_PGUSER", "odoo"),
    }


@pytest.fixture(scope="session")
def test_db(db_settings):
    return db_settings["db"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
