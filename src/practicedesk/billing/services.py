"""Billing actions: diagnoses and charges of a visit, claims and their lifecycle.

Each action runs in one transaction, validates first and posts nothing on error.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from practicedesk.billing.ledger import entry_post, entry_reverse, round_money
from practicedesk.billing.models import (
    ZERO,
    Charge,
    Claim,
    ClaimLine,
    ClaimStatusChange,
    LedgerEntry,
    ServiceCode,
    VisitDiagnosis,
    icd10_normalise,
    validate_icd10,
)
from practicedesk.billing.selectors import fee_in_force, open_charges_of_visit
from practicedesk.core.models import AuditEvent, Organization, User
from practicedesk.core.services import audit_event_record, sequence_next
from practicedesk.core.validators import validate_npi
from practicedesk.patients.models import Coverage, Patient
from practicedesk.scheduling.models import Appointment

CLAIM_SEQUENCE = "claim_number"
Status = Claim.Status

CLAIM_NEXT: dict[str, tuple[str, ...]] = {
    Status.DRAFT: (Status.READY, Status.CLOSED),
    Status.READY: (Status.SUBMITTED, Status.DRAFT, Status.CLOSED),
    Status.SUBMITTED: (
        Status.ACCEPTED,
        Status.REJECTED,
        Status.PAID,
        Status.PARTIALLY_PAID,
        Status.DENIED,
    ),
    Status.ACCEPTED: (Status.PAID, Status.PARTIALLY_PAID, Status.DENIED),
    Status.REJECTED: (Status.DRAFT, Status.CLOSED),
    Status.PAID: (Status.CLOSED,),
    Status.PARTIALLY_PAID: (Status.PAID, Status.APPEALED, Status.CLOSED),
    Status.DENIED: (Status.APPEALED, Status.CLOSED, Status.PAID, Status.PARTIALLY_PAID),
    Status.APPEALED: (Status.PAID, Status.PARTIALLY_PAID, Status.DENIED, Status.CLOSED),
    Status.CLOSED: (),
}


def check_billable_patient(patient: Patient) -> None:
    if patient.status == Patient.Status.MERGED:
        raise ValidationError(
            f"{patient} was merged into {patient.merged_into}; post charges on that record."
        )


@transaction.atomic
def visit_diagnoses_set(
    *, acting_user: User, appointment: Appointment, codes: list[str]
) -> list[VisitDiagnosis]:
    """Replace a visit's diagnosis list (1-12 ICD-10-CM codes) while nothing is claimed yet."""
    codes = [icd10_normalise(code) for code in codes if code and code.strip()]
    if not 1 <= len(codes) <= 12:
        raise ValidationError({"codes": "A visit has 1 to 12 diagnoses."})
    if len(set(codes)) != len(codes):
        raise ValidationError({"codes": "A diagnosis is listed twice."})
    errors = []
    for code in codes:
        try:
            validate_icd10(code)
        except ValidationError as error:
            errors.extend(error.messages)
    if errors:
        raise ValidationError({"codes": errors})
    if appointment.claims.exclude(status__in=[Status.DRAFT, Status.REJECTED]).exists():
        raise ValidationError("The visit's claim has been sent; its diagnoses can't change now.")
    appointment.diagnoses.all().delete()
    return [
        VisitDiagnosis.objects.create(appointment=appointment, position=index + 1, code=code)
        for index, code in enumerate(codes)
    ]


@dataclass
class ChargeLine:
    service_code: ServiceCode
    units: int = 1
    modifiers: tuple[str, ...] = ()
    diagnosis_pointers: tuple[int, ...] = (1,)
    place_of_service: str = "11"


