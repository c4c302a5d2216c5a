"""Package the key_account_performance addon the OCA way.

``pip install .`` installs the distribution ``odoo-addon-key_account_performance``
as ``odoo/addons/key_account_performance/`` (``odoo`` and ``odoo.addons`` are
namespace packages), so an Odoo 18.0 whose ``odoo`` package is importable finds
the addon without any addons-path setting. Odoo itself is not on PyPI and is
therefore not an install requirement; the addon's own Python dependencies
(``external_dependencies["python"]`` of the manifest) are.
"""

import ast
import os

from setuptools import setup

ADDON = "key_account_performance"
HERE = os.path.dirname(os.path.abspath(__file__))
ADDON_DIR = os.path.join(HERE, ADDON)
PKG = "odoo.addons." + ADDON

with open(os.path.join(ADDON_DIR, "__manifest__.py"), encoding="utf-8") as f:
    MANIFEST = ast.literal_eval(f.read())


def _walk():
    for root, dirs, files in os.walk(ADDON_DIR):
        dirs[:] = sorted(
            d for d in dirs if d != "__pycache__" and not d.startswith(".")
        )
        yield os.path.relpath(root, ADDON_DIR), sorted(files)


packages, package_dir, data_files = [], {}, []
for rel, files in _walk():
    if "__init__.py" in files:  # a python (sub)package of the addon
        name = PKG if rel == "." else PKG + "." + rel.replace(os.sep, ".")
        packages.append(name)
        package_dir[name] = ADDON if rel == "." else os.path.join(ADDON, rel)
    # every other file (xml, csv, static/**, i18n, ...) rides on the root package, and
    # so do the python files of folders that are not packages: migrations/<version>/
    # pre-/post-*.py scripts, which Odoo loads by path
    is_package = "__init__.py" in files
    data_files += [
        os.path.normpath(os.path.join(rel, f))
        for f in files
        if not f.endswith((".pyc", ".pyo")) and not (is_package and f.endswith(".py"))
    ]

setup(
    name="odoo-addon-" + ADDON,
    version=MANIFEST["version"],
    description=MANIFEST.get("summary", MANIFEST["name"]),
    long_description=open(os.path.join(HERE, "README.md"), encoding="utf-8").read()
    if os.path.exists(os.path.join(HERE, "README.md"))
    else "",
    long_description_content_type="text/markdown",
    author=MANIFEST.get("author"),
    url=MANIFEST.get("website"),
    license=MANIFEST.get("license"),
    packages=packages,
    package_dir=package_dir,
    package_data={PKG: data_files},
    include_package_data=False,
    # the addon's own Python dependencies, as the manifest names them (PEP 508
    # requirement strings of PyPI distributions, which Odoo 18 checks at install)
    install_requires=MANIFEST.get("external_dependencies", {}).get("python", []),
    zip_safe=False,
    python_requires=">=3.10",
    classifiers=[
        "Programming Language :: Python",
        "Framework :: Odoo",
        "Framework :: Odoo :: 18.0",
    ],
)
