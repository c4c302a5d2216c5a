#!/usr/bin/env python3
"""Write the Key Accounts dashboard of the Dashboards app.

``python3 scripts/build_dashboard.py`` writes
``key_account_performance_dashboard/data/files/key_accounts_dashboard.json``,
the spreadsheet (o-spreadsheet data, the format Odoo 18's own dashboards ship)
that ``spreadsheet_dashboard`` loads. The dashboard is described here once, as
pivots, lists and charts over the addon's own models, so that a change is a
reviewable change of this script rather than of a machine-written JSON file.

Texts shown by the spreadsheet are written ``=_t("...")`` in cells, as chart
titles and as markdown links: Odoo's term extraction picks them up
(``odoo.tools.translate.extract_spreadsheet_terms``) and the web client
translates them, so their Chinese lives in the bridge's ``i18n/zh_CN.po``.
"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(
    HERE,
    "..",
    "key_account_performance_dashboard",
    "data",
    "files",
    "key_accounts_dashboard.json",
)

ROW = 23  # default row height of o-spreadsheet, in pixels
KEY_ACCOUNTS = [["is_key_account", "=", True]]
AT_RISK = [["is_key_account", "=", True], ["key_account_at_risk", "=", True]]
OPEN_ACTIONS = [["state", "in", ["todo", "in_progress"]]]
CLOSED_PERIODS = [["is_running", "=", False]]

# ----------------------------------------------------------------------
# data sources
# ----------------------------------------------------------------------
PIVOTS = {
    "1": {
        "name": "Key accounts by tier",
        "model": "res.partner",
        "domain": KEY_ACCOUNTS,
        "rows": [{"fieldName": "key_account_tier_id"}],
        "measures": [
            {"id": "__count", "fieldName": "__count"},
            {
                "id": "key_account_score",
                "fieldName": "key_account_score",
                "aggregator": "avg",
                "format": "0.0",
            },
        ],
    },
    "2": {
        "name": "Key accounts by grade",
        "model": "res.partner",
        "domain": KEY_ACCOUNTS,
        "rows": [{"fieldName": "key_account_grade"}],
        "measures": [{"id": "__count", "fieldName": "__count"}],
    },
    "3": {
        "name": "Key accounts at risk",
        "model": "res.partner",
        "domain": AT_RISK,
        "rows": [{"fieldName": "key_account_manager_id"}],
        "measures": [{"id": "__count", "fieldName": "__count"}],
    },
    "4": {
        "name": "Open improvement actions by owner",
        "model": "key.account.improvement.action",
        "domain": OPEN_ACTIONS,
        "rows": [{"fieldName": "user_id"}],
        "measures": [{"id": "__count", "fieldName": "__count"}],
    },
    "5": {
        "name": "Score history by period",
        "model": "key.account.score.history",
        "domain": CLOSED_PERIODS,
        "rows": [{"fieldName": "date_from", "granularity": "quarter"}],
        "measures": [
            {
                "id": "score",
                "fieldName": "score",
                "aggregator": "avg",
                "format": "0.0",
            }
        ],
    },
}

LISTS = {
    "1": {
        "name": "Key accounts at risk",
        "model": "res.partner",
        "domain": AT_RISK,
        "columns": [
            "name",
            "key_account_tier_id",
            "key_account_manager_id",
            "key_account_score",
            "key_account_grade",
        ],
        "orderBy": [{"name": "key_account_score", "asc": True}],
    },
    "2": {
        "name": "Team ranking",
        "model": "key.account.appraisal",
        "domain": [],
        "columns": ["period_label", "user_id", "score", "grade", "state"],
        "orderBy": [
            {"name": "date_to", "asc": False},
            {"name": "score", "asc": False},
        ],
    },
}


def pivot_definition(pivot_id, spec):
    return {
        "type": "ODOO",
        "id": pivot_id,
        "formulaId": pivot_id,
        "name": spec["name"],
        "model": spec["model"],
        "domain": spec["domain"],
        "context": {},
        "rows": spec.get("rows", []),
        "columns": spec.get("columns", []),
        "measures": spec["measures"],
        "sortedColumn": None,
        "fieldMatching": {},
    }


def list_definition(list_id, spec):
    return {
        "id": list_id,
        "name": spec["name"],
        "model": spec["model"],
        "domain": spec["domain"],
        "context": {},
        "columns": spec["columns"],
        "orderBy": spec["orderBy"],
        "fieldMatching": {},
    }


# ----------------------------------------------------------------------
# charts
# ----------------------------------------------------------------------
def odoo_chart(
    fid,
    x,
    y,
    width,
    height,
    title,
    chart_type,
    model,
    group_by,
    measure,
    domain,
    **extra,
):
    data = {
        "type": chart_type,
        "title": {"text": title, "bold": True, "color": "#434343"},
        "background": "#FFFFFF",
        "legendPosition": extra.pop("legend", "top"),
        "metaData": {
            "groupBy": group_by,
            "measure": measure,
            "order": None,
            "resModel": model,
            "mode": chart_type.split("_", 1)[1],
        },
        "searchParams": {
            "comparison": None,
            "context": {},
            "domain": domain,
            "groupBy": group_by,
            "orderBy": [],
        },
        "fieldMatching": {},
    }
    data.update(extra)
    return {
        "id": fid,
        "x": x,
        "y": y,
        "width": width,
        "height": height,
        "tag": "chart",
        "data": data,
    }


def scorecard(fid, x, y, title, cell):
    return {
        "id": fid,
        "x": x,
        "y": y,
        "width": 245,
        "height": 100,
        "tag": "chart",
        "data": {
            "type": "scorecard",
            "title": {"text": title, "bold": True, "color": "#434343"},
            "background": "#EFF6FF",
            "keyValue": cell,
            "baselineMode": "text",
            "baselineColorDown": "#DC6965",
            "baselineColorUp": "#00A04A",
            "humanize": False,
        },
    }


def build():
    cells, styles, formats = {}, {}, {}

    def text(ref, label, style=None):
        cells[ref] = {"content": '=_t("%s")' % label}
        if style:
            styles[ref] = style

    text("A1", "Key Accounts", 1)
    figures = [
        scorecard("kap-card-accounts", 0, 40, "Key accounts", "Data!B1"),
        scorecard("kap-card-score", 255, 40, "Average score", "Data!B2"),
        scorecard("kap-card-at-risk", 510, 40, "Accounts at risk", "Data!B3"),
        scorecard("kap-card-actions", 765, 40, "Open improvement actions", "Data!B4"),
        odoo_chart(
            "kap-chart-tier",
            0,
            160,
            500,
            300,
            "Key accounts by tier",
            "odoo_bar",
            "res.partner",
            ["key_account_tier_id"],
            "__count",
            KEY_ACCOUNTS,
            legend="none",
            stacked=False,
        ),
        odoo_chart(
            "kap-chart-grade",
            510,
            160,
            500,
            300,
            "Grade distribution",
            "odoo_pie",
            "res.partner",
            ["key_account_grade"],
            "__count",
            KEY_ACCOUNTS,
        ),
        odoo_chart(
            "kap-chart-trend",
            0,
            470,
            1010,
            320,
            "Average score by period and tier",
            "odoo_line",
            "key.account.score.history",
            ["date_from:quarter", "tier_id"],
            "score",
            CLOSED_PERIODS,
            stacked=False,
            fillArea=False,
        ),
        odoo_chart(
            "kap-chart-actions",
            0,
            800,
            500,
            300,
            "Open improvement actions by owner",
            "odoo_bar",
            "key.account.improvement.action",
            ["user_id", "state"],
            "__count",
            OPEN_ACTIONS,
            stacked=True,
        ),
        odoo_chart(
            "kap-chart-risk",
            510,
            800,
            500,
            300,
            "Accounts at risk by key account manager",
            "odoo_bar",
            "res.partner",
            ["key_account_manager_id"],
            "__count",
            AT_RISK,
            legend="none",
            stacked=False,
        ),
    ]
    row = 1110 // ROW + 2  # first row below the charts (1-based)

    # the pivots as tables: own translated column titles above the pivot's
    # rows (=PIVOT(id, rows, total, FALSE): without the pivot's own titles,
    # whose corner would show the pivot's untranslated name)
    for pivot_id, heading, titles, rows, total in (
        (
            "1",
            "Accounts and average score by tier",
            ("Tier", "Key accounts", "Average score"),
            10,
            True,
        ),
        ("2", "Key accounts by grade", ("Grade", "Key accounts"), 8, True),
        ("5", "Average score by period", ("Period", "Average score"), 16, False),
        (
            "4",
            "Open improvement actions by owner",
            ("Owner", "Open improvement actions"),
            15,
            True,
        ),
    ):
        text("A%d" % row, heading, 2)
        for col, label in zip("ABC", titles):
            text("%s%d" % (col, row + 1), label, 3)
        cells["A%d" % (row + 2)] = {
            "content": "=PIVOT(%s,%d,%s,FALSE)"
            % (pivot_id, rows, "TRUE" if total else "FALSE")
        }
        row += rows + 4  # heading, titles, rows, total, one empty row

    text("A%d" % row, "Accounts at risk (lowest score first)", 2)
    row += 1
    for col, label in zip(
        "ABCDE", ("Account", "Tier", "Key Account Manager", "Score", "Grade")
    ):
        text("%s%d" % (col, row), label, 3)
    for i in range(1, 11):
        for col, field in zip("ABCDE", LISTS["1"]["columns"]):
            ref = "%s%d" % (col, row + i)
            cells[ref] = {"content": '=ODOO.LIST(1,%d,"%s")' % (i, field)}
            if field == "key_account_score":
                formats[ref] = 1
    row += 13

    text("A%d" % row, "Team ranking (latest appraisal period first)", 2)
    row += 1
    for col, label in zip(
        "ABCDE", ("Period", "Key Account Manager", "Score", "Grade", "Status")
    ):
        text("%s%d" % (col, row), label, 3)
    for i in range(1, 11):
        for col, field in zip("ABCDE", LISTS["2"]["columns"]):
            ref = "%s%d" % (col, row + i)
            cells[ref] = {"content": '=ODOO.LIST(2,%d,"%s")' % (i, field)}
            if field == "score":
                formats[ref] = 1
    row += 12

    dashboard = {
        "id": "kap-dashboard",
        "name": "Dashboard",
        "colNumber": 8,
        "rowNumber": max(row + 2, 100),
        "rows": {},
        "cols": {
            "0": {"size": 300},
            "1": {"size": 180},
            "2": {"size": 180},
            "3": {"size": 120},
            "4": {"size": 120},
            "5": {"size": 110},
            "6": {"size": 110},
            "7": {"size": 110},
        },
        "merges": [],
        "cells": cells,
        "styles": styles,
        "formats": formats,
        "borders": {},
        "conditionalFormats": [],
        "figures": figures,
        "tables": [],
        "areGridLinesVisible": False,
        "isVisible": True,
        "headerGroups": {"ROW": [], "COL": []},
        "dataValidationRules": [],
        "comments": {},
    }
    data_sheet = {
        "id": "kap-data",
        "name": "Data",
        "colNumber": 3,
        "rowNumber": 10,
        "rows": {},
        "cols": {"0": {"size": 250}},
        "merges": [],
        "cells": {
            "A1": {"content": '=_t("Key accounts")'},
            "B1": {"content": '=PIVOT.VALUE(1,"__count")'},
            "A2": {"content": '=_t("Average score")'},
            "B2": {"content": '=ROUND(PIVOT.VALUE(1,"key_account_score"),1)'},
            "A3": {"content": '=_t("Accounts at risk")'},
            "B3": {"content": '=PIVOT.VALUE(3,"__count")'},
            "A4": {"content": '=_t("Open improvement actions")'},
            "B4": {"content": '=PIVOT.VALUE(4,"__count")'},
        },
        "styles": {},
        "formats": {"B2": 1},
        "borders": {},
        "conditionalFormats": [],
        "figures": [],
        "tables": [],
        "areGridLinesVisible": True,
        "isVisible": False,
        "headerGroups": {"ROW": [], "COL": []},
        "dataValidationRules": [],
        "comments": {},
    }
    return {
        "version": 21,
        "odooVersion": 12,
        "sheets": [dashboard, data_sheet],
        "styles": {
            "1": {"bold": True, "fontSize": 16, "textColor": "#01666b"},
            "2": {"bold": True, "fontSize": 12, "textColor": "#434343"},
            "3": {"bold": True, "textColor": "#434343", "fillColor": "#f2f2f2"},
        },
        "formats": {"1": "0.0"},
        "borders": {},
        "revisionId": "START_REVISION",
        "uniqueFigureIds": True,
        "settings": {
            "locale": {
                "name": "English (US)",
                "code": "en_US",
                "thousandsSeparator": ",",
                "decimalSeparator": ".",
                "dateFormat": "mm/dd/yyyy",
                "timeFormat": "hh:mm:ss",
                "formulaArgSeparator": ",",
                "weekStart": 7,
            }
        },
        "pivots": {k: pivot_definition(k, v) for k, v in PIVOTS.items()},
        "pivotNextId": len(PIVOTS) + 1,
        "lists": {k: list_definition(k, v) for k, v in LISTS.items()},
        "listNextId": len(LISTS) + 1,
        "globalFilters": [],
        "customTableStyles": {},
        "chartOdooMenusReferences": {
            "kap-chart-tier": "key_account_performance.menu_key_account_partner",
        },
    }


if __name__ == "__main__":
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(build(), f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(OUT)
