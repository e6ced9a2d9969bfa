from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "practicedesk.demo"
    label = "demo"
    verbose_name = "Demo data"
