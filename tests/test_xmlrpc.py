"""End-to-end over XML-RPC against a real Odoo server on the test database.

The database is the one ``./kap test`` just installed ``key_account_performance``
into (with demo data). The fixture serves it with ``odoo-bin`` on a free port.
"""

import subprocess
import time
import urllib.request
import xmlrpc.client

import pytest

from conftest import free_port

LOGIN = PASSWORD = "admin"
KPI_CODES = {"revenue", "order_count", "revenue_growth", "nps", "csat"}


def _db_has_addon(venv_python, db):
    code = (
        "import psycopg2, sys\n"
        "try:\n"
        f"    c = psycopg2.connect(dbname={db['db']!r}, host={db['host']!r}, port={db['port']}, user={db['user']!r})\n"
        "except psycopg2.OperationalError:\n"
        "    sys.exit(3)\n"
        "cr = c.cursor()\n"
        "cr.execute(\"SELECT state FROM ir_module_module WHERE name='key_account_performance'\")\n"
        "row = cr.fetchone()\n"
        "sys.exit(0 if row and row[0] == 'installed' else 4)\n"
    )
    return (
        subprocess.run([venv_python, "-c", code], capture_output=True).returncode == 0
    )


@pytest.fixture(scope="module")
def server(venv_python, odoo_src, addons_path, data_dir, db_settings, tmp_path_factory):
    if not _db_has_addon(venv_python, db_settings):
        pytest.fail(
            f"database {db_settings['db']} on port {db_settings['port']} has no installed "
            "key_account_performance: run ./kap test (it installs it before pytest)"
        )
    port = free_port()
    log = tmp_path_factory.mktemp("odoo") / "server.log"
    cmd = [
        venv_python,
        str(odoo_src / "odoo-bin"),
        f"--addons-path={addons_path}",
        f"--data-dir={data_dir}",
        f"--db_host={db_settings['host']}",
        f"--db_port={db_settings['port']}",
        f"--db_user={db_settings['user']}",
        "-d",
        db_settings["db"],
        f"--db-filter=^{db_settings['db']}$",
        "--http-interface=127.0.0.1",
        "--http-port",
        str(port),
        "--workers",
        "0",
        "--max-cron-threads",
        "0",
        "--no-database-list",
        f"--logfile={log}",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"odoo exited with {proc.returncode}:\n{log.read_text()[-4000:]}"
                )
            try:
                with urllib.request.urlopen(f"{url}/web/login", timeout=10) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"odoo did not answer /web/login in 120 s:\n{log.read_text()[-4000:]}"
                )
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Rpc:
    def __init__(self, url, db):
        self.db = db
        self.common = xmlrpc.client.ServerProxy(
            f"{url}/xmlrpc/2/common", allow_none=True
        )
        self.models = xmlrpc.client.ServerProxy(
            f"{url}/xmlrpc/2/object", allow_none=True
        )
        self.uid = self.common.authenticate(db, LOGIN, PASSWORD, {})

    def __call__(self, model, method, *args, **kw):
        return self.models.execute_kw(
            self.db, self.uid, PASSWORD, model, method, list(args), kw
        )


@pytest.fixture(scope="module")
def rpc(server, test_db):
    return Rpc(server, test_db)


def test_login(rpc, server):
    assert isinstance(rpc.uid, int) and rpc.uid > 0
    version = rpc.common.version()
    assert version["server_version_info"][0] == 18
    bad = xmlrpc.client.ServerProxy(f"{server}/xmlrpc/2/common").authenticate(
        rpc.db, LOGIN, "wrong", {}
    )
    assert bad is False


def test_kpi_library(rpc):
    kpis = rpc("key.account.kpi", "search_read", [], fields=["name", "code"])
    codes = {k["code"] for k in kpis}
    assert KPI_CODES <= codes, f"missing KPI codes: {sorted(KPI_CODES - codes)}"
    assert all(k["name"] for k in kpis)


