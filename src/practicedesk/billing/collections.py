"""Collections: the daily move of delinquent patient accounts into collections and through
its stages (each stage's letter a stored PDF), the contact log with promises to pay,
disputes that stop everything, placement with an agency (an audited export, ledger
untouched) and bad-debt write-offs that post only once a practice manager approves.

Stage rules: the first notice goes when part of a patient balance has been owed for the
first rule's days; each later stage follows the days of its rule after the stage before.
The daily job moves cases up to the final notice; placing an account with an agency is a
biller's decision (it marks the case ready once the agency rule's days have passed).
"""

import csv
import datetime
import hashlib
import io
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from practicedesk.billing import conf, pdfs
from practicedesk.billing.ledger import money
from practicedesk.billing.models import (
    ZERO,
    CollectionCase,
    CollectionContact,
    CollectionLetter,
    CollectionStageChange,
    CollectionStageRule,
    CollectionWriteOff,
    LedgerEntry,
    Payment,
    PaymentPlan,
)
from practicedesk.billing.receivables import ar_entries
from practicedesk.billing.selectors import (
    charges_owed_by_patient,
    patient_balance,
    patient_balance_subquery,
)
from practicedesk.billing.statements import (
    PLAN_IN_GOOD_STANDING,
    addressee_of,
    how_to_pay,
    practice_of,
)
from practicedesk.core.models import AuditEvent, Organization, User
from practicedesk.core.money import MoneySum
from practicedesk.core.permissions import can
from practicedesk.core.services import audit_event_record
from practicedesk.patients.models import Patient

Stage = CollectionCase.Stage
Kind = CollectionContact.Kind
PATIENT = LedgerEntry.Responsibility.PATIENT
OWED = Decimal("0.005")
STAGES = (Stage.FIRST_NOTICE, Stage.SECOND_NOTICE, Stage.FINAL_NOTICE, Stage.AGENCY)
NEXT_STAGE = {
    Stage.FIRST_NOTICE: Stage.SECOND_NOTICE,
    Stage.SECOND_NOTICE: Stage.FINAL_NOTICE,
    Stage.FINAL_NOTICE: Stage.AGENCY,
}
# What a practice starts with: three monthly statements first (so a first notice after 90
# days owed), then a month between notices before an agency.
DEFAULT_RULE_DAYS = {
    Stage.FIRST_NOTICE: 90,
    Stage.SECOND_NOTICE: 30,
    Stage.FINAL_NOTICE: 30,
    Stage.AGENCY: 30,
}
# Contacts that are attempts to collect: refused while the account is disputed.
ATTEMPTS = (Kind.CALL, Kind.LETTER, Kind.EMAIL, Kind.PROMISE)
MAX_PROMISE_DAYS = 180


# Rules and settings


def collection_rules() -> dict[str, int]:
    """Days of each stage's rule: the manager's, or the defaults for stages never edited."""
    days = dict(DEFAULT_RULE_DAYS)
    days.update(CollectionStageRule.objects.values_list("stage", "days"))
    return days


def collections_minimum() -> Decimal:
    return conf.money_setting("COLLECTIONS_MINIMUM_BALANCE")


@transaction.atomic
def collection_rules_set(*, acting_user: User, days: dict[str, int]) -> dict[str, int]:
    """A manager sets the days of the stage rules (all four at once)."""
    if not can(acting_user, "billing", "approve"):
        raise ValidationError("Only a practice manager changes the collection rules.")
    errors = {}
    for stage in STAGES:
        value = days.get(stage)
        if value is None or not 1 <= int(value) <= 365:
            errors[stage] = "Enter a number of days from 1 to 365."
    if errors:
        raise ValidationError(errors)
    before = collection_rules()
    for stage in STAGES:
        rule = CollectionStageRule.objects.filter(stage=stage).first() or CollectionStageRule(
            stage=stage
        )
        rule.days = int(days[stage])
        rule.updated_by = acting_user
        rule.full_clean()
        rule.save()
    after = collection_rules()
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        name="collection_rules_set",
        detail={"before": before, "after": after},
    )
    return after


