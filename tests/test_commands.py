"""The ./kap command line: resolution of the Odoo source and error handling."""

import os
import subprocess


def run_kap(kap, *args, env=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [str(kap), *args], capture_output=True, text=True, env=full_env, timeout=120
    )


def test_env_reports_odoo_source(kap, odoo_src):
    res = run_kap(kap, "env")
    assert res.returncode == 0, res.stderr
    src_lines = [
        line for line in res.stdout.splitlines() if line.startswith("odoo source")
    ]
    assert len(src_lines) == 1, res.stdout
    assert str(odoo_src) in src_lines[0]
    assert "venv" in res.stdout and "postgresql" in res.stdout


def test_env_honours_odoo_src(kap, odoo_src):
    res = run_kap(kap, "env", env={"ODOO_SRC": str(odoo_src)})
    assert res.returncode == 0, res.stderr
    assert f"odoo source   {odoo_src}  (ODOO_SRC)" in res.stdout


def test_unknown_subcommand_fails_with_usage(kap):
    res = run_kap(kap, "no-such-command")
    assert res.returncode != 0
    assert "unknown command" in res.stderr
    assert "./kap demo" in res.stderr and "./kap test" in res.stderr


def test_no_subcommand_prints_usage(kap):
    res = run_kap(kap)
    assert res.returncode != 0
    assert "usage" in res.stderr.lower() or "./kap demo" in res.stderr


def test_invalid_odoo_src_is_a_clear_error(kap, tmp_path):
    for bad in ("/nonexistent", str(tmp_path)):
        res = run_kap(kap, "env", env={"ODOO_SRC": bad})
        assert res.returncode == 2, (res.stdout, res.stderr)
        assert "ODOO_SRC" in res.stderr and bad in res.stderr
        assert "Odoo 18.0" in res.stderr


def test_odoo_src_of_another_version_is_rejected(kap, tmp_path):
    (tmp_path / "odoo").mkdir()
    (tmp_path / "odoo-bin").write_text("#!/usr/bin/env python3\n")
    (tmp_path / "odoo" / "release.py").write_text(
        "version_info = (17, 0, 0, 'final', 0, '')\n"
    )
    res = run_kap(kap, "env", env={"ODOO_SRC": str(tmp_path)})
    assert res.returncode == 2
    assert "ODOO_SRC" in res.stderr


def test_pg_status_reports_running(kap):
    # ./kap test started the cluster before running pytest
    res = run_kap(kap, "pg", "status")
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.startswith("running:")
