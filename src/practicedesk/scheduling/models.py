"""Providers and rooms, availability, appointments and the patient-flow trail, waitlist,
recalls, reminders, encounters (chart closure) and records requests."""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from practicedesk.core.validators import validate_npi

taxonomy_validator = RegexValidator(
    r"^\d{3}[A-Z0-9]{6}X$", "A taxonomy code is 10 characters, e.g. 207Q00000X."
)
colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #1f77b4.")


class Provider(models.Model):
    """A clinician who sees patients and bills under their own NPI."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="provider",
    )
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    credentials = models.CharField(max_length=30, blank=True, help_text="e.g. MD, DO, NP, PA-C")
    npi = models.CharField("NPI", max_length=10, unique=True, validators=[validate_npi])
    taxonomy_code = models.CharField(max_length=10, validators=[taxonomy_validator])
    specialty = models.CharField(max_length=80)
    locations = models.ManyToManyField("core.Location", related_name="providers")
    is_active = models.BooleanField("active", default=True)

    archive_on_delete = True

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        suffix = f", {self.credentials}" if self.credentials else ""
        return f"{self.first_name} {self.last_name}{suffix}"

    def get_absolute_url(self) -> str:
        return reverse("scheduling:provider_detail", args=[self.pk])


class Room(models.Model):
    location = models.ForeignKey("core.Location", on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(max_length=40)
    is_active = models.BooleanField("active", default=True)

    archive_on_delete = True

    class Meta:
        ordering = ["location", "name"]
        constraints = [
            models.UniqueConstraint(fields=["location", "name"], name="room_name_per_location")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.location})"

    def get_absolute_url(self) -> str:
        return reverse("scheduling:room_list")


class AppointmentType(models.Model):
    class PatientKind(models.TextChoices):
        NEW = "new", "New patient"
        ESTABLISHED = "established", "Established patient"
        ANY = "any", "New or established"

    name = models.CharField(max_length=80, unique=True)
    duration_minutes = models.PositiveSmallIntegerField(default=15)
    colour = models.CharField(max_length=7, default="#4c78a8", validators=[colour_validator])
    patient_kind = models.CharField(
        max_length=12, choices=PatientKind.choices, default=PatientKind.ANY
    )
    needs_room = models.BooleanField(default=True)
    is_active = models.BooleanField("active", default=True)

    archive_on_delete = True

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("scheduling:appointment_type_list")

    def clean(self):
        if not 5 <= (self.duration_minutes or 0) <= 480:
            raise ValidationError({"duration_minutes": "A visit lasts 5 to 480 minutes."})


class ScheduleTemplate(models.Model):
    """A provider's recurring working hours at one location on one weekday, effective-dated."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="templates")
    location = models.ForeignKey("core.Location", on_delete=models.PROTECT, related_name="+")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["provider", "weekday", "start_time"]
        indexes = [models.Index(fields=["location", "weekday"])]

    def __str__(self) -> str:
        return (
            f"{self.provider} {self.get_weekday_display()} {self.start_time:%H:%M}-"
            f"{self.end_time:%H:%M} at {self.location}"
        )

    def get_absolute_url(self) -> str:
        return reverse("scheduling:provider_detail", args=[self.provider_id])

    def clean(self):
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValidationError({"end_time": "The end time must be after the start time."})
        if self.effective_to and self.effective_from and self.effective_to < self.effective_from:
            raise ValidationError({"effective_to": "The end date is before the start date."})

    def applies_on(self, day: datetime.date) -> bool:
        return (
            day.weekday() == self.weekday
            and self.effective_from <= day
            and (self.effective_to is None or day <= self.effective_to)
        )


