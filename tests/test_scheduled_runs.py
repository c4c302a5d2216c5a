"""Scheduled KPI computations: a run survives a SIGKILL, and with OCA
queue_job installed the run splits into jobs per company, period and chunk.

The scheduled KPI computation survives a SIGKILL.

On a copy of the test database (the addon with its demo data) plus 400 extra
key accounts, a clean scheduled run gives the reference values of the last
closed and the running period. Those values are deleted, a second run is
started in its own ``odoo-bin shell`` process and killed with SIGKILL as soon
as its first chunk is committed; a third run then resumes after the last
committed account. The values it leaves are exactly the reference: same rows,
same figures, one per (account, KPI, period), nothing lost.
"""

import json
import os
import signal
import subprocess
import time

import psycopg2
import pytest

MARK = "KAP-KILL-RESULT "
CURSOR_LIKE = "key_account_performance.kpi_cron_cursor.%"

SETUP = r"""
import datetime
from odoo.addons.key_account_performance.tools import kpi_math
tier = env.ref("key_account_performance.tier_growth")
env["res.partner"].create([
    {"name": "Kill test account %d" % i, "is_company": True, "key_account_tier_id": tier.id,
     "email": "kill%d@example.com" % i}
    for i in range(400)
])
env.cr.commit()
"""

RUN = r"""
env["key.account.kpi.engine"]._cron_run(batch_size=%(batch)d)
env.cr.commit()
"""

DUMP = r"""
import json
plan = env["key.account.kpi.engine"]._cron_plan()
periods = sorted({(str(f), str(t)) for _c, f, t, _ids in plan})
env.cr.execute('''
    SELECT partner_id, kpi_id, date_from::text, date_to::text, value, score
      FROM key_account_kpi_value
     WHERE (date_from::text, date_to::text) IN %%s AND NOT is_manual
     ORDER BY 1, 2, 3''', [tuple(periods)])
rows = [[p, k, f, t, None if v is None else round(v, 6), None if s is None else round(s, 6)]
        for p, k, f, t, v, s in env.cr.fetchall()]
print("%(mark)s" + json.dumps({"periods": periods, "rows": rows}))
"""

CLEAR = r"""
plan = env["key.account.kpi.engine"]._cron_plan()
periods = sorted({(str(f), str(t)) for _c, f, t, _ids in plan})
env.cr.execute('''DELETE FROM key_account_kpi_value
                  WHERE (date_from::text, date_to::text) IN %s AND NOT is_manual''', [tuple(periods)])
env.cr.execute("DELETE FROM ir_config_parameter WHERE key LIKE 'key_account_performance.kpi_cron_cursor.%%'")
env.cr.commit()
"""


@pytest.fixture()
def kill_db(db_settings):
    """A copy of the test database, dropped afterwards."""
    name = db_settings["db"] + "_kill"
    conn = psycopg2.connect(
        dbname="postgres",
        host=db_settings["host"],
        port=db_settings["port"],
        user=db_settings["user"],
    )
    conn.autocommit = True
    with conn.cursor() as cr:
        cr.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cr.execute(f'CREATE DATABASE "{name}" TEMPLATE "{db_settings["db"]}"')
    yield name
    with conn.cursor() as cr:
        cr.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def _shell_cmd(venv_python, odoo_src, addons_path, db_settings, data_dir, db):
    return [
        venv_python,
        str(odoo_src / "odoo-bin")
        if hasattr(odoo_src, "joinpath")
        else os.path.join(odoo_src, "odoo-bin"),
        "shell",
        f"--addons-path={addons_path}",
        f"--db_host={db_settings['host']}",
        f"--db_port={db_settings['port']}",
        f"--db_user={db_settings['user']}",
        f"--data-dir={data_dir}",
        "-d",
        db,
        "--no-http",
        "--max-cron-threads=0",
        "--log-level=info",
    ]


