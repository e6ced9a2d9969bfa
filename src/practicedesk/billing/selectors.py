"""Billing reads: balances as sums of ledger entries, fees in force, claim queues."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

import simple_icd_10_cm as icd10
from django.conf import settings
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from practicedesk.billing.models import (
    ZERO,
    Charge,
    Claim,
    CollectionCase,
    EligibilityCheck,
    Fee,
    FeeSchedule,
    FinancialAssistanceApproval,
    FinancialAssistanceBand,
    LedgerEntry,
    Payment,
    PaymentPlan,
    PlanInstalment,
    ServiceCode,
    icd10_normalise,
)
from practicedesk.core.money import MoneySum
from practicedesk.patients.models import Payer
from practicedesk.scheduling.models import Appointment

ZERO_SUM = MoneySum("amount")


def balance(entries: QuerySet[LedgerEntry]) -> Decimal:
    return entries.aggregate(total=ZERO_SUM)["total"]


def patient_balance(patient_id: int) -> Decimal:
    """What the patient owes now (patient responsibility only)."""
    return balance(
        LedgerEntry.objects.filter(
            patient_id=patient_id, responsibility=LedgerEntry.Responsibility.PATIENT
        )
    )


def insurance_balance(patient_id: int) -> Decimal:
    return balance(
        LedgerEntry.objects.filter(
            patient_id=patient_id, responsibility=LedgerEntry.Responsibility.INSURANCE
        )
    )


def claim_balance(claim: Claim) -> Decimal:
    """What the claim's payer still owes on the claim's service lines.

    Charges are posted before any claim exists, so a claim's balance is read through its lines:
    the insurance-responsibility entries of those charges that name the claim's payer.
    """
    return balance(
        LedgerEntry.objects.filter(
            charge__claim_lines__claim=claim,
            payer_id=claim.payer_id,
            responsibility=LedgerEntry.Responsibility.INSURANCE,
        )
    )


def claim_balance_subquery() -> Coalesce:
    """``claim_balance`` as a subquery of a claims query (``OuterRef`` the claim): one query
    for a list of claims instead of one per claim."""
    money = DecimalField(max_digits=16, decimal_places=2)
    entries = (
        LedgerEntry.objects.filter(
            charge__claim_lines__claim=OuterRef("pk"),
            payer_id=OuterRef("payer_id"),
            responsibility=LedgerEntry.Responsibility.INSURANCE,
        )
        .order_by()
        .values("responsibility")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(entries, output_field=money), Value(ZERO), output_field=money)


def patient_balance_subquery(patient_field: str = "patient_id") -> Coalesce:
    """``patient_balance`` as a subquery (``OuterRef`` the row's patient): one query for a
    page of rows instead of one per row."""
    money = DecimalField(max_digits=16, decimal_places=2)
    entries = (
        LedgerEntry.objects.filter(
            patient_id=OuterRef(patient_field),
            responsibility=LedgerEntry.Responsibility.PATIENT,
        )
        .order_by()
        .values("patient_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(entries, output_field=money), Value(ZERO), output_field=money)


def claim_balances(claims: list[Claim]) -> dict[int, Decimal]:
    """``claim_balance`` of many claims at once, by claim id, in one query."""
    return dict(
        Claim.objects.filter(pk__in=[claim.pk for claim in claims])
        .annotate(balance=claim_balance_subquery())
        .values_list("pk", "balance")
    )


def charge_balance(charge_id: int, responsibility: str | None = None) -> Decimal:
    entries = LedgerEntry.objects.filter(charge_id=charge_id)
    if responsibility:
        entries = entries.filter(responsibility=responsibility)
    return balance(entries)


def payer_balance(payer_id: int) -> Decimal:
    return balance(
        LedgerEntry.objects.filter(
            payer_id=payer_id, responsibility=LedgerEntry.Responsibility.INSURANCE
        )
    )


def fee_in_force(
    service_code_id: int, on: datetime.date, payer_id: int | None = None
) -> Fee | None:
    """The fee of the schedule in force on ``on``: the practice's (payer None) or a payer's."""
    return (
        Fee.objects.filter(
            service_code_id=service_code_id,
            fee_schedule__payer_id=payer_id,
            fee_schedule__effective_from__lte=on,
        )
        .filter(Q(fee_schedule__effective_to__isnull=True) | Q(fee_schedule__effective_to__gte=on))
        .select_related("fee_schedule")
        .order_by("-fee_schedule__effective_from", "-fee_schedule_id")
        .first()
    )


def open_charges_of_visit(appointment_id: int) -> QuerySet[Charge]:
    """Posted, not reversed, not reversal charges of a visit."""
    return (
        Charge.objects.filter(
            appointment_id=appointment_id, reverses__isnull=True, reversed_by__isnull=True
        )
        .select_related("service_code")
        .order_by("pk")
    )


def claims_in_status(*statuses: str) -> QuerySet[Claim]:
    return Claim.objects.filter(status__in=statuses).select_related("patient", "payer")


# Fees and eligibility


IN_FORCE_FIELDS = ("fee_schedule__effective_from", "fee_schedule__effective_to")


def fee_schedule_in_force(on: datetime.date, payer_id: int | None = None) -> FeeSchedule | None:
    """The schedule in force on ``on``: the practice's own (payer None) or that payer's."""
    return (
        FeeSchedule.objects.filter(payer_id=payer_id, effective_from__lte=on)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on))
        .order_by("-effective_from", "-pk")
        .first()
    )


def amount_in_force(on: datetime.date, payer_id: int | None, code_ref: str = "pk") -> Subquery:
    """The fee (or a payer's allowed amount) of a service code on ``on``, as a subquery."""
    return Subquery(
        Fee.objects.filter(
            service_code_id=OuterRef(code_ref),
            fee_schedule__payer_id=payer_id,
            fee_schedule__effective_from__lte=on,
        )
        .filter(Q(fee_schedule__effective_to__isnull=True) | Q(fee_schedule__effective_to__gte=on))
        .order_by("-fee_schedule__effective_from", "-fee_schedule_id")
        .values("amount")[:1]
    )


def twelve_months_before(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year - 1) + datetime.timedelta(days=1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28) + datetime.timedelta(days=1)


@dataclass(frozen=True)
class PayerAmount:
    payer: Payer
    amount: Decimal | None
    percent_of_fee: Decimal | None


@dataclass(frozen=True)
class FeeAnalysisRow:
    service_code: ServiceCode
    practice_fee: Decimal | None
    payer_amounts: list[PayerAmount]
    units: int
    billed: Decimal


@dataclass(frozen=True)
class FeeAnalysis:
    on: datetime.date
    since: datetime.date
    payers: list[Payer]
    rows: list[FeeAnalysisRow]


def fee_analysis(on: datetime.date | None = None) -> FeeAnalysis:
    """Per service code: the practice fee in force, each payer's allowed amount in force, and
    the units and amount billed in the 12 months up to ``on`` — one query, aggregated in the
    database. Reversed charges and the reversals themselves are not volume."""
    on = on or timezone.localdate()
    since = twelve_months_before(on)
    payers = list(Payer.objects.filter(fee_schedules__isnull=False).distinct().order_by("name"))
    billed = Q(
        charges__date_of_service__gte=since,
        charges__date_of_service__lte=on,
        charges__reverses__isnull=True,
        charges__reversed_by__isnull=True,
    )
    codes = ServiceCode.objects.annotate(
        practice_fee=amount_in_force(on, None),
        units_billed=Coalesce(Sum("charges__units", filter=billed), 0),
        amount_billed=MoneySum("charges__amount", filter=billed),
        **{f"payer_{payer.pk}": amount_in_force(on, payer.pk) for payer in payers},
    ).order_by("code")
    rows = []
    for code in codes:
        fee = code.practice_fee
        amounts = []
        for payer in payers:
            amount = getattr(code, f"payer_{payer.pk}")
            percent = (
                (amount * 100 / fee).quantize(Decimal("1")) if amount is not None and fee else None
            )
            amounts.append(PayerAmount(payer, amount, percent))
        rows.append(
            FeeAnalysisRow(
                service_code=code,
                practice_fee=fee,
                payer_amounts=amounts,
                units=code.units_billed,
                billed=code.amount_billed,
            )
        )
    return FeeAnalysis(on=on, since=since, payers=payers, rows=rows)


def fees_of_schedule_with_payer_amounts(
    fee_schedule: FeeSchedule, on: datetime.date, payer_id: int | None
) -> QuerySet[Fee]:
    """A schedule's fees, each with ``payer_amount``: that payer's allowed amount on ``on``."""
    fees = fee_schedule.fees.select_related("service_code").order_by("service_code__code")
    if payer_id is None:
        return fees
    return fees.annotate(payer_amount=amount_in_force(on, payer_id, "service_code_id"))


def visits_to_bill() -> QuerySet[Appointment]:
    """Checked-out visits with no charge posted yet (a visit whose charges were all reversed
    is billed and corrected, not unbilled: it shows on its own page)."""
    return (
        Appointment.objects.filter(status=Appointment.Status.CHECKED_OUT, charges__isnull=True)
        .select_related("patient", "provider", "location", "coverage__payer")
        .order_by("start")
    )


def charges_of_visit(appointment_id: int) -> QuerySet[Charge]:
    """Every charge of a visit, reversals included, in posting order."""
    return (
        Charge.objects.filter(appointment_id=appointment_id)
        .select_related("service_code", "reverses", "posted_by")
        .annotate(is_reversed=Exists(Charge.objects.filter(reverses=OuterRef("pk"))))
        .order_by("pk")
    )


def appointments_on(day: datetime.date) -> QuerySet[Appointment]:
    """The day's booked appointments (not cancelled, not no-shows), in the local time zone."""
    return (
        Appointment.objects.booked()
        .filter(start__date=day)
        .select_related("patient", "coverage__payer")
        .order_by("start")
    )


def eligibility_checks() -> QuerySet[EligibilityCheck]:
    return EligibilityCheck.objects.select_related(
        "coverage__payer", "coverage__patient", "appointment"
    )


def icd10_description(code: str | None) -> str:
    """The classification's description of an ICD-10-CM code ("" for an unknown code)."""
    value = icd10_normalise(code or "")
    if not value or not icd10.is_valid_item(value):
        return ""
    return icd10.get_description(value)


# Payments and credit, the daily close, payment plans, financial assistance

PATIENT = LedgerEntry.Responsibility.PATIENT
INSURANCE = LedgerEntry.Responsibility.INSURANCE
# More than half a cent: SQLite sums decimals in floating point, so a charge paid off exactly
# can sum to 1e-15 there; every real balance is a whole number of cents.
OWED = Decimal("0.005")


@dataclass(frozen=True)
class PaymentCredit:
    """Where a payment's money is, read from its ledger entries."""

    applied: Decimal
    unapplied: Decimal
    refunded: Decimal


def payment_sums(prefix: str = "") -> dict:
    """MoneySum annotations of a payment's entries: on charges, on account, refunded."""
    amount = f"{prefix}amount"
    on_charge = Q(**{f"{prefix}charge__isnull": False})
    on_account = Q(**{f"{prefix}charge__isnull": True}) & ~Q(
        **{f"{prefix}kind": LedgerEntry.Kind.FEE}
    )
    refund = Q(**{f"{prefix}kind": LedgerEntry.Kind.REFUND})
    return {
        "on_charges_sum": MoneySum(amount, filter=on_charge),
        "on_account_sum": MoneySum(amount, filter=on_account),
        "refunded_sum": MoneySum(amount, filter=refund),
    }


def credit_from_sums(status: str, on_charges: Decimal, on_account: Decimal, refunded: Decimal):
    """A payment posts negative entries: what it applied is minus their sum on charges, its
    unapplied credit minus their sum on account (receipt, credit moved to charges, refunds).
    A returned check has no credit left; a refund paid before it came back stays owed."""
    unapplied = -on_account if status == Payment.Status.RECEIVED else ZERO
    return PaymentCredit(applied=-on_charges, unapplied=max(unapplied, ZERO), refunded=refunded)


def payment_credit(payment: Payment) -> PaymentCredit:
    sums = LedgerEntry.objects.filter(payment=payment).aggregate(**payment_sums())
    return credit_from_sums(
        payment.status, sums["on_charges_sum"], sums["on_account_sum"], sums["refunded_sum"]
    )


def payments_with_credit(payments: QuerySet[Payment]) -> list[Payment]:
    """The payments, each with ``credit`` (a PaymentCredit), summed in one query."""
    rows = list(
        payments.select_related("location", "received_by", "patient", "payer", "plan").annotate(
            **payment_sums("ledger_entries__")
        )
    )
    for payment in rows:
        payment.credit = credit_from_sums(
            payment.status, payment.on_charges_sum, payment.on_account_sum, payment.refunded_sum
        )
    return rows


def patient_unapplied_credit(patient_id: int) -> Decimal:
    """Credit the patient's received payments still hold on account."""
    total = balance(
        LedgerEntry.objects.filter(
            patient_id=patient_id,
            payment__status=Payment.Status.RECEIVED,
            payment__patient_id=patient_id,
            charge__isnull=True,
        ).exclude(kind=LedgerEntry.Kind.FEE)
    )
    return max(-total, ZERO)


def payment_entries(payment: Payment) -> QuerySet[LedgerEntry]:
    return (
        LedgerEntry.objects.filter(payment=payment)
        .select_related("charge__service_code", "posted_by", "reverses")
        .order_by("posted_at", "pk")
    )


def charges_owed_by_patient(patient_id: int) -> list[Charge]:
    """The patient's charges with a patient balance, oldest date of service first; each
    with ``owed``."""
    charges = (
        Charge.objects.filter(patient_id=patient_id)
        .select_related("service_code")
        .annotate(
            owed=MoneySum(
                "ledger_entries__amount", filter=Q(ledger_entries__responsibility=PATIENT)
            )
        )
        .filter(owed__gt=OWED)
        .order_by("date_of_service", "pk")
    )
    return [charge for charge in charges if charge.owed > ZERO]


def charges_owed_by_payer(payer_id: int) -> list[Charge]:
    """Charges a payer still owes on (its insurance entries), oldest date of service first."""
    charges = (
        Charge.objects.filter(ledger_entries__payer_id=payer_id)
        .select_related("service_code", "patient")
        .annotate(
            owed=MoneySum(
                "ledger_entries__amount",
                filter=Q(
                    ledger_entries__responsibility=INSURANCE, ledger_entries__payer_id=payer_id
                ),
            )
        )
        .filter(owed__gt=OWED)
        .order_by("date_of_service", "pk")
    )
    return [charge for charge in charges if charge.owed > ZERO]


def charge_owed(charge_id: int, responsibility: str, payer_id: int | None = None) -> Decimal:
    entries = LedgerEntry.objects.filter(charge_id=charge_id, responsibility=responsibility)
    if payer_id is not None:
        entries = entries.filter(payer_id=payer_id)
    return balance(entries)


@dataclass
class AccountLine:
    entry: LedgerEntry
    patient_running: Decimal
    insurance_running: Decimal


@dataclass
class PatientAccount:
    patient_balance: Decimal
    insurance_balance: Decimal
    unapplied_credit: Decimal
    lines: list[AccountLine]
    payments: list[Payment]
    charges_owed: list[Charge]
    plans: list
    assistance: list
    collection_case: object


def patient_account(patient) -> PatientAccount:
    """Everything the patient's account page shows, in a fixed number of queries.

    The running balances (patient and insurance) are accumulated over the entries the page
    has fetched anyway, in posting order; the balances themselves are summed in the database.
    """
    entries = list(
        LedgerEntry.objects.filter(patient=patient)
        .select_related("charge__service_code", "payer", "payment", "posted_by", "approved_by")
        .order_by("posted_on", "posted_at", "pk")
    )
    running = {PATIENT: ZERO, INSURANCE: ZERO}
    lines = []
    for entry in entries:
        running[entry.responsibility] += entry.amount
        lines.append(AccountLine(entry, running[PATIENT], running[INSURANCE]))
    totals = LedgerEntry.objects.filter(patient=patient).aggregate(
        patient_total=MoneySum("amount", filter=Q(responsibility=PATIENT)),
        insurance_total=MoneySum("amount", filter=Q(responsibility=INSURANCE)),
    )
    return PatientAccount(
        patient_balance=totals["patient_total"],
        insurance_balance=totals["insurance_total"],
        unapplied_credit=patient_unapplied_credit(patient.pk),
        lines=lines,
        payments=payments_with_credit(Payment.objects.filter(patient=patient)),
        charges_owed=charges_owed_by_patient(patient.pk),
        plans=list(
            PaymentPlan.objects.filter(patient=patient).select_related(
                "authorized_by", "proposed_by"
            )
        ),
        assistance=list(
            FinancialAssistanceApproval.objects.filter(patient=patient).select_related(
                "band", "approved_by"
            )
        ),
        collection_case=CollectionCase.objects.filter(
            patient=patient, status=CollectionCase.Status.OPEN
        ).first(),
    )


@dataclass(frozen=True)
class CloseRow:
    location: str
    user: str
    method: str
    method_label: str
    count: int
    total: Decimal


@dataclass
class DailyClose:
    day: datetime.date
    rows: list[CloseRow]
    by_method: list[CloseRow]
    checks: list[Payment]
    returned: list[Payment]
    refunds: list[LedgerEntry]
    received_total: Decimal
    deposit_total: Decimal
    returned_total: Decimal
    refunded_total: Decimal


def user_label(first: str, last: str, username: str | None) -> str:
    if username is None:
        return "—"
    name = f"{first} {last}".strip()
    return name or username


def daily_close(
    day: datetime.date, *, location_id: int | None = None, user_id: int | None = None
) -> DailyClose:
    """What was received on ``day``, per location, user and method (counts and totals summed in
    the database), the checks to deposit, and the checks returned and refunds paid that day.

    The bank deposit is the cash and checks received: card and EFT money settles separately.
    """
    received = Payment.objects.filter(received_on=day)
    returned = Payment.objects.filter(returned_on=day)
    refunds = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND, posted_on=day)
    if location_id:
        received = received.filter(location_id=location_id)
        returned = returned.filter(location_id=location_id)
        refunds = refunds.filter(payment__location_id=location_id)
    if user_id:
        received = received.filter(received_by_id=user_id)
        returned = returned.filter(received_by_id=user_id)
        refunds = refunds.filter(posted_by_id=user_id)
    labels = dict(Payment.Method.choices)
    grouped = (
        received.values(
            "location__name",
            "received_by__username",
            "received_by__first_name",
            "received_by__last_name",
            "method",
        )
        .annotate(count=Count("pk"), total=MoneySum("amount"))
        .order_by("location__name", "received_by__username", "method")
    )
    rows = [
        CloseRow(
            location=row["location__name"],
            user=user_label(
                row["received_by__first_name"],
                row["received_by__last_name"],
                row["received_by__username"],
            ),
            method=row["method"],
            method_label=labels.get(row["method"], row["method"]),
            count=row["count"],
            total=row["total"],
        )
        for row in grouped
    ]
    per_method = received.values("method").annotate(count=Count("pk"), total=MoneySum("amount"))
    by_method = sorted(
        (
            CloseRow("", "", row["method"], labels[row["method"]], row["count"], row["total"])
            for row in per_method
        ),
        key=lambda row: list(labels).index(row.method),
    )
    totals = received.aggregate(
        received_total=MoneySum("amount"),
        deposit_total=MoneySum(
            "amount", filter=Q(method__in=[Payment.Method.CASH, Payment.Method.CHECK])
        ),
    )
    return DailyClose(
        day=day,
        rows=rows,
        by_method=by_method,
        checks=list(
            received.filter(method=Payment.Method.CHECK)
            .select_related("patient", "payer", "location", "received_by")
            .order_by("location__name", "check_number", "pk")
        ),
        returned=list(
            returned.select_related("patient", "payer", "location", "returned_by").order_by("pk")
        ),
        refunds=list(
            refunds.select_related("patient", "payment", "posted_by").order_by("posted_at", "pk")
        ),
        received_total=totals["received_total"],
        deposit_total=totals["deposit_total"],
        returned_total=returned.aggregate(total=MoneySum("amount"))["total"],
        refunded_total=balance(refunds),
    )


@dataclass(frozen=True)
class ScheduleLine:
    instalment: PlanInstalment
    paid: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.instalment.amount - self.paid


def plan_paid_total(plan: PaymentPlan) -> Decimal:
    """What the patient has paid toward the plan: its payments that were not returned."""
    return plan.payments.filter(status=Payment.Status.RECEIVED).aggregate(total=MoneySum("amount"))[
        "total"
    ]


def plan_schedule(plan: PaymentPlan, paid_total: Decimal | None = None) -> list[ScheduleLine]:
    """The plan's instalments, each with what is paid on it: the plan's payments cover them in
    due order (a payment beyond one instalment counts toward the next)."""
    left = plan_paid_total(plan) if paid_total is None else paid_total
    lines = []
    for instalment in plan.instalments.order_by("number"):
        paid = min(left, instalment.amount)
        left -= paid
        lines.append(ScheduleLine(instalment, paid))
    return lines


def payment_plans() -> QuerySet[PaymentPlan]:
    return PaymentPlan.objects.select_related("patient", "authorized_by", "proposed_by")


def payments() -> QuerySet[Payment]:
    return Payment.objects.select_related("patient", "payer", "location", "received_by")


def poverty_guideline(household_size: int) -> Decimal:
    """The yearly federal poverty guideline for a household (HHS; the settings hold the year's
    figures)."""
    base = Decimal(settings.POVERTY_GUIDELINE_BASE)
    per_person = Decimal(settings.POVERTY_GUIDELINE_PER_PERSON)
    return base + per_person * (household_size - 1)


def financial_assistance_band_for(percent: Decimal) -> FinancialAssistanceBand | None:
    """The most generous active band whose income ceiling covers ``percent`` of poverty."""
    return (
        FinancialAssistanceBand.objects.filter(is_active=True, poverty_level_max__gte=percent)
        .order_by("poverty_level_max")
        .first()
    )


def financial_assistance_approvals() -> QuerySet[FinancialAssistanceApproval]:
    return FinancialAssistanceApproval.objects.select_related("patient", "band", "approved_by")


def charges_with_balances(patient_id: int) -> list[Charge]:
    """The patient's charges still owed on by the patient or a payer, oldest first; each with
    ``patient_owed`` and ``insurance_owed``."""
    charges = (
        Charge.objects.filter(patient_id=patient_id)
        .select_related("service_code")
        .annotate(
            patient_owed=MoneySum(
                "ledger_entries__amount", filter=Q(ledger_entries__responsibility=PATIENT)
            ),
            insurance_owed=MoneySum(
                "ledger_entries__amount", filter=Q(ledger_entries__responsibility=INSURANCE)
            ),
        )
        .filter(Q(patient_owed__gt=OWED) | Q(insurance_owed__gt=OWED))
        .order_by("date_of_service", "pk")
    )
    return list(charges)
