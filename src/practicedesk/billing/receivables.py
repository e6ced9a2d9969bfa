"""Receivables: A/R aging and the revenue-cycle figures of the manager's dashboard.

Everything is summed by the database from the one ledger (``LedgerEntry``): A/R on a day is
the sum of every entry posted up to that day, so the aging buckets always add up to the
balances. Money is summed with ``MoneySum`` (exact cents on SQLite too); Python only divides
the totals it gets back. A figure is ``None`` when its period holds nothing to measure (no
charges, no adjudicated claim, no payment): the dashboard then says "no data", never 0%.

Location and provider follow the visit a charge belongs to (payments on account, which have
no charge, follow the location where they were received): each entry carries its location and
aging date from when it was posted. The A/R on a day is read from the month-end snapshot
before it plus the entries posted since (``snapshots``), so a trend of twelve month ends
never sums the whole ledger twelve times.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Avg,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce, TruncDate
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from practicedesk.billing.models import (
    ZERO,
    Charge,
    Claim,
    ClaimStatusChange,
    LedgerEntry,
    ReceivablesSnapshotRow,
)
from practicedesk.billing.snapshots import snapshot_before
from practicedesk.core.kpi import KpiRecord, shared
from practicedesk.core.money import MoneySum
from practicedesk.core.reversing import url_for_each
from practicedesk.scheduling.availability import local_datetime

Kind = LedgerEntry.Kind
PATIENT = LedgerEntry.Responsibility.PATIENT
INSURANCE = LedgerEntry.Responsibility.INSURANCE
Status = Claim.Status
# More than half a cent: a balance paid off exactly is 0.00, anything owed is at least 0.01.
OWED = Decimal("0.005")
GROSS_CHARGE_DAYS = 90
ADJUDICATED = (Status.PAID, Status.PARTIALLY_PAID, Status.DENIED)
PROBLEMS = (Status.REJECTED, Status.DENIED)
RECORDS_LIMIT = 200


@dataclass(frozen=True)
class Bucket:
    key: str
    label: str
    low: int
    high: int | None


BUCKETS = (
    Bucket("0_30", "0–30 days", 0, 30),
    Bucket("31_60", "31–60 days", 31, 60),
    Bucket("61_90", "61–90 days", 61, 90),
    Bucket("91_120", "91–120 days", 91, 120),
    Bucket("over_120", "Over 120 days", 121, None),
)
OVER_90 = ("91_120", "over_120")


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    if not whole or whole <= ZERO:
        return None
    return (Decimal(100) * part / whole).quantize(Decimal("0.01"))


# Aging


def aging_date(basis: str = "service"):
    """The day an entry's age counts from: the date of service of its charge, or (``claim``
    basis) the day its charge was first claimed; entries without a charge (payments on
    account, returned-check fees) from their posting day."""
    if basis == "service":
        return F("aged_from")
    if basis != "claim":
        raise ValueError("Aging is by date of service ('service') or first claim ('claim').")
    first_claimed = Subquery(
        Claim.objects.filter(lines__charge=OuterRef("charge_id"), first_submitted_at__isnull=False)
        .order_by("first_submitted_at")
        .values("first_submitted_at")[:1],
        output_field=DateTimeField(),
    )
    return Coalesce(
        TruncDate(first_claimed, tzinfo=timezone.get_current_timezone()), F("aged_from")
    )


def ar_entries(
    as_of: datetime.date,
    location_id: int | None = None,
    provider_id: int | None = None,
    basis: str = "service",
) -> QuerySet[LedgerEntry]:
    """Every ledger entry posted up to ``as_of``, each with its ``aging_date``."""
    entries = LedgerEntry.objects.filter(posted_on__lte=as_of)
    if location_id is not None:
        entries = entries.filter(location_id=location_id)
    if provider_id is not None:
        entries = entries.filter(charge__rendering_provider_id=provider_id)
    return entries.alias(aging_date=aging_date(basis))


def ar_parts(
    as_of: datetime.date,
    location_id: int | None = None,
    provider_id: int | None = None,
    basis: str = "service",
) -> list[QuerySet]:
    """The A/R on ``as_of`` as querysets whose sums add up to it, each with ``amount``,
    ``responsibility``, ``payer`` and ``aging_date``: the rows of the latest snapshot and the
    entries posted since; every entry when no snapshot serves (none taken yet, or a report by
    provider or by first-claim date, which snapshots do not keep)."""
    snapshot = snapshot_before(as_of) if provider_id is None and basis == "service" else None
    if snapshot is None:
        return [ar_entries(as_of, location_id, provider_id, basis)]
    rows = ReceivablesSnapshotRow.objects.filter(snapshot=snapshot)
    if location_id is not None:
        rows = rows.filter(location_id=location_id)
    since = ar_entries(as_of, location_id).filter(posted_on__gt=snapshot.as_of)
    return [rows.alias(aging_date=F("aged_from")), since]


def sums_added(parts: list[dict]) -> dict:
    """The bucket sums of ``bucket_sums`` added up over the parts of the A/R."""
    keys = [f"b_{bucket.key}" for bucket in BUCKETS] + ["total"]
    return {key: sum((values[key] for values in parts), ZERO) for key in keys}


def bucket_filter(bucket: Bucket, as_of: datetime.date) -> Q:
    """Entries aged ``bucket.low`` to ``bucket.high`` days on ``as_of`` (a service dated after
    ``as_of`` counts as 0 days old)."""
    condition = Q()
    if bucket.high is not None:
        condition &= Q(aging_date__gte=as_of - datetime.timedelta(days=bucket.high))
    if bucket.low > 0:
        condition &= Q(aging_date__lte=as_of - datetime.timedelta(days=bucket.low))
    return condition


def bucket_sums(as_of: datetime.date) -> dict:
    sums = {
        f"b_{bucket.key}": MoneySum("amount", filter=bucket_filter(bucket, as_of))
        for bucket in BUCKETS
    }
    sums["total"] = MoneySum("amount")
    return sums


@dataclass
class AgingRow:
    label: str
    buckets: dict[str, Decimal]
    total: Decimal
    url: str | None = None
    object_id: int | None = None

    @property
    def over_90(self) -> Decimal:
        return sum((self.buckets[key] for key in OVER_90), ZERO)

    @property
    def amounts(self) -> list[Decimal]:
        return [self.buckets[bucket.key] for bucket in BUCKETS]


def _row(label: str, values: dict, **kwargs) -> AgingRow:
    return AgingRow(
        label=label,
        buckets={bucket.key: values[f"b_{bucket.key}"] for bucket in BUCKETS},
        total=values["total"],
        **kwargs,
    )


@shared
def aging_totals(
    as_of: datetime.date,
    location_id: int | None = None,
    provider_id: int | None = None,
    basis: str = "service",
) -> AgingRow:
    """The whole A/R on ``as_of`` in its five age buckets."""
    parts = ar_parts(as_of, location_id, provider_id, basis)
    sums = sums_added([part.aggregate(**bucket_sums(as_of)) for part in parts])
    return _row("All accounts", sums)


@dataclass
class Aging:
    as_of: datetime.date
    rows: list[AgingRow]
    total: AgingRow
    buckets: tuple[Bucket, ...] = field(default=BUCKETS)


def aging_by_payer(
    as_of: datetime.date,
    location_id: int | None = None,
    provider_id: int | None = None,
    basis: str = "service",
) -> Aging:
    """What each payer owes (insurance responsibility), and what patients owe, by age."""
    parts = ar_parts(as_of, location_id, provider_id, basis)
    payers: dict[int | None, list[dict]] = {}
    names: dict[int | None, str] = {}
    for part in parts:
        for values in (
            part.filter(responsibility=INSURANCE)
            .values("payer_id", "payer__name")
            .annotate(**bucket_sums(as_of))
            .order_by()
        ):
            payers.setdefault(values["payer_id"], []).append(values)
            names[values["payer_id"]] = values["payer__name"] or "Payer not recorded"
    rows = sorted(
        (_row(names[pk], sums_added(sums), object_id=pk) for pk, sums in payers.items()),
        key=lambda row: (row.object_id is None, row.label),
    )
    patients = sums_added(
        [part.filter(responsibility=PATIENT).aggregate(**bucket_sums(as_of)) for part in parts]
    )
    if patients["total"] or any(patients[f"b_{b.key}"] for b in BUCKETS):
        rows.append(_row("Patients", patients))
    return Aging(as_of=as_of, rows=rows, total=_total(rows))


def _total(rows: list[AgingRow]) -> AgingRow:
    return AgingRow(
        label="Total",
        buckets={b.key: sum((row.buckets[b.key] for row in rows), ZERO) for b in BUCKETS},
        total=sum((row.total for row in rows), ZERO),
    )


def account_url(patient_id: int) -> str:
    try:
        return reverse("billing:patient_account", args=[patient_id])
    except NoReverseMatch:
        return reverse("patients:patient_detail", args=[patient_id])


def aging_by_patient(
    as_of: datetime.date,
    location_id: int | None = None,
    provider_id: int | None = None,
    *,
    basis: str = "service",
    responsibility: str | None = None,
    over_90_only: bool = False,
    exclude: Q | None = None,
    limit: int | None = None,
) -> Aging:
    """Each patient account's balance by age (both responsibilities unless one is named),
    largest first; ``over_90_only`` keeps the accounts with money owed over 90 days;
    ``exclude`` leaves out the entries (e.g. of patients already in collections) it matches."""
    entries = ar_entries(as_of, location_id, provider_id, basis)
    if responsibility:
        entries = entries.filter(responsibility=responsibility)
    if exclude is not None:
        entries = entries.exclude(exclude)
    grouped = (
        entries.values("patient_id", "patient__last_name", "patient__first_name", "patient__mrn")
        .annotate(**bucket_sums(as_of))
        .filter(Q(total__gt=OWED) | Q(total__lt=-OWED))
    )
    if over_90_only:
        over_90 = Q(aging_date__lte=as_of - datetime.timedelta(days=91))
        grouped = grouped.annotate(over_90=MoneySum("amount", filter=over_90)).filter(
            over_90__gt=OWED
        )
        grouped = grouped.order_by("-over_90", "patient__last_name", "patient_id")
    else:
        grouped = grouped.order_by("-total", "patient__last_name", "patient_id")
    if limit:
        grouped = grouped[:limit]
    url_of = url_for_each(account_url)
    rows = [
        _row(
            f"{values['patient__last_name']}, {values['patient__first_name']} "
            f"({values['patient__mrn']})",
            values,
            url=url_of(values["patient_id"]),
            object_id=values["patient_id"],
        )
        for values in grouped
    ]
    return Aging(as_of=as_of, rows=rows, total=_total(rows))


def ar_total(
    as_of: datetime.date, location_id: int | None = None, provider_id: int | None = None
) -> Decimal:
    # The same scan as the aging buckets (shared with them on the dashboard).
    return aging_totals(as_of, location_id, provider_id).total


# Charges and collections


def charges_in(start_date, end_date, location_id=None, provider_id=None) -> QuerySet[Charge]:
    """Charges by date of service; reversal charges (negative) net out what they reverse."""
    charges = Charge.objects.filter(date_of_service__gte=start_date, date_of_service__lte=end_date)
    if location_id is not None:
        charges = charges.filter(appointment__location_id=location_id)
    if provider_id is not None:
        charges = charges.filter(rendering_provider_id=provider_id)
    return charges


def reversing(kind: str) -> Q:
    """Reversal entries of entries of ``kind`` (checked reversal by reversal: they are few)."""
    return Q(kind=Kind.REVERSAL) & Q(
        Exists(LedgerEntry.objects.filter(pk=OuterRef("reverses_id"), kind=kind))
    )


@shared
def gross_charges(start_date, end_date, location_id=None, provider_id=None) -> Decimal:
    """The charges by date of service, reversed charges netted: read from their ledger
    entries, which carry the date of service and the location (an index range)."""
    entries = LedgerEntry.objects.filter(
        Q(kind=Kind.CHARGE) | reversing(Kind.CHARGE),
        aged_from__gte=start_date,
        aged_from__lte=end_date,
    )
    if location_id is not None:
        entries = entries.filter(location_id=location_id)
    if provider_id is not None:
        entries = entries.filter(charge__rendering_provider_id=provider_id)
    return entries.aggregate(total=MoneySum("amount"))["total"]


def entries_posted(start_date, end_date, location_id=None, provider_id=None):
    entries = LedgerEntry.objects.filter(posted_on__gte=start_date, posted_on__lte=end_date)
    if location_id is not None:
        entries = entries.filter(location_id=location_id)
    if provider_id is not None:
        entries = entries.filter(charge__rendering_provider_id=provider_id)
    return entries


# Payments net of what was taken back: returned checks and payer recoupments (reversals of
# payments) and refunds paid out.
PAYMENTS = Q(kind=Kind.PAYMENT) | reversing(Kind.PAYMENT) | Q(kind=Kind.REFUND)
# Contractual adjustments (CARC group CO) and their reversals.
CONTRACTUAL = Q(kind__in=(Kind.ADJUSTMENT, Kind.REVERSAL), adjustment_group="CO")


@dataclass(frozen=True)
class Collections:
    charges: Decimal
    payments: Decimal
    contractual: Decimal


@shared
def collections(start_date, end_date, location_id=None, provider_id=None) -> Collections:
    """Charges (by date of service), payments and contractual adjustments (by posting day)
    of the period, as positive amounts."""
    sums = entries_posted(start_date, end_date, location_id, provider_id).aggregate(
        payments=MoneySum("amount", filter=PAYMENTS),
        contractual=MoneySum("amount", filter=CONTRACTUAL),
    )
    return Collections(
        charges=gross_charges(start_date, end_date, location_id, provider_id),
        payments=-sums["payments"],
        contractual=-sums["contractual"],
    )


# The dashboard figures: (start_date, end_date, location_id=None, provider_id=None) -> value


def days_in_ar(start_date, end_date, location_id=None, provider_id=None) -> Decimal | None:
    """A/R at the end of the period ÷ average daily gross charges of the 90 days up to then."""
    window_start = end_date - datetime.timedelta(days=GROSS_CHARGE_DAYS - 1)
    charges = gross_charges(window_start, end_date, location_id, provider_id)
    if charges <= ZERO:
        return None
    receivable = ar_total(end_date, location_id, provider_id)
    return (receivable * GROSS_CHARGE_DAYS / charges).quantize(Decimal("0.1"))


def net_collection_rate(start_date, end_date, location_id=None, provider_id=None):
    """Payments ÷ (charges − contractual adjustments), in percent."""
    totals = collections(start_date, end_date, location_id, provider_id)
    if totals.charges <= ZERO:
        return None
    return percent(totals.payments, totals.charges - totals.contractual)


def gross_collection_rate(start_date, end_date, location_id=None, provider_id=None):
    """Payments ÷ charges, in percent."""
    totals = collections(start_date, end_date, location_id, provider_id)
    return percent(totals.payments, totals.charges)


def ar_over_90_share(start_date, end_date, location_id=None, provider_id=None):
    """A/R more than 90 days old ÷ all A/R, at the end of the period, in percent."""
    totals = aging_totals(end_date, location_id, provider_id)
    return percent(totals.over_90, totals.total)


def period_bounds(start_date: datetime.date, end_date: datetime.date):
    return (
        local_datetime(start_date, datetime.time.min),
        local_datetime(end_date + datetime.timedelta(days=1), datetime.time.min),
    )


def status_changes_in(start_date, end_date, location_id=None, provider_id=None):
    low, high = period_bounds(start_date, end_date)
    changes = ClaimStatusChange.objects.filter(at__gte=low, at__lt=high)
    if location_id is not None:
        changes = changes.filter(claim__billing_location_id=location_id)
    if provider_id is not None:
        changes = changes.filter(claim__rendering_provider_id=provider_id)
    return changes


def denial_rate(start_date, end_date, location_id=None, provider_id=None):
    """Claims denied in the period ÷ claims adjudicated (paid, partly paid or denied) in the
    period, in percent; each claim counted once."""
    totals = status_changes_in(start_date, end_date, location_id, provider_id).aggregate(
        adjudicated=Count("claim", distinct=True, filter=Q(to_status__in=ADJUDICATED)),
        denied=Count("claim", distinct=True, filter=Q(to_status=Status.DENIED)),
    )
    return percent(Decimal(totals["denied"]), Decimal(totals["adjudicated"]))


def first_adjudications(start_date, end_date, location_id=None, provider_id=None):
    """The status changes that were a claim's first adjudication, in the period: found from
    the period's changes (an index range), each checked with its claim's first one."""
    first = Subquery(
        ClaimStatusChange.objects.filter(claim=OuterRef("claim_id"), to_status__in=ADJUDICATED)
        .order_by("at", "pk")
        .values("pk")[:1]
    )
    return (
        status_changes_in(start_date, end_date, location_id, provider_id)
        .filter(to_status__in=ADJUDICATED)
        .alias(first_id=first)
        .filter(pk=F("first_id"))
    )


# A first adjudication with no rejection or denial before or with it.
CLEAN = ~Exists(
    ClaimStatusChange.objects.filter(
        claim=OuterRef("claim_id"), to_status__in=PROBLEMS, at__lte=OuterRef("at")
    )
)


def claims_first_adjudicated(start_date, end_date, location_id=None, provider_id=None):
    """Claims whose first adjudication fell in the period, each with ``first_adjudicated``
    and ``first_problem`` (its first rejection or denial, if any)."""
    firsts = first_adjudications(start_date, end_date, location_id, provider_id)
    return Claim.objects.filter(pk__in=firsts.values("claim_id")).annotate(
        first_adjudicated=Min(
            "status_changes__at", filter=Q(status_changes__to_status__in=ADJUDICATED)
        ),
        first_problem=Min("status_changes__at", filter=Q(status_changes__to_status__in=PROBLEMS)),
    )


FIRST_PASS = Q(first_problem__isnull=True) | Q(first_problem__gt=F("first_adjudicated"))


def first_pass_acceptance_rate(start_date, end_date, location_id=None, provider_id=None):
    """Claims paid on their first adjudication without an earlier rejection ÷ claims first
    adjudicated in the period, in percent."""
    totals = first_adjudications(start_date, end_date, location_id, provider_id).aggregate(
        adjudicated=Count("claim", distinct=True),
        clean=Count("claim", distinct=True, filter=CLEAN),
    )
    return percent(Decimal(totals["clean"]), Decimal(totals["adjudicated"]))


def first_payments(start_date, end_date, location_id=None, provider_id=None):
    """Charges whose first payment was posted in the period, each with ``first_paid_on``
    and ``days_to_payment`` (first payment − date of service). Found from the period's
    payments (an index range), each checked for an earlier payment on its charge."""
    firsts = first_payment_entries(start_date, end_date, location_id, provider_id)
    return (
        Charge.objects.filter(pk__in=firsts.values("charge_id"))
        .annotate(first_paid_on=Min("ledger_entries__posted_on", filter=PAID_ON_CHARGE))
        .annotate(days_to_payment=days_between("first_paid_on", "date_of_service"))
    )


PAID_ON_CHARGE = Q(ledger_entries__kind=Kind.PAYMENT, ledger_entries__amount__lt=0)


def days_between(later: str, earlier: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(later) - F(earlier), output_field=DurationField())


def first_payment_entries(start_date, end_date, location_id=None, provider_id=None):
    """The payments posted in the period on charges paid nothing before it: each checked
    with its charge's earliest payment, one index probe (a planner left to choose joins the
    period's payments to every payment ever posted)."""
    paid = Q(kind=Kind.PAYMENT, amount__lt=0)
    first_paid = Subquery(
        LedgerEntry.objects.filter(paid, charge=OuterRef("charge_id"))
        .order_by("posted_on")
        .values("posted_on")[:1]
    )
    return (
        entries_posted(start_date, end_date, location_id, provider_id)
        .filter(paid, charge__isnull=False)
        .alias(first_paid_on=first_paid)
        .filter(first_paid_on__gte=start_date)
    )


