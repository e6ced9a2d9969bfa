"""Billing actions: diagnoses and charges of a visit, claims and their lifecycle.

Each action runs in one transaction, validates first and posts nothing on error.
"""

import datetime
import re
from calendar import monthrange
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Value, prefetch_related_objects
from django.db.models.functions import Coalesce
from django.utils import timezone

from practicedesk.billing.ledger import (
    entry_post,
    entry_reverse,
    money,
    round_money,
    transfer_to_insurance,
)
from practicedesk.billing.models import (
    ZERO,
    Charge,
    Claim,
    ClaimBatch,
    ClaimLine,
    ClaimStatusChange,
    CollectionCase,
    CollectionStageChange,
    EligibilityCheck,
    Fee,
    FeeSchedule,
    FinancialAssistanceApproval,
    LedgerEntry,
    Payment,
    PaymentPlan,
    PlanInstalment,
    ServiceCode,
    VisitDiagnosis,
    icd10_normalise,
    validate_icd10,
)
from practicedesk.billing.selectors import (
    charge_balance,
    charge_owed,
    charges_owed_by_patient,
    charges_owed_by_payer,
    fee_in_force,
    fee_schedule_in_force,
    fees_of_schedule_with_payer_amounts,
    financial_assistance_band_for,
    open_charges_of_visit,
    patient_balance,
    payment_credit,
    plan_schedule,
    poverty_guideline,
)
from practicedesk.billing.x12 import claim837
from practicedesk.billing.x12.eligibility import (
    Answer,
    Envelope,
    Inquiry,
    Person,
    X12FileError,
    inquiries_270,
    read_271,
    validate_270,
)
from practicedesk.billing.x12.validate import validate_837
from practicedesk.core.models import AuditEvent, Organization, User
from practicedesk.core.permissions import can
from practicedesk.core.services import audit_event_record, sequence_next
from practicedesk.core.validators import validate_npi
from practicedesk.patients.models import Coverage, Patient, PatientAlert, Payer
from practicedesk.patients.services import patient_alert_add
from practicedesk.scheduling.models import Appointment, Provider

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
    rendering_provider: Provider | None = None  # None: the visit's provider


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
            rendering_provider=line.rendering_provider or appointment.provider,
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
        if (
            entry.kind == LedgerEntry.Kind.PAYMENT
            and entry.payment_id
            and (entry.responsibility == LedgerEntry.Responsibility.PATIENT)
        ):
            # The patient's money stays theirs: it goes back on account as credit.
            entry_post(
                kind=LedgerEntry.Kind.PAYMENT,
                amount=entry.amount,
                responsibility=LedgerEntry.Responsibility.PATIENT,
                patient_id=entry.patient_id,
                payment_id=entry.payment_id,
                acting_user=acting_user,
                memo="Credit from a reversed charge",
            )
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=charge,
        name="charge_reverse",
        detail={"reason": reason[:200]},
    )
    return reversal


def claim_move_refused(claim: Claim, to_status: str) -> str:
    """Why the claim cannot move to ``to_status`` (its lifecycle, CLAIM_NEXT), or ""."""
    if to_status in CLAIM_NEXT.get(claim.status, ()):
        return ""
    return (
        f"A {claim.get_status_display().lower()} claim cannot become "
        f"{Status(to_status).label.lower()}."
    )


def claim_status_set(
    *, acting_user: User | None, claim: Claim, to_status: str, note: str = ""
) -> Claim:
    refused = claim_move_refused(claim, to_status)
    if refused:
        raise ValidationError(refused)
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
    prefetch_related_objects([claim], "appointment__diagnoses", claim837.claim_lines_prefetch())
    return claim_problems(claim, Organization.objects.first())


def claim_problems(claim: Claim, organization: Organization | None) -> list[str]:
    """The scrubber's findings on a claim whose visit diagnoses and lines are loaded (by
    ``claim_scrub``, or for a whole batch by ``claim837.claims_with_837_data``)."""
    problems = []
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
    for line in claim.lines.all():
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
    problems.extend(claim_837_problems(claim))
    return problems


@transaction.atomic
def claim_mark_ready(*, acting_user: User, claim: Claim) -> Claim:
    """Scrub the claim; only a clean claim becomes ready to submit."""
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    problems = claim_scrub(claim)
    if problems:
        raise ValidationError(problems)
    return claim_status_set(acting_user=acting_user, claim=claim, to_status=Status.READY)


# Fee schedules: bulk update of the practice's fees


class FeeBulkMode(models.TextChoices):
    PERCENTAGE = "percentage", "By a percentage"
    PAYER_MULTIPLE = "payer_multiple", "A multiple of a payer's allowed amounts"


@dataclass(frozen=True)
class FeeChange:
    service_code: ServiceCode
    old: Decimal
    new: Decimal
    note: str = ""

    @property
    def changed(self) -> bool:
        return self.old != self.new


@dataclass(frozen=True)
class FeeBulkPreview:
    mode: str
    effective_from: datetime.date
    base_schedule: FeeSchedule
    payer: Payer | None
    percentage: Decimal | None
    multiple: Decimal | None
    changes: list[FeeChange]

    @property
    def changed_count(self) -> int:
        return sum(1 for change in self.changes if change.changed)

    @property
    def kept_count(self) -> int:
        return len(self.changes) - self.changed_count

    @property
    def description(self) -> str:
        if self.mode == FeeBulkMode.PERCENTAGE:
            return f"{self.percentage:+}% on the fees of {self.base_schedule}"
        return f"{self.multiple} × {self.payer} allowed amounts"


def fee_schedule_bulk_preview(
    *,
    mode: str,
    effective_from: datetime.date,
    percentage: Decimal | None = None,
    payer: Payer | None = None,
    multiple: Decimal | None = None,
) -> FeeBulkPreview:
    """What a bulk update of the practice's fees would set, code by code, changing nothing.

    The new fees start from the practice schedule in force on ``effective_from``; each is
    rounded half-up to the cent. A code without the chosen payer's amount keeps its fee.
    """
    if effective_from is None or effective_from < timezone.localdate():
        raise ValidationError(
            {"effective_from": "New fees take effect today or later; history is never rewritten."}
        )
    if mode == FeeBulkMode.PERCENTAGE:
        if percentage is None:
            raise ValidationError({"percentage": "Enter the change in percent, e.g. 3.5."})
        if not Decimal("-99.99") <= percentage <= Decimal("1000"):
            raise ValidationError({"percentage": "A change between -99.99% and +1000%."})
    elif mode == FeeBulkMode.PAYER_MULTIPLE:
        if payer is None:
            raise ValidationError({"payer": "Choose the payer whose allowed amounts to use."})
        if multiple is None or not Decimal("0") < multiple <= Decimal("20"):
            raise ValidationError({"multiple": "A multiple above 0 and at most 20, e.g. 1.4."})
    else:
        raise ValidationError({"mode": "Choose how to change the fees."})
    base = fee_schedule_in_force(effective_from)
    if base is None:
        raise ValidationError(
            f"No practice fee schedule is in force on {effective_from}; create one first."
        )
    if base.effective_from == effective_from:
        raise ValidationError(
            {
                "effective_from": f"“{base}” already starts on {effective_from}; change its "
                "fees, or choose another date."
            }
        )
    payer_id = payer.pk if payer is not None else None
    fees = fees_of_schedule_with_payer_amounts(
        base, effective_from, payer_id if mode == FeeBulkMode.PAYER_MULTIPLE else None
    )
    changes = []
    for fee in fees:
        if mode == FeeBulkMode.PERCENTAGE:
            new = round_money(fee.amount * (Decimal(100) + percentage) / Decimal(100))
            changes.append(FeeChange(fee.service_code, fee.amount, new))
        elif fee.payer_amount is None:
            changes.append(
                FeeChange(
                    fee.service_code,
                    fee.amount,
                    fee.amount,
                    f"{payer} has no allowed amount for it on {effective_from}; fee kept.",
                )
            )
        else:
            changes.append(
                FeeChange(fee.service_code, fee.amount, round_money(fee.payer_amount * multiple))
            )
    if not changes:
        raise ValidationError(f"“{base}” has no fees to change.")
    return FeeBulkPreview(
        mode=mode,
        effective_from=effective_from,
        base_schedule=base,
        payer=payer if mode == FeeBulkMode.PAYER_MULTIPLE else None,
        percentage=percentage if mode == FeeBulkMode.PERCENTAGE else None,
        multiple=multiple if mode == FeeBulkMode.PAYER_MULTIPLE else None,
        changes=changes,
    )