def contact_hours_refusal(now: datetime.datetime) -> str:
    start, end = conf.contact_hours()
    local = timezone.localtime(now)
    if start <= local.hour < end:
        return ""
    return (
        f"Collection calls are allowed only from {start}:00 to {end}:00 local time; it is "
        f"{local:%H:%M} now. Nothing was logged: call back within those hours."
    )


# Selectors


@dataclass(frozen=True)
class DueAccount:
    patient_id: int
    label: str
    balance: Decimal
    past_due: Decimal


def accounts_due_for_collections(
    today: datetime.date, *, limit: int | None = None
) -> list[DueAccount]:
    """Patients whose balance, owed longer than the first-notice rule, reaches the
    collections minimum, with no open case and no payment plan in good standing; largest
    first, summed in one grouped query."""
    days = collection_rules()[Stage.FIRST_NOTICE]
    cutoff = today - datetime.timedelta(days=days)
    busy = set(
        Patient.objects.filter(
            Q(collection_cases__status=CollectionCase.Status.OPEN)
            | Q(payment_plans__status__in=PLAN_IN_GOOD_STANDING)
        ).values_list("pk", flat=True)
    )
    rows = (
        ar_entries(today)
        .filter(responsibility=PATIENT)
        .values("patient_id", "patient__last_name", "patient__first_name", "patient__mrn")
        .annotate(
            balance=MoneySum("amount"),
            old=MoneySum("amount", filter=Q(aging_date__lte=cutoff)),
        )
        .filter(balance__gt=OWED, old__gt=OWED)
        .order_by("-old", "patient_id")
    )
    minimum = collections_minimum()
    result = []
    for row in rows:
        if row["patient_id"] in busy:
            continue
        past_due = min(row["balance"], row["old"])
        if past_due < minimum:
            continue
        result.append(
            DueAccount(
                patient_id=row["patient_id"],
                label=f"{row['patient__last_name']}, {row['patient__first_name']} "
                f"({row['patient__mrn']})",
                balance=row["balance"],
                past_due=past_due,
            )
        )
        if limit and len(result) >= limit:
            break
    return result


def collection_cases() -> QuerySet[CollectionCase]:
    """Cases with ``balance`` (the patient's balance now), ``broken_promise`` and
    ``write_off_pending`` for the work queue."""
    return CollectionCase.objects.select_related("patient").annotate(
        balance=patient_balance_subquery(),
        broken_promise=Exists(
            CollectionContact.objects.filter(
                case=OuterRef("pk"), promise_status=CollectionContact.PromiseStatus.BROKEN
            )
        ),
        write_off_pending=Exists(
            CollectionWriteOff.objects.filter(
                case=OuterRef("pk"), status=CollectionWriteOff.Status.PENDING
            )
        ),
    )


def ready_for_agency(now: datetime.datetime | None = None) -> Q:
    now = now or timezone.now()
    days = collection_rules()[Stage.AGENCY]
    return Q(
        status=CollectionCase.Status.OPEN,
        stage=Stage.FINAL_NOTICE,
        disputed=False,
        stage_changed_at__lte=now - datetime.timedelta(days=days),
    )


def next_step(case: CollectionCase, rules: dict[str, int]) -> tuple[str, datetime.datetime] | None:
    """The stage the case moves to next and from when (None: it does not move by itself)."""
    following = NEXT_STAGE.get(case.stage)
    if following is None or case.status != CollectionCase.Status.OPEN:
        return None
    return following, case.stage_changed_at + datetime.timedelta(days=rules[following])


def case_paid_since(case: CollectionCase, since: datetime.date) -> Decimal:
    return Payment.objects.filter(
        patient_id=case.patient_id, status=Payment.Status.RECEIVED, received_on__gte=since
    ).aggregate(total=MoneySum("amount"))["total"]


