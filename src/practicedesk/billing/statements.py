"""Patient statements: one per guarantor and cycle, figures summed from the ledger, a PDF
kept with its SHA-256, emailed where the guarantor agreed to email, else printed in the
run's batch.

A guarantor is the patient named as a patient's ``guarantor`` (the responsible party), or
the patient. Their statement covers what they and their dependants owe (patient
responsibility); insurance balances are shown as pending, never as due.
"""

import calendar
import datetime
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone

from practicedesk.billing import conf, pdfs
from practicedesk.billing.models import (
    ZERO,
    CollectionCase,
    LedgerEntry,
    PaymentPlan,
    Statement,
    StatementRun,
)
from practicedesk.billing.receivables import BUCKETS, ar_entries, bucket_sums
from practicedesk.core.models import AuditEvent, Organization, User
from practicedesk.core.money import MoneySum
from practicedesk.core.services import audit_event_record, sequence_next
from practicedesk.patients.models import Patient

logger = logging.getLogger(__name__)

PATIENT = LedgerEntry.Responsibility.PATIENT
INSURANCE = LedgerEntry.Responsibility.INSURANCE
STATEMENT_SEQUENCE = "statement_number"
# A first statement shows this much activity; what is older is its previous balance.
FIRST_STATEMENT_DAYS = 90
PENDING_RUN = (StatementRun.Status.QUEUED, StatementRun.Status.RUNNING)
# Plans that stand for the balance: statements and collections leave these accounts alone.
PLAN_IN_GOOD_STANDING = (PaymentPlan.Status.PROPOSED, PaymentPlan.Status.ACTIVE)

SKIP_BELOW_MINIMUM = "below_minimum"
SKIP_PAYMENT_PLAN = "payment_plan"
SKIP_DISPUTED = "disputed"
SKIP_LABELS = {
    SKIP_BELOW_MINIMUM: "below the minimum balance",
    SKIP_PAYMENT_PLAN: "on a payment plan in good standing",
    SKIP_DISPUTED: "disputed",
}

KIND_WORDS = {
    LedgerEntry.Kind.CHARGE: "Charge",
    LedgerEntry.Kind.PAYMENT: "Payment, thank you",
    LedgerEntry.Kind.ADJUSTMENT: "Adjustment",
    LedgerEntry.Kind.TRANSFER: "Your share after insurance",
    LedgerEntry.Kind.REFUND: "Refund to you",
    LedgerEntry.Kind.WRITE_OFF: "Written off",
    LedgerEntry.Kind.FEE: "Fee",
    LedgerEntry.Kind.REVERSAL: "Correction",
}


def guarantor_of():
    """The guarantor (responsible party) of a ledger entry's patient, as an expression."""
    return Coalesce(F("patient__guarantor_id"), F("patient_id"))


def members_of(guarantor: Patient) -> QuerySet[Patient]:
    return Patient.objects.filter(Q(pk=guarantor.pk) | Q(guarantor_id=guarantor.pk))


# Settings as used here


def statement_minimum() -> Decimal:
    return conf.money_setting("STATEMENT_MINIMUM_BALANCE")


def cycle_date_of(day: datetime.date) -> datetime.date:
    """The statement cycle day of ``day``'s month (a short month uses its last day)."""
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=min(conf.statement_cycle_day(), last))


def statement_email_allowed(guarantor: Patient) -> bool:
    """Statements go by email only to an address on file with the patient's consent to email
    from the practice (the email consent the registry records); otherwise by mail."""
    return bool(guarantor.email) and guarantor.reminder_email_consent


def how_to_pay(organization: Organization | None) -> str:
    text = str(conf.setting("STATEMENT_PAYMENT_INSTRUCTIONS") or "").strip()
    if text:
        return text
    name = organization.name if organization else "the practice"
    phone = f" or by card on the phone at {organization.phone}" if organization else ""
    address = ", ".join(organization.address_lines) if organization else "the practice"
    return (
        f"Pay at the front desk at your next visit{phone}, or mail a check payable to "
        f"{name} to {address}."
    )


def practice_of(organization: Organization | None) -> pdfs.Practice:
    if organization is None:
        return pdfs.Practice(name="The practice", address_lines=[], phone="")
    return pdfs.Practice(
        name=organization.name,
        address_lines=organization.address_lines,
        phone=organization.phone,
        email=organization.email,
        website=organization.website,
    )