@transaction.atomic
def fee_schedule_bulk_update(
    *,
    acting_user: User,
    mode: str,
    effective_from: datetime.date,
    percentage: Decimal | None = None,
    payer: Payer | None = None,
    multiple: Decimal | None = None,
    name: str = "",
) -> FeeSchedule:
    """Apply a bulk update as a NEW practice fee schedule from ``effective_from``.

    The schedule it replaces ends the day before; no fee of any schedule is edited, so every
    date keeps the prices it had (and posted charges store their own unit price anyway).
    """
    # One bulk update at a time: the practice's schedules are locked while the new one is made.
    list(
        FeeSchedule.objects.select_for_update()
        .filter(payer__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    preview = fee_schedule_bulk_preview(
        mode=mode,
        effective_from=effective_from,
        percentage=percentage,
        payer=payer,
        multiple=multiple,
    )
    base = preview.base_schedule
    ends = [day for day in (base.effective_to,) if day is not None]
    next_start = (
        FeeSchedule.objects.filter(payer__isnull=True, effective_from__gt=effective_from)
        .order_by("effective_from")
        .values_list("effective_from", flat=True)
        .first()
    )
    if next_start is not None:
        ends.append(next_start - datetime.timedelta(days=1))
    schedule = FeeSchedule(
        name=(name or f"Practice fees from {effective_from}")[:120],
        payer=None,
        effective_from=effective_from,
        effective_to=min(ends) if ends else None,
    )
    schedule.full_clean()
    schedule.save()
    base.effective_to = effective_from - datetime.timedelta(days=1)
    base.save(update_fields=["effective_to"])
    for change in preview.changes:
        fee = Fee(fee_schedule=schedule, service_code=change.service_code, amount=change.new)
        fee.full_clean()
        fee.save()
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=schedule,
        name="fee_schedule_bulk_update",
        detail={
            "mode": mode,
            "percentage": str(percentage) if preview.percentage is not None else None,
            "payer": payer.pk if preview.payer is not None else None,
            "multiple": str(multiple) if preview.multiple is not None else None,
            "replaces": base.pk,
            "changed": preview.changed_count,
            "kept": preview.kept_count,
        },
    )
    return schedule


# Eligibility (270 out, 271 in)

ELIGIBILITY_TRACE_SEQUENCE = "eligibility_trace"
X12_INTERCHANGE_SEQUENCE = "x12_interchange"


@dataclass
class EligibilityRequest:
    text: str
    checks: list[EligibilityCheck]
    skipped: list[str]


def eligibility_coverage(appointment: Appointment) -> Coverage | None:
    if appointment.coverage_id:
        return appointment.coverage
    return coverage_for(appointment, 1)


def eligibility_inquiry(check: EligibilityCheck, day: datetime.date) -> Inquiry:
    coverage = check.coverage
    patient = coverage.patient
    patient_person = Person(
        patient.last_name, patient.first_name, patient.date_of_birth, patient.sex_at_birth
    )
    if coverage.relationship == Coverage.Relationship.SELF:
        return Inquiry(
            trace_number=check.trace_number,
            payer_name=coverage.payer.name,
            payer_id=coverage.payer.payer_id,
            member_id=coverage.member_id,
            subscriber=patient_person,
            service_date=day,
        )
    return Inquiry(
        trace_number=check.trace_number,
        payer_name=coverage.payer.name,
        payer_id=coverage.payer.payer_id,
        member_id=coverage.member_id,
        subscriber=Person(
            coverage.subscriber_last_name,
            coverage.subscriber_first_name,
            coverage.subscriber_date_of_birth,
            coverage.subscriber_sex,
        ),
        service_date=day,
        patient=patient_person,
    )


@transaction.atomic
def eligibility_request(
    *, acting_user: User | None, appointments: Iterable[Appointment]
) -> EligibilityRequest:
    """Write one 270 asking each appointment's payer about its coverage on the visit's date.

    An ``EligibilityCheck`` (with the TRN trace number the 271 will echo) is recorded per
    coverage asked about. Appointments that can't be asked about are listed in ``skipped``
    with the reason. The file is validated with pyx12 before anything is kept.
    """
    organization = Organization.objects.first()
    if organization is None or not organization.npi:
        raise ValidationError(
            "Enter the practice's group NPI (Administration → Organization) first: a 270 "
            "names the practice by it."
        )
    checks: list[EligibilityCheck] = []
    inquiries: list[Inquiry] = []
    skipped: list[str] = []
    for appointment in appointments:
        label = f"{appointment.patient} at {timezone.localtime(appointment.start):%Y-%m-%d %H:%M}"
        if appointment.status in Appointment.RELEASED_STATUSES:
            skipped.append(f"{label}: the appointment is {appointment.get_status_display()}.")
            continue
        coverage = eligibility_coverage(appointment)
        if coverage is None:
            skipped.append(f"{label}: no insurance coverage to ask about.")
            continue
        payer = coverage.payer
        if payer.payer_type == Payer.Type.SELF_PAY:
            skipped.append(f"{label}: self-pay.")
            continue
        if not payer.payer_id:
            skipped.append(f"{label}: {payer} has no payer id; add it on the payer's page.")
            continue
        check = EligibilityCheck(
            coverage=coverage,
            appointment=appointment,
            trace_number=f"PD{sequence_next(ELIGIBILITY_TRACE_SEQUENCE):010d}",
        )
        check.full_clean()
        check.save()
        checks.append(check)
        inquiries.append(eligibility_inquiry(check, timezone.localdate(appointment.start)))
    if not inquiries:
        raise ValidationError(
            "No appointment could be asked about: " + " ".join(skipped)
            if skipped
            else "There are no appointments to ask about."
        )
    # Control numbers are shared with the 837 files: one counter per sender, never reused.
    control = sequence_next(X12_INTERCHANGE_SEQUENCE)
    envelope = Envelope(
        sender_id=settings.X12_SENDER_ID,
        receiver_id=settings.X12_RECEIVER_ID,
        usage_indicator=settings.X12_USAGE_INDICATOR,
        interchange_control_number=control,
        group_control_number=sequence_next(X12_GROUP_SEQUENCE),
        created=timezone.localtime(),
        provider_name=organization.legal_name or organization.name,
        provider_npi=organization.npi,
        trace_assigner="1" + re.sub(r"\D", "", organization.tax_id)[:9],
    )
    text = inquiries_270(envelope=envelope, inquiries=inquiries)
    problems = validate_270(text)
    if problems:
        raise ValidationError(["The 270 failed validation; nothing was kept.", *problems[:10]])
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        name="eligibility_request",
        detail={"checks": [check.pk for check in checks], "interchange": control},
    )
    return EligibilityRequest(text=text, checks=checks, skipped=skipped)


@dataclass
class EligibilityImport:
    recorded: list[EligibilityCheck]
    unmatched: list[str]
    already: list[str]

    @property
    def summary(self) -> str:
        parts = [f"{len(self.recorded)} recorded"]
        if self.unmatched:
            parts.append(f"{len(self.unmatched)} matched no inquiry of ours")
        if self.already:
            parts.append(f"{len(self.already)} already recorded")
        return ", ".join(parts) + "."


