from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "practicedesk.api"
    label = "api"
    verbose_name = "REST and FHIR interfaces"