def addressee_of(guarantor: Patient) -> pdfs.Addressee:
    name = " ".join(
        part for part in (guarantor.first_name, guarantor.middle_name, guarantor.last_name) if part
    )
    return pdfs.Addressee(
        name=f"{name} {guarantor.suffix}".strip(),
        address_lines=guarantor.address_lines,
        account_number=guarantor.mrn,
    )


# Selectors


@dataclass(frozen=True)
class GuarantorDue:
    guarantor_id: int
    balance: Decimal
    skip: str = ""


def guarantors_to_bill(statement_date: datetime.date) -> list[GuarantorDue]:
    """Every guarantor whose household owes something (patient responsibility) on the
    statement date, each with the reason it gets no statement, if any; one grouped sum."""
    minimum = statement_minimum()
    rows = (
        LedgerEntry.objects.filter(responsibility=PATIENT, posted_on__lte=statement_date)
        .annotate(guarantor_key=guarantor_of())
        .values("guarantor_key")
        .annotate(balance=MoneySum("amount"))
        .filter(balance__gt=Decimal("0.005"))
        .order_by("guarantor_key")
    )
    balances = {row["guarantor_key"]: row["balance"] for row in rows}
    household = guarantor_of()
    disputed = set(
        CollectionCase.objects.filter(status=CollectionCase.Status.OPEN, disputed=True)
        .annotate(key=household)
        .values_list("key", flat=True)
    )
    on_plan = set(
        PaymentPlan.objects.filter(status__in=PLAN_IN_GOOD_STANDING)
        .annotate(key=household)
        .values_list("key", flat=True)
    )
    result = []
    for guarantor_id, balance in balances.items():
        if guarantor_id in disputed:
            skip = SKIP_DISPUTED
        elif guarantor_id in on_plan:
            skip = SKIP_PAYMENT_PLAN
        elif balance < minimum:
            skip = SKIP_BELOW_MINIMUM
        else:
            skip = ""
        result.append(GuarantorDue(guarantor_id, balance, skip))
    return result


@dataclass
class StatementFigures:
    period_start: datetime.date
    previous_balance: Decimal
    new_charges: Decimal
    payments_and_credits: Decimal
    amount_due: Decimal
    insurance_pending: Decimal
    aging: dict[str, Decimal]
    lines: list[pdfs.StatementLine]


def line_description(entry: LedgerEntry) -> str:
    words = KIND_WORDS.get(entry.kind, entry.get_kind_display())
    if entry.kind == LedgerEntry.Kind.TRANSFER and entry.amount < 0:
        words = "Sent to insurance"
    if entry.charge_id:
        charge = entry.charge
        return (
            f"{words}: {charge.service_code.code} {charge.service_code.description}, "
            f"seen {charge.date_of_service:%Y-%m-%d}"
        )
    if entry.kind == LedgerEntry.Kind.PAYMENT and entry.payment_id:
        return f"{words} (receipt {entry.payment.receipt_number})"
    return (
        f"{words}{': ' + entry.memo if entry.memo and entry.kind == LedgerEntry.Kind.FEE else ''}"
    )


