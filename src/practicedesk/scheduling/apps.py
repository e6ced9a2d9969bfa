from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "practicedesk.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling and patient flow"

    def ready(self):
        from practicedesk.scheduling.board import board_watch

        board_watch()