def write_off_amount(patient_id: int) -> Decimal:
    """What a bad-debt write-off can take: the patient's balance, as far as charges carry it
    (a write-off is posted per charge)."""
    on_charges = sum((charge.owed for charge in charges_owed_by_patient(patient_id)), ZERO)
    return max(min(patient_balance(patient_id), on_charges), ZERO)


# Letters


def letter_paragraphs(
    case: CollectionCase, stage: str, balance: Decimal, organization
) -> list[str]:
    context = {
        "patient": case.patient,
        "guarantor": case.patient.responsible_party,
        "balance": balance,
        "practice_name": organization.name if organization else "the practice",
        "phone": organization.phone if organization else "",
        "pay_by": timezone.localdate()
        + datetime.timedelta(days=collection_rules().get(NEXT_STAGE.get(stage, Stage.AGENCY), 30)),
    }
    text = render_to_string(f"billing/collections/letters/{stage}.txt", context)
    return [" ".join(block.split()) for block in text.split("\n\n") if block.strip()]


LETTER_TITLES = {
    Stage.FIRST_NOTICE: "Your account is past due",
    Stage.SECOND_NOTICE: "Second notice: your account is past due",
    Stage.FINAL_NOTICE: "Final notice before collection",
    Stage.AGENCY: "Your account has been placed with a collection agency",
}


def collection_letter_create(*, acting_user: User | None, case: CollectionCase) -> CollectionLetter:
    """The letter of the case's current stage: a PDF from the stage's template, stored with
    its checksum and entered in the contact log. Never while the account is disputed."""
    if case.disputed:
        raise ValidationError(
            "The account is disputed: no letter goes out until the dispute is resolved."
        )
    if case.status != CollectionCase.Status.OPEN:
        raise ValidationError("The case is closed; it sends no more letters.")
    organization = Organization.objects.first()
    balance = patient_balance(case.patient_id)
    guarantor = case.patient.responsible_party
    paragraphs = letter_paragraphs(case, case.stage, balance, organization)
    content = pdfs.letter_pdf(
        pdfs.LetterData(
            practice=practice_of(organization),
            addressee=addressee_of(guarantor),
            letter_date=timezone.localdate(),
            title=LETTER_TITLES[case.stage],
            paragraphs=paragraphs,
            balance=balance,
            how_to_pay=how_to_pay(organization),
        )
    )
    letter = CollectionLetter(
        case=case,
        stage=case.stage,
        balance=balance,
        sha256=hashlib.sha256(content).hexdigest(),
        size_bytes=len(content),
        created_by=acting_user,
    )
    letter.file.save(
        f"{case.stage.replace('_', '-')}-{case.patient.mrn}.pdf", ContentFile(content), save=False
    )
    letter.save()
    CollectionContact.objects.create(
        case=case,
        kind=Kind.LETTER,
        note=f"{letter.get_stage_display()} letter ({balance} owed)",
        at=timezone.now(),
        by=acting_user,
        letter=letter,
    )
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=case,
        name="collection_letter_create",
        detail={"letter": letter.pk, "stage": case.stage, "sha256": letter.sha256},
    )
    return letter


def stage_set(
    *, acting_user: User | None, case: CollectionCase, to_stage: str, note: str = ""
) -> CollectionCase:
    CollectionStageChange.objects.create(
        case=case,
        from_stage=case.stage,
        to_stage=to_stage,
        balance=patient_balance(case.patient_id),
        by=acting_user,
        note=note[:200],
    )
    case.stage = to_stage
    case.stage_changed_at = timezone.now()
    case.save(update_fields=["stage", "stage_changed_at"])
    return case


def case_locked(case: CollectionCase) -> CollectionCase:
    return (
        CollectionCase.objects.select_for_update(of=("self",))
        .select_related("patient")
        .get(pk=case.pk)
    )


def case_close(*, acting_user: User | None, case: CollectionCase, reason: str) -> CollectionCase:
    case.status = CollectionCase.Status.CLOSED
    case.closed_at = timezone.now()
    case.closed_reason = reason[:200]
    case.save(update_fields=["status", "closed_at", "closed_reason"])
    case.patient.alerts.filter(kind="collections", is_active=True).update(
        is_active=False, resolved_at=timezone.now()
    )
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=case,
        name="collection_case_close",
        detail={"reason": reason[:200]},
    )
    return case