def test_killed_run_is_finished_by_the_next(
    venv_python, odoo_src, addons_path, db_settings, data_dir, kill_db
):
    cmd = _shell_cmd(venv_python, odoo_src, addons_path, db_settings, data_dir, kill_db)

    def shell(code, timeout=900):
        res = subprocess.run(
            cmd, input=code, capture_output=True, text=True, timeout=timeout
        )
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
        return res

    def dump():
        out = shell(DUMP % {"mark": MARK}).stdout
        lines = [line for line in out.splitlines() if line.startswith(MARK)]
        assert lines, out[-2000:]
        return json.loads(lines[-1][len(MARK) :])

    shell(SETUP)
    shell(RUN % {"batch": 1000})  # the clean run
    reference = dump()
    assert len(reference["periods"]) == 2
    assert len({tuple(row[:4]) for row in reference["rows"]}) == len(reference["rows"])
    accounts = {row[0] for row in reference["rows"]}
    assert len(accounts) >= 430, "the demo accounts and the 400 added ones are computed"

    shell(CLEAR)
    assert dump()["rows"] == []

    # a run in small chunks, killed once its first chunk is committed
    conn = psycopg2.connect(
        dbname=kill_db,
        host=db_settings["host"],
        port=db_settings["port"],
        user=db_settings["user"],
    )
    conn.autocommit = True
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    proc.stdin.write(RUN % {"batch": 5})
    proc.stdin.close()
    deadline = time.monotonic() + 600
    cursor = None
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            with conn.cursor() as cr:
                cr.execute(
                    "SELECT key, value FROM ir_config_parameter WHERE key LIKE %s",
                    [CURSOR_LIKE],
                )
                cursor = cr.fetchall()
            if cursor:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.02)
    finally:
        if proc.poll() is None and not cursor:
            proc.kill()
        proc.wait(timeout=60)
    assert cursor, "the run committed a first chunk before it ended"
    assert proc.returncode == -signal.SIGKILL, "the run was killed, not finished"

    killed = dump()["rows"]
    assert 0 < len(killed) < len(reference["rows"]), (
        "the killed run left part of the work"
    )
    with conn.cursor() as cr:
        cr.execute(
            "SELECT count(*) FROM ir_config_parameter WHERE key LIKE %s", [CURSOR_LIKE]
        )
        assert cr.fetchone()[0] >= 1, "the cursor of the killed run is still there"

    # the next run resumes after the cursor and finishes the job
    log = shell(RUN % {"batch": 50}).stderr
    assert "resumes after account" in log
    finished = dump()
    assert finished["rows"] == reference["rows"], (
        "same values as the clean run, none lost, no duplicate"
    )
    with conn.cursor() as cr:
        cr.execute(
            "SELECT count(*) FROM ir_config_parameter WHERE key LIKE %s", [CURSOR_LIKE]
        )
        assert cr.fetchone()[0] == 0, "a finished run leaves no cursor"
    conn.close()


CONFLICT_RUN = r"""
import json
import psycopg2
from odoo.tools import config
from odoo.addons.key_account_performance.models.key_account_kpi_engine import KeyAccountKpiEngine

original = KeyAccountKpiEngine._run
calls = []


def conflicting(self, partner_ids, *args):
    calls.append(len(partner_ids))
    if len(calls) == 1:
        # the chunk's transaction has its snapshot; another connection
        # commits an update of the chunk's accounts and score history rows
        # (which the chunk's upserts then meet)
        self.env.cr.execute("SELECT 1")
        conn = psycopg2.connect(
            dbname=self.env.cr.dbname, host=config["db_host"] or None,
            port=config["db_port"] or None, user=config["db_user"] or None,
        )
        with conn, conn.cursor() as cr:
            cr.execute("UPDATE res_partner SET write_date = write_date WHERE id = ANY(%%s)",
                       [list(partner_ids)])
            cr.execute("UPDATE key_account_score_history SET write_date = write_date "
                       "WHERE partner_id = ANY(%%s)", [list(partner_ids)])
        conn.close()
    return original(self, partner_ids, *args)


KeyAccountKpiEngine._run = conflicting
env["key.account.kpi.engine"]._cron_run(batch_size=%(batch)d)
env.cr.commit()
env.cr.execute(
    "SELECT state, accounts_total, accounts_done, accounts_failed "
    "FROM key_account_kpi_run WHERE origin IN ('cron', 'manual') ORDER BY id")
print("%(mark)s" + json.dumps({"runs": env.cr.fetchall(), "calls": calls}))
"""


def test_chunk_meeting_a_serialization_failure_is_not_lost(
    venv_python, odoo_src, addons_path, db_settings, data_dir, kill_db
):
    """Issue 21, item 1, with real processes and commits: while a chunk of
    the scheduled run has its snapshot, another connection commits an update
    of the chunk's accounts; the chunk's writes meet a serialization
    failure. The chunk is rolled back and computed again, whole, in a fresh
    transaction: the run leaves exactly the values of a clean run and says
    it is done, with no failed account."""
    cmd = _shell_cmd(venv_python, odoo_src, addons_path, db_settings, data_dir, kill_db)

    def shell(code, timeout=900):
        res = subprocess.run(
            cmd, input=code, capture_output=True, text=True, timeout=timeout
        )
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
        return res

    def result(code):
        res = shell(code % {"mark": MARK, "batch": 1000})
        lines = [line for line in res.stdout.splitlines() if line.startswith(MARK)]
        assert lines, res.stdout[-2000:] + res.stderr[-4000:]
        return json.loads(lines[-1][len(MARK) :]), res.stderr

    shell(RUN % {"batch": 1000})  # the clean run
    reference, _log = result(DUMP)
    assert reference["rows"]
    shell(CLEAR)

    outcome, log = result(CONFLICT_RUN)
    assert "SerializationFailure" in log, log[-4000:]
    assert outcome["calls"][0] == outcome["calls"][1] > 1, (
        "the chunk was computed again whole, not account by account",
        outcome["calls"],
    )
    runs = outcome["runs"][-2:]
    assert [state for state, *_counts in runs] == ["done", "done"], runs
    assert all(total == done and not failed for _s, total, done, failed in runs), runs
    finished, _log = result(DUMP)
    assert finished["rows"] == reference["rows"], "no value lost, none twice"


