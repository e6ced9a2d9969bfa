"""Patient registry actions: register, update, consents, alerts, coverage, merge."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from practicedesk.core.models import AuditEvent, User
from practicedesk.core.services import audit_event_record, sequence_next
from practicedesk.patients.models import ConsentEvent, Patient, PatientAlert

MRN_SEQUENCE = "patient_mrn"
CONSENT_FIELDS = {
    ConsentEvent.Kind.REMINDER_EMAIL: "reminder_email_consent",
    ConsentEvent.Kind.MARKETING_EMAIL: "marketing_email_consent",
}


def mrn_format(number: int) -> str:
    return f"{number:08d}"


def mrns_reserve(count: int) -> list[str]:
    """Reserve ``count`` consecutive MRNs (bulk imports and demo data)."""
    first = sequence_next(MRN_SEQUENCE, count=count)
    return [mrn_format(first + offset) for offset in range(count)]


@transaction.atomic
def patient_register(*, acting_user: User | None, patient: Patient) -> Patient:
    """Give a new patient the next MRN and save it, with its consents on record."""
    if patient.pk is not None:
        raise ValidationError("This patient is already registered.")
    patient.mrn = mrns_reserve(1)[0]
    patient.full_clean()
    patient.save()
    for kind, field in CONSENT_FIELDS.items():
        if getattr(patient, field):
            ConsentEvent.objects.create(
                patient=patient, kind=kind, given=True, recorded_by=acting_user
            )
    audit_event_record(
        action=AuditEvent.Action.ACTION, user=acting_user, obj=patient, name="patient_register"
    )
    return patient


@transaction.atomic
def patient_update(*, acting_user: User | None, patient: Patient) -> Patient:
    """Save changes to a patient; a changed consent is recorded with its date."""
    before = Patient.objects.select_for_update().get(pk=patient.pk)
    if before.status == Patient.Status.MERGED:
        raise ValidationError("This record was merged into another one and cannot be changed.")
    patient.full_clean()
    patient.save()
    for kind, field in CONSENT_FIELDS.items():
        if getattr(before, field) != getattr(patient, field):
            ConsentEvent.objects.create(
                patient=patient, kind=kind, given=getattr(patient, field), recorded_by=acting_user
            )
    return patient


@transaction.atomic
def patient_alert_add(
    *,
    acting_user: User | None,
    patient: Patient,
    kind: str,
    text: str = "",
    severity: str = PatientAlert.Severity.WARNING,
) -> PatientAlert:
    """Add an alert unless the same kind is already active (idempotent for system alerts)."""
    existing = patient.alerts.filter(kind=kind, is_active=True).first()
    if existing is not None:
        return existing
    alert = PatientAlert(
        patient=patient, kind=kind, text=text, severity=severity, created_by=acting_user
    )
    alert.full_clean()
    alert.save()
    return alert


@transaction.atomic
def patient_alert_resolve(*, acting_user: User, alert: PatientAlert) -> PatientAlert:
    alert.is_active = False
    alert.resolved_at = timezone.now()
    alert.save(update_fields=["is_active", "resolved_at"])
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=alert.patient,
        name="patient_alert_resolve",
        detail={"alert": str(alert)},
    )
    return alert
