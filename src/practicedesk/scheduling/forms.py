"""Scheduling forms: they validate input; the services decide whether a booking can happen."""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from practicedesk.core.models import Location, User
from practicedesk.patients.models import Coverage, Patient
from practicedesk.scheduling.models import (
    AppointmentType,
    Provider,
    Recall,
    Room,
    ScheduleException,
    ScheduleTemplate,
    WaitlistEntry,
)

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=DATETIME_FORMAT)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%H:%M")


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's field-keyed errors next to the fields; the rest above the form."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


class ProviderForm(forms.ModelForm):
    class Meta:
        model = Provider
        fields = [
            "first_name",
            "last_name",
            "credentials",
            "npi",
            "taxonomy_code",
            "specialty",
            "user",
            "locations",
            "is_active",
        ]
        widgets = {"locations": forms.CheckboxSelectMultiple}
        help_texts = {
            "npi": "10 digits; the last is a check digit, so a typo is caught here.",
            "taxonomy_code": "The NUCC provider taxonomy code, e.g. 207Q00000X.",
            "user": "The user account this provider signs in with, if any.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["locations"].queryset = Location.objects.filter(is_active=True).order_by("name")
        taken = Provider.objects.exclude(user__isnull=True)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        self.fields["user"].queryset = (
            User.objects.filter(is_active=True)
            .exclude(pk__in=taken.values("user_id"))
            .order_by("last_name", "first_name")
        )
        self.fields["npi"].widget.attrs.update({"inputmode": "numeric", "autocomplete": "off"})


class ScheduleTemplateForm(forms.ModelForm):
    """One block of working hours; a new block can cover several weekdays at once."""

    weekdays = forms.TypedMultipleChoiceField(
        choices=ScheduleTemplate.Weekday.choices,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        label="Weekdays",
    )

    class Meta:
        model = ScheduleTemplate
        fields = [
            "provider",
            "location",
            "weekdays",
            "start_time",
            "end_time",
            "effective_from",
            "effective_to",
        ]
        widgets = {
            "start_time": TimeInput,
            "end_time": TimeInput,
            "effective_from": DateInput,
            "effective_to": DateInput,
        }
        help_texts = {"effective_to": "Empty: until further notice."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = Provider.objects.filter(is_active=True)
        if self.instance.pk:
            self.fields["weekdays"].initial = [self.instance.weekday]
            self.fields[
                "weekdays"
            ].help_text = "Tick one day to move this block, or more to copy it to those days too."
        provider_id = self.initial.get("provider") or self.instance.provider_id
        if provider_id:
            self.fields["location"].queryset = Location.objects.filter(providers__id=provider_id)
        else:
            self.fields["location"].queryset = Location.objects.filter(is_active=True)

    def clean(self):
        cleaned = super().clean()
        # An end before the start is the model's own rule (ScheduleTemplate.clean).
        start, end = cleaned.get("start_time"), cleaned.get("end_time")
        if start and end and end <= start:
            return cleaned
        provider, location = cleaned.get("provider"), cleaned.get("location")
        if provider and location and not provider.locations.filter(pk=location.pk).exists():
            self.add_error("location", f"{provider} is not set up to work at {location}.")
        if provider and start and end and cleaned.get("weekdays") and cleaned.get("effective_from"):
            self.check_overlap(cleaned)
        return cleaned

    def check_overlap(self, cleaned):
        first, last = cleaned["effective_from"], cleaned.get("effective_to")
        others = ScheduleTemplate.objects.filter(
            provider=cleaned["provider"],
            weekday__in=cleaned["weekdays"],
            start_time__lt=cleaned["end_time"],
            end_time__gt=cleaned["start_time"],
        ).filter(Q(effective_to__isnull=True) | Q(effective_to__gte=first))
        if last:
            others = others.filter(effective_from__lte=last)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        clash = others.select_related("location").first()
        if clash is not None:
            raise ValidationError(f"These hours overlap existing working hours: {clash}.")

    def _post_clean(self):
        # The model's own clean() needs one weekday; validate with the first ticked.
        weekdays = self.cleaned_data.get("weekdays") or []
        if weekdays:
            self.instance.weekday = weekdays[0]
        super()._post_clean()

    def save(self, commit=True):
        """Save this block on its first weekday and one copy per further weekday ticked."""
        weekdays = self.cleaned_data["weekdays"]
        template = super().save(commit=False)
        template.weekday = weekdays[0]
        template.save()
        for weekday in weekdays[1:]:
            ScheduleTemplate.objects.create(
                provider=template.provider,
                location=template.location,
                weekday=weekday,
                start_time=template.start_time,
                end_time=template.end_time,
                effective_from=template.effective_from,
                effective_to=template.effective_to,
            )
        return template


class RoomForm(forms.ModelForm):
    class Meta:
        model = Room
        fields = ["location", "name", "is_active"]


class AppointmentTypeForm(forms.ModelForm):
    class Meta:
        model = AppointmentType
        fields = ["name", "duration_minutes", "colour", "patient_kind", "needs_room", "is_active"]
        widgets = {"colour": forms.TextInput(attrs={"type": "color"})}
        help_texts = {
            "duration_minutes": "5 to 480 minutes.",
            "colour": "The colour of these visits on the calendar.",
            "needs_room": "Book an exam room with every visit of this type.",
        }


class ScheduleExceptionForm(forms.ModelForm):
    class Meta:
        model = ScheduleException
        fields = ["kind", "provider", "location", "start", "end", "reason"]
        widgets = {"start": DateTimeLocalInput, "end": DateTimeLocalInput}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == ScheduleException.Kind.LEAVE and not cleaned.get("provider"):
            self.add_error("provider", "Leave is always a provider's; choose who is away.")
        return cleaned


class BookingForm(forms.Form):
    """The booking page. Field names match the keys of the booking services' errors."""

    patient = forms.ModelChoiceField(
        queryset=Patient.objects.all(),
        error_messages={"required": "Find the patient by name or MRN and choose them."},
    )
    provider = forms.ModelChoiceField(queryset=Provider.objects.filter(is_active=True))
    location = forms.ModelChoiceField(queryset=Location.objects.filter(is_active=True))
    appointment_type = forms.ModelChoiceField(
        queryset=AppointmentType.objects.filter(is_active=True), label="Appointment type"
    )
    start = forms.DateTimeField(widget=DateTimeLocalInput)
    room = forms.ModelChoiceField(
        queryset=Room.objects.filter(is_active=True).select_related("location"),
        required=False,
        empty_label="First free room",
        help_text="For visit types that need a room; empty picks the first free one.",
    )
    coverage = forms.ModelChoiceField(
        queryset=Coverage.objects.none(),
        required=False,
        empty_label="Self-pay (no insurance)",
        help_text="The insurance this visit is billed to.",
    )
    reason = forms.CharField(label="Reason for visit", max_length=200, required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    overbook_reason = forms.CharField(
        label="Overbook reason",
        max_length=200,
        required=False,
        help_text="Only to book over another appointment on purpose: say why.",
    )
    recall = forms.ModelChoiceField(
        queryset=Recall.objects.filter(status=Recall.Status.OPEN),
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": "That recall is no longer open."},
    )
    waitlist = forms.ModelChoiceField(
        queryset=WaitlistEntry.objects.filter(
            status__in=[WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED]
        ),
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": "That waitlist entry is no longer waiting."},
    )
    every_weeks = forms.IntegerField(
        label="Repeat every (weeks)", min_value=1, max_value=52, required=False
    )
    count = forms.IntegerField(
        label="Number of appointments",
        min_value=2,
        max_value=52,
        required=False,
        help_text="For a recurring series: all are booked, or none.",
    )

    def __init__(self, *args, may_overbook: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.may_overbook = may_overbook
        if not may_overbook:
            del self.fields["overbook_reason"]
        patient_id = self.data.get("patient") or self.initial.get("patient")
        if patient_id and str(patient_id).isdigit():
            self.fields["coverage"].queryset = Coverage.objects.filter(
                patient_id=patient_id
            ).select_related("payer")

    @property
    def chosen_patient(self) -> Patient | None:
        if self.is_bound and getattr(self, "cleaned_data", {}).get("patient"):
            return self.cleaned_data["patient"]
        patient_id = self.data.get("patient") if self.is_bound else self.initial.get("patient")
        if patient_id and str(patient_id).isdigit():
            return Patient.objects.filter(pk=patient_id).first()
        return None

    def clean(self):
        cleaned = super().clean()
        every, count = cleaned.get("every_weeks"), cleaned.get("count")
        if (every is None) != (count is None):
            self.add_error(
                "count" if count is None else "every_weeks",
                "For a recurring series give both how often and how many.",
            )
        if every and count and cleaned.get("overbook_reason"):
            self.add_error("overbook_reason", "A recurring series cannot be overbooked.")
        for source in ("recall", "waitlist"):
            chosen = cleaned.get(source)
            if chosen is not None and cleaned.get("patient") not in (None, chosen.patient):
                self.add_error(None, f"That {source} entry belongs to another patient.")
            if chosen is not None and every and count:
                self.add_error(None, f"Book a {source} entry as a single appointment.")
        return cleaned

    @property
    def is_recurring(self) -> bool:
        return bool(self.cleaned_data.get("every_weeks") and self.cleaned_data.get("count"))


class RescheduleForm(forms.Form):
    start = forms.DateTimeField(label="New start", widget=DateTimeLocalInput)
    provider = forms.ModelChoiceField(
        queryset=Provider.objects.filter(is_active=True),
        required=False,
        empty_label="Same provider",
    )
    room = forms.ModelChoiceField(
        queryset=Room.objects.filter(is_active=True).select_related("location"),
        required=False,
        empty_label="Any free room",
    )

    def __init__(self, *args, appointment, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = Provider.objects.filter(
            is_active=True, locations=appointment.location_id
        )
        self.fields["room"].queryset = Room.objects.filter(
            is_active=True, location=appointment.location_id
        )


class CancelForm(forms.Form):
    cancel_reason = forms.CharField(
        label="Reason for cancelling",
        max_length=200,
        error_messages={"required": "Say why the appointment is cancelled."},
    )


class NextSlotForm(forms.Form):
    """What "find the next open slot" searches: the type, the location, a provider or any."""

    appointment_type = forms.ModelChoiceField(
        queryset=AppointmentType.objects.filter(is_active=True),
        error_messages={"required": "Choose the appointment type first."},
    )
    location = forms.ModelChoiceField(
        queryset=Location.objects.filter(is_active=True),
        error_messages={"required": "Choose the location first."},
    )
    provider = forms.ModelChoiceField(
        queryset=Provider.objects.filter(is_active=True), required=False
    )
    start = forms.DateTimeField(required=False)
    after = forms.DateTimeField(required=False)
    any_provider = forms.BooleanField(required=False)