ENQUEUE = r"""
import json
Engine = env["key.account.kpi.engine"]
assert Engine._queue_job_installed()
first = Engine._cron_run(batch_size=100)
again = Engine._cron_run(batch_size=100)  # the same chunks are waiting: nothing new
jobs = env["queue.job"].search([("state", "=", "pending")])
plan = Engine._cron_plan()
expected = sum(-(-len(ids) // 100) for _c, _f, _t, ids in plan)
print("%(mark)s" + json.dumps({"first": first, "again": again, "pending": len(jobs), "expected": expected,
                              "methods": sorted(set(jobs.mapped("method_name")))}))
env.cr.commit()
"""

PERFORM = r"""
from odoo.addons.queue_job.job import Job
for record in env["queue.job"].search([("state", "=", "pending")], order="id"):
    job = Job.load(env, record.uuid)
    job.perform()
    job.set_done()
    job.store()
env.cr.commit()
"""


@pytest.fixture(scope="module")
def queue_job_addons(repo, venv_python):
    """OCA queue_job 18.0 from PyPI (its wheel asks for an ``odoo`` distribution
    that PyPI does not have: installed without dependencies), kept in .kap/."""
    target = repo / ".kap" / "queue_job"
    if not (target / "odoo" / "addons" / "queue_job" / "__manifest__.py").exists():
        subprocess.run(
            [
                venv_python,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--upgrade",
                "--target",
                str(target),
                "odoo-addon-queue_job>=18.0,<18.1",
            ],
            check=True,
            timeout=600,
        )
    return target / "odoo" / "addons"


def test_queue_job_splits_the_run(
    venv_python, odoo_src, addons_path, db_settings, data_dir, kill_db, queue_job_addons
):
    cmd = _shell_cmd(venv_python, odoo_src, addons_path, db_settings, data_dir, kill_db)

    def shell(code, command=cmd, timeout=900):
        res = subprocess.run(
            command, input=code, capture_output=True, text=True, timeout=timeout
        )
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
        return res

    def result(code, command=cmd):
        out = shell(code % {"mark": MARK}, command).stdout
        lines = [line for line in out.splitlines() if line.startswith(MARK)]
        assert lines, out[-2000:]
        return json.loads(lines[-1][len(MARK) :])

    # without queue_job: the reference values of a run that does the work itself
    shell(RUN % {"batch": 1000})
    reference = result(DUMP)
    assert reference["rows"]
    shell(CLEAR)

    # install queue_job into the copy
    with_qj = f"{addons_path},{queue_job_addons}"
    install = subprocess.run(
        [
            venv_python,
            os.path.join(str(odoo_src), "odoo-bin"),
            f"--addons-path={with_qj}",
            f"--db_host={db_settings['host']}",
            f"--db_port={db_settings['port']}",
            f"--db_user={db_settings['user']}",
            f"--data-dir={data_dir}",
            "-d",
            kill_db,
            "-i",
            "queue_job",
            "--stop-after-init",
            "--no-http",
            "--log-level=warn",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-4000:]
    qj_cmd = [
        arg if not arg.startswith("--addons-path=") else f"--addons-path={with_qj}"
        for arg in cmd
    ]

    enqueued = result(ENQUEUE, qj_cmd)
    assert enqueued["first"] == enqueued["expected"] > 1, enqueued
    assert enqueued["again"] == enqueued["expected"], (
        "the second run finds the same chunks"
    )
    assert enqueued["pending"] == enqueued["expected"], (
        "a chunk waiting in the queue is not enqueued twice"
    )
    assert enqueued["methods"] == ["_job_compute_chunk"]
    assert result(DUMP, qj_cmd)["rows"] == [], (
        "the run itself computes nothing: the jobs do"
    )

    shell(PERFORM, qj_cmd)
    assert result(DUMP, qj_cmd)["rows"] == reference["rows"], (
        "the jobs compute what a plain run computes"
    )
