"""The revenue cycle: service codes and fees, charges, claims, remittances, and the ledger.

Money rules (DESIGN.md): every amount is a Decimal with 2 places. ``LedgerEntry`` is the one
append-only ledger: a posted charge, payment, adjustment or transfer is never updated or
deleted; it is reversed by a new entry. Every balance (patient, claim, payer, service line)
is the sum of its entries.
"""

import re
from decimal import Decimal

import simple_icd_10_cm as icd10
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")

procedure_code_validator = RegexValidator(
    r"^(\d{4}[0-9A-Z]|[A-Z]\d{4})$",
    "A procedure code is a 5-character CPT (e.g. 99213) or HCPCS (e.g. G0439) code.",
)
modifier_validator = RegexValidator(r"^[0-9A-Z]{2}$", "A modifier is 2 letters or digits, e.g. 25.")


def validate_icd10(value: str) -> None:
    """A billable ICD-10-CM code (a leaf of the classification), with or without its dot."""
    code = (value or "").strip().upper()
    if not icd10.is_valid_item(code):
        raise ValidationError(f"{value} is not an ICD-10-CM code.")
    if not icd10.is_leaf(code):
        raise ValidationError(
            f"{value} is a category, not a billable code; use one of its more specific codes."
        )


def icd10_normalise(value: str) -> str:
    """ICD-10-CM as written on forms: upper case with the dot after the third character."""
    code = re.sub(r"[^0-9A-Z]", "", (value or "").upper())
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


class ServiceCode(models.Model):
    code = models.CharField(max_length=5, unique=True, validators=[procedure_code_validator])
    description = models.CharField(max_length=120)
    default_units = models.PositiveSmallIntegerField(default=1)
    is_active = models.BooleanField("active", default=True)

    archive_on_delete = True

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.description}"

    def get_absolute_url(self) -> str:
        return reverse("billing:service_code_list")


class FeeSchedule(models.Model):
    """The practice's own fees (no payer) or one payer's contracted allowed amounts."""

    name = models.CharField(max_length=120)
    payer = models.ForeignKey(
        "patients.Payer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="fee_schedules",
        help_text="Empty: the practice's own fee schedule.",
    )
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["payer__name", "-effective_from"]
        indexes = [models.Index(fields=["payer", "effective_from"])]

    def __str__(self) -> str:
        return f"{self.name} from {self.effective_from}"

    def get_absolute_url(self) -> str:
        return reverse("billing:fee_schedule_detail", args=[self.pk])


