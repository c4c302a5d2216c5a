{
    "name": "Key Account Performance Training",
    "summary": "Training that closes the loop: KPIs mapped to eLearning courses, "
    "appraisals that propose enrolment on the weak KPIs and show the courses "
    "completed next to whether the KPI moved.",
    "version": "18.0.1.0.0",
    "category": "Hidden",
    "website": "https://github.com/key-account-performance/key_account_performance",
    "author": "key_account_performance contributors",
    "maintainers": ["key_account_performance"],
    "license": "LGPL-3",
    "development_status": "Beta",
    "depends": ["key_account_performance", "website_slides"],
    "data": [
        "views/key_account_kpi_views.xml",
        "views/key_account_appraisal_views.xml",
    ],
    "post_init_hook": "post_init_hook",
    "auto_install": True,
}
