{
    "name": "Key Account Performance Dashboard",
    "summary": "The Key Accounts dashboard of the Dashboards app: accounts and "
    "scores by tier, grades, accounts at risk, score trend, open improvement "
    "actions and the team ranking, live from key_account_performance.",
    "version": "18.0.1.0.0",
    "category": "Hidden",
    "website": "https://github.com/key-account-performance/key_account_performance",
    "author": "key_account_performance contributors",
    "maintainers": ["key_account_performance"],
    "license": "LGPL-3",
    "development_status": "Beta",
    "depends": ["key_account_performance", "spreadsheet_dashboard"],
    "data": [
        "data/dashboards.xml",
    ],
    "auto_install": True,
}