class Fee(models.Model):
    fee_schedule = models.ForeignKey(FeeSchedule, on_delete=models.CASCADE, related_name="fees")
    service_code = models.ForeignKey(ServiceCode, on_delete=models.PROTECT, related_name="fees")
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(ZERO)])

    class Meta:
        ordering = ["service_code__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["fee_schedule", "service_code"], name="one_fee_per_code"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_code.code}: {self.amount}"

    def get_absolute_url(self) -> str:
        return self.fee_schedule.get_absolute_url()


class VisitDiagnosis(models.Model):
    """One of up to 12 ICD-10-CM diagnoses of a visit, in claim order (1-12)."""

    appointment = models.ForeignKey(
        "scheduling.Appointment", on_delete=models.PROTECT, related_name="diagnoses"
    )
    position = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=8, validators=[validate_icd10])

    class Meta:
        ordering = ["appointment", "position"]
        constraints = [
            models.UniqueConstraint(fields=["appointment", "position"], name="diagnosis_position"),
            models.CheckConstraint(
                condition=models.Q(position__gte=1, position__lte=12),
                name="diagnosis_position_1_to_12",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.code}"


class Charge(models.Model):
    """A service line of a visit, priced from the fee schedule in force on the date of service.

    Immutable once posted: a correction is a reversing charge plus a new one.
    """

    appointment = models.ForeignKey(
        "scheduling.Appointment", on_delete=models.PROTECT, related_name="charges"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="charges"
    )
    rendering_provider = models.ForeignKey(
        "scheduling.Provider", on_delete=models.PROTECT, related_name="charges"
    )
    date_of_service = models.DateField(db_index=True)
    service_code = models.ForeignKey(ServiceCode, on_delete=models.PROTECT, related_name="charges")
    modifier1 = models.CharField(max_length=2, blank=True, validators=[modifier_validator])
    modifier2 = models.CharField(max_length=2, blank=True, validators=[modifier_validator])
    modifier3 = models.CharField(max_length=2, blank=True, validators=[modifier_validator])
    modifier4 = models.CharField(max_length=2, blank=True, validators=[modifier_validator])
    units = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    place_of_service = models.CharField(
        max_length=2,
        default="11",
        validators=[RegexValidator(r"^\d{2}$", "Place of service is a 2-digit code, e.g. 11.")],
    )
    unit_price = models.DecimalField(**MONEY)
    amount = models.DecimalField(**MONEY)
    diagnosis_pointers = models.JSONField(
        default=list, help_text="1 to 4 positions of the visit's diagnoses, e.g. [1, 3]."
    )
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    posted_at = models.DateTimeField(auto_now_add=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["date_of_service", "pk"]
        indexes = [models.Index(fields=["patient", "date_of_service"])]

    def __str__(self) -> str:
        sign = "reversal of " if self.reverses_id else ""
        return f"{sign}{self.service_code.code} × {self.units} on {self.date_of_service}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.pop("allow_update", False):
            raise ValidationError("A posted charge cannot be changed; reverse it and post anew.")
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("billing:charge_detail", args=[self.pk])

    @property
    def modifiers(self) -> list[str]:
        return [m for m in (self.modifier1, self.modifier2, self.modifier3, self.modifier4) if m]


class Claim(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        READY = "ready", "Ready"
        SUBMITTED = "submitted", "Submitted"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        PAID = "paid", "Paid"
        PARTIALLY_PAID = "partially_paid", "Partially paid"
        DENIED = "denied", "Denied"
        APPEALED = "appealed", "Appealed"
        CLOSED = "closed", "Closed"

    claim_number = models.CharField(
        "patient control number",
        max_length=20,
        unique=True,
        help_text="Sent on the claim (CLM01) and returned on the remittance (CLP01).",
    )
    appointment = models.ForeignKey(
        "scheduling.Appointment", on_delete=models.PROTECT, related_name="claims"
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="claims")
    coverage = models.ForeignKey(
        "patients.Coverage", on_delete=models.PROTECT, related_name="claims"
    )
    payer = models.ForeignKey("patients.Payer", on_delete=models.PROTECT, related_name="claims")
    billing_location = models.ForeignKey(
        "core.Location", on_delete=models.PROTECT, related_name="claims"
    )
    rendering_provider = models.ForeignKey(
        "scheduling.Provider", on_delete=models.PROTECT, related_name="claims"
    )
    payer_order = models.PositiveSmallIntegerField(default=1, help_text="1 primary, 2 secondary.")
    primary_claim = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="secondary_claims"
    )
    date_of_service = models.DateField(db_index=True)
    total_charge = models.DecimalField(**MONEY)
    status = models.CharField(
        max_length=15, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    batch = models.ForeignKey(
        "billing.ClaimBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="claims"
    )
    first_submitted_at = models.DateTimeField(null=True, blank=True)
    denial_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    audit_reads = True

    class Meta:
        ordering = ["-date_of_service", "-pk"]
        indexes = [
            models.Index(fields=["payer", "status"]),
            models.Index(fields=["patient", "date_of_service"]),
        ]

    def __str__(self) -> str:
        return f"Claim {self.claim_number} ({self.payer})"

    def get_absolute_url(self) -> str:
        return reverse("billing:claim_detail", args=[self.pk])


class ClaimLine(models.Model):
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="lines")
    charge = models.ForeignKey(Charge, on_delete=models.PROTECT, related_name="claim_lines")
    line_number = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["claim", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "line_number"], name="claim_line_number")
        ]

    def __str__(self) -> str:
        return f"{self.claim.claim_number} line {self.line_number}"


class ClaimStatusChange(models.Model):
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=15, choices=Claim.Status.choices, blank=True)
    to_status = models.CharField(max_length=15, choices=Claim.Status.choices)
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["at", "to_status"])]

    def __str__(self) -> str:
        return f"{self.claim.claim_number}: {self.from_status or '—'} → {self.to_status}"