def eligibility_check_for_answer(answer: Answer) -> EligibilityCheck | None:
    """The check an answer is about: by the trace number we sent, else by member id + payer."""
    checks = EligibilityCheck.objects.select_related("coverage__payer", "appointment")
    if answer.trace_numbers:
        check = checks.filter(trace_number__in=answer.trace_numbers).first()
        if check is not None:
            return check
    if answer.member_id and answer.payer_id:
        return (
            checks.filter(
                coverage__member_id__iexact=answer.member_id,
                coverage__payer__payer_id__iexact=answer.payer_id,
                status=EligibilityCheck.Status.REQUESTED,
            )
            .order_by("-requested_at", "-pk")
            .first()
        )
    return None


def eligibility_note(check: EligibilityCheck, day: datetime.date) -> str:
    text = f"Eligibility checked on {day:%Y-%m-%d}: "
    if check.status == EligibilityCheck.Status.ACTIVE:
        text += "active"
        if check.copay is not None:
            text += f", copay ${check.copay:,.2f}"
        if check.deductible_remaining is not None:
            text += f", deductible remaining ${check.deductible_remaining:,.2f}"
    elif check.status == EligibilityCheck.Status.INACTIVE:
        text += f"INACTIVE — {check.coverage.payer} says the coverage is not active"
    else:
        text += f"no answer — {check.message or 'the payer could not answer'}"
    return text[:200]


@transaction.atomic
def eligibility_import(
    *, acting_user: User | None, data: bytes | str, filename: str = ""
) -> EligibilityImport:
    """Record what a 271 file says on the checks it answers, and note it on the appointments.

    An answer that is inactive (or that the payer could not give) flags the appointment for
    the front desk. A file that is not a sound 271 is refused whole, with the reason, and
    nothing changes.
    """
    try:
        response = read_271(data)
    except X12FileError as error:
        raise ValidationError(str(error)) from None
    now = timezone.now()
    today = timezone.localdate()
    result = EligibilityImport(recorded=[], unmatched=[], already=[])
    for answer in response.answers:
        who = " ".join(part for part in (answer.first_name, answer.last_name) if part)
        label = (
            f"{who or 'a subscriber'} (member {answer.member_id or '—'}, "
            f"trace {', '.join(answer.trace_numbers) or '—'}) at {answer.payer_name or 'a payer'}"
        )
        check = eligibility_check_for_answer(answer)
        if check is None:
            result.unmatched.append(f"{label}: no inquiry of ours has this trace or member id.")
            continue
        check = EligibilityCheck.objects.select_for_update().get(pk=check.pk)
        if check.answered_at is not None:
            result.already.append(f"{label}: already recorded on {check.answered_at:%Y-%m-%d}.")
            continue
        check.status = answer.status
        check.answered_at = now
        check.plan_begin = answer.plan_begin
        check.plan_end = answer.plan_end
        check.copay = answer.copay
        check.deductible = answer.deductible
        check.deductible_remaining = answer.deductible_remaining
        check.message = answer.message[:300]
        check.response = "\n".join(answer.segments)
        check.full_clean()
        check.save()
        appointment = check.appointment
        if appointment is not None:
            appointment.eligibility_note = eligibility_note(check, today)
            fields = ["eligibility_note"]
            if check.status != EligibilityCheck.Status.ACTIVE:
                appointment.needs_attention = True
                fields.append("needs_attention")
            appointment.save(update_fields=fields)
        result.recorded.append(check)
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        name="eligibility_import",
        detail={
            "file": filename[:100],
            "interchange": response.interchange_control_number,
            "recorded": [check.pk for check in result.recorded],
            "unmatched": len(result.unmatched),
        },
    )
    return result


# Claims out: what an 837P needs, secondary claims, lifecycle steps, the 837P batch

X12_GROUP_SEQUENCE = "x12_group"
ADJUDICATED = (Status.PAID, Status.PARTIALLY_PAID, Status.DENIED, Status.APPEALED, Status.CLOSED)
# Lifecycle steps a biller takes by hand on the claim's page; the rest come from the
# scrubber (ready), the export (submitted) and remittances (paid, denied...).
MANUAL_STEPS = (Status.DRAFT, Status.APPEALED, Status.CLOSED)


def claim_837_problems(claim: Claim) -> list[str]:
    """What the 837P needs beyond the scrubber's clinical and coverage checks (reads the
    claim's lines as ``claim_problems`` has them loaded)."""
    problems = []
    if not claim.payer.payer_id:
        problems.append(f"{claim.payer} has no payer id; add it on the payer's page.")
    line_count = len(claim.lines.all())
    if line_count > claim837.MAX_LINES:
        problems.append(
            f"The claim has {line_count} lines; an electronic claim takes at most "
            f"{claim837.MAX_LINES}. Split the visit's charges over two claims."
        )
    if claim.payer_order > 1:
        primary = claim.primary_claim
        if primary is None:
            problems.append("A secondary claim must name the primary claim it follows.")
        elif primary.status not in ADJUDICATED:
            problems.append(
                f"The primary claim {primary.claim_number} is "
                f"{primary.get_status_display().lower()}; send the secondary claim after "
                "the primary payer has paid."
            )
    return problems


@transaction.atomic
def claim_secondary_create(*, acting_user: User, primary: Claim) -> Claim:
    """After the primary payer has paid all or part of a claim, a claim of the same visit to
    the patient's secondary coverage. Its 837P carries what the primary payer paid and
    adjusted, line by line (2320/2330 and 2430 loops)."""
    if primary.payer_order != 1:
        raise ValidationError("A secondary claim follows a primary claim.")
    if primary.status not in (Status.PAID, Status.PARTIALLY_PAID):
        raise ValidationError(
            f"Claim {primary.claim_number} is {primary.get_status_display().lower()}; a "
            "secondary claim is sent once the primary payer has paid."
        )
    if primary.secondary_claims.exclude(status=Status.CLOSED).exists():
        raise ValidationError(f"Claim {primary.claim_number} already has a secondary claim.")
    secondary = claim_create(
        acting_user=acting_user,
        appointment=primary.appointment,
        payer_order=2,
        primary_claim=primary,
    )
    # What the primary payer left to the patient is now billed to the secondary payer.
    for line in secondary.lines.select_related("charge"):
        owed = charge_balance(line.charge_id, LedgerEntry.Responsibility.PATIENT)
        if owed > ZERO:
            transfer_to_insurance(
                charge=line.charge,
                claim=secondary,
                payer=secondary.payer,
                amount=owed,
                acting_user=acting_user,
                memo=f"Billed to {secondary.payer} (secondary)",
            )
    return secondary


@transaction.atomic
def claim_step(*, acting_user: User, claim: Claim, to_status: str, note: str = "") -> Claim:
    """A lifecycle step taken by hand: back to draft, appeal a denial, or close."""
    if to_status not in MANUAL_STEPS:
        raise ValidationError(
            "That status is set by the scrubber, the claim export or a remittance, not by hand."
        )
    if to_status == Status.APPEALED and not note.strip():
        raise ValidationError({"note": "Say what the appeal argues (it goes in the history)."})
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    from_status = claim.status
    claim = claim_status_set(acting_user=acting_user, claim=claim, to_status=to_status, note=note)
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=claim,
        name=f"claim_{to_status}",
        detail={"from": from_status, "note": note[:200]},
    )
    return claim


# Progress of an export is reported every this many claims (a report is a database write).
EXPORT_PROGRESS_STEP = 500


