"""Admin for the superuser's maintenance; the manager works through the dashboard pages."""

from django.contrib import admin

from practicedesk.dashboard.models import AttentionState, KpiTarget


@admin.register(KpiTarget)
class KpiTargetAdmin(admin.ModelAdmin):
    list_display = ("kpi_key", "location", "target", "warning", "set_by", "set_at")
    list_filter = ("location",)


@admin.register(AttentionState)
class AttentionStateAdmin(admin.ModelAdmin):
    list_display = ("item_key", "assigned_to", "snoozed_until", "dismissed_at")
    search_fields = ("item_key", "title")
