"""Upgrading a database from the last released version to the working tree.

The last line of ``RELEASES`` names the previous release and its commit. The
test checks that commit out into a temporary ``git worktree``, installs the
addon at that version into a fresh database (no demo data, as in production),
creates key accounts, KPI values of two quarters, reviews in every state and
improvement actions in every state (``upgrade_scenario.build``), reads them
back (``upgrade_scenario.snapshot``), then runs ``-u key_account_performance``
with the working tree on the addons path and checks that every record, state,
frozen review line and chatter message is still there, unchanged, and that
the upgraded data still works (recompute, submit).

Run by ``./kap test`` (it exports the settings, see conftest.py); the
database is ``kap_upgrade`` (``kap_upgrade_<x>`` for ``KAP_TEST_DB=kap_test_<x>``)
and is dropped first. Takes a few minutes: two Odoo installs' worth.
"""

import ast
import json
import os
import shutil
import subprocess

import pytest

ADDON = "key_account_performance"
MARK = "KAP_UPGRADE_JSON "


def _releases(repo):
    rows = []
    for line in (repo / "RELEASES").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            version, commit = line.split()
            rows.append((version, commit))
    return rows


def test_releases_file_names_versions_and_commits(repo, manifest):
    rows = _releases(repo)
    assert rows, "RELEASES names no release"
    versions = [version for version, _commit in rows]
    for version, commit in rows:
        assert version.startswith("18.0.") and len(version.split(".")) == 5, version
        assert len(commit) == 40, f"use the full commit hash for {version}"
    key = [tuple(int(x) for x in v.split(".")) for v in versions]
    assert key == sorted(key) and len(set(key)) == len(key), versions
    current = tuple(int(x) for x in manifest["version"].split("."))
    assert current >= key[-1], "the manifest version is older than the last release"


@pytest.fixture(scope="module")
def previous_release(repo):
    version, commit = _releases(repo)[-1]
    res = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "-e", f"{commit}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if res.returncode:
        pytest.fail(
            f"release {version} = commit {commit} is not in this clone "
            "(a shallow clone? run: git fetch --unshallow)"
        )
    return version, commit


@pytest.fixture(scope="module")
def release_tree(repo, previous_release, tmp_path_factory):
    """The previous release checked out into a temporary git worktree."""
    version, commit = previous_release
    path = tmp_path_factory.mktemp("release") / version
    subprocess.run(
        ["git", "-C", str(repo), "worktree", "add", "--detach", str(path), commit],
        check=True,
        capture_output=True,
        text=True,
    )
    try:
        manifest = ast.literal_eval(
            (path / ADDON / "__manifest__.py").read_text("utf-8")
        )
        assert manifest["version"] == version, "RELEASES names the wrong commit"
        yield path
    finally:
        subprocess.run(
            ["git", "-C", str(repo), "worktree", "remove", "--force", str(path)],
            capture_output=True,
        )
        subprocess.run(
            ["git", "-C", str(repo), "worktree", "prune"], capture_output=True
        )


@pytest.fixture(scope="module")
def upgrade_db(db_settings, data_dir):
    test_db = db_settings["db"]
    name = (
        "kap_upgrade" + test_db[len("kap_test") :]
        if test_db.startswith("kap_test")
        else "kap_upgrade_" + test_db
    )
    import psycopg2

    conn = psycopg2.connect(
        dbname="postgres",
        host=db_settings["host"],
        port=db_settings["port"],
        user=db_settings["user"],
    )
    conn.autocommit = True
    with conn.cursor() as cr:
        cr.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()
    shutil.rmtree(os.path.join(data_dir, "filestore", name), ignore_errors=True)
    return name