def practice_envelope(organization: Organization, *, icn: int, gcn: int) -> claim837.Envelope:
    return claim837.Envelope(
        sender_id=settings.X12_SENDER_ID,
        receiver_id=settings.X12_RECEIVER_ID,
        receiver_name=getattr(settings, "X12_RECEIVER_NAME", "") or settings.X12_RECEIVER_ID,
        usage_indicator=settings.X12_USAGE_INDICATOR,
        interchange_control_number=icn,
        group_control_number=gcn,
        created=timezone.localtime(),
        submitter_name=organization.legal_name or organization.name,
        submitter_contact=f"{organization.name} billing",
        submitter_phone=organization.phone,
        submitter_email=organization.email,
    )


@transaction.atomic
def claims_export(
    *, acting_user: User | None, payer: Payer | None = None, progress=None
) -> ClaimBatch:
    """Write every ready claim (of one payer, or all) into one 837P batch and submit them.

    Each claim is scrubbed again; one that fails now is left ready and listed, with its
    problems, in the returned batch's ``skipped`` (claim number, problems). The file is
    checked with pyx12 against the 005010X222A1 map: any error refuses the whole export, and
    nothing is marked submitted. ``progress(current, total, message)`` hears how far it is.
    """

    def report(current: int, total: int, message: str) -> None:
        if progress is not None:
            progress(current, total, message)

    organization = Organization.objects.first()
    if organization is None:
        raise ValidationError(
            "Enter the practice's details (Administration → Organization) first: a claim "
            "file names the practice as its submitter."
        )
    ready = Claim.objects.filter(status=Status.READY)
    if payer is not None:
        ready = ready.filter(payer=payer)
    ids = list(ready.select_for_update().order_by("pk").values_list("pk", flat=True))
    if not ids:
        which = f" for {payer}" if payer is not None else ""
        raise ValidationError(
            f"There are no ready claims{which} to export; mark claims ready first."
        )
    claims = list(claim837.claims_with_837_data(Claim.objects.filter(pk__in=ids)).order_by("pk"))
    total = len(claims)
    exported: list[Claim] = []
    skipped: list[tuple[str, list[str]]] = []
    data: list[claim837.Claim837] = []
    report(0, total, f"Scrubbing {total} ready claim{'s' if total != 1 else ''}")
    for index, claim in enumerate(claims, start=1):
        problems = claim_problems(claim, organization)
        if problems:
            skipped.append((claim.claim_number, problems))
        else:
            data.append(claim837.claim_837_data(claim, organization))
            exported.append(claim)
        if index % EXPORT_PROGRESS_STEP == 0 or index == total:
            report(index, total, f"Scrubbed {index} of {total}")
    if not exported:
        raise ValidationError(
            [
                "None of the ready claims passes the scrubber now; nothing was exported.",
                *(f"{number}: {' '.join(problems)}" for number, problems in skipped),
            ]
        )
    icn = sequence_next(X12_INTERCHANGE_SEQUENCE)
    gcn = sequence_next(X12_GROUP_SEQUENCE)
    try:
        text = claim837.claims_837(
            envelope=practice_envelope(organization, icn=icn, gcn=gcn), claims=data
        )
    except claim837.ClaimFileError as error:
        raise ValidationError(str(error)) from error
    report(total, total, "Checking the file with pyx12")
    errors = validate_837(text)
    if errors:
        raise ValidationError(
            ["The 837P file failed validation; no claim was submitted.", *errors[:20]]
        )
    batch = ClaimBatch.objects.create(
        interchange_control_number=icn,
        group_control_number=gcn,
        payer=payer,
        claim_count=len(exported),
        total_charge=sum((claim.total_charge for claim in exported), ZERO),
        content=text,
        created_by=acting_user,
    )
    submitted_at = claims_submit(
        acting_user=acting_user, claims=exported, batch=batch, note=f"837P batch {icn:09d}"
    )
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=batch,
        name="claims_export",
        detail={
            "interchange": icn,
            "group": gcn,
            "claims": [claim.claim_number for claim in exported],
            "skipped": dict(skipped),
            # The claims change in bulk, which django-auditlog does not see: this event is
            # their change record (with one ClaimStatusChange row per claim).
            "changed": {
                "status": [Status.READY.value, Status.SUBMITTED.value],
                "batch": batch.pk,
                "first_submitted_at": submitted_at.isoformat(),
            },
        },
    )
    report(total, total, f"Done: {len(exported)} submitted, {len(skipped)} skipped")
    batch.skipped = skipped
    return batch


def claims_submit(
    *, acting_user: User | None, claims: list[Claim], batch: ClaimBatch, note: str
) -> datetime.datetime:
    """Mark ready ``claims`` submitted in ``batch`` with a constant number of queries: one
    UPDATE of the claims and one bulk insert of their status changes (split in batches only
    where the database caps a query's parameters, as SQLite does). A claim submitted for the
    first time gets ``first_submitted_at`` now; that time is returned.

    The bulk writes send no model signals, so django-auditlog records no per-claim change:
    the caller records one audit event for the batch.
    """
    not_ready = [claim.claim_number for claim in claims if claim.status != Status.READY]
    if not_ready:
        raise ValidationError(f"Only ready claims can be submitted: {', '.join(not_ready)}.")
    now = timezone.now()
    Claim.objects.filter(pk__in=[claim.pk for claim in claims]).update(
        batch=batch,
        status=Status.SUBMITTED,
        first_submitted_at=Coalesce("first_submitted_at", Value(now)),
    )
    ClaimStatusChange.objects.bulk_create(
        ClaimStatusChange(
            claim=claim,
            from_status=Status.READY,
            to_status=Status.SUBMITTED,
            by=acting_user,
            note=note[:300],
        )
        for claim in claims
    )
    for claim in claims:
        claim.batch = batch
        claim.status = Status.SUBMITTED
        claim.first_submitted_at = claim.first_submitted_at or now
    return now


# Payments: receipt and allocation, credit, refunds, returned checks (NSF), write-offs,
# collections, payment plans, financial assistance.
#
# A patient payment is posted in full when it is received: PAYMENT entries (negative, patient
# responsibility) on the charges it pays and, for what is left, one on account (no charge).
# Its unapplied credit is minus the sum of its entries on account, never a stored number;
# applying credit later posts a PAYMENT on the charge and the opposite on account, a refund
# posts a REFUND on account. So the patient balance is always the sum of the entries, credit
# included. A payer's payment is applied in full to that payer's charges: payer money is
# never held on a patient's account.

PAYMENT_RECEIPT_SEQUENCE = "payment_receipt"
OLDEST_FIRST = "oldest_first"
KEEP_AS_CREDIT = "none"
MAX_PLAN_INSTALMENTS = 120
PATIENT_RESPONSIBILITY = LedgerEntry.Responsibility.PATIENT
INSURANCE_RESPONSIBILITY = LedgerEntry.Responsibility.INSURANCE

Allocation = str | Iterable[tuple[Charge, Decimal]]


def money_amount(value, field: str = "amount", *, what: str = "The amount") -> Decimal:
    """A positive amount of money in cents, or a ValidationError keyed on ``field``."""
    if value is None or value == "":
        raise ValidationError({field: f"{what} is required."})
    try:
        amount = money(value)
    except (InvalidOperation, ValueError):
        raise ValidationError({field: f"{what} is not an amount of money."}) from None
    except ValidationError as error:
        raise ValidationError({field: error.messages}) from None
    if amount <= ZERO:
        raise ValidationError({field: f"{what} must be more than 0.00 (it is {amount})."})
    return amount


def patient_locked(patient: Patient) -> Patient:
    """The patient row, locked: postings to one account are serialized so two desks can't
    apply the same balance twice."""
    return Patient.objects.select_for_update().get(pk=patient.pk)


def payment_locked(payment: Payment) -> Payment:
    return (
        Payment.objects.select_for_update(of=("self",))
        .select_related("patient", "payer")
        .get(pk=payment.pk)
    )