def days_of(value) -> Decimal | None:
    """A duration from the database (a timedelta, or microseconds on some backends) in days
    with one decimal."""
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        seconds = Decimal(value.days * 86400 + value.seconds)
    else:
        seconds = Decimal(value) / 1_000_000
    return (seconds / 86400).quantize(Decimal("0.1"))


def average_days_to_payment(start_date, end_date, location_id=None, provider_id=None):
    """Mean of (first payment posted − date of service) over the charges first paid in the
    period, in days."""
    average = (
        first_payment_entries(start_date, end_date, location_id, provider_id)
        .values("charge_id")
        .annotate(first_paid_on=Min("posted_on"), serviced_on=Min("aged_from"))
        .aggregate(average=Avg(days_between("first_paid_on", "serviced_on")))["average"]
    )
    return days_of(average)


# Rows for comparison charts


def ar_by_bucket(start_date, end_date, location_id=None, provider_id=None) -> list[dict] | None:
    """The A/R at the end of the period in its five age buckets."""
    totals = aging_totals(end_date, location_id, provider_id)
    if not totals.total and not any(totals.amounts):
        return None
    return [{"bucket": bucket.label, "amount": totals.buckets[bucket.key]} for bucket in BUCKETS]


def ar_by_payer(start_date, end_date, location_id=None, provider_id=None) -> list[dict] | None:
    """What each payer (and the patients) owe at the end of the period, by age."""
    aging = aging_by_payer(end_date, location_id, provider_id)
    if not aging.rows:
        return None
    return [
        {
            "payer": row.label,
            "total": row.total,
            "over_90": row.over_90,
            **{bucket.key: row.buckets[bucket.key] for bucket in BUCKETS},
        }
        for row in aging.rows
    ]


