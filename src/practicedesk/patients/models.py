"""The patient registry: patients, their guarantors, consents, alerts and insurance coverage.

``Payer`` lives here, not in billing, because coverage (registered at the front desk) must name
the payer, and a lower app never depends on a higher one; billing adds the claim rules.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from practicedesk.core.models import Address
from practicedesk.core.validators import phone_validator


def digits_only(value: str) -> str:
    return re.sub(r"\D", "", value or "")


def validate_not_future(value):
    if value and value > timezone.localdate():
        raise ValidationError("A date of birth cannot be in the future.")


class PatientQuerySet(models.QuerySet):
    def restrict(self, user):
        return self

    def active(self):
        return self.exclude(status=Patient.Status.MERGED)


class ReferralSource(models.Model):
    """How a patient came to the practice (a physician, a web search, an advertisement...)."""

    class Kind(models.TextChoices):
        PHYSICIAN = "physician", "Referring physician"
        PATIENT = "patient", "Another patient"
        WEB = "web", "Website or search"
        ADVERTISING = "advertising", "Advertising"
        INSURANCE = "insurance", "Insurance directory"
        OTHER = "other", "Other"

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("patients:referral_source_list")


class Payer(Address):
    """An insurance company or program that pays claims (and self-pay, for uninsured visits)."""

    class Type(models.TextChoices):
        COMMERCIAL = "commercial", "Commercial"
        MEDICARE = "medicare", "Medicare"
        MEDICAID = "medicaid", "Medicaid"
        WORKERS_COMP = "workers_comp", "Workers' compensation"
        SELF_PAY = "self_pay", "Self-pay"

    name = models.CharField(max_length=120, unique=True)
    payer_type = models.CharField("type", max_length=20, choices=Type.choices)
    payer_id = models.CharField(
        "payer id",
        max_length=20,
        blank=True,
        validators=[RegexValidator(r"^[A-Za-z0-9]{2,20}$", "Letters and digits only, 2-20.")],
        help_text="The id clearinghouses use for this payer on claims.",
    )
    phone = models.CharField(max_length=30, blank=True, validators=[phone_validator])
    timely_filing_days = models.PositiveIntegerField(
        default=365, help_text="Days after the date of service within which a claim must be filed."
    )
    is_active = models.BooleanField("active", default=True)

    archive_on_delete = True

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("patients:payer_detail", args=[self.pk])


class Patient(Address):
    """A person the practice cares for. Protected health information: every view is audited."""

    class SexAtBirth(models.TextChoices):
        FEMALE = "F", "Female"
        MALE = "M", "Male"
        UNKNOWN = "U", "Unknown"

    class GenderIdentity(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        NON_BINARY = "non_binary", "Non-binary"
        TRANSGENDER_FEMALE = "transgender_female", "Transgender female"
        TRANSGENDER_MALE = "transgender_male", "Transgender male"
        OTHER = "other", "Other"
        DECLINED = "declined", "Chose not to disclose"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"
        DECEASED = "deceased", "Deceased"
        MERGED = "merged", "Merged into another record"

    mrn = models.CharField("MRN", max_length=20, unique=True, editable=False)
    first_name = models.CharField("legal first name", max_length=80)
    middle_name = models.CharField(max_length=80, blank=True)
    last_name = models.CharField("legal last name", max_length=80)
    suffix = models.CharField(max_length=10, blank=True)
    preferred_name = models.CharField(max_length=80, blank=True)
    date_of_birth = models.DateField(validators=[validate_not_future])
    sex_at_birth = models.CharField(max_length=1, choices=SexAtBirth.choices)
    gender_identity = models.CharField(max_length=20, choices=GenderIdentity.choices, blank=True)
    mobile_phone = models.CharField(max_length=30, blank=True, validators=[phone_validator])
    home_phone = models.CharField(max_length=30, blank=True, validators=[phone_validator])
    email = models.EmailField(blank=True)
    preferred_language = models.CharField(max_length=40, default="English")
    emergency_contact_name = models.CharField(max_length=120, blank=True)
    emergency_contact_phone = models.CharField(
        max_length=30, blank=True, validators=[phone_validator]
    )
    emergency_contact_relationship = models.CharField(max_length=40, blank=True)
    guarantor = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dependants",
        help_text="The responsible party for the bill, if not the patient.",
    )
    referral_source = models.ForeignKey(
        ReferralSource, null=True, blank=True, on_delete=models.PROTECT, related_name="patients"
    )
    home_location = models.ForeignKey(
        "core.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reminder_email_consent = models.BooleanField("appointment reminders by email", default=False)
    marketing_email_consent = models.BooleanField("marketing email", default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from"
    )
    # Normalised copies for fast search, kept by save().
    search_name = models.CharField(max_length=260, editable=False, db_index=True)
    phone_digits = models.CharField(max_length=40, editable=False, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    audit_reads = True

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "date_of_birth"]
        indexes = [
            models.Index(fields=["last_name", "first_name"]),
            models.Index(fields=["date_of_birth"]),
            models.Index(fields=["created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_name} ({self.mrn})"

    def save(self, *args, **kwargs):
        self.refresh_search_fields()
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("patients:patient_detail", args=[self.pk])

    def refresh_search_fields(self) -> None:
        """Fill the normalised search columns; bulk inserts must call it (they skip save())."""
        self.search_name = " ".join(
            part.lower()
            for part in (self.last_name, self.first_name, self.middle_name, self.preferred_name)
            if part
        )
        self.phone_digits = " ".join(
            digits_only(phone)[-10:] for phone in (self.mobile_phone, self.home_phone) if phone
        )

    @property
    def display_name(self) -> str:
        preferred = f" “{self.preferred_name}”" if self.preferred_name else ""
        return f"{self.first_name}{preferred} {self.last_name}"

    @property
    def age(self) -> int:
        today = timezone.localdate()
        born = self.date_of_birth
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    @property
    def responsible_party(self) -> "Patient":
        return self.guarantor or self


class ConsentEvent(models.Model):
    """Each time a patient gives or withdraws a communication consent (append-only history)."""

    class Kind(models.TextChoices):
        REMINDER_EMAIL = "reminder_email", "Appointment reminders by email"
        MARKETING_EMAIL = "marketing_email", "Marketing email"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consent_events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    given = models.BooleanField()
    on_date = models.DateField(default=timezone.localdate)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-on_date", "-recorded_at"]

    def __str__(self) -> str:
        verb = "gave" if self.given else "withdrew"
        return f"{self.patient} {verb} {self.get_kind_display().lower()} on {self.on_date}"

    def get_absolute_url(self) -> str:
        return self.patient.get_absolute_url()


class PatientAlert(models.Model):
    """A flag shown on every page of the patient (e.g. "checks not accepted")."""

    class Kind(models.TextChoices):
        CHECKS_NOT_ACCEPTED = "checks_not_accepted", "Checks not accepted"
        COLLECTIONS = "collections", "Account in collections"
        BEHAVIOUR = "behaviour", "Behaviour"
        ACCESSIBILITY = "accessibility", "Accessibility need"
        INTERPRETER = "interpreter", "Needs an interpreter"
        OTHER = "other", "Other"

    class Severity(models.TextChoices):
        INFO = "info", "Information"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    text = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField("active", default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["patient", "is_active"])]

    def __str__(self) -> str:
        return self.text or self.get_kind_display()

    def get_absolute_url(self) -> str:
        return self.patient.get_absolute_url()


class Coverage(models.Model):
    """A patient's insurance: which payer, which plan, whose policy, in which order."""

    class Order(models.IntegerChoices):
        PRIMARY = 1, "Primary"
        SECONDARY = 2, "Secondary"
        TERTIARY = 3, "Tertiary"

    class Relationship(models.TextChoices):
        SELF = "18", "Self"
        SPOUSE = "01", "Spouse"
        CHILD = "19", "Child"
        OTHER = "G8", "Other relationship"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="coverages")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="coverages")
    plan_name = models.CharField(max_length=120, blank=True)
    member_id = models.CharField(
        max_length=40,
        validators=[RegexValidator(r"^[A-Za-z0-9-]{2,40}$", "Letters, digits and dashes only.")],
    )
    group_number = models.CharField(max_length=40, blank=True)
    order = models.PositiveSmallIntegerField(choices=Order.choices, default=Order.PRIMARY)
    relationship = models.CharField(
        "patient's relationship to subscriber",
        max_length=2,
        choices=Relationship.choices,
        default=Relationship.SELF,
    )
    subscriber_first_name = models.CharField(max_length=80, blank=True)
    subscriber_last_name = models.CharField(max_length=80, blank=True)
    subscriber_date_of_birth = models.DateField(null=True, blank=True)
    subscriber_sex = models.CharField(max_length=1, choices=Patient.SexAtBirth.choices, blank=True)
    effective_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    audit_reads = True

    class Meta:
        ordering = ["patient", "order", "-effective_date"]
        indexes = [models.Index(fields=["patient", "effective_date"])]

    def __str__(self) -> str:
        return f"{self.get_order_display()}: {self.payer} {self.member_id}"

    def get_absolute_url(self) -> str:
        return reverse("patients:patient_detail", args=[self.patient_id]) + "#coverage"

    def clean(self):
        if self.end_date and self.effective_date and self.end_date < self.effective_date:
            raise ValidationError({"end_date": "The end date is before the effective date."})
        if self.relationship != self.Relationship.SELF and not (
            self.subscriber_first_name
            and self.subscriber_last_name
            and self.subscriber_date_of_birth
        ):
            raise ValidationError(
                "When the patient is not the subscriber, enter the subscriber's name and date "
                "of birth."
            )

    def is_active_on(self, day) -> bool:
        return self.effective_date <= day and (self.end_date is None or day <= self.end_date)