def allocation_plan(
    *,
    allocation: Allocation,
    available: Decimal,
    patient: Patient | None,
    payer: Payer | None,
) -> list[tuple[Charge, Decimal]]:
    """Which charges get how much of ``available``: oldest date of service first, or as given.

    Never more than a charge's open balance (the patient's, or the payer's for a payer
    payment) and never more than ``available``; a refusal names the line that broke the rule.
    """
    if allocation == KEEP_AS_CREDIT:
        return []
    if patient is not None:
        owed_charges = charges_owed_by_patient(patient.pk)
    else:
        owed_charges = charges_owed_by_payer(payer.pk)
    if allocation == OLDEST_FIRST:
        plan, left = [], available
        for charge in owed_charges:
            if left <= ZERO:
                break
            amount = min(charge.owed, left)
            plan.append((charge, amount))
            left -= amount
        return plan
    if isinstance(allocation, str):
        raise ValidationError(f"Unknown allocation {allocation!r}.")
    owed = {charge.pk: charge for charge in owed_charges}
    wanted: dict[int, Decimal] = {}
    charges: dict[int, Charge] = {}
    for charge, value in allocation:
        amount = money_amount(value, "allocation", what=f"The amount for {charge}")
        wanted[charge.pk] = wanted.get(charge.pk, ZERO) + amount
        charges[charge.pk] = charge
    whose = "the patient" if patient is not None else str(payer)
    for pk, amount in wanted.items():
        charge = charges[pk]
        if patient is not None and charge.patient_id != patient.pk:
            raise ValidationError({"allocation": f"{charge} is not {patient}'s charge."})
        open_balance = owed[pk].owed if pk in owed else ZERO
        if amount > open_balance:
            raise ValidationError(
                {
                    "allocation": f"{amount} is more than {whose} owes on {charge} "
                    f"({open_balance}); a payment is never applied beyond a charge's balance."
                }
            )
    total = sum(wanted.values(), ZERO)
    if total > available:
        raise ValidationError(
            {
                "allocation": f"The amounts applied add up to {total}, more than the "
                f"{available} available; nothing was posted."
            }
        )
    return [(charges[pk], amount) for pk, amount in wanted.items()]


def payment_allocation_post(
    *,
    payment: Payment,
    plan: list[tuple[Charge, Decimal]],
    acting_user: User | None,
    posted_on: datetime.date,
    memo: str,
) -> list[LedgerEntry]:
    entries = []
    for charge, amount in plan:
        if payment.payer_id:
            links = {"payer": payment.payer, "responsibility": INSURANCE_RESPONSIBILITY}
        else:
            links = {"responsibility": PATIENT_RESPONSIBILITY}
        entries.append(
            entry_post(
                kind=LedgerEntry.Kind.PAYMENT,
                amount=-amount,
                patient_id=charge.patient_id,
                charge=charge,
                payment=payment,
                acting_user=acting_user,
                posted_on=posted_on,
                memo=f"{memo} — {charge}"[:200],
                **links,
            )
        )
    return entries


@transaction.atomic
def payment_receive(
    *,
    acting_user: User | None,
    amount,
    method: str,
    location,
    patient: Patient | None = None,
    payer: Payer | None = None,
    received_on: datetime.date | None = None,
    check_number: str = "",
    routing_number: str = "",
    reference: str = "",
    allocation: Allocation = OLDEST_FIRST,
    plan: PaymentPlan | None = None,
    remittance=None,
    memo: str = "",
) -> Payment:
    """Record money received and post it: on the charges it pays (oldest date of service first,
    or as given by hand) and, for a patient, the rest on account as unapplied credit."""
    amount = money_amount(amount, what="The payment")
    if (patient is None) == (payer is None):
        raise ValidationError("A payment comes from either a patient or a payer.")
    today = timezone.localdate()
    received_on = received_on or today
    if received_on > today:
        raise ValidationError({"received_on": "A payment cannot be received in the future."})
    if method not in Payment.Method.values:
        raise ValidationError({"method": "Choose cash, check, card or EFT."})
    if patient is not None:
        patient = patient_locked(patient)
        check_billable_patient(patient)
        if (
            method == Payment.Method.CHECK
            and patient.alerts.filter(
                kind=PatientAlert.Kind.CHECKS_NOT_ACCEPTED, is_active=True
            ).exists()
        ):
            raise ValidationError(
                {
                    "method": f"{patient} may not pay by check (a check was returned); "
                    "take cash, card or EFT."
                }
            )
    if payer is not None:
        # One payer payment at a time is applied to that payer's charges.
        payer = Payer.objects.select_for_update().get(pk=payer.pk)
    if plan is not None:
        plan = PaymentPlan.objects.select_for_update().get(pk=plan.pk)
        if patient is None or plan.patient_id != patient.pk:
            raise ValidationError({"plan": "The payment plan is another patient's."})
        if plan.status not in (PaymentPlan.Status.ACTIVE, PaymentPlan.Status.DELINQUENT):
            raise ValidationError(
                {"plan": f"The payment plan is {plan.get_status_display().lower()}, not running."}
            )
    payment = Payment(
        receipt_number=f"RC{sequence_next(PAYMENT_RECEIPT_SEQUENCE):08d}",
        patient=patient,
        payer=payer,
        method=method,
        amount=amount,
        check_number=check_number.strip(),
        routing_number=re.sub(r"\s", "", routing_number),
        reference=reference.strip(),
        received_on=received_on,
        location=location,
        received_by=acting_user,
        remittance=remittance,
        plan=plan,
        memo=memo[:200],
    )
    payment.full_clean()
    applied = allocation_plan(allocation=allocation, available=amount, patient=patient, payer=payer)
    remainder = amount - sum((part for _, part in applied), ZERO)
    if payer is not None and remainder > ZERO:
        raise ValidationError(
            {
                "amount": f"The payment of {amount} is larger than what it is applied to "
                f"({amount - remainder}); {payer} owes no more on these charges. A payer's money "
                "is never held on a patient account: return the difference or post the "
                "remittance."
            }
        )
    payment.save()
    payment_allocation_post(
        payment=payment,
        plan=applied,
        acting_user=acting_user,
        posted_on=received_on,
        memo=f"Receipt {payment.receipt_number}",
    )
    if remainder > ZERO:
        entry_post(
            kind=LedgerEntry.Kind.PAYMENT,
            amount=-remainder,
            responsibility=PATIENT_RESPONSIBILITY,
            patient_id=patient.pk,
            payment=payment,
            acting_user=acting_user,
            posted_on=received_on,
            memo=f"Receipt {payment.receipt_number} — unapplied credit",
        )
    if plan is not None:
        payment_plan_refresh(plan=plan, today=today, acting_user=acting_user)
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=payment,
        name="payment_receive",
        detail={
            "amount": str(amount),
            "method": method,
            "applied": {str(charge.pk): str(part) for charge, part in applied},
            "unapplied": str(remainder),
        },
    )
    return payment


@transaction.atomic
def payment_allocate(
    *, acting_user: User | None, payment: Payment, allocation: Allocation = OLDEST_FIRST
) -> list[LedgerEntry]:
    """Apply a payment's unapplied credit to charges: a PAYMENT on each charge, and the opposite
    on account, so the patient balance does not move and the credit shrinks."""
    payment = payment_locked(payment)
    if payment.patient_id is None:
        raise ValidationError("A payer's payment is applied in full when received.")
    if payment.status != Payment.Status.RECEIVED:
        raise ValidationError(f"Receipt {payment.receipt_number} was returned; it has no credit.")
    patient_locked(payment.patient)
    credit = payment_credit(payment).unapplied
    if credit <= ZERO:
        raise ValidationError(
            f"Receipt {payment.receipt_number} has no unapplied credit left to apply."
        )
    applied = allocation_plan(
        allocation=allocation, available=credit, patient=payment.patient, payer=None
    )
    if not applied:
        raise ValidationError(
            "Nothing on the account is owed by the patient; the credit stays on account."
        )
    today = timezone.localdate()
    memo = f"Credit of receipt {payment.receipt_number} applied"
    entries = payment_allocation_post(
        payment=payment, plan=applied, acting_user=acting_user, posted_on=today, memo=memo
    )
    entries.append(
        entry_post(
            kind=LedgerEntry.Kind.PAYMENT,
            amount=sum((part for _, part in applied), ZERO),
            responsibility=PATIENT_RESPONSIBILITY,
            patient_id=payment.patient_id,
            payment=payment,
            acting_user=acting_user,
            posted_on=today,
            memo=f"{memo} to charges",
        )
    )
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=payment,
        name="payment_allocate",
        detail={"applied": {str(charge.pk): str(part) for charge, part in applied}},
    )
    return entries