class Odoo:
    """odoo-bin on one database with a given addons directory."""

    def __init__(self, venv_python, odoo_src, db_settings, data_dir, db, logs):
        self.base = [venv_python, str(odoo_src / "odoo-bin")]
        self.opts = [
            f"--db_host={db_settings['host']}",
            f"--db_port={db_settings['port']}",
            f"--db_user={db_settings['user']}",
            f"--data-dir={data_dir}",
            "-d",
            db,
            "--max-cron-threads=0",
        ]
        self.odoo_src, self.logs = odoo_src, logs

    def _addons(self, tree):
        return (
            f"--addons-path={self.odoo_src}/addons,{self.odoo_src}/odoo/addons,{tree}"
        )

    def run(self, name, tree, *args):
        res = subprocess.run(
            [
                *self.base,
                self._addons(tree),
                *self.opts,
                *args,
                "--stop-after-init",
                "--no-http",
            ],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        log = res.stdout + res.stderr
        (self.logs / f"{name}.log").write_text(log, encoding="utf-8")
        bad = [
            line
            for line in log.splitlines()
            if " ERROR " in line or " CRITICAL " in line or "Traceback" in line
        ]
        assert res.returncode == 0 and not bad, f"{name} failed:\n" + "\n".join(
            bad[:20] + log.splitlines()[-30:]
        )
        return log

    def shell(self, name, tree, call):
        scenario = os.path.join(os.path.dirname(__file__), "upgrade_scenario.py")
        code = (
            f"ns = {{}}\nexec(compile(open({scenario!r}).read(), {scenario!r}, 'exec'), ns)\n"
            f"ns[{call!r}](env)\n"
        )
        res = subprocess.run(
            [
                *self.base,
                "shell",
                self._addons(tree),
                *self.opts,
                "--no-http",
                "--log-level=warn",
            ],
            input=code,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        (self.logs / f"{name}.log").write_text(
            res.stdout + res.stderr, encoding="utf-8"
        )
        assert res.returncode == 0, (
            f"{name} failed:\n{res.stdout[-3000:]}\n{res.stderr[-5000:]}"
        )
        lines = [line for line in res.stdout.splitlines() if line.startswith(MARK)]
        if call == "build":
            return None
        assert lines, (
            f"{name} printed no result:\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}"
        )
        return json.loads(lines[-1][len(MARK) :])


@pytest.fixture(scope="module")
def upgraded(
    repo,
    release_tree,
    previous_release,
    upgrade_db,
    venv_python,
    odoo_src,
    db_settings,
    data_dir,
    tmp_path_factory,
):
    logs = tmp_path_factory.mktemp("upgrade-logs")
    odoo = Odoo(venv_python, odoo_src, db_settings, data_dir, upgrade_db, logs)
    odoo.run("install-previous", release_tree, "-i", ADDON, "--without-demo=all")
    odoo.shell("build", release_tree, "build")
    before = odoo.shell("snapshot-before", release_tree, "dump")
    update_log = odoo.run("update", repo, "-u", ADDON)
    after = odoo.shell("snapshot-after", repo, "dump")
    working = odoo.shell("after-upgrade", repo, "after_upgrade")
    return {
        "before": before,
        "after": after,
        "working": working,
        "update_log": update_log,
        "release": previous_release,
    }


def test_previous_release_holds_every_state(upgraded):
    before = upgraded["before"]
    assert before["version"] == upgraded["release"][0]
    assert sorted(r["state"] for r in before["reviews"]) == [
        "approved",
        "draft",
        "rejected",
        "submitted",
    ]
    assert sorted(a["state"] for a in before["actions"]) == [
        "cancelled",
        "done",
        "in_progress",
        "todo",
    ]
    assert (
        len(before["values"]) >= 12
        and before["counts"]["key.account.review.line"] >= 12
    )
    assert all(r["messages"] for r in before["reviews"] if r["state"] != "draft")


def test_update_reaches_the_working_tree_version(upgraded, manifest):
    assert upgraded["after"]["version"] == manifest["version"]
    assert manifest["version"] != upgraded["release"][0], (
        "the data model changed since the last release: bump the manifest version"
    )


@pytest.mark.parametrize(
    "part", ["counts", "partners", "values", "cycle", "reviews", "actions"]
)
def test_records_states_lines_and_messages_kept(upgraded, part):
    assert upgraded["after"][part] == upgraded["before"][part]


def test_kpis_kept(upgraded):
    """Every KPI of the previous release is still there; an update may ship
    new ones (the contact KPIs of 18.0.1.6.0)."""
    before, after = upgraded["before"]["kpi_codes"], upgraded["after"]["kpi_codes"]
    assert before and set(before) <= set(after)
    assert len(after) - len(before) == len(set(after) - set(before))


def test_upgrade_marks_calls_as_customer_contacts(upgraded):
    assert upgraded["working"]["call_contact_kind"] == "call"


def test_upgraded_data_still_works(upgraded):
    working = upgraded["working"]
    assert working["frozen_kept"], (
        "recomputing changed an approved review's frozen lines"
    )
    assert working["resubmitted"] == {
        "Upgrade Account A": "submitted",
        "Upgrade Account D": "submitted",
    }


def test_deciders_of_old_reviews_recorded(upgraded):
    """Whoever approved or rejected a review before the update keeps read
    access to it: the migration records them as its deciders."""
    assert upgraded["working"]["deciders"] == {
        "Upgrade Account C": {"deciders": ["kap_up_leader"], "rejected_by": False},
        "Upgrade Account D": {
            "deciders": ["kap_up_leader"],
            "rejected_by": "kap_up_leader",
        },
    }


def test_value_kam_and_tier_read_through_the_account(upgraded):
    """18.0.1.2.0 stopped storing the value's KAM and tier: the columns (and
    their foreign keys) are gone, and the values still show the same KAM and
    tier as before the update (compared with the rest of each value in
    test_records_states_lines_and_messages_kept)."""
    assert upgraded["working"]["dropped_left"] == []
    assert upgraded["working"]["figure_indexes_left"] == []
    values = upgraded["before"]["values"]
    assert values and all(row[-2] for row in values), values[:3]


def test_score_history_filled_for_existing_scores(upgraded):
    """The post-migration scored every stored period: the same rows the engine
    writes when it computes the quarter again, and the quarter before too."""
    working = upgraded["working"]
    assert working["history"] is not None, "key.account.score.history is missing"
    # the summary filled by the 18.0.1.7.0 migration answers as the history
    assert working["summary_rows"] > 0
    assert working["summary_matches_history"] is True
    recomputed = working["recomputed_history"]
    assert len(recomputed) == 4, recomputed
    for row in recomputed:
        assert row in working["history"], (row, working["history"])
    p0 = working["periods"][0]
    earlier = {row[0] for row in working["history"] if row[1:3] == p0}
    assert {"Upgrade Account A", "Upgrade Account B", "Upgrade Account C"} <= earlier