@pytest.fixture(scope="module")
def key_account_order(rpc):
    """A company-less key-account customer with one confirmed order in 2025-Q1."""
    tiers = rpc(
        "key.account.tier", "search", [("name", "ilike", "Strategic")], limit=1
    ) or rpc("key.account.tier", "search", [], limit=1)
    assert tiers, "no key.account.tier record"
    partner_id = rpc(
        "res.partner",
        "create",
        {
            "name": f"XML-RPC Key Account {time.time_ns()}",
            "is_company": True,
            "company_id": False,
            "key_account_tier_id": tiers[0],
            "key_account_manager_id": rpc.uid,
        },
    )
    partner = rpc(
        "res.partner",
        "read",
        [partner_id],
        fields=["is_key_account", "key_account_tier_id"],
    )[0]
    assert partner["key_account_tier_id"][0] == tiers[0]
    assert partner["is_key_account"] is True
    product_id = rpc(
        "product.product",
        "create",
        {
            "name": "XML-RPC KPI product",
            "type": "service",
            "list_price": 1234.5,
            "taxes_id": [(6, 0, [])],
        },
    )
    order_id = rpc(
        "sale.order",
        "create",
        {
            "partner_id": partner_id,
            "order_line": [
                (
                    0,
                    0,
                    {
                        "product_id": product_id,
                        "product_uom_qty": 4,
                        "price_unit": 1234.5,
                    },
                )
            ],
        },
    )
    rpc("sale.order", "action_confirm", [order_id])
    # action_confirm sets date_order to now: move the order into 2025-Q1 afterwards
    rpc("sale.order", "write", [order_id], {"date_order": "2025-02-14 10:00:00"})
    order = rpc(
        "sale.order",
        "read",
        [order_id],
        fields=["state", "amount_untaxed", "currency_id", "date_order"],
    )[0]
    assert order["state"] == "sale"
    assert order["date_order"].startswith("2025-02-14")
    return partner_id, order


def test_compute_for_period(rpc, key_account_order):
    partner_id, order = key_account_order
    ids = rpc(
        "key.account.kpi.value",
        "compute_for_period",
        "2025-01-01",
        "2025-03-31",
        [partner_id],
    )
    assert isinstance(ids, list) and ids, ids
    assert all(isinstance(i, int) for i in ids), ids
    values = rpc(
        "key.account.kpi.value",
        "read",
        ids,
        fields=[
            "partner_id",
            "kpi_id",
            "date_from",
            "date_to",
            "value",
            "target",
            "threshold",
            "weight",
            "score",
        ],
    )
    assert {v["partner_id"][0] for v in values} == {partner_id}
    assert {(v["date_from"], v["date_to"]) for v in values} == {
        ("2025-01-01", "2025-03-31")
    }
    kpi_codes = {
        k["id"]: k["code"]
        for k in rpc("key.account.kpi", "search_read", [], fields=["code"])
    }
    by_code = {kpi_codes[v["kpi_id"][0]]: v for v in values}
    assert "revenue" in by_code, f"no revenue value among {sorted(by_code)}"
    assert by_code.get("order_count", {"value": 1})["value"] == 1

    company = rpc("res.users", "read", [rpc.uid], fields=["company_id"])[0][
        "company_id"
    ][0]
    company_currency = rpc("res.company", "read", [company], fields=["currency_id"])[0][
        "currency_id"
    ][0]
    if order["currency_id"][0] != company_currency:
        pytest.skip(
            f"order currency {order['currency_id'][1]} differs from the company currency: "
            "revenue is converted, so it is not compared with amount_untaxed"
        )
    assert by_code["revenue"]["value"] == pytest.approx(order["amount_untaxed"])
    assert order["amount_untaxed"] == pytest.approx(4 * 1234.5)


def test_score_breakdown_over_xmlrpc(rpc, key_account_order):
    """The breakdown travels over XML-RPC and adds up. The previous quarter
    is not computed: every row lacks a previous value (False, not None, which
    XML-RPC cannot carry)."""
    partner_id, _order = key_account_order
    rpc(
        "key.account.kpi.value",
        "compute_for_period",
        "2025-01-01",
        "2025-03-31",
        [partner_id],
    )
    rows = rpc(
        "res.partner",
        "key_account_score_breakdown",
        [partner_id],
        "2025-01-01",
        "2025-03-31",
    )
    assert rows, "no breakdown rows"
    keys = {"kpi_code", "value", "score", "weight", "points", "previous_points"}
    assert all(keys | {"delta_points"} <= set(row) for row in rows), rows[0]
    assert all(row["previous_value"] is False for row in rows), rows
    partner = rpc(
        "res.partner",
        "read",
        [partner_id],
        fields=["key_account_score", "key_account_score_date"],
    )[0]
    if partner["key_account_score_date"] == "2025-03-31":
        assert sum(row["points"] for row in rows) == pytest.approx(
            partner["key_account_score"], abs=0.01
        )


def test_compute_for_period_rejects_a_bad_date(rpc, key_account_order):
    partner_id, _order = key_account_order
    with pytest.raises(xmlrpc.client.Fault) as exc:
        rpc(
            "key.account.kpi.value",
            "compute_for_period",
            "2025-13-45",
            "2025-03-31",
            [partner_id],
        )
    text = exc.value.faultString
    assert "2025-13-45" in text, text
    for sql_word in ("psycopg2", "DataError", "InvalidDatetimeFormat", "SQL"):
        assert sql_word not in text, f"an SQL error leaked over XML-RPC: {text[-800:]}"