class ClaimBatch(models.Model):
    """One 837P file: the claims it carried and its interchange/group control numbers."""

    interchange_control_number = models.PositiveIntegerField(unique=True)
    group_control_number = models.PositiveIntegerField(unique=True)
    payer = models.ForeignKey(
        "patients.Payer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    claim_count = models.PositiveIntegerField()
    total_charge = models.DecimalField(**MONEY)
    content = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "claim batches"

    def __str__(self) -> str:
        return f"837P batch {self.interchange_control_number:09d} ({self.claim_count} claims)"

    def get_absolute_url(self) -> str:
        return reverse("billing:claim_batch_detail", args=[self.pk])


class Remittance(models.Model):
    """One 835 transaction (a payer's payment and its explanation), imported once."""

    file_sha256 = models.CharField(max_length=64, db_index=True)
    transaction_control_number = models.CharField(max_length=30)
    payer = models.ForeignKey(
        "patients.Payer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="remittances",
    )
    payer_name = models.CharField(max_length=120)
    payment_method = models.CharField(max_length=3, blank=True, help_text="BPR04: ACH, CHK...")
    payment_amount = models.DecimalField(**MONEY)
    payment_date = models.DateField(null=True, blank=True)
    trace_number = models.CharField("check or EFT trace number", max_length=50)
    posted_total = models.DecimalField(**MONEY, default=ZERO)
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-imported_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["file_sha256", "transaction_control_number"],
                name="remittance_once_per_file",
            ),
        ]

    def __str__(self) -> str:
        return f"ERA {self.trace_number} from {self.payer_name}: {self.payment_amount}"

    def get_absolute_url(self) -> str:
        return reverse("billing:remittance_detail", args=[self.pk])


class RemittanceLine(models.Model):
    """One adjudicated service line (SVC) of a remittance, with what it matched."""

    remittance = models.ForeignKey(Remittance, on_delete=models.PROTECT, related_name="lines")
    claim_number = models.CharField(max_length=40)
    claim = models.ForeignKey(
        Claim, null=True, blank=True, on_delete=models.PROTECT, related_name="remittance_lines"
    )
    charge = models.ForeignKey(
        Charge, null=True, blank=True, on_delete=models.PROTECT, related_name="remittance_lines"
    )
    claim_status_code = models.CharField(max_length=3, help_text="CLP02")
    procedure_code = models.CharField(max_length=48, blank=True)
    billed = models.DecimalField(**MONEY)
    allowed = models.DecimalField(**MONEY, null=True, blank=True)
    paid = models.DecimalField(**MONEY)
    patient_responsibility = models.DecimalField(**MONEY, default=ZERO)
    adjustments = models.JSONField(default=list, help_text="[[group, reason, amount], ...]")
    service_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["remittance", "pk"]

    def __str__(self) -> str:
        return f"{self.claim_number} {self.procedure_code}: paid {self.paid}"


class ReconciliationItem(models.Model):
    """Something in a remittance that matched nothing here; kept until a biller resolves it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    remittance = models.ForeignKey(
        Remittance, on_delete=models.PROTECT, related_name="reconciliation_items"
    )
    claim_number = models.CharField(max_length=40, blank=True)
    description = models.CharField(max_length=300)
    amount = models.DecimalField(**MONEY)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["status", "pk"]

    def __str__(self) -> str:
        return f"{self.claim_number or 'remittance'}: {self.description}"

    def get_absolute_url(self) -> str:
        return reverse("billing:reconciliation_list")


class LedgerEntry(models.Model):
    """One financial event. Append-only: never updated or deleted, only reversed.

    ``amount`` is signed from the practice's side: positive raises what is owed (a charge, a
    reversal of a payment, a returned-check fee), negative lowers it (a payment, an adjustment,
    a write-off). ``responsibility`` says who owes it: the payer of ``claim`` or the patient.
    """

    class Kind(models.TextChoices):
        CHARGE = "charge", "Charge"
        PAYMENT = "payment", "Payment"
        ADJUSTMENT = "adjustment", "Adjustment"
        TRANSFER = "transfer", "Transfer of responsibility"
        REFUND = "refund", "Refund"
        WRITE_OFF = "write_off", "Write-off"
        FEE = "fee", "Fee"
        REVERSAL = "reversal", "Reversal"

    class Responsibility(models.TextChoices):
        INSURANCE = "insurance", "Insurance"
        PATIENT = "patient", "Patient"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    amount = models.DecimalField(**MONEY)
    responsibility = models.CharField(max_length=10, choices=Responsibility.choices)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="ledger_entries"
    )
    charge = models.ForeignKey(
        Charge, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    claim = models.ForeignKey(
        Claim, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    payer = models.ForeignKey(
        "patients.Payer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )
    remittance_line = models.ForeignKey(
        RemittanceLine,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )
    adjustment_group = models.CharField(max_length=2, blank=True, help_text="CO, PR, OA, PI")
    adjustment_reason = models.CharField(max_length=5, blank=True, help_text="CARC, e.g. 45")
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    payment = models.ForeignKey(
        "billing.Payment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
        help_text="The payment this entry applies, holds on account, refunds or returns.",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The manager who approved it (write-offs, financial assistance).",
    )
    memo = models.CharField(max_length=200, blank=True)
    posted_on = models.DateField(db_index=True)
    posted_at = models.DateTimeField(auto_now_add=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Copied from the charge (or, for an entry without one, the payment) when the entry is
    # posted, so the receivables reports age and place every entry without a join.
    location = models.ForeignKey(
        "core.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Where the money belongs: the visit of its charge, else where it was paid.",
    )
    aged_from = models.DateField(
        help_text="The day its age counts from: its charge's date of service, else the day "
        "it was posted."
    )

    class Meta:
        ordering = ["posted_at", "pk"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["patient", "responsibility"]),
            models.Index(fields=["claim"]),
            models.Index(fields=["charge"]),
            models.Index(fields=["payer", "posted_on"]),
            models.Index(fields=["kind", "posted_on"]),
            models.Index(fields=["location", "posted_on"]),
            models.Index(fields=["kind", "aged_from"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} ({self.responsibility})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Ledger entries are append-only; post a reversal instead.")
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("billing:patient_account", args=[self.patient_id]) + "#ledger"

    def delete(self, *args, **kwargs):
        raise ValidationError("Ledger entries are append-only; post a reversal instead.")


class Underpayment(models.Model):
    """A service line paid below the payer's contracted amount (beyond the tolerance)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        APPEALED = "appealed", "Appealed"
        ACCEPTED = "accepted", "Accepted"

    remittance_line = models.OneToOneField(
        RemittanceLine, on_delete=models.PROTECT, related_name="underpayment"
    )
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="underpayments")
    contracted = models.DecimalField(**MONEY)
    allowed = models.DecimalField(**MONEY)
    paid = models.DecimalField(**MONEY)
    difference = models.DecimalField(**MONEY)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["status", "-difference"]

    def __str__(self) -> str:
        return f"{self.claim.claim_number}: {self.difference} under contract"

    def get_absolute_url(self) -> str:
        return reverse("billing:underpayment_list")


