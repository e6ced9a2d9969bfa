from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "practicedesk.patients"
    label = "patients"
    verbose_name = "Patients"