# The daily job


def collection_case_step(
    *, case: CollectionCase, now: datetime.datetime, rules: dict[str, int]
) -> str:
    """Bring one open case up to date (one transaction): close it when paid, hold it while a
    plan in good standing runs or a dispute is open, move it to its next notice when the
    rule's days have passed, and make the letter of its stage if it has none yet."""
    with transaction.atomic():
        case = case_locked(case)
        if case.status != CollectionCase.Status.OPEN:
            return "closed"
        if patient_balance(case.patient_id) <= ZERO:
            case_close(acting_user=None, case=case, reason="Balance paid in full")
            return "paid"
        if case.disputed:
            return "disputed"
        if PaymentPlan.objects.filter(
            patient_id=case.patient_id, status__in=PLAN_IN_GOOD_STANDING
        ).exists():
            return "on_plan"
        outcome = "unchanged"
        step = next_step(case, rules)
        if step and step[0] != Stage.AGENCY and step[1] <= now:
            stage_set(acting_user=None, case=case, to_stage=step[0], note="Daily collections run")
            audit_event_record(
                action=AuditEvent.Action.ACTION,
                obj=case,
                name="collection_stage_advance",
                detail={"to": step[0]},
            )
            outcome = "advanced"
        if case.stage != Stage.AGENCY and not case.letters.filter(stage=case.stage).exists():
            collection_letter_create(acting_user=None, case=case)
            outcome = outcome if outcome == "advanced" else "lettered"
        return outcome


def collections_daily(*, today: datetime.date | None = None) -> dict[str, int]:
    """The daily collections run: promises kept or broken, new cases for delinquent
    accounts, open cases moved through their stages. Idempotent."""
    from practicedesk.billing.services import collection_case_open

    today = today or timezone.localdate()
    now = timezone.now()
    counts = promises_check(today=today)
    rules = collection_rules()
    for account in accounts_due_for_collections(today):
        with transaction.atomic():
            patient = Patient.objects.select_for_update().get(pk=account.patient_id)
            collection_case_open(
                acting_user=None,
                patient=patient,
                reason=f"{account.past_due} owed more than {rules[Stage.FIRST_NOTICE]} days",
            )
        counts["opened"] = counts.get("opened", 0) + 1
    open_cases = CollectionCase.objects.filter(status=CollectionCase.Status.OPEN)
    for pk in list(open_cases.values_list("pk", flat=True)):
        outcome = collection_case_step(case=CollectionCase(pk=pk), now=now, rules=rules)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def promises_check(*, today: datetime.date) -> dict[str, int]:
    """Open promises are kept once the patient has paid the amount since promising, and
    broken when the promised day (plus the grace days) has passed without it."""
    grace = int(conf.setting("COLLECTIONS_PROMISE_GRACE_DAYS"))
    counts = {"promises_kept": 0, "promises_broken": 0}
    promises = CollectionContact.objects.filter(
        kind=Kind.PROMISE, promise_status=CollectionContact.PromiseStatus.OPEN
    ).select_related("case")
    for promise in promises:
        paid = case_paid_since(promise.case, timezone.localdate(promise.at))
        if paid >= promise.promise_amount:
            status = CollectionContact.PromiseStatus.KEPT
        elif promise.promise_date + datetime.timedelta(days=grace) < today:
            status = CollectionContact.PromiseStatus.BROKEN
        else:
            continue
        CollectionContact.objects.filter(pk=promise.pk).update(
            promise_status=status, promise_checked_at=timezone.now()
        )
        counts[f"promises_{status}"] += 1
        audit_event_record(
            action=AuditEvent.Action.ACTION,
            obj=promise.case,
            name=f"collection_promise_{status}",
            detail={
                "contact": promise.pk,
                "amount": str(promise.promise_amount),
                "paid": str(paid),
            },
        )
    return counts