def statement_figures(guarantor: Patient, statement_date: datetime.date) -> StatementFigures:
    """Previous balance, the activity since the last statement, what is due and its age.

    The activity runs from the day after the guarantor's last statement (or 90 days for a
    first one), so previous balance + charges + credits = the amount due, always.
    """
    last = (
        Statement.objects.filter(guarantor=guarantor, statement_date__lt=statement_date)
        .order_by("-statement_date")
        .values_list("statement_date", flat=True)
        .first()
    )
    period_start = (
        last + datetime.timedelta(days=1)
        if last
        else statement_date - datetime.timedelta(days=FIRST_STATEMENT_DAYS - 1)
    )
    members = list(members_of(guarantor).values_list("pk", flat=True))
    entries = LedgerEntry.objects.filter(patient_id__in=members, posted_on__lte=statement_date)
    sums = entries.aggregate(
        previous=MoneySum("amount", filter=Q(responsibility=PATIENT, posted_on__lt=period_start)),
        charges=MoneySum(
            "amount", filter=Q(responsibility=PATIENT, posted_on__gte=period_start, amount__gt=0)
        ),
        credits=MoneySum(
            "amount", filter=Q(responsibility=PATIENT, posted_on__gte=period_start, amount__lt=0)
        ),
        due=MoneySum("amount", filter=Q(responsibility=PATIENT)),
        insurance=MoneySum("amount", filter=Q(responsibility=INSURANCE)),
    )
    aging = (
        ar_entries(statement_date)
        .filter(patient_id__in=members, responsibility=PATIENT)
        .aggregate(**bucket_sums(statement_date))
    )
    lines = [
        pdfs.StatementLine(
            day=entry.posted_on,
            patient=entry.patient.display_name,
            description=line_description(entry),
            amount=entry.amount,
        )
        for entry in entries.filter(responsibility=PATIENT, posted_on__gte=period_start)
        .select_related("patient", "charge__service_code", "payment")
        .order_by("posted_on", "pk")
    ]
    return StatementFigures(
        period_start=period_start,
        previous_balance=sums["previous"],
        new_charges=sums["charges"],
        payments_and_credits=sums["credits"],
        amount_due=sums["due"],
        insurance_pending=max(sums["insurance"], ZERO),
        aging={bucket.key: aging[f"b_{bucket.key}"] for bucket in BUCKETS},
        lines=lines,
    )


def statement_data(
    statement: Statement, figures: StatementFigures, organization
) -> pdfs.StatementData:
    return pdfs.StatementData(
        practice=practice_of(organization),
        addressee=addressee_of(statement.guarantor),
        statement_number=statement.statement_number,
        statement_date=statement.statement_date,
        period_start=figures.period_start,
        due_date=statement.due_date,
        previous_balance=figures.previous_balance,
        new_charges=figures.new_charges,
        payments_and_credits=figures.payments_and_credits,
        amount_due=figures.amount_due,
        insurance_pending=figures.insurance_pending,
        aging=[(bucket.label, figures.aging[bucket.key]) for bucket in BUCKETS],
        lines=figures.lines,
        how_to_pay=how_to_pay(organization),
    )


def last_cycle_without_run(today: datetime.date) -> datetime.date | None:
    """This month's cycle day, when it has come and no statement run (other than a failed
    one) is dated on or after it."""
    cycle = cycle_date_of(today)
    if cycle > today:
        return None
    ran = StatementRun.objects.filter(statement_date__gte=cycle).exclude(
        status=StatementRun.Status.FAILED
    )
    return None if ran.exists() else cycle


def statement_runs() -> QuerySet[StatementRun]:
    return StatementRun.objects.select_related("started_by")


def statements_of_run(run: StatementRun) -> QuerySet[Statement]:
    return run.statements.select_related("guarantor").order_by(
        "guarantor__last_name", "guarantor__first_name", "pk"
    )


# Services


@transaction.atomic
def statement_run_start(
    *, acting_user: User | None, statement_date: datetime.date | None = None
) -> StatementRun:
    """Start a statement run dated ``statement_date`` (today by default) as a background job.

    One run per date (a failed one may be run again), one run at a time, never in the future.
    """
    from practicedesk.billing.tasks import statement_run_generate
    from practicedesk.core.services import job_start

    today = timezone.localdate()
    statement_date = statement_date or today
    if statement_date > today:
        raise ValidationError(
            {
                "statement_date": "A statement cannot be dated in the future: its figures would "
                "change before that day."
            }
        )
    if StatementRun.objects.filter(status__in=PENDING_RUN).exists():
        raise ValidationError("A statement run is already waiting or running; let it finish.")
    if (
        StatementRun.objects.filter(statement_date=statement_date)
        .exclude(status=StatementRun.Status.FAILED)
        .exists()
    ):
        raise ValidationError(
            {
                "statement_date": f"Statements dated {statement_date:%Y-%m-%d} were already run; "
                "reprint them from that run."
            }
        )
    run = StatementRun(statement_date=statement_date, started_by=acting_user)
    run.full_clean()
    try:
        with transaction.atomic():
            run.save()
    except IntegrityError:
        raise ValidationError(
            {"statement_date": f"Statements dated {statement_date:%Y-%m-%d} were just started."}
        ) from None
    if acting_user is not None:
        job = job_start(
            acting_user=acting_user, task=statement_run_generate, kwargs={"run_id": run.pk}
        )
    else:
        job = statement_run_generate.enqueue(run_id=run.pk).db_result
    run.task_result_id = str(job.pk)
    run.save(update_fields=["task_result_id"])
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=run,
        name="statement_run_start",
        detail={"statement_date": statement_date.isoformat(), "job": str(job.pk)},
    )
    return run


