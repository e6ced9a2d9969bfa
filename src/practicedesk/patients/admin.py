"""Admin for the superuser's maintenance. Patients are changed through the app's pages and
services (MRNs, consent history, merges), so here they are read-only."""

from django.contrib import admin

from practicedesk.core.admin import ReadOnlyAdmin
from practicedesk.patients.models import (
    ConsentEvent,
    Coverage,
    Patient,
    PatientAlert,
    Payer,
    ReferralSource,
)


@admin.register(Patient)
class PatientAdmin(ReadOnlyAdmin):
    list_display = ("mrn", "last_name", "first_name", "date_of_birth", "status")
    list_filter = ("status",)
    search_fields = ("mrn", "search_name", "phone_digits")


@admin.register(Coverage)
class CoverageAdmin(ReadOnlyAdmin):
    list_display = ("patient", "payer", "member_id", "order", "effective_date", "end_date")
    raw_id_fields = ("patient",)


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    list_display = ("patient", "kind", "given", "on_date", "recorded_by")


@admin.register(PatientAlert)
class PatientAlertAdmin(ReadOnlyAdmin):
    list_display = ("patient", "kind", "severity", "is_active", "created_at")


@admin.register(Payer)
class PayerAdmin(admin.ModelAdmin):
    list_display = ("name", "payer_type", "payer_id", "is_active")
    search_fields = ("name", "payer_id")


@admin.register(ReferralSource)
class ReferralSourceAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "is_active")