@transaction.atomic
def charges_post(
    *, acting_user: User | None, appointment: Appointment, lines: Iterable[ChargeLine]
) -> list[Charge]:
    """Post a checked-out visit's service lines, priced from the practice's fee schedule."""
    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("patient", "provider")
        .get(pk=appointment.pk)
    )
    check_billable_patient(appointment.patient)
    if appointment.status != Appointment.Status.CHECKED_OUT:
        raise ValidationError("Charges are posted from a checked-out visit.")
    lines = list(lines)
    if not lines:
        raise ValidationError("Add at least one service line.")
    diagnosis_count = appointment.diagnoses.count()
    day = timezone.localdate(appointment.start)
    charges = []
    for number, line in enumerate(lines, start=1):
        if len(line.modifiers) > 4:
            raise ValidationError(f"Line {number}: at most 4 modifiers.")
        pointers = list(line.diagnosis_pointers)
        if not 1 <= len(pointers) <= 4:
            raise ValidationError(f"Line {number}: point to 1 to 4 diagnoses.")
        if any(not 1 <= p <= diagnosis_count for p in pointers):
            raise ValidationError(
                f"Line {number}: a diagnosis pointer refers to a diagnosis the visit doesn't "
                f"have (it has {diagnosis_count})."
            )
        if line.units < 1:
            raise ValidationError(f"Line {number}: units must be at least 1.")
        fee = fee_in_force(line.service_code.pk, day)
        if fee is None:
            raise ValidationError(
                f"Line {number}: {line.service_code.code} has no practice fee in force on {day}; "
                "add it to the fee schedule first."
            )
        modifiers = list(line.modifiers) + [""] * (4 - len(line.modifiers))
        charge = Charge(
            appointment=appointment,
            patient=appointment.patient,
            rendering_provider=appointment.provider,
            date_of_service=day,
            service_code=line.service_code,
            modifier1=modifiers[0],
            modifier2=modifiers[1],
            modifier3=modifiers[2],
            modifier4=modifiers[3],
            units=line.units,
            place_of_service=line.place_of_service,
            unit_price=fee.amount,
            amount=round_money(fee.amount * line.units),
            diagnosis_pointers=pointers,
            posted_by=acting_user,
        )
        charge.full_clean()
        charge.save()
        entry_post(
            kind=LedgerEntry.Kind.CHARGE,
            amount=charge.amount,
            responsibility=(
                LedgerEntry.Responsibility.INSURANCE
                if appointment.coverage_id
                else LedgerEntry.Responsibility.PATIENT
            ),
            patient_id=charge.patient_id,
            charge=charge,
            acting_user=acting_user,
            payer=appointment.coverage.payer if appointment.coverage_id else None,
            posted_on=day,
        )
        charges.append(charge)
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=appointment,
        name="charges_post",
        detail={"charges": [c.pk for c in charges]},
    )
    return charges


@transaction.atomic
def charge_reverse(*, acting_user: User, charge: Charge, reason: str) -> Charge:
    """Reverse a posted charge in full: a negative charge and reversals of its ledger entries."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the charge is reversed."})
    charge = Charge.objects.select_for_update().get(pk=charge.pk)
    if charge.reverses_id or Charge.objects.filter(reverses=charge).exists():
        raise ValidationError("This charge is already reversed (or is itself a reversal).")
    if charge.claim_lines.filter(
        claim__status__in=[Status.SUBMITTED, Status.ACCEPTED, Status.PAID, Status.PARTIALLY_PAID]
    ).exists():
        raise ValidationError("This charge is on a claim the payer has; void the claim first.")
    reversal = Charge(
        appointment_id=charge.appointment_id,
        patient_id=charge.patient_id,
        rendering_provider_id=charge.rendering_provider_id,
        date_of_service=charge.date_of_service,
        service_code_id=charge.service_code_id,
        modifier1=charge.modifier1,
        modifier2=charge.modifier2,
        modifier3=charge.modifier3,
        modifier4=charge.modifier4,
        units=charge.units,
        place_of_service=charge.place_of_service,
        unit_price=-charge.unit_price,
        amount=-charge.amount,
        diagnosis_pointers=charge.diagnosis_pointers,
        reverses=charge,
        posted_by=acting_user,
    )
    reversal.save()
    for entry in charge.ledger_entries.filter(reverses__isnull=True, reversed_by__isnull=True):
        entry_reverse(entry=entry, acting_user=acting_user, memo=f"Charge reversed: {reason}")
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=charge,
        name="charge_reverse",
        detail={"reason": reason[:200]},
    )
    return reversal


def claim_status_set(
    *, acting_user: User | None, claim: Claim, to_status: str, note: str = ""
) -> Claim:
    allowed = CLAIM_NEXT.get(claim.status, ())
    if to_status not in allowed:
        raise ValidationError(
            f"A {claim.get_status_display().lower()} claim cannot become "
            f"{Status(to_status).label.lower()}."
        )
    ClaimStatusChange.objects.create(
        claim=claim, from_status=claim.status, to_status=to_status, by=acting_user, note=note[:300]
    )
    claim.status = to_status
    if to_status == Status.SUBMITTED and claim.first_submitted_at is None:
        claim.first_submitted_at = timezone.now()
    claim.save(update_fields=["status", "first_submitted_at"])
    return claim


def coverage_for(appointment: Appointment, order: int) -> Coverage | None:
    day = timezone.localdate(appointment.start)
    for coverage in appointment.patient.coverages.filter(order=order).select_related("payer"):
        if coverage.is_active_on(day):
            return coverage
    return None


@transaction.atomic
def claim_create(
    *,
    acting_user: User | None,
    appointment: Appointment,
    payer_order: int = 1,
    primary_claim: Claim | None = None,
) -> Claim:
    """A claim of a visit's open charges to the coverage of that order on the date of service."""
    check_billable_patient(appointment.patient)
    charges = list(open_charges_of_visit(appointment.pk))
    if not charges:
        raise ValidationError("The visit has no posted charges to claim.")
    if (
        payer_order == 1
        and appointment.claims.filter(payer_order=1).exclude(status=Status.CLOSED).exists()
    ):
        raise ValidationError("This visit already has an open primary claim.")
    coverage = coverage_for(appointment, payer_order)
    if coverage is None:
        which = "primary" if payer_order == 1 else "secondary"
        raise ValidationError(
            f"The patient has no {which} coverage active on the date of service; bill the "
            "patient instead or add the coverage."
        )
    number = f"PD{sequence_next(CLAIM_SEQUENCE):08d}"
    claim = Claim.objects.create(
        claim_number=number,
        appointment=appointment,
        patient=appointment.patient,
        coverage=coverage,
        payer=coverage.payer,
        billing_location=appointment.location,
        rendering_provider=appointment.provider,
        payer_order=payer_order,
        primary_claim=primary_claim,
        date_of_service=timezone.localdate(appointment.start),
        total_charge=sum((charge.amount for charge in charges), ZERO),
        created_by=acting_user,
    )
    ClaimLine.objects.bulk_create(
        ClaimLine(claim=claim, charge=charge, line_number=index)
        for index, charge in enumerate(charges, start=1)
    )
    ClaimStatusChange.objects.create(claim=claim, to_status=Status.DRAFT, by=acting_user)
    audit_event_record(
        action=AuditEvent.Action.ACTION, user=acting_user, obj=claim, name="claim_create"
    )
    return claim


