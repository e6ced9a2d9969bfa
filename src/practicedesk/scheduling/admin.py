"""Admin for the superuser's maintenance; the practice works through the scheduling pages."""

from django.contrib import admin

from practicedesk.scheduling.models import (
    Appointment,
    AppointmentType,
    FlowEvent,
    Provider,
    Room,
    ScheduleException,
    ScheduleTemplate,
)


class ScheduleTemplateInline(admin.TabularInline):
    model = ScheduleTemplate
    extra = 0


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ("__str__", "npi", "specialty", "is_active")
    list_filter = ("is_active", "locations")
    search_fields = ("first_name", "last_name", "npi")
    filter_horizontal = ("locations",)
    inlines = [ScheduleTemplateInline]


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("name", "location", "is_active")
    list_filter = ("location", "is_active")


@admin.register(AppointmentType)
class AppointmentTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "duration_minutes", "colour", "patient_kind", "needs_room", "is_active")


@admin.register(ScheduleException)
class ScheduleExceptionAdmin(admin.ModelAdmin):
    list_display = ("kind", "provider", "location", "start", "end", "reason")
    list_filter = ("kind",)


class FlowEventInline(admin.TabularInline):
    model = FlowEvent
    extra = 0
    readonly_fields = ("from_status", "to_status", "at", "by", "note")
    can_delete = False


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ("start", "patient", "provider", "location", "status", "is_overbook")
    list_filter = ("status", "location", "is_overbook")
    raw_id_fields = ("patient", "coverage", "booked_by")
    readonly_fields = ("booked_by", "booked_at")
    date_hierarchy = "start"
    inlines = [FlowEventInline]