class EligibilityCheck(models.Model):
    """A 270 inquiry about one coverage and what its 271 answered."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"
        ERROR = "error", "Error"

    coverage = models.ForeignKey(
        "patients.Coverage", on_delete=models.PROTECT, related_name="eligibility_checks"
    )
    appointment = models.ForeignKey(
        "scheduling.Appointment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="eligibility_checks",
    )
    trace_number = models.CharField(max_length=50, unique=True, help_text="TRN02 of the 270.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    requested_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    plan_begin = models.DateField(null=True, blank=True)
    plan_end = models.DateField(null=True, blank=True)
    copay = models.DecimalField(**MONEY, null=True, blank=True)
    deductible = models.DecimalField(**MONEY, null=True, blank=True)
    deductible_remaining = models.DecimalField(**MONEY, null=True, blank=True)
    message = models.CharField(max_length=300, blank=True)
    response = models.TextField(blank=True, help_text="The 271 as received.")

    audit_reads = True

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["coverage", "answered_at"])]

    def __str__(self) -> str:
        return f"Eligibility {self.trace_number}: {self.get_status_display()}"

    def get_absolute_url(self) -> str:
        return reverse("billing:eligibility_list")


# Payments, refunds, returned checks, collections, payment plans, financial assistance


def validate_routing_number(value: str) -> None:
    """An ABA routing number: 9 digits whose 3-7-1 weighted sum is a multiple of 10."""
    if not re.fullmatch(r"\d{9}", value or ""):
        raise ValidationError(
            "A bank routing number is 9 digits, printed first on the bottom line of the check."
        )
    if sum(int(digit) * weight for digit, weight in zip(value, (3, 7, 1) * 3, strict=True)) % 10:
        raise ValidationError(
            "This routing number fails its check digit; compare it with the check again."
        )


class Payment(models.Model):
    """Money received from a patient or a payer, once. Its ledger entries say where it went.

    What it pays is never stored here: a patient payment is posted at once as PAYMENT entries,
    on the charges it is applied to and the remainder on account (no charge). Its unapplied
    credit, what it has applied and what was refunded are sums of those entries.
    """

    class Method(models.TextChoices):
        CASH = "cash", "Cash"
        CHECK = "check", "Check"
        CARD = "card", "Card"
        EFT = "eft", "Electronic funds transfer"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        RETURNED = "returned", "Returned (NSF)"

    receipt_number = models.CharField(max_length=20, unique=True, editable=False)
    patient = models.ForeignKey(
        "patients.Patient",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
    )
    payer = models.ForeignKey(
        "patients.Payer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
    )
    method = models.CharField(max_length=5, choices=Method.choices)
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    check_number = models.CharField(max_length=20, blank=True)
    routing_number = models.CharField(
        "bank routing number", max_length=9, blank=True, validators=[validate_routing_number]
    )
    reference = models.CharField(
        max_length=50,
        blank=True,
        help_text="Card: the authorization code or last 4 digits (never the card number). "
        "EFT: the trace number.",
    )
    received_on = models.DateField(db_index=True)
    location = models.ForeignKey("core.Location", on_delete=models.PROTECT, related_name="+")
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(auto_now_add=True)
    remittance = models.ForeignKey(
        Remittance, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    plan = models.ForeignKey(
        "billing.PaymentPlan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
        help_text="The payment plan this payment is an instalment of.",
    )
    memo = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    returned_on = models.DateField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    returned_reason = models.CharField(max_length=200, blank=True)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    audit_reads = True

    class Meta:
        ordering = ["-received_on", "-pk"]
        indexes = [
            models.Index(fields=["received_on", "location"]),
            models.Index(fields=["patient", "received_on"]),
            models.Index(fields=["returned_on"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="payment_amount_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(patient__isnull=False, payer__isnull=True)
                | models.Q(patient__isnull=True, payer__isnull=False),
                name="payment_from_patient_or_payer",
            ),
        ]

    def __str__(self) -> str:
        return f"Receipt {self.receipt_number}: {self.get_method_display().lower()} {self.amount}"

    def get_absolute_url(self) -> str:
        return reverse("billing:payment_detail", args=[self.pk])

    def clean(self):
        errors = {}
        if self.method == self.Method.CHECK:
            if not self.check_number.strip():
                errors["check_number"] = "Enter the check number."
            if not self.routing_number:
                errors["routing_number"] = "Enter the bank routing number printed on the check."
        elif self.check_number or self.routing_number:
            errors["check_number"] = "A check number and routing number belong to checks only."
        if self.method in (self.Method.CARD, self.Method.EFT) and not self.reference.strip():
            errors["reference"] = (
                "Enter the card authorization code or last 4 digits."
                if self.method == self.Method.CARD
                else "Enter the EFT trace number."
            )
        if self.method == self.Method.CARD and re.search(
            r"\d{12,}", re.sub(r"[\s-]", "", self.reference)
        ):
            errors["reference"] = (
                "Never record a card number; enter the authorization code or last 4 digits."
            )
        if errors:
            raise ValidationError(errors)

    @property
    def payer_name(self) -> str:
        return str(self.patient or self.payer)


def statement_upload_to(instance, filename: str) -> str:
    return f"billing/statements/{instance.sha256[:2]}/{instance.sha256}/{filename}"


def statement_batch_upload_to(instance, filename: str) -> str:
    return (
        f"billing/statement-batches/{instance.batch_sha256[:2]}/{instance.batch_sha256}/{filename}"
    )


def collection_letter_upload_to(instance, filename: str) -> str:
    return f"billing/collection-letters/{instance.sha256[:2]}/{instance.sha256}/{filename}"


def agency_export_upload_to(instance, filename: str) -> str:
    return (
        f"billing/agency-exports/{instance.agency_sha256[:2]}/{instance.agency_sha256}/{filename}"
    )


class CollectionCase(models.Model):
    """A patient account worked for collection, from first notice to an agency."""

    class Stage(models.TextChoices):
        FIRST_NOTICE = "first_notice", "First notice"
        SECOND_NOTICE = "second_notice", "Second notice"
        FINAL_NOTICE = "final_notice", "Final notice"
        AGENCY = "agency", "Sent to an agency"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="collection_cases"
    )
    balance_at_open = models.DecimalField(**MONEY)
    stage = models.CharField(max_length=15, choices=Stage.choices, default=Stage.FIRST_NOTICE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    disputed = models.BooleanField(default=False)
    reason = models.CharField(max_length=200)
    opened_at = models.DateTimeField(auto_now_add=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=200, blank=True)
    stage_changed_at = models.DateTimeField(
        default=timezone.now, help_text="When the case entered its current stage."
    )
    dispute_reason = models.CharField(max_length=300, blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True)
    disputed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    agency_name = models.CharField(max_length=120, blank=True)
    placed_balance = models.DecimalField(
        **MONEY,
        null=True,
        blank=True,
        help_text="The balance placed with the agency: a marker only, the ledger is unchanged.",
    )
    placed_at = models.DateTimeField(null=True, blank=True)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    agency_file = models.FileField(upload_to=agency_export_upload_to, max_length=300, blank=True)
    agency_sha256 = models.CharField("agency export SHA-256 checksum", max_length=64, blank=True)

    audit_reads = True

    class Meta:
        ordering = ["-opened_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "stage"]),
            models.Index(fields=["status", "stage_changed_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=models.Q(status="open"),
                name="one_open_collection_case_per_patient",
            )
        ]

    def __str__(self) -> str:
        return f"Collection of {self.patient}: {self.get_stage_display().lower()}"

    def get_absolute_url(self) -> str:
        return reverse("billing:collection_case_detail", args=[self.pk])


class PaymentPlan(models.Model):
    """A special financial agreement: a down payment, then equal instalments (the last one
    takes the remainder) on a schedule. Takes effect when a manager authorizes it."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", "Weekly"
        BIWEEKLY = "biweekly", "Every two weeks"
        MONTHLY = "monthly", "Monthly"

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        ACTIVE = "active", "Active"
        DELINQUENT = "delinquent", "Delinquent"
        DEFAULTED = "defaulted", "Defaulted"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    LIVE_STATUSES = (Status.PROPOSED, Status.ACTIVE, Status.DELINQUENT)

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="payment_plans"
    )
    total = models.DecimalField(**MONEY, help_text="The patient balance the plan pays off.")
    down_payment = models.DecimalField(**MONEY, default=ZERO)
    instalment_amount = models.DecimalField(**MONEY)
    frequency = models.CharField(max_length=10, choices=Frequency.choices)
    start_date = models.DateField(help_text="The down payment (or first instalment) is due then.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    note = models.CharField(max_length=300, blank=True)
    proposed_at = models.DateTimeField(auto_now_add=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    authorized_at = models.DateTimeField(null=True, blank=True)
    authorized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    delinquent_since = models.DateField(
        null=True, blank=True, help_text="Due date of the oldest instalment still missed."
    )
    ended_at = models.DateTimeField(null=True, blank=True)

    audit_reads = True

    class Meta:
        ordering = ["-proposed_at", "-pk"]
        indexes = [models.Index(fields=["status", "delinquent_since"])]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=models.Q(status__in=["proposed", "active", "delinquent"]),
                name="one_live_payment_plan_per_patient",
            ),
            models.CheckConstraint(
                condition=models.Q(total__gt=0, down_payment__gte=0, instalment_amount__gt=0),
                name="payment_plan_amounts_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"Payment plan of {self.patient}: {self.total} ({self.get_status_display().lower()})"

    def get_absolute_url(self) -> str:
        return reverse("billing:payment_plan_detail", args=[self.pk])


class PlanInstalment(models.Model):
    """One due amount of a plan (number 0 is the down payment). What has been paid on it is
    derived from the plan's payments, oldest instalment first; ``status`` is what the daily
    check last found."""

    class Status(models.TextChoices):
        DUE = "due", "Due"
        PAID = "paid", "Paid"
        MISSED = "missed", "Missed"

    plan = models.ForeignKey(PaymentPlan, on_delete=models.PROTECT, related_name="instalments")
    number = models.PositiveSmallIntegerField()
    due_date = models.DateField()
    amount = models.DecimalField(**MONEY)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DUE)

    class Meta:
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plan_instalment_number"),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="plan_instalment_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        what = "Down payment" if self.number == 0 else f"Instalment {self.number}"
        return f"{what}: {self.amount} due {self.due_date}"

    def get_absolute_url(self) -> str:
        return self.plan.get_absolute_url()


class FinancialAssistanceBand(models.Model):
    """A sliding-scale step: households up to this income (as a percent of the federal
    poverty guideline for their size) get this discount on what they owe."""

    name = models.CharField(max_length=80, unique=True)
    poverty_level_max = models.PositiveSmallIntegerField(
        "income ceiling (% of federal poverty level)",
        validators=[MinValueValidator(1)],
        help_text="E.g. 200: households with income up to 200% of the guideline.",
    )
    discount_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )
    is_active = models.BooleanField("active", default=True)

    archive_on_delete = True

    class Meta:
        ordering = ["poverty_level_max"]

    def __str__(self) -> str:
        percent = f"{self.discount_percent.normalize():f}"
        return f"{self.name}: {percent}% off up to {self.poverty_level_max}% of poverty level"

    def get_absolute_url(self) -> str:
        return reverse("billing:fa_band_list")