def pdf_file(content: bytes, name: str) -> tuple[ContentFile, str]:
    return ContentFile(content, name=name), hashlib.sha256(content).hexdigest()


def statement_message(statement: Statement, content: bytes, organization) -> EmailMessage:
    """A short email with the statement attached; the body names no service or diagnosis."""
    context = {
        "practice_name": organization.name if organization else "Your medical practice",
        "phone": organization.phone if organization else "",
        "statement": statement,
    }
    subject = render_to_string("billing/statements/email_subject.txt", context)
    message = EmailMessage(
        subject=" ".join(subject.split()),
        body=render_to_string("billing/statements/email.txt", context),
        to=[statement.guarantor.email],
    )
    message.attach(f"statement-{statement.statement_number}.pdf", content, "application/pdf")
    return message


def statement_create(
    *,
    run: StatementRun,
    guarantor: Patient,
    organization: Organization | None,
    connection=None,
) -> tuple[Statement, bytes]:
    """One guarantor's statement: figures, PDF, delivery; one transaction. An email the
    server refuses falls back to the printed batch, with the reason kept."""
    due_days = int(conf.setting("STATEMENT_DUE_DAYS"))
    with transaction.atomic():
        figures = statement_figures(guarantor, run.statement_date)
        statement = Statement(
            run=run,
            statement_number=f"S{sequence_next(STATEMENT_SEQUENCE):08d}",
            guarantor=guarantor,
            statement_date=run.statement_date,
            period_start=figures.period_start,
            previous_balance=figures.previous_balance,
            new_charges=figures.new_charges,
            payments_and_credits=figures.payments_and_credits,
            amount_due=figures.amount_due,
            insurance_pending=figures.insurance_pending,
            aging_0_30=figures.aging["0_30"],
            aging_31_60=figures.aging["31_60"],
            aging_61_90=figures.aging["61_90"],
            aging_91_120=figures.aging["91_120"],
            aging_over_120=figures.aging["over_120"],
            due_date=run.statement_date + datetime.timedelta(days=due_days),
            delivery=Statement.Delivery.PRINT,
        )
        content = pdfs.statement_pdf(statement_data(statement, figures, organization))
        upload, statement.sha256 = pdf_file(content, f"statement-{statement.statement_number}.pdf")
        statement.size_bytes = len(content)
        if statement_email_allowed(guarantor):
            try:
                message = statement_message(statement, content, organization)
                message.connection = connection
                message.send()
            except Exception as error:  # refused address, server down: print it instead
                logger.warning("Statement %s not emailed: %s", statement.statement_number, error)
                statement.delivery_note = f"Email refused, printed: {error}"[:300]
            else:
                statement.delivery = Statement.Delivery.EMAIL
                statement.emailed_to = guarantor.email
                statement.emailed_at = timezone.now()
        elif guarantor.email:
            statement.delivery_note = "No consent to email on file; printed."
        statement.file.save(upload.name, upload, save=False)
        statement.full_clean(exclude=["file"])
        statement.save()
        audit_event_record(
            action=AuditEvent.Action.ACTION,
            obj=statement,
            name="statement_create",
            detail={
                "run": run.pk,
                "amount_due": str(statement.amount_due),
                "delivery": statement.delivery,
                "sha256": statement.sha256,
            },
        )
    return statement, content


Progress = Callable[[int, int, str], None]