# Actions on one case


def check_open(case: CollectionCase) -> None:
    if case.status != CollectionCase.Status.OPEN:
        raise ValidationError("The case is closed; nothing was changed.")


@transaction.atomic
def collection_contact_log(
    *,
    acting_user: User,
    case: CollectionCase,
    kind: str,
    note: str = "",
    promise_amount=None,
    promise_date: datetime.date | None = None,
    now: datetime.datetime | None = None,
) -> CollectionContact:
    """Log a call, an email, a promise to pay or a note. Attempts to collect are refused
    while the account is disputed, and calls outside the contact hours."""
    now = now or timezone.now()
    case = case_locked(case)
    check_open(case)
    if kind not in (Kind.CALL, Kind.EMAIL, Kind.PROMISE, Kind.NOTE):
        raise ValidationError({"kind": "Choose a call, an email, a promise to pay or a note."})
    if case.disputed and kind in ATTEMPTS:
        raise ValidationError(
            f"The account is disputed ({case.dispute_reason}): no collection call, email or "
            "promise is logged until the dispute is resolved. A note can still be added."
        )
    if kind == Kind.CALL:
        refusal = contact_hours_refusal(now)
        if refusal:
            raise ValidationError(refusal)
    if kind in (Kind.CALL, Kind.EMAIL, Kind.NOTE) and not note.strip():
        raise ValidationError({"note": "Say what was said or done."})
    contact = CollectionContact(
        case=case, kind=kind, note=note.strip()[:300], at=now, by=acting_user
    )
    if kind == Kind.PROMISE:
        if promise_amount in (None, ""):
            raise ValidationError({"promise_amount": "Enter the amount promised."})
        try:
            amount = money(promise_amount)
        except (ArithmeticError, ValueError, TypeError, ValidationError):
            raise ValidationError(
                {"promise_amount": "Enter an amount of money, e.g. 50.00."}
            ) from None
        balance = patient_balance(case.patient_id)
        if amount <= ZERO or amount > balance:
            raise ValidationError(
                {
                    "promise_amount": "A promise is more than 0.00 and at most the balance "
                    f"({balance})."
                }
            )
        today = timezone.localdate(now)
        if promise_date is None or not today <= promise_date <= today + datetime.timedelta(
            days=MAX_PROMISE_DAYS
        ):
            raise ValidationError(
                {
                    "promise_date": "Enter the day it will be paid: from today to "
                    f"{MAX_PROMISE_DAYS} days ahead."
                }
            )
        contact.promise_amount = amount
        contact.promise_date = promise_date
        contact.promise_status = CollectionContact.PromiseStatus.OPEN
    contact.full_clean()
    contact.save()
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=case,
        name="collection_contact_log",
        detail={"contact": contact.pk, "kind": kind},
    )
    return contact


@transaction.atomic
def collection_dispute(*, acting_user: User, case: CollectionCase, reason: str) -> CollectionCase:
    """The patient disputes the debt: every collection activity stops until it is resolved."""
    case = case_locked(case)
    check_open(case)
    if not reason.strip():
        raise ValidationError({"reason": "Say what the patient disputes."})
    if case.disputed:
        raise ValidationError("The account is already disputed.")
    case.disputed = True
    case.dispute_reason = reason.strip()[:300]
    case.disputed_at = timezone.now()
    case.disputed_by = acting_user
    case.save(update_fields=["disputed", "dispute_reason", "disputed_at", "disputed_by"])
    CollectionContact.objects.create(
        case=case,
        kind=Kind.NOTE,
        note=f"Disputed: {case.dispute_reason}"[:300],
        at=timezone.now(),
        by=acting_user,
    )
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=case,
        name="collection_dispute",
        detail={"reason": case.dispute_reason},
    )
    return case


