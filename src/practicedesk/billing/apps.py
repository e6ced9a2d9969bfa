from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "practicedesk.billing"
    label = "billing"
    verbose_name = "Billing and collections"
