import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html

from practicedesk.scheduling.models import (
    Appointment,
    AppointmentType,
    Provider,
    Room,
    ScheduleException,
)

STATUS_BADGES = {
    Appointment.Status.SCHEDULED: "badge-muted",
    Appointment.Status.CONFIRMED: "badge-info",
    Appointment.Status.ARRIVED: "badge-warn",
    Appointment.Status.ROOMED: "badge-warn",
    Appointment.Status.WITH_PROVIDER: "badge-info",
    Appointment.Status.CHECKED_OUT: "badge-ok",
    Appointment.Status.CANCELLED: "badge-bad",
    Appointment.Status.NO_SHOW: "badge-bad",
}


def status_badge(appointment: Appointment) -> str:
    return format_html(
        '<span class="badge {} status-{}">{}</span>',
        STATUS_BADGES.get(appointment.status, "badge-muted"),
        appointment.status,
        appointment.get_status_display(),
    )


class ProviderTable(tables.Table):
    name = tables.Column(
        empty_values=(),
        linkify=lambda record: record.get_absolute_url(),
        order_by=("last_name", "first_name"),
        verbose_name="Name",
    )
    locations = tables.Column(empty_values=(), orderable=False, verbose_name="Works at")

    class Meta:
        model = Provider
        fields = ("name", "npi", "taxonomy_code", "specialty", "locations", "is_active")

    def render_name(self, record):
        return str(record)

    def value_name(self, record):
        return str(record)

    def render_locations(self, record):
        return ", ".join(location.name for location in record.locations.all()) or "—"

    def value_locations(self, record):
        return "; ".join(location.name for location in record.locations.all())


class RoomTable(tables.Table):
    name = tables.Column(linkify=("scheduling:room_edit", [tables.A("pk")]))

    class Meta:
        model = Room
        fields = ("name", "location", "is_active")


class AppointmentTypeTable(tables.Table):
    name = tables.Column(linkify=("scheduling:appointment_type_edit", [tables.A("pk")]))
    colour = tables.Column()

    class Meta:
        model = AppointmentType
        fields = ("name", "duration_minutes", "colour", "patient_kind", "needs_room", "is_active")

    def render_colour(self, record):
        return format_html(
            '<span class="type-chip appt-type-{}">{}</span>', record.pk, record.colour
        )


class ScheduleExceptionTable(tables.Table):
    kind = tables.Column(linkify=("scheduling:exception_edit", [tables.A("pk")]))
    provider = tables.Column(default="All providers")
    location = tables.Column(default="All locations")
    start = tables.DateTimeColumn(format="D M j, Y H:i")
    end = tables.DateTimeColumn(format="D M j, Y H:i")

    class Meta:
        model = ScheduleException
        fields = ("kind", "provider", "location", "start", "end", "reason")
        order_by = ("-start",)


class AppointmentTable(tables.Table):
    start = tables.DateTimeColumn(format="D M j, Y H:i", linkify=True)
    patient = tables.Column(order_by=("patient__last_name", "patient__first_name"))
    status = tables.Column()
    flags = tables.Column(empty_values=(), orderable=False, verbose_name="Flags")

    class Meta:
        model = Appointment
        fields = ("start", "patient", "provider", "location", "appointment_type", "status")
        sequence = (*fields, "flags")
        order_by = ("start",)

    def render_status(self, record):
        return status_badge(record)

    def value_status(self, record):
        return record.get_status_display()

    def render_flags(self, record):
        flags = []
        if record.is_overbook:
            flags.append("Overbooked")
        if record.is_late_cancel:
            flags.append("Late cancellation")
        if record.series_id:
            flags.append("Recurring")
        return ", ".join(flags) or "—"

    def value_flags(self, record):
        return self.render_flags(record).replace("—", "")

    def value_start(self, record):
        return timezone.localtime(record.start).strftime("%Y-%m-%d %H:%M")