def claim_scrub(claim: Claim) -> list[str]:
    """Every problem that would get the claim rejected, in plain words (empty: clean)."""
    problems = []
    organization = Organization.objects.first()
    provider = claim.rendering_provider
    for label, npi in (
        ("Rendering provider", provider.npi),
        (
            "Billing location",
            claim.billing_location.npi or (organization.npi if organization else ""),
        ),
    ):
        if not npi:
            problems.append(f"{label} has no NPI.")
            continue
        try:
            validate_npi(npi)
        except ValidationError:
            problems.append(f"{label} NPI {npi} is invalid (check digit).")
    diagnoses = {d.position: d.code for d in claim.appointment.diagnoses.all()}
    if not diagnoses:
        problems.append("The visit has no diagnosis.")
    for position, code in diagnoses.items():
        try:
            validate_icd10(code)
        except ValidationError as error:
            problems.append(f"Diagnosis {position} ({code}): {error.messages[0]}")
    pointed = set()
    for line in claim.lines.select_related("charge__service_code"):
        charge = line.charge
        pointers = charge.diagnosis_pointers or []
        if not pointers:
            problems.append(
                f"Line {line.line_number} ({charge.service_code.code}) points to no diagnosis."
            )
        for pointer in pointers:
            if pointer not in diagnoses:
                problems.append(
                    f"Line {line.line_number} points to diagnosis {pointer}, which "
                    "the visit doesn't have."
                )
            pointed.add(pointer)
        if charge.amount <= ZERO:
            problems.append(
                f"Line {line.line_number} ({charge.service_code.code}) has a zero charge."
            )
    for position in sorted(set(diagnoses) - pointed):
        problems.append(
            f"Diagnosis {position} ({diagnoses[position]}) is not pointed to by any "
            "line; point a line to it or remove it."
        )
    coverage = claim.coverage
    if not coverage.is_active_on(claim.date_of_service):
        problems.append(f"{coverage.payer} coverage was not active on {claim.date_of_service}.")
    if not coverage.member_id:
        problems.append("The coverage has no member id.")
    if coverage.relationship != coverage.Relationship.SELF and not (
        coverage.subscriber_first_name
        and coverage.subscriber_last_name
        and coverage.subscriber_date_of_birth
    ):
        problems.append("Subscriber name or date of birth is missing on the coverage.")
    patient = claim.patient
    if not (patient.address_line1 and patient.city and patient.state and patient.postal_code):
        problems.append("The patient's address is incomplete.")
    deadline = claim.date_of_service + datetime.timedelta(days=claim.payer.timely_filing_days)
    if timezone.localdate() > deadline:
        problems.append(f"Past timely filing: {claim.payer} accepts claims until {deadline}.")
    if claim.total_charge <= ZERO:
        problems.append("The claim's total charge is zero.")
    return problems


@transaction.atomic
def claim_mark_ready(*, acting_user: User, claim: Claim) -> Claim:
    """Scrub the claim; only a clean claim becomes ready to submit."""
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    problems = claim_scrub(claim)
    if problems:
        raise ValidationError(problems)
    return claim_status_set(acting_user=acting_user, claim=claim, to_status=Status.READY)