def statement_run_execute(
    *, run: StatementRun, progress: Progress | None = None, mail_connection=None
) -> StatementRun:
    """Produce the run's statements (one transaction each, so a crash keeps what is done
    and a retry carries on), then the printable batch and the run's totals."""
    progress = progress or (lambda current, total, message: None)
    run = StatementRun.objects.get(pk=run.pk)
    if run.status == StatementRun.Status.DONE:
        return run
    run.status = StatementRun.Status.RUNNING
    run.save(update_fields=["status"])
    organization = Organization.objects.first()
    due = guarantors_to_bill(run.statement_date)
    to_bill = [row for row in due if not row.skip]
    skipped: dict[str, int] = {}
    for row in due:
        if row.skip:
            skipped[row.skip] = skipped.get(row.skip, 0) + 1
    done = set(run.statements.values_list("guarantor_id", flat=True))
    guarantors = Patient.objects.in_bulk([row.guarantor_id for row in to_bill])
    total = len(to_bill)
    connection = mail_connection or get_connection()
    try:
        for index, row in enumerate(to_bill, start=1):
            if row.guarantor_id not in done:
                statement, _ = statement_create(
                    run=run,
                    guarantor=guarantors[row.guarantor_id],
                    organization=organization,
                    connection=connection,
                )
                if statement.delivery_note.startswith("Email refused"):
                    connection.close()
                    connection = get_connection()
            progress(index, total, f"{index} of {total} statements")
    finally:
        connection.close()
    return statement_run_finish(run=run, skipped=skipped, organization=organization)


@transaction.atomic
def statement_run_finish(*, run: StatementRun, skipped: dict, organization) -> StatementRun:
    """The printable batch (statements to mail, in one PDF) and the run's totals."""
    run = StatementRun.objects.select_for_update().get(pk=run.pk)
    statements = list(statements_of_run(run))
    printed = [s for s in statements if s.delivery == Statement.Delivery.PRINT]
    if printed:
        batch = pdfs.statements_batch_pdf(
            [statement_data(s, statement_figures_as_stored(s), organization) for s in printed],
            title=f"Statements to mail, {run.statement_date:%Y-%m-%d}",
        )
        upload, run.batch_sha256 = pdf_file(
            batch, f"statements-to-mail-{run.statement_date:%Y-%m-%d}.pdf"
        )
        run.batch_file.save(upload.name, upload, save=False)
    run.statement_count = len(statements)
    run.printed_count = len(printed)
    run.emailed_count = len(statements) - len(printed)
    run.total_due = sum((s.amount_due for s in statements), ZERO)
    run.skipped = skipped
    run.status = StatementRun.Status.DONE
    run.finished_at = timezone.now()
    run.save()
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        obj=run,
        name="statement_run_finish",
        detail={
            "statements": run.statement_count,
            "emailed": run.emailed_count,
            "printed": run.printed_count,
            "skipped": skipped,
        },
    )
    return run


def statement_figures_as_stored(statement: Statement) -> StatementFigures:
    """The figures a statement was printed with, for the batch: the stored totals and the
    activity lines of its period (entries are append-only, so they are the same lines)."""
    figures = statement_figures(statement.guarantor, statement.statement_date)
    figures.period_start = statement.period_start
    figures.previous_balance = statement.previous_balance
    figures.new_charges = statement.new_charges
    figures.payments_and_credits = statement.payments_and_credits
    figures.amount_due = statement.amount_due
    figures.insurance_pending = statement.insurance_pending
    figures.lines = [line for line in figures.lines if line.day >= statement.period_start]
    return figures


def statement_run_fail(*, run: StatementRun, error: str) -> None:
    StatementRun.objects.filter(pk=run.pk).update(
        status=StatementRun.Status.FAILED, error=error[:300], finished_at=timezone.now()
    )
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        obj=run,
        name="statement_run_failed",
        detail={"error": error[:300]},
    )


def statement_file_verified(stored, sha256: str) -> bytes:
    """The stored PDF, refused if it no longer matches the checksum taken when it was made."""
    with stored.open("rb") as handle:
        content = handle.read()
    if hashlib.sha256(content).hexdigest() != sha256:
        raise ValidationError(
            "The stored file no longer matches its checksum; it was changed after it was made. "
            "Tell the practice manager."
        )
    return content


def statements_cycle_check(*, today: datetime.date | None = None) -> dict:
    """The periodic check: with STATEMENT_AUTO_RUN on, start this month's run once its
    cycle day has come."""
    today = today or timezone.localdate()
    if not conf.setting("STATEMENT_AUTO_RUN"):
        return {"started": None, "reason": "STATEMENT_AUTO_RUN is off"}
    if last_cycle_without_run(today) is None:
        return {"started": None, "reason": "not due"}
    try:
        run = statement_run_start(acting_user=None, statement_date=today)
    except ValidationError as error:
        return {"started": None, "reason": " ".join(error.messages)}
    return {"started": run.pk}