def payer_mix(start_date, end_date, location_id=None, provider_id=None) -> list[dict] | None:
    """Gross charges of the period by who was billed first: each payer, or self-pay."""
    charges = charges_in(start_date, end_date, location_id, provider_id)
    rows = list(
        charges.values("appointment__coverage__payer__name")
        .annotate(amount=MoneySum("amount"))
        .order_by("-amount", "appointment__coverage__payer__name")
    )
    total = sum((row["amount"] for row in rows), ZERO)
    if total <= ZERO:
        return None
    return [
        {
            "payer": row["appointment__coverage__payer__name"] or "Self-pay",
            "amount": row["amount"],
            "share": percent(row["amount"], total),
        }
        for row in rows
    ]


# The records behind the numbers (drill-down)


def over_90_accounts(start_date, end_date, location_id=None) -> list[KpiRecord]:
    aging = aging_by_patient(end_date, location_id, over_90_only=True, limit=RECORDS_LIMIT)
    return [
        KpiRecord(
            label=row.label,
            url=row.url,
            detail=f"over 90 days {row.over_90}; total balance {row.total}",
            amount=row.over_90,
        )
        for row in aging.rows
    ]


def denied_claims(start_date, end_date, location_id=None) -> list[KpiRecord]:
    low, high = period_bounds(start_date, end_date)
    claims = (
        Claim.objects.annotate(
            denied_at=Max(
                "status_changes__at",
                filter=Q(
                    status_changes__to_status=Status.DENIED,
                    status_changes__at__gte=low,
                    status_changes__at__lt=high,
                ),
            )
        )
        .filter(denied_at__isnull=False)
        .select_related("patient", "payer")
        .order_by("-denied_at", "-pk")
    )
    if location_id is not None:
        claims = claims.filter(billing_location_id=location_id)
    return [
        KpiRecord(
            label=f"Claim {claim.claim_number}: {claim.patient} · {claim.payer}",
            url=claim.get_absolute_url(),
            date=timezone.localdate(claim.denied_at),
            detail=f"{claim.denial_reason or 'no reason given'} "
            f"(now {claim.get_status_display().lower()})",
            amount=claim.total_charge,
        )
        for claim in claims[:RECORDS_LIMIT]
    ]