class RefundMethod(models.TextChoices):
    """Refunds leave from the practice's bank account, never the cash drawer, so the daily
    deposit always equals the cash and checks received."""

    CHECK = "check", "Practice check"
    CARD = "card", "Back to the card"
    EFT = "eft", "Electronic funds transfer"


@transaction.atomic
def payment_refund(
    *,
    acting_user: User | None,
    payment: Payment,
    amount,
    method: str,
    reason: str,
    reference: str = "",
) -> LedgerEntry:
    """Pay back part or all of a payment's unapplied credit (a REFUND entry on account)."""
    amount = money_amount(amount, what="The refund")
    if method not in RefundMethod.values:
        raise ValidationError({"method": "Choose how the refund is paid."})
    if not reason.strip():
        raise ValidationError({"reason": "Say why the money is refunded."})
    payment = payment_locked(payment)
    if payment.status != Payment.Status.RECEIVED:
        raise ValidationError(
            f"Receipt {payment.receipt_number} was returned unpaid; there is nothing to refund."
        )
    if payment.patient_id is None:
        raise ValidationError("A payer's payment holds no credit to refund.")
    patient_locked(payment.patient)
    credit = payment_credit(payment).unapplied
    if amount > credit:
        raise ValidationError(
            {
                "amount": f"A refund of {amount} is larger than the unapplied credit of "
                f"receipt {payment.receipt_number} ({credit}); nothing was refunded."
            }
        )
    how = RefundMethod(method).label.lower()
    entry = entry_post(
        kind=LedgerEntry.Kind.REFUND,
        amount=amount,
        responsibility=PATIENT_RESPONSIBILITY,
        patient_id=payment.patient_id,
        payment=payment,
        acting_user=acting_user,
        memo=f"Refund of receipt {payment.receipt_number} by {how}"
        f"{' ' + reference.strip() if reference.strip() else ''}: {reason.strip()}"[:200],
    )
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=payment,
        name="payment_refund",
        detail={"amount": str(amount), "method": method, "reason": reason[:200]},
    )
    return entry


def returned_check_fee() -> Decimal:
    """The practice's fee, but never more than the state allows."""
    fee = money(settings.RETURNED_CHECK_FEE)
    cap = money(settings.RETURNED_CHECK_FEE_STATE_CAP)
    return max(min(fee, cap), ZERO)


def collection_case_open(
    *, acting_user: User | None, patient: Patient, reason: str
) -> CollectionCase:
    """Open a collection case (or keep the one already open) and flag the account."""
    case = CollectionCase.objects.filter(patient=patient, status=CollectionCase.Status.OPEN).first()
    if case is None:
        case = CollectionCase(
            patient=patient,
            balance_at_open=patient_balance(patient.pk),
            reason=reason[:200],
            opened_by=acting_user,
            stage_changed_at=timezone.now(),
        )
        case.full_clean()
        case.save()
        CollectionStageChange.objects.create(
            case=case,
            to_stage=case.stage,
            balance=case.balance_at_open,
            by=acting_user,
            note=reason[:200],
        )
        audit_event_record(
            action=AuditEvent.Action.ACTION,
            user=acting_user,
            obj=case,
            name="collection_case_open",
            detail={"reason": reason[:200], "balance": str(case.balance_at_open)},
        )
    patient_flag(
        acting_user=acting_user,
        patient=patient,
        kind=PatientAlert.Kind.COLLECTIONS,
        text=reason[:200],
    )
    return case


def patient_flag(*, acting_user: User | None, patient: Patient, kind: str, text: str) -> None:
    """Add a patient alert; the daily plan check raises alerts with no user signed in, which
    ``PatientAlert.full_clean`` refuses (``created_by`` is not blank=True), so it saves directly."""
    if acting_user is not None:
        patient_alert_add(acting_user=acting_user, patient=patient, kind=kind, text=text)
    elif not patient.alerts.filter(kind=kind, is_active=True).exists():
        PatientAlert.objects.create(patient=patient, kind=kind, text=text[:200])


@transaction.atomic
def payment_return_nsf(
    *,
    acting_user: User | None,
    payment: Payment,
    reason: str = "Insufficient funds",
    returned_on: datetime.date | None = None,
) -> Payment:
    """A patient's check came back unpaid: reverse everything it paid and held, charge the
    returned-check fee, flag the patient "checks not accepted" and open a collection case."""
    payment = payment_locked(payment)
    if payment.method != Payment.Method.CHECK:
        raise ValidationError(
            f"Receipt {payment.receipt_number} was paid by "
            f"{payment.get_method_display().lower()}, not by check; only a check can come back "
            "unpaid."
        )
    if payment.status == Payment.Status.RETURNED:
        raise ValidationError(
            f"Check {payment.check_number} was already marked returned on {payment.returned_on}."
        )
    if payment.status != Payment.Status.RECEIVED:
        raise ValidationError(f"Check {payment.check_number} was never received.")
    if payment.patient_id is None:
        raise ValidationError(
            "A payer's returned check is handled with the payer (a remittance reversal)."
        )
    today = timezone.localdate()
    returned_on = returned_on or today
    if returned_on < payment.received_on or returned_on > today:
        raise ValidationError(
            {
                "returned_on": f"The check was received on {payment.received_on}; it comes back "
                "between then and today."
            }
        )
    patient = patient_locked(payment.patient)
    memo = f"Check {payment.check_number} returned: {reason.strip() or 'unpaid'}"[:200]
    open_entries = payment.ledger_entries.filter(
        kind=LedgerEntry.Kind.PAYMENT, reversed_by__isnull=True
    ).select_related("charge", "claim", "payer")
    reversals = [
        entry_reverse(entry=entry, acting_user=acting_user, memo=memo) for entry in open_entries
    ]
    fee = returned_check_fee()
    if fee > ZERO:
        entry_post(
            kind=LedgerEntry.Kind.FEE,
            amount=fee,
            responsibility=PATIENT_RESPONSIBILITY,
            patient_id=patient.pk,
            payment=payment,
            acting_user=acting_user,
            posted_on=returned_on,
            memo=f"Returned check fee (check {payment.check_number})",
        )
    payment.status = Payment.Status.RETURNED
    payment.returned_on = returned_on
    payment.returned_at = timezone.now()
    payment.returned_by = acting_user
    payment.returned_reason = reason.strip()[:200]
    payment.save(
        update_fields=["status", "returned_on", "returned_at", "returned_by", "returned_reason"]
    )
    patient_flag(
        acting_user=acting_user,
        patient=patient,
        kind=PatientAlert.Kind.CHECKS_NOT_ACCEPTED,
        text=f"Check {payment.check_number} of {payment.amount} returned on {returned_on}",
    )
    case = collection_case_open(
        acting_user=acting_user,
        patient=patient,
        reason=f"Returned check {payment.check_number} ({payment.amount})",
    )
    if payment.plan_id:
        payment_plan_refresh(plan=payment.plan, today=today, acting_user=acting_user)
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=payment,
        name="payment_return_nsf",
        detail={
            "reason": reason[:200],
            "reversed": [entry.reverses_id for entry in reversals],
            "fee": str(fee),
            "collection_case": case.pk,
        },
    )
    return payment


