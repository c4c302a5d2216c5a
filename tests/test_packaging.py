"""setup.py packages the addon the OCA way, and Odoo finds the installed copy."""

import email.parser
import json
import os
import pathlib
import re
import shutil
import subprocess
import textwrap

import pytest

DIST = "odoo-addon-key_account_performance"
ADDON = "key_account_performance"


@pytest.fixture(scope="module")
def installed(tmp_path_factory, repo, venv_python):
    """``pip install --no-deps --target <tmp> .`` with the venv's pip."""
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    # build from a copy: setuptools writes build/ and *.egg-info next to setup.py,
    # and a stale build/ in the work tree would leak deleted files into the package
    src = tmp_path_factory.mktemp("src")
    for name in ("setup.py", "README.md", "MANIFEST.in", "setup.cfg", "pyproject.toml"):
        if (repo / name).exists():
            shutil.copy2(repo / name, src / name)
    shutil.copytree(
        repo / ADDON, src / ADDON, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    env = dict(os.environ, PIP_NO_INPUT="1", TMPDIR=str(build))
    res = subprocess.run(
        [
            venv_python,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(src),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    return target


def _metadata(venv_python, target):
    code = textwrap.dedent(f"""
        import json, sys
        sys.path[:0] = [{str(target)!r}]
        from importlib.metadata import distribution
        d = distribution({DIST!r})
        print(json.dumps({{"name": d.metadata["Name"], "version": d.version,
                          "python": d.metadata["Requires-Python"],
                          "requires": d.requires or []}}))
    """)
    out = subprocess.run(
        [venv_python, "-c", code], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_distribution_name_and_version(installed, venv_python, manifest):
    meta = _metadata(venv_python, installed)
    assert meta["name"].replace("_", "-").lower() == DIST.replace("_", "-").lower()
    assert meta["version"] == manifest["version"]
    assert manifest["version"].startswith("18.0.")
    assert meta["python"] == ">=3.10"
    assert not [r for r in meta["requires"] if r.lower().startswith("odoo")], meta[
        "requires"
    ]
    dist_infos = [p.name for p in installed.glob("*.dist-info")]
    assert dist_infos == [f"odoo_addon_{ADDON}-{manifest['version']}.dist-info"], (
        dist_infos
    )


def _requirement_name(req):
    """The normalized distribution name of a PEP 508 requirement string."""
    name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req).group(1)
    return re.sub(r"[-_.]+", "-", name).lower()


def test_metadata_requires_the_external_dependencies(installed, manifest):
    """--no-deps installs nothing else: the METADATA must still name numpy,
    scipy and scikit-learn (the manifest's external_dependencies) for a real
    install."""
    external = manifest["external_dependencies"]["python"]
    assert {_requirement_name(d) for d in external} >= {
        "numpy",
        "scipy",
        "scikit-learn",
    }
    (dist_info,) = installed.glob("*.dist-info")
    metadata = email.parser.Parser().parsestr(
        (dist_info / "METADATA").read_text(encoding="utf-8")
    )
    requires = metadata.get_all("Requires-Dist") or []
    # unconditional requirements (no environment marker such as `; extra == ...`)
    assert not [r for r in requires if ";" in r], requires
    assert sorted(_requirement_name(r) for r in requires) == sorted(
        _requirement_name(d) for d in external
    ), requires


def test_installed_tree_holds_every_file(installed, manifest, addon_dir):
    dest = installed / "odoo" / "addons" / ADDON
    assert (dest / "__manifest__.py").is_file()
    assert (dest / "__init__.py").is_file()
    # odoo and odoo.addons stay namespace packages: never shadow Odoo's own __init__
    assert not (installed / "odoo" / "__init__.py").exists()
    assert not (installed / "odoo" / "addons" / "__init__.py").exists()
    for rel in manifest.get("data", []) + manifest.get("demo", []):
        assert (dest / rel).is_file(), (
            f"{rel} listed in the manifest is missing from the package"
        )
    static = [
        p.relative_to(addon_dir)
        for p in (addon_dir / "static").rglob("*")
        if p.is_file()
    ]
    assert static, "the addon has no static/ files"
    # every file of the source addon (python or not) is installed
    for src in addon_dir.rglob("*"):
        if (
            src.is_file()
            and "__pycache__" not in src.parts
            and not src.name.endswith((".pyc", ".pyo"))
        ):
            rel = src.relative_to(addon_dir)
            assert (dest / rel).is_file(), (
                f"{rel} is missing from the installed package"
            )


def test_odoo_finds_the_installed_addon(installed, venv_python, odoo_src):
    code = textwrap.dedent(f"""
        import odoo
        from odoo.tools import config
        from odoo.modules import module
        config.parse_config(["--addons-path", {str(odoo_src / "addons")!r}])
        module.initialize_sys_path()
        print(odoo.addons.__path__)
        print(module.get_module_path({ADDON!r}))
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(installed), str(odoo_src)]))
    res = subprocess.run(
        [venv_python, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(installed),
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    path = pathlib.Path(res.stdout.strip().splitlines()[-1])
    assert path == installed / "odoo" / "addons" / ADDON, res.stdout
