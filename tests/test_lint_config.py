"""The pre-commit hooks and ./kap lint use the same tools at the same versions."""

import re


def _pins(text):
    return dict(re.findall(r"\b([a-z][a-z0-9-]+)==([0-9][0-9A-Za-z.]*)", text))


def test_pre_commit_pins_match_kap(repo):
    hooks = _pins((repo / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    kap = (repo / "kap").read_text(encoding="utf-8")
    extra = _pins(kap.split("LINT_PIP=(", 1)[1].split(")", 1)[0])
    assert {"ruff", "pylint-odoo", "oca-odoo-pre-commit-hooks"} <= set(hooks), hooks
    for tool, version in hooks.items():
        assert extra.get(tool) == version, (
            f"{tool}: pre-commit {version}, ./kap {extra.get(tool)}"
        )


def test_lint_configs_name_their_tools(repo):
    assert "load-plugins=pylint_odoo" in (repo / ".pylintrc").read_text(
        encoding="utf-8"
    )
    pre_commit = (repo / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    for hook in (
        "id: ruff",
        "id: ruff-format",
        "id: pylint_odoo",
        "id: oca-checks-odoo-module",
        "id: oca-checks-po",
    ):
        assert hook in pre_commit, hook
    assert "cmd_lint" in (repo / "kap").read_text(encoding="utf-8")