@transaction.atomic
def write_off(
    *,
    acting_user: User | None,
    approver: User | None,
    charge: Charge,
    amount,
    reason: str,
    responsibility: str = PATIENT_RESPONSIBILITY,
) -> LedgerEntry:
    """Write off part of a charge's balance; only with a practice manager's approval."""
    if approver is None or not can(approver, "billing", "approve"):
        raise ValidationError(
            "A write-off needs the approval of a practice manager; nothing was written off."
        )
    amount = money_amount(amount, what="The write-off")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the balance is written off."})
    if responsibility not in LedgerEntry.Responsibility.values:
        raise ValidationError({"responsibility": "Choose the patient's or the payer's balance."})
    patient_locked(charge.patient)  # no payment is applied to the charge meanwhile
    charge = Charge.objects.select_for_update().get(pk=charge.pk)
    owed = charge_owed(charge.pk, responsibility)
    if amount > owed:
        whose = "the patient" if responsibility == PATIENT_RESPONSIBILITY else "the payer"
        raise ValidationError(
            {"amount": f"{amount} is more than {whose} owes on {charge} ({owed})."}
        )
    payer_id = None
    if responsibility == INSURANCE_RESPONSIBILITY:
        payer_id = (
            charge.ledger_entries.filter(responsibility=INSURANCE_RESPONSIBILITY)
            .exclude(payer__isnull=True)
            .values_list("payer_id", flat=True)
            .first()
        )
    entry = entry_post(
        kind=LedgerEntry.Kind.WRITE_OFF,
        amount=-amount,
        responsibility=responsibility,
        patient_id=charge.patient_id,
        charge=charge,
        payer_id=payer_id,
        approved_by=approver,
        acting_user=acting_user,
        memo=f"Write-off: {reason.strip()}"[:200],
    )
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=charge,
        name="write_off",
        detail={"amount": str(amount), "approver": approver.pk, "reason": reason[:200]},
    )
    return entry


# Payment plans


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day ``months`` later, or that month's last day when it is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, monthrange(year, month)[1]))


def plan_due_date(start: datetime.date, frequency: str, step: int) -> datetime.date:
    if frequency == PaymentPlan.Frequency.WEEKLY:
        return start + datetime.timedelta(weeks=step)
    if frequency == PaymentPlan.Frequency.BIWEEKLY:
        return start + datetime.timedelta(weeks=2 * step)
    return add_months(start, step)


def plan_schedule_build(
    *,
    total: Decimal,
    down_payment: Decimal,
    instalment_amount: Decimal,
    frequency: str,
    start_date: datetime.date,
    instalment_count: int | None = None,
) -> list[tuple[int, datetime.date, Decimal]]:
    """(number, due date, amount) of each instalment, the down payment being number 0.

    Equal instalments after the down payment, the last one taking the remainder; the amounts
    add up exactly to the total or the plan is refused with the reason.
    """
    if frequency not in PaymentPlan.Frequency.values:
        raise ValidationError({"frequency": "Choose weekly, every two weeks or monthly."})
    if down_payment < ZERO:
        raise ValidationError({"down_payment": "A down payment cannot be negative."})
    if down_payment >= total:
        raise ValidationError(
            {
                "down_payment": f"A down payment of {down_payment} pays the whole {total}; "
                "take it as a payment, no plan is needed."
            }
        )
    financed = total - down_payment
    if instalment_amount > financed:
        raise ValidationError(
            {
                "instalment_amount": f"An instalment of {instalment_amount} is more than the "
                f"{financed} left after the down payment."
            }
        )
    count = int((financed / instalment_amount).to_integral_value(rounding=ROUND_CEILING))
    if instalment_count is not None and instalment_count != count:
        raise ValidationError(
            {
                "instalment_count": f"{instalment_count} instalments of {instalment_amount} do not "
                f"add up to the {financed} financed: it takes {count} (the last one smaller)."
            }
        )
    if count > MAX_PLAN_INSTALMENTS:
        raise ValidationError(
            {
                "instalment_amount": f"That is {count} instalments; a plan has at most "
                f"{MAX_PLAN_INSTALMENTS}. Raise the instalment."
            }
        )
    schedule = []
    step = 0
    if down_payment > ZERO:
        schedule.append((0, start_date, down_payment))
        step = 1
    last = financed - instalment_amount * (count - 1)
    for number in range(1, count + 1):
        amount = last if number == count else instalment_amount
        schedule.append((number, plan_due_date(start_date, frequency, step), amount))
        step += 1
    if sum((amount for _, _, amount in schedule), ZERO) != total:  # pragma: no cover - arithmetic
        raise ValidationError("The instalments do not add up to the plan's total.")
    return schedule


@transaction.atomic
def payment_plan_propose(
    *,
    acting_user: User | None,
    patient: Patient,
    down_payment,
    instalment_amount,
    frequency: str,
    start_date: datetime.date,
    total=None,
    instalment_count: int | None = None,
    note: str = "",
) -> PaymentPlan:
    """Propose a plan for the patient's whole balance, with its schedule; a manager authorizes
    it before it runs."""
    patient = patient_locked(patient)
    check_billable_patient(patient)
    owed = patient_balance(patient.pk)
    if owed <= ZERO:
        raise ValidationError(f"{patient} owes nothing; there is nothing for a plan to pay.")
    total = owed if total in (None, "") else money_amount(total, "total", what="The total")
    if total != owed:
        raise ValidationError(
            {
                "total": f"The plan's total of {total} does not add up to the patient's balance of "
                f"{owed}; a plan pays the whole balance."
            }
        )
    down_payment = ZERO if down_payment in (None, "") else money(down_payment)
    instalment_amount = money_amount(instalment_amount, "instalment_amount", what="The instalment")
    if start_date is None or start_date < timezone.localdate():
        raise ValidationError({"start_date": "A plan starts today or later."})
    if PaymentPlan.objects.filter(patient=patient, status__in=PaymentPlan.LIVE_STATUSES).exists():
        raise ValidationError(
            f"{patient} already has a payment plan proposed or running; cancel it first."
        )
    schedule = plan_schedule_build(
        total=total,
        down_payment=down_payment,
        instalment_amount=instalment_amount,
        frequency=frequency,
        start_date=start_date,
        instalment_count=instalment_count,
    )
    plan = PaymentPlan(
        patient=patient,
        total=total,
        down_payment=down_payment,
        instalment_amount=instalment_amount,
        frequency=frequency,
        start_date=start_date,
        note=note[:300],
        proposed_by=acting_user,
    )
    plan.full_clean()
    plan.save()
    PlanInstalment.objects.bulk_create(
        PlanInstalment(plan=plan, number=number, due_date=due, amount=amount)
        for number, due, amount in schedule
    )
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=plan,
        name="payment_plan_propose",
        detail={"total": str(total), "instalments": len(schedule)},
    )
    return plan


@transaction.atomic
def payment_plan_authorize(*, acting_user: User, plan: PaymentPlan) -> PaymentPlan:
    """A manager's authorization (recorded) makes a proposed plan run."""
    if not can(acting_user, "billing", "approve"):
        raise ValidationError("Only a practice manager can authorize a payment plan.")
    plan = PaymentPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status != PaymentPlan.Status.PROPOSED:
        raise ValidationError(f"This plan is {plan.get_status_display().lower()}, not proposed.")
    owed = patient_balance(plan.patient_id)
    if owed != plan.total:
        raise ValidationError(
            f"The patient's balance is {owed} now, not the {plan.total} the plan was proposed "
            "for; cancel it and propose it again."
        )
    plan.status = PaymentPlan.Status.ACTIVE
    plan.authorized_by = acting_user
    plan.authorized_at = timezone.now()
    plan.save(update_fields=["status", "authorized_by", "authorized_at"])
    audit_event_record(
        action=AuditEvent.Action.ACTION, user=acting_user, obj=plan, name="payment_plan_authorize"
    )
    return plan