class FinancialAssistanceApproval(models.Model):
    """A manager's approval of a patient's sliding-scale discount, for a period."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="financial_assistance"
    )
    band = models.ForeignKey(
        FinancialAssistanceBand, on_delete=models.PROTECT, related_name="approvals"
    )
    household_income = models.DecimalField(
        "yearly household income", **MONEY, validators=[MinValueValidator(ZERO)]
    )
    household_size = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    poverty_level_percent = models.DecimalField(
        "income as % of federal poverty level", max_digits=7, decimal_places=2
    )
    valid_from = models.DateField()
    valid_until = models.DateField()
    note = models.CharField(max_length=300, blank=True)
    approved_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    audit_reads = True

    class Meta:
        ordering = ["-valid_from", "-pk"]
        indexes = [models.Index(fields=["patient", "valid_until"])]

    def __str__(self) -> str:
        return f"{self.band.name} for {self.patient}, {self.valid_from} to {self.valid_until}"

    def get_absolute_url(self) -> str:
        return reverse("billing:fa_approval_detail", args=[self.pk])

    def clean(self):
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": "The approval must end after it starts."})

    def is_valid_on(self, day) -> bool:
        return self.valid_from <= day <= self.valid_until


# Statements


class StatementRun(models.Model):
    """One statement cycle: a statement for every guarantor who owes enough, emailed to those
    who agreed to email and gathered into one printable batch for the rest."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for the worker"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    statement_date = models.DateField(db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    task_result_id = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    statement_count = models.PositiveIntegerField(default=0)
    emailed_count = models.PositiveIntegerField(default=0)
    printed_count = models.PositiveIntegerField(default=0)
    total_due = models.DecimalField(**MONEY, default=ZERO)
    skipped = models.JSONField(
        default=dict, blank=True, help_text="How many accounts were skipped, by reason."
    )
    error = models.CharField(max_length=300, blank=True)
    batch_file = models.FileField(upload_to=statement_batch_upload_to, max_length=300, blank=True)
    batch_sha256 = models.CharField("batch SHA-256 checksum", max_length=64, blank=True)

    class Meta:
        ordering = ["-statement_date", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["statement_date"],
                condition=~models.Q(status="failed"),
                name="one_statement_run_per_date",
            )
        ]

    def __str__(self) -> str:
        return f"Statement run of {self.statement_date:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return reverse("billing:statement_run_detail", args=[self.pk])


