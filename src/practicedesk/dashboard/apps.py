from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "practicedesk.dashboard"
    label = "dashboard"
    verbose_name = "Dashboard and KPIs"

    def attention_count(self, user) -> int | None:
        """The number on the "Needs attention" menu entry (core's navigation asks for it)."""
        from practicedesk.dashboard.selectors import attention_count

        return attention_count(user)