@transaction.atomic
def payment_plan_cancel(*, acting_user: User | None, plan: PaymentPlan, reason: str) -> PaymentPlan:
    if not reason.strip():
        raise ValidationError({"reason": "Say why the plan is cancelled."})
    plan = PaymentPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status not in PaymentPlan.LIVE_STATUSES:
        raise ValidationError(f"This plan is {plan.get_status_display().lower()} already.")
    plan.status = PaymentPlan.Status.CANCELLED
    plan.ended_at = timezone.now()
    plan.note = f"{plan.note} Cancelled: {reason.strip()}".strip()[:300]
    plan.save(update_fields=["status", "ended_at", "note"])
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=plan,
        name="payment_plan_cancel",
        detail={"reason": reason[:200]},
    )
    return plan


def payment_plan_refresh(
    *, plan: PaymentPlan, today: datetime.date, acting_user: User | None = None
) -> PaymentPlan:
    """Bring a running plan's instalments and status up to date with what has been paid.

    An instalment unpaid after its due date is missed and the plan delinquent; still missed
    more than ``PLAN_GRACE_DAYS`` days later, the plan has defaulted and the account returns
    to collections. Paying up makes a delinquent plan active again.
    """
    plan = PaymentPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status not in (PaymentPlan.Status.ACTIVE, PaymentPlan.Status.DELINQUENT):
        return plan
    lines = plan_schedule(plan)
    oldest_missed = None
    for line in lines:
        instalment = line.instalment
        if line.remaining <= ZERO:
            status = PlanInstalment.Status.PAID
        elif instalment.due_date < today:
            status = PlanInstalment.Status.MISSED
            oldest_missed = oldest_missed or instalment.due_date
        else:
            status = PlanInstalment.Status.DUE
        if instalment.status != status:
            instalment.status = status
            instalment.save(update_fields=["status"])
    before = plan.status
    if all(line.remaining <= ZERO for line in lines):
        plan.status = PaymentPlan.Status.COMPLETED
        plan.delinquent_since = None
        plan.ended_at = timezone.now()
    elif oldest_missed is None:
        plan.status = PaymentPlan.Status.ACTIVE
        plan.delinquent_since = None
    elif (today - oldest_missed).days > settings.PLAN_GRACE_DAYS:
        plan.status = PaymentPlan.Status.DEFAULTED
        plan.delinquent_since = oldest_missed
        plan.ended_at = timezone.now()
    else:
        plan.status = PaymentPlan.Status.DELINQUENT
        plan.delinquent_since = oldest_missed
    plan.save(update_fields=["status", "delinquent_since", "ended_at"])
    if plan.status != before:
        detail = {"from": before, "to": plan.status}
        if plan.status == PaymentPlan.Status.DEFAULTED:
            case = collection_case_open(
                acting_user=acting_user,
                patient=plan.patient,
                reason=f"Payment plan defaulted: instalment due {oldest_missed} unpaid",
            )
            detail["collection_case"] = case.pk
        audit_event_record(
            action=AuditEvent.Action.ACTION,
            user=acting_user,
            obj=plan,
            name="payment_plan_status",
            detail=detail,
        )
    return plan


def plan_instalments_check(
    *, today: datetime.date | None = None, acting_user: User | None = None
) -> dict[str, int]:
    """The daily check of every running plan (one transaction per plan): how many plans are
    now active, delinquent, defaulted or completed."""
    today = today or timezone.localdate()
    counts: dict[str, int] = {}
    running = PaymentPlan.objects.filter(
        status__in=[PaymentPlan.Status.ACTIVE, PaymentPlan.Status.DELINQUENT]
    ).values_list("pk", flat=True)
    for pk in list(running):
        with transaction.atomic():
            plan = payment_plan_refresh(
                plan=PaymentPlan(pk=pk), today=today, acting_user=acting_user
            )
        counts[plan.status] = counts.get(plan.status, 0) + 1
    return counts


# Financial assistance (sliding-scale discounts)

FINANCIAL_ASSISTANCE_GROUP = "FA"


@transaction.atomic
def financial_assistance_approve(
    *,
    acting_user: User,
    patient: Patient,
    household_income,
    household_size: int,
    valid_from: datetime.date | None = None,
    valid_until: datetime.date | None = None,
    note: str = "",
) -> FinancialAssistanceApproval:
    """A manager approves a sliding-scale discount: the band is the one the household's income,
    as a percent of the poverty guideline for its size, falls in."""
    if not can(acting_user, "billing", "approve"):
        raise ValidationError("Only a practice manager can approve financial assistance.")
    if household_income in (None, ""):
        raise ValidationError({"household_income": "Enter the yearly household income."})
    income = money(household_income)
    if income < ZERO:
        raise ValidationError({"household_income": "Income cannot be negative."})
    if not household_size or household_size < 1:
        raise ValidationError({"household_size": "A household has at least 1 person."})
    percent = round_money(income * 100 / poverty_guideline(household_size))
    band = financial_assistance_band_for(percent)
    if band is None:
        raise ValidationError(
            {
                "household_income": f"The income is {percent}% of the poverty guideline for "
                f"{household_size}; no financial-assistance band covers it."
            }
        )
    valid_from = valid_from or timezone.localdate()
    valid_until = valid_until or add_months(valid_from, 12) - datetime.timedelta(days=1)
    approval = FinancialAssistanceApproval(
        patient=patient,
        band=band,
        household_income=income,
        household_size=household_size,
        poverty_level_percent=percent,
        valid_from=valid_from,
        valid_until=valid_until,
        note=note[:300],
        approved_by=acting_user,
    )
    approval.full_clean()
    approval.save()
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=approval,
        name="financial_assistance_approve",
        detail={"band": band.pk, "percent_of_poverty": str(percent)},
    )
    return approval


@transaction.atomic
def financial_assistance_apply(
    *, acting_user: User | None, approval: FinancialAssistanceApproval
) -> list[LedgerEntry]:
    """Discount what the patient owes on each charge of the approval's period by the band's
    percent, once per charge: ADJUSTMENT entries of group "FA", apart from payer adjustments."""
    patient_locked(approval.patient)
    percent = approval.band.discount_percent
    already = LedgerEntry.objects.filter(
        patient_id=approval.patient_id,
        kind=LedgerEntry.Kind.ADJUSTMENT,
        adjustment_group=FINANCIAL_ASSISTANCE_GROUP,
        reversed_by__isnull=True,
        reverses__isnull=True,
    ).values_list("charge_id", flat=True)
    done = set(already)
    entries = []
    for charge in charges_owed_by_patient(approval.patient_id):
        if charge.pk in done or not approval.is_valid_on(charge.date_of_service):
            continue
        discount = round_money(charge.owed * percent / 100)
        if discount <= ZERO:
            continue
        entries.append(
            entry_post(
                kind=LedgerEntry.Kind.ADJUSTMENT,
                amount=-discount,
                responsibility=PATIENT_RESPONSIBILITY,
                patient_id=approval.patient_id,
                charge=charge,
                adjustment_group=FINANCIAL_ASSISTANCE_GROUP,
                approved_by=approval.approved_by,
                acting_user=acting_user,
                memo=f"Financial assistance: {approval.band.name} "
                f"({percent.normalize():f}% of {charge.owed})"[:200],
            )
        )
    if not entries:
        raise ValidationError(
            f"No charge from {approval.valid_from} to {approval.valid_until} has a patient "
            "balance left to discount (each charge is discounted once)."
        )
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=approval,
        name="financial_assistance_apply",
        detail={"entries": [entry.pk for entry in entries]},
    )
    return entries