class Statement(models.Model):
    """What one guarantor was sent: the figures as printed and the PDF itself (its SHA-256
    proves a reprint is the same document)."""

    class Delivery(models.TextChoices):
        EMAIL = "email", "Email"
        PRINT = "print", "Printed and mailed"

    run = models.ForeignKey(StatementRun, on_delete=models.PROTECT, related_name="statements")
    statement_number = models.CharField(max_length=20, unique=True)
    guarantor = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="statements"
    )
    statement_date = models.DateField()
    period_start = models.DateField(help_text="Activity from this day to the statement date.")
    previous_balance = models.DecimalField(**MONEY)
    new_charges = models.DecimalField(**MONEY)
    payments_and_credits = models.DecimalField(**MONEY)
    amount_due = models.DecimalField(**MONEY)
    insurance_pending = models.DecimalField(**MONEY, default=ZERO)
    aging_0_30 = models.DecimalField("0–30 days", **MONEY, default=ZERO)
    aging_31_60 = models.DecimalField("31–60 days", **MONEY, default=ZERO)
    aging_61_90 = models.DecimalField("61–90 days", **MONEY, default=ZERO)
    aging_91_120 = models.DecimalField("91–120 days", **MONEY, default=ZERO)
    aging_over_120 = models.DecimalField("over 120 days", **MONEY, default=ZERO)
    due_date = models.DateField()
    delivery = models.CharField(max_length=5, choices=Delivery.choices)
    emailed_to = models.EmailField(blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    delivery_note = models.CharField(max_length=300, blank=True)
    file = models.FileField(upload_to=statement_upload_to, max_length=300)
    sha256 = models.CharField("SHA-256 checksum", max_length=64)
    size_bytes = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    audit_reads = True

    class Meta:
        ordering = ["-statement_date", "-pk"]
        indexes = [models.Index(fields=["guarantor", "statement_date"])]
        constraints = [
            models.UniqueConstraint(fields=["run", "guarantor"], name="one_statement_per_run")
        ]

    def __str__(self) -> str:
        return f"Statement {self.statement_number} of {self.statement_date:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return reverse("billing:statement_download", args=[self.pk])

    @property
    def delivery_reason(self) -> str:
        """Why a statement was printed, in two or three words (the note has the detail)."""
        if self.delivery_note.startswith("Email refused"):
            return "email refused"
        if self.delivery_note.startswith("No consent"):
            return "no email consent"
        return ""


# Collections


class CollectionStageRule(models.Model):
    """When an account enters a stage: the first notice by how long the balance has been
    owed, each later stage by the days since the stage before. A manager edits them."""

    stage = models.CharField(max_length=15, unique=True, choices=CollectionCase.Stage.choices)
    days = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="First notice: days the balance has been owed. Later stages: days since "
        "the stage before.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.get_stage_display()}: {self.days} days"

    def get_absolute_url(self) -> str:
        return reverse("billing:collection_rules")


class CollectionStageChange(models.Model):
    case = models.ForeignKey(CollectionCase, on_delete=models.PROTECT, related_name="stage_changes")
    from_stage = models.CharField(max_length=15, choices=CollectionCase.Stage.choices, blank=True)
    to_stage = models.CharField(max_length=15, choices=CollectionCase.Stage.choices)
    balance = models.DecimalField(**MONEY)
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_stage or '—'} → {self.to_stage}"

    def get_absolute_url(self) -> str:
        return self.case.get_absolute_url()


