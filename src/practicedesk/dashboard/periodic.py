from practicedesk.core.periodic import Every

PERIODIC = [
    Every("dashboard_digest", "practicedesk.dashboard.tasks.digest_send", minutes=24 * 60),
    Every("kpi_history_close", "practicedesk.dashboard.tasks.kpi_history_close", minutes=6 * 60),
    # Keeps the attention list (and the count in every page's menu) fresh between page views.
    Every(
        "dashboard_attention_refresh",
        "practicedesk.dashboard.tasks.attention_refresh",
        minutes=5,
    ),
]
