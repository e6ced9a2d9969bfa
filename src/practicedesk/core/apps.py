from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "practicedesk.core"
    label = "core"
    verbose_name = "Practice Desk core"

    def ready(self) -> None:
        from practicedesk.core import signals  # noqa: F401