class CollectionLetter(models.Model):
    """The letter of a stage, as generated (PDF and SHA-256), reprinted as the same file."""

    case = models.ForeignKey(CollectionCase, on_delete=models.PROTECT, related_name="letters")
    stage = models.CharField(max_length=15, choices=CollectionCase.Stage.choices)
    balance = models.DecimalField(**MONEY)
    file = models.FileField(upload_to=collection_letter_upload_to, max_length=300)
    sha256 = models.CharField("SHA-256 checksum", max_length=64)
    size_bytes = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    audit_reads = True

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_stage_display()} letter of {self.created_at:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return reverse("billing:collection_letter_download", args=[self.pk])


class CollectionContact(models.Model):
    """One entry of a case's contact log; a promise to pay is kept or broken by its date."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        LETTER = "letter", "Letter"
        EMAIL = "email", "Email"
        PROMISE = "promise", "Promise to pay"
        NOTE = "note", "Note"

    class PromiseStatus(models.TextChoices):
        OPEN = "open", "Open"
        KEPT = "kept", "Kept"
        BROKEN = "broken", "Broken"

    case = models.ForeignKey(CollectionCase, on_delete=models.PROTECT, related_name="contacts")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    letter = models.ForeignKey(
        CollectionLetter, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    promise_amount = models.DecimalField(**MONEY, null=True, blank=True)
    promise_date = models.DateField(null=True, blank=True)
    promise_status = models.CharField(
        max_length=10, choices=PromiseStatus.choices, blank=True, db_index=True
    )
    promise_checked_at = models.DateTimeField(null=True, blank=True)

    audit_reads = True

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["promise_status", "promise_date"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.at:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return self.case.get_absolute_url()


class CollectionWriteOff(models.Model):
    """A biller's request to write off a case's balance as bad debt; posts nothing until a
    practice manager approves it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPROVED = "approved", "Approved and posted"
        REJECTED = "rejected", "Rejected"

    case = models.ForeignKey(CollectionCase, on_delete=models.PROTECT, related_name="write_offs")
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField(auto_now_add=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = models.CharField(max_length=200, blank=True)
    posted_amount = models.DecimalField(**MONEY, null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["status", "requested_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(status="pending"),
                name="one_pending_write_off_per_case",
            )
        ]

    def __str__(self) -> str:
        return f"Write-off of {self.amount} ({self.get_status_display().lower()})"

    def get_absolute_url(self) -> str:
        return self.case.get_absolute_url()


class ReceivablesSnapshot(models.Model):
    """The A/R as it stood at the end of a past day (a month-end closing), kept so that the
    dashboard's trends and the aging reports need not sum the whole ledger again.

    Its rows are the ledger summed by location, responsibility, payer and age date up to
    ``as_of``; the A/R on any later day is a snapshot's rows plus the entries posted since.
    It is a copy, never the record: posting an entry dated on or before ``as_of`` deletes it
    (``ledger.entry_post``), and the worker's closing job takes it again.
    """

    as_of = models.DateField(unique=True)
    taken_at = models.DateTimeField(auto_now_add=True)
    entries = models.PositiveIntegerField(help_text="Ledger entries summed into it.")

    class Meta:
        ordering = ["-as_of"]

    def __str__(self) -> str:
        return f"A/R as of {self.as_of}"


class ReceivablesSnapshotRow(models.Model):
    snapshot = models.ForeignKey(ReceivablesSnapshot, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(
        "core.Location", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    responsibility = models.CharField(max_length=10, choices=LedgerEntry.Responsibility.choices)
    payer = models.ForeignKey(
        "patients.Payer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    aged_from = models.DateField()
    amount = models.DecimalField(**MONEY)

    class Meta:
        indexes = [models.Index(fields=["snapshot", "location"])]

    def __str__(self) -> str:
        return f"{self.responsibility} {self.amount} aged from {self.aged_from}"