class ScheduleException(models.Model):
    """Time that is closed: a holiday (whole location), blocked time or a provider's leave."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", "Holiday"
        BLOCKED = "blocked", "Blocked time"
        LEAVE = "leave", "Leave"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    provider = models.ForeignKey(
        Provider,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="exceptions",
        help_text="Empty: applies to every provider at the location.",
    )
    location = models.ForeignKey(
        "core.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty: applies at every location.",
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["start"]
        indexes = [models.Index(fields=["start", "end"])]

    def __str__(self) -> str:
        who = self.provider or self.location or "everyone"
        start, end = timezone.localtime(self.start), timezone.localtime(self.end)
        return f"{self.get_kind_display()}: {who} {start:%Y-%m-%d %H:%M}–{end:%H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("scheduling:exception_list")

    def clean(self):
        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": "The end must be after the start."})


class AppointmentQuerySet(models.QuerySet):
    def restrict(self, user):
        return self

    def booked(self):
        """Appointments that hold their time (not cancelled, not no-show)."""
        return self.exclude(status__in=Appointment.RELEASED_STATUSES)


class Appointment(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CONFIRMED = "confirmed", "Confirmed"
        ARRIVED = "arrived", "Arrived"
        ROOMED = "roomed", "Roomed"
        WITH_PROVIDER = "with_provider", "With provider"
        CHECKED_OUT = "checked_out", "Checked out"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"

    RELEASED_STATUSES = (Status.CANCELLED, Status.NO_SHOW)

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="appointments"
    )
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="appointments")
    location = models.ForeignKey(
        "core.Location", on_delete=models.PROTECT, related_name="appointments"
    )
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="appointments"
    )
    coverage = models.ForeignKey(
        "patients.Coverage",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
        help_text="The insurance this visit is billed to.",
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.SCHEDULED)
    reason = models.CharField("reason for visit", max_length=200, blank=True)
    notes = models.TextField(blank=True)
    is_overbook = models.BooleanField("overbooked", default=False)
    overbook_reason = models.CharField(max_length=200, blank=True)
    series_id = models.UUIDField(
        null=True,
        blank=True,
        db_index=True,
        help_text="Shared by the appointments of one recurring booking.",
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    booked_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    is_late_cancel = models.BooleanField("late cancellation", default=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    roomed_at = models.DateTimeField(null=True, blank=True)
    provider_at = models.DateTimeField("with provider at", null=True, blank=True)
    checked_out_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    eligibility_note = models.CharField(max_length=200, blank=True)
    needs_attention = models.BooleanField(default=False)

    audit_reads = True

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["start", "provider"]
        indexes = [
            models.Index(fields=["provider", "start"]),
            models.Index(fields=["location", "start"]),
            models.Index(fields=["patient", "start"]),
            models.Index(fields=["room", "start"]),
            models.Index(fields=["status", "start"]),
            # Overlap searches (start < day end AND end > day start): the end bound keeps them
            # to the visits still to come instead of years of history (issue #7 benchmarks).
            models.Index(fields=["provider", "end"], name="appointment_provider_end"),
            models.Index(fields=["location", "end"], name="appointment_location_end"),
            models.Index(fields=["room", "end"], name="appointment_room_end"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="appointment_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        start = timezone.localtime(self.start)
        return f"{start:%Y-%m-%d %H:%M} {self.appointment_type} with {self.provider}"

    def get_absolute_url(self) -> str:
        return reverse("scheduling:appointment_detail", args=[self.pk])

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)

    @staticmethod
    def minutes_between(earlier, later) -> int | None:
        if earlier is None or later is None:
            return None
        return int((later - earlier).total_seconds() // 60)

    @property
    def wait_to_roomed(self) -> int | None:
        return self.minutes_between(self.arrived_at, self.roomed_at)

    @property
    def wait_to_provider(self) -> int | None:
        return self.minutes_between(self.arrived_at, self.provider_at)

    @property
    def arrival_to_checkout(self) -> int | None:
        return self.minutes_between(self.arrived_at, self.checked_out_at)


class FlowEvent(models.Model):
    """One status change of a visit: who moved it, and when (the patient-flow trail)."""

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="flow_events"
    )
    from_status = models.CharField(max_length=15, choices=Appointment.Status.choices)
    to_status = models.CharField(max_length=15, choices=Appointment.Status.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.appointment_id}: {self.from_status} → {self.to_status} at {self.at}"

    def get_absolute_url(self) -> str:
        return self.appointment.get_absolute_url()


class WaitlistEntry(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        OFFERED = "offered", "Offered a slot"
        BOOKED = "booked", "Booked"
        REMOVED = "removed", "Removed"

    class TimeOfDay(models.TextChoices):
        ANY = "any", "Any time"
        MORNING = "morning", "Mornings"
        AFTERNOON = "afternoon", "Afternoons"

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="waitlist_entries"
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="+"
    )
    provider = models.ForeignKey(
        Provider,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty: any provider.",
    )
    location = models.ForeignKey("core.Location", on_delete=models.PROTECT, related_name="+")
    preferred_weekdays = models.CharField(
        max_length=20, blank=True, help_text="Weekday numbers, Monday=0, e.g. 0,2,4. Empty: any."
    )
    time_of_day = models.CharField(max_length=10, choices=TimeOfDay.choices, default=TimeOfDay.ANY)
    wanted_before = models.DateField(
        help_text="The patient's current appointment date or latest acceptable date."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    offered_appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notes = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name_plural = "waitlist entries"
        indexes = [models.Index(fields=["status", "location"])]

    def __str__(self) -> str:
        return f"{self.patient} waiting for {self.appointment_type}"

    def get_absolute_url(self) -> str:
        return reverse("scheduling:waitlist")


class Recall(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        BOOKED = "booked", "Booked"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="recalls"
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="+"
    )
    provider = models.ForeignKey(
        Provider, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    due_date = models.DateField()
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="recalls"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_date"]
        indexes = [models.Index(fields=["status", "due_date"])]

    def __str__(self) -> str:
        return f"{self.reason} for {self.patient} due {self.due_date}"

    def get_absolute_url(self) -> str:
        return reverse("scheduling:recall_list")


class ReminderToken(models.Model):
    """The single-use link in a reminder email: confirm or cancel without signing in."""

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="reminder_tokens"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_for = models.CharField(max_length=10, blank=True)
    sent_to = models.EmailField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"Reminder for appointment {self.appointment_id} sent {self.sent_at:%Y-%m-%d}"


class Encounter(models.Model):
    """The clinical note of a checked-out visit, and whether the provider has signed it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SIGNED = "signed", "Signed"

    appointment = models.OneToOneField(
        Appointment, on_delete=models.PROTECT, related_name="encounter"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="encounters"
    )
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="encounters")
    date_of_service = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField()
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    audit_reads = True

    class Meta:
        ordering = ["-date_of_service"]
        indexes = [
            models.Index(fields=["status", "opened_at"]),
            models.Index(fields=["provider", "date_of_service"]),
            models.Index(fields=["date_of_service", "status"]),
        ]

    def __str__(self) -> str:
        return f"Encounter {self.date_of_service} {self.patient} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("scheduling:encounter_list")


class RecordsRequest(models.Model):
    """A patient's request for a copy of their records (HIPAA right of access: 30 days)."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        IN_PROGRESS = "in_progress", "In progress"
        FULFILLED = "fulfilled", "Fulfilled"
        DENIED = "denied", "Denied"

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="records_requests"
    )
    requested_by = models.CharField(max_length=120, help_text="The patient, or who asks for them.")
    received_date = models.DateField()
    due_date = models.DateField(editable=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    fulfilled_date = models.DateField(null=True, blank=True)
    notes = models.CharField(max_length=200, blank=True)

    audit_reads = True

    class Meta:
        ordering = ["due_date"]
        indexes = [models.Index(fields=["status", "due_date"])]

    def __str__(self) -> str:
        return f"Records request of {self.patient} received {self.received_date}"

    def save(self, *args, **kwargs):
        self.due_date = self.received_date + datetime.timedelta(days=30)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("scheduling:records_request_list")