@transaction.atomic
def collection_dispute_resolve(
    *, acting_user: User, case: CollectionCase, resolution: str
) -> CollectionCase:
    """The dispute is answered; collection resumes and the stage's clock starts again."""
    case = case_locked(case)
    check_open(case)
    if not case.disputed:
        raise ValidationError("The account is not disputed.")
    if not resolution.strip():
        raise ValidationError({"resolution": "Say how the dispute was resolved."})
    case.disputed = False
    case.stage_changed_at = timezone.now()
    case.save(update_fields=["disputed", "stage_changed_at"])
    CollectionContact.objects.create(
        case=case,
        kind=Kind.NOTE,
        note=f"Dispute resolved: {resolution.strip()}"[:300],
        at=timezone.now(),
        by=acting_user,
    )
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=case,
        name="collection_dispute_resolve",
        detail={"reason": case.dispute_reason, "resolution": resolution.strip()[:300]},
    )
    return case


AGENCY_COLUMNS = [
    "case",
    "account",
    "last_name",
    "first_name",
    "date_of_birth",
    "address",
    "city",
    "state",
    "postal_code",
    "phone",
    "email",
    "guarantor",
    "balance",
    "oldest_service_date",
    "last_payment_date",
    "case_opened",
    "final_notice_sent",
    "placed_on",
]


def agency_csv(case: CollectionCase, balance: Decimal, placed_on: datetime.date) -> bytes:
    patient = case.patient
    guarantor = patient.responsible_party
    owed = charges_owed_by_patient(patient.pk)
    last_payment = (
        Payment.objects.filter(patient=patient, status=Payment.Status.RECEIVED)
        .order_by("-received_on")
        .values_list("received_on", flat=True)
        .first()
    )
    final = case.letters.filter(stage=Stage.FINAL_NOTICE).order_by("created_at").first()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(AGENCY_COLUMNS)
    writer.writerow(
        [
            case.pk,
            patient.mrn,
            patient.last_name,
            patient.first_name,
            patient.date_of_birth.isoformat(),
            " ".join(line for line in (patient.address_line1, patient.address_line2) if line),
            patient.city,
            patient.state,
            patient.postal_code,
            patient.mobile_phone or patient.home_phone,
            patient.email,
            "" if guarantor.pk == patient.pk else f"{guarantor.first_name} {guarantor.last_name}",
            f"{balance}",
            owed[0].date_of_service.isoformat() if owed else "",
            last_payment.isoformat() if last_payment else "",
            timezone.localdate(case.opened_at).isoformat(),
            timezone.localdate(final.created_at).isoformat() if final else "",
            placed_on.isoformat(),
        ]
    )
    return buffer.getvalue().encode()


@transaction.atomic
def collection_agency_place(
    *, acting_user: User, case: CollectionCase, agency_name: str
) -> CollectionCase:
    """Place the account with a collection agency after its final notice: the agency's
    export file is made and kept, the patient's letter of the stage made, the placed balance
    marked on the case (the ledger does not change: the patient still owes it here, and what
    the agency collects is posted as payments)."""
    case = case_locked(case)
    check_open(case)
    if case.disputed:
        raise ValidationError("The account is disputed: it cannot go to an agency until resolved.")
    if case.stage == Stage.AGENCY:
        raise ValidationError(f"The account was already placed with {case.agency_name}.")
    if case.stage != Stage.FINAL_NOTICE:
        raise ValidationError(
            f"The account is at its {case.get_stage_display().lower()}; an account goes to an "
            "agency only after its final notice."
        )
    if not agency_name.strip():
        raise ValidationError({"agency_name": "Name the collection agency."})
    balance = patient_balance(case.patient_id)
    if balance <= ZERO:
        raise ValidationError("The patient owes nothing; there is nothing to place.")
    today = timezone.localdate()
    content = agency_csv(case, balance, today)
    case.agency_sha256 = hashlib.sha256(content).hexdigest()
    case.agency_file.save(
        f"agency-{case.patient.mrn}-{today:%Y-%m-%d}.csv", ContentFile(content), save=False
    )
    case.agency_name = agency_name.strip()[:120]
    case.placed_balance = balance
    case.placed_at = timezone.now()
    case.placed_by = acting_user
    case.save(
        update_fields=[
            "agency_file",
            "agency_sha256",
            "agency_name",
            "placed_balance",
            "placed_at",
            "placed_by",
        ]
    )
    stage_set(acting_user=acting_user, case=case, to_stage=Stage.AGENCY, note=case.agency_name)
    collection_letter_create(acting_user=acting_user, case=case)
    audit_event_record(
        action=AuditEvent.Action.EXPORT,
        user=acting_user,
        obj=case,
        name="collection_agency_export",
        detail={"agency": case.agency_name, "balance": str(balance), "sha256": case.agency_sha256},
    )
    return case