def claims_not_first_pass(start_date, end_date, location_id=None) -> list[KpiRecord]:
    claims = (
        claims_first_adjudicated(start_date, end_date, location_id)
        .exclude(FIRST_PASS)
        .select_related("patient", "payer")
        .order_by("-first_adjudicated", "-pk")
    )
    return [
        KpiRecord(
            label=f"Claim {claim.claim_number}: {claim.patient} · {claim.payer}",
            url=claim.get_absolute_url(),
            date=timezone.localdate(claim.first_problem),
            detail=f"rejected or denied before payment (now {claim.get_status_display().lower()})",
            amount=claim.total_charge,
        )
        for claim in claims[:RECORDS_LIMIT]
    ]


def slowest_payments(start_date, end_date, location_id=None) -> list[KpiRecord]:
    charges = (
        first_payments(start_date, end_date, location_id)
        .select_related("patient", "service_code")
        .order_by("-days_to_payment", "pk")
    )
    return [
        KpiRecord(
            label=f"{charge.patient}: {charge.service_code.code} on {charge.date_of_service}",
            url=charge.get_absolute_url(),
            date=charge.first_paid_on,
            detail=f"first paid after {days_of(charge.days_to_payment)} days",
            amount=charge.amount,
        )
        for charge in charges[:RECORDS_LIMIT]
    ]