@transaction.atomic
def collection_write_off_request(
    *, acting_user: User, case: CollectionCase, reason: str
) -> CollectionWriteOff:
    """A biller asks to write off the case's balance as bad debt; nothing is posted yet."""
    if not can(acting_user, "billing", "change"):
        raise ValidationError("Your role cannot request a write-off.")
    case = case_locked(case)
    check_open(case)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the balance cannot be collected."})
    if case.write_offs.filter(status=CollectionWriteOff.Status.PENDING).exists():
        raise ValidationError("A write-off of this case is already waiting for approval.")
    amount = write_off_amount(case.patient_id)
    if amount <= ZERO:
        raise ValidationError("The patient owes nothing on charges; there is nothing to write off.")
    request = CollectionWriteOff(
        case=case, amount=amount, reason=reason.strip()[:200], requested_by=acting_user
    )
    request.full_clean()
    request.save()
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=case,
        name="collection_write_off_request",
        detail={"request": request.pk, "amount": str(amount), "reason": request.reason},
    )
    return request


@transaction.atomic
def collection_write_off_decide(
    *, acting_user: User, request: CollectionWriteOff, approve: bool, note: str = ""
) -> CollectionWriteOff:
    """A practice manager (not the one who asked) approves — the write-off is posted
    through ``write_off`` on the charges, oldest first, and the case closes — or rejects."""
    from practicedesk.billing.services import write_off

    if not can(acting_user, "billing", "approve"):
        raise ValidationError("Only a practice manager approves or rejects a write-off.")
    request = (
        CollectionWriteOff.objects.select_for_update(of=("self",))
        .select_related("case__patient")
        .get(pk=request.pk)
    )
    if request.status != CollectionWriteOff.Status.PENDING:
        raise ValidationError(f"This request was already {request.get_status_display().lower()}.")
    if request.requested_by_id == acting_user.pk:
        raise ValidationError(
            "You asked for this write-off; another practice manager must decide on it."
        )
    case = request.case
    if not approve:
        if not note.strip():
            raise ValidationError({"note": "Say why the write-off is rejected."})
        request.status = CollectionWriteOff.Status.REJECTED
    else:
        left = min(request.amount, write_off_amount(case.patient_id))
        if left <= ZERO:
            raise ValidationError(
                "The patient owes nothing on charges any more; reject the request instead."
            )
        posted = ZERO
        for charge in charges_owed_by_patient(case.patient_id):
            if left <= ZERO:
                break
            amount = min(charge.owed, left)
            write_off(
                acting_user=acting_user,
                approver=acting_user,
                charge=charge,
                amount=amount,
                reason=f"Bad debt: {request.reason}"[:150],
            )
            posted += amount
            left -= amount
        request.status = CollectionWriteOff.Status.APPROVED
        request.posted_amount = posted
    request.decided_by = acting_user
    request.decided_at = timezone.now()
    request.decision_note = note.strip()[:200]
    request.save(
        update_fields=["status", "decided_by", "decided_at", "decision_note", "posted_amount"]
    )
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=case,
        name=f"collection_write_off_{request.status}",
        detail={"request": request.pk, "posted": str(request.posted_amount or ZERO)},
    )
    if request.status == CollectionWriteOff.Status.APPROVED:
        case = case_locked(case)
        if patient_balance(case.patient_id) <= ZERO:
            case_close(acting_user=acting_user, case=case, reason="Written off as bad debt")
    return request
