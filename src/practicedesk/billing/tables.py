"""Billing list tables."""

import django_tables2 as tables
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from practicedesk.billing.models import (
    Claim,
    ClaimBatch,
    CollectionCase,
    EligibilityCheck,
    FeeSchedule,
    FinancialAssistanceApproval,
    FinancialAssistanceBand,
    PaymentPlan,
    ReconciliationItem,
    Remittance,
    ServiceCode,
    StatementRun,
    Underpayment,
)
from practicedesk.core.money import to_cents
from practicedesk.scheduling.models import Appointment

# Remittances (835), reconciliation, underpayments


def claim_link(claim) -> str:
    """A link to the claim's page, or its number while that page does not exist."""
    try:
        return format_html('<a href="{}">{}</a>', claim.get_absolute_url(), claim.claim_number)
    except NoReverseMatch:
        return claim.claim_number


class RemittanceTable(tables.Table):
    trace_number = tables.Column(linkify=True, verbose_name="Trace number")
    payment_amount = tables.Column(verbose_name="Payment")
    posted_total = tables.Column(verbose_name="Accounted for")
    imported_at = tables.DateTimeColumn(verbose_name="Imported", format="Y-m-d H:i")

    class Meta:
        model = Remittance
        fields = (
            "trace_number",
            "payer_name",
            "payment_date",
            "payment_method",
            "payment_amount",
            "posted_total",
            "imported_at",
        )
        empty_text = "No remittance imported yet."


class ReconciliationItemTable(tables.Table):
    remittance = tables.Column(linkify=True, verbose_name="Remittance")
    status = tables.Column()
    action = tables.Column(
        empty_values=(), orderable=False, verbose_name="", exclude_from_export=True
    )

    class Meta:
        model = ReconciliationItem
        fields = ("remittance", "claim_number", "description", "amount", "status", "resolution")
        empty_text = "Nothing to reconcile."

    def render_remittance(self, record):
        return format_html(
            '<a href="{}">{}</a>',
            record.remittance.get_absolute_url(),
            record.remittance.trace_number,
        )

    def value_remittance(self, record):
        return record.remittance.trace_number

    def render_status(self, record, value):
        badge = "badge-warn" if record.status == ReconciliationItem.Status.OPEN else "badge-ok"
        return format_html('<span class="badge {}">{}</span>', badge, value)

    def render_action(self, record):
        if record.status != ReconciliationItem.Status.OPEN:
            return ""
        url = reverse("billing:reconciliation_resolve", args=[record.pk])
        return format_html('<a class="btn btn-small" href="{}">Resolve</a>', url)


class UnderpaymentTable(tables.Table):
    claim = tables.Column(verbose_name="Claim", order_by=("claim__claim_number",))
    payer = tables.Column(accessor="claim__payer__name", verbose_name="Payer")
    code = tables.Column(
        accessor="remittance_line__procedure_code", verbose_name="Code", orderable=False
    )
    service_date = tables.DateColumn(
        accessor="remittance_line__service_date", verbose_name="Date of service"
    )
    status = tables.Column()
    action = tables.Column(
        empty_values=(), orderable=False, verbose_name="", exclude_from_export=True
    )

    class Meta:
        model = Underpayment
        fields = (
            "claim",
            "payer",
            "code",
            "service_date",
            "contracted",
            "allowed",
            "paid",
            "difference",
            "status",
            "note",
        )
        empty_text = "No line paid below contract."

    def render_claim(self, record):
        return claim_link(record.claim)

    def value_claim(self, record):
        return record.claim.claim_number

    def render_status(self, record, value):
        badges = {"open": "badge-warn", "appealed": "badge-info", "accepted": "badge-muted"}
        return format_html('<span class="badge {}">{}</span>', badges.get(record.status, ""), value)

    def render_action(self, record):
        if record.status != Underpayment.Status.OPEN:
            return ""
        url = reverse("billing:underpayment_decide", args=[record.pk])
        return format_html('<a class="btn btn-small" href="{}">Appeal or accept</a>', url)


# Service codes, fee schedules, visits to bill, eligibility


class ServiceCodeTable(tables.Table):
    code = tables.Column(linkify=("billing:service_code_edit", {"pk": tables.A("pk")}))

    class Meta:
        model = ServiceCode
        fields = ("code", "description", "default_units", "is_active")
        empty_text = "No service code yet."


class FeeScheduleTable(tables.Table):
    name = tables.Column(linkify=True)
    payer = tables.Column(verbose_name="Payer", default="The practice")
    fee_count = tables.Column(verbose_name="Fees", attrs={"td": {"class": "num"}})

    class Meta:
        model = FeeSchedule
        fields = ("name", "payer", "effective_from", "effective_to", "fee_count")
        empty_text = "No fee schedule yet."


class VisitToBillTable(tables.Table):
    start = tables.DateTimeColumn(verbose_name="Visit", format="Y-m-d H:i")
    patient = tables.Column(verbose_name="Patient", order_by=("patient__last_name",))
    provider = tables.Column(verbose_name="Provider", order_by=("provider__last_name",))
    coverage = tables.Column(verbose_name="Billed to", default="Self-pay")
    action = tables.Column(
        empty_values=(), orderable=False, verbose_name="", exclude_from_export=True
    )

    class Meta:
        model = Appointment
        fields = ("start", "patient", "provider", "location", "coverage")
        empty_text = "Every checked-out visit has its charges."

    def render_coverage(self, record):
        return record.coverage.payer.name

    def value_coverage(self, record):
        return record.coverage.payer.name if record.coverage_id else "Self-pay"

    def render_action(self, record):
        url = reverse("billing:visit_charges", args=[record.pk])
        return format_html('<a class="btn btn-small btn-primary" href="{}">Enter charges</a>', url)


ELIGIBILITY_BADGES = {
    EligibilityCheck.Status.REQUESTED: "badge-muted",
    EligibilityCheck.Status.ACTIVE: "badge-ok",
    EligibilityCheck.Status.INACTIVE: "badge-bad",
    EligibilityCheck.Status.ERROR: "badge-warn",
}


class EligibilityCheckTable(tables.Table):
    requested_at = tables.DateTimeColumn(verbose_name="Asked", format="Y-m-d H:i")
    patient = tables.Column(
        accessor="coverage__patient", verbose_name="Patient", order_by=("coverage__patient",)
    )
    payer = tables.Column(accessor="coverage__payer__name", verbose_name="Payer")
    appointment = tables.Column(verbose_name="Appointment", order_by=("appointment__start",))
    status = tables.Column()
    answered_at = tables.DateTimeColumn(verbose_name="Answered", format="Y-m-d H:i")

    class Meta:
        model = EligibilityCheck
        fields = (
            "requested_at",
            "patient",
            "payer",
            "appointment",
            "trace_number",
            "status",
            "answered_at",
            "plan_begin",
            "plan_end",
            "copay",
            "deductible",
            "deductible_remaining",
            "message",
        )
        empty_text = "No eligibility inquiry yet."

    def render_patient(self, record):
        patient = record.coverage.patient
        return format_html('<a href="{}">{}</a>', patient.get_absolute_url(), patient)

    def value_patient(self, record):
        return str(record.coverage.patient)

    def render_appointment(self, record):
        return f"{timezone.localtime(record.appointment.start):%Y-%m-%d %H:%M}"

    def render_status(self, record, value):
        badge = ELIGIBILITY_BADGES.get(record.status, "")
        return format_html('<span class="badge {}">{}</span>', badge, value)

    def value_status(self, record):
        return record.get_status_display()


# Claims and claim batches (837P)

CLAIM_STATUS_BADGES = {
    Claim.Status.DRAFT: "badge-muted",
    Claim.Status.READY: "badge-info",
    Claim.Status.SUBMITTED: "badge-info",
    Claim.Status.ACCEPTED: "badge-info",
    Claim.Status.REJECTED: "badge-bad",
    Claim.Status.PAID: "badge-ok",
    Claim.Status.PARTIALLY_PAID: "badge-warn",
    Claim.Status.DENIED: "badge-bad",
    Claim.Status.APPEALED: "badge-warn",
    Claim.Status.CLOSED: "badge-muted",
}


def claim_status_badge(claim) -> str:
    return format_html(
        '<span class="badge {}">{}</span>',
        CLAIM_STATUS_BADGES.get(claim.status, "badge-muted"),
        claim.get_status_display(),
    )


class ClaimTable(tables.Table):
    claim_number = tables.Column(linkify=True, verbose_name="Claim")
    patient = tables.Column(order_by=("patient__last_name", "patient__first_name"))
    payer = tables.Column(order_by=("payer__name",))
    payer_order = tables.Column(verbose_name="Order")
    date_of_service = tables.DateColumn(verbose_name="Date of service", format="Y-m-d")
    total_charge = tables.Column(verbose_name="Total")
    status = tables.Column()
    first_submitted_at = tables.DateTimeColumn(verbose_name="Submitted", format="Y-m-d")
    batch = tables.Column(verbose_name="Batch", order_by=("batch__interchange_control_number",))

    class Meta:
        model = Claim
        fields = (
            "claim_number",
            "patient",
            "payer",
            "payer_order",
            "date_of_service",
            "total_charge",
            "status",
            "first_submitted_at",
            "batch",
        )
        empty_text = "No claim matches."

    def render_payer_order(self, value):
        return {1: "Primary", 2: "Secondary"}.get(value, "Tertiary")

    def value_payer_order(self, value):
        return self.render_payer_order(value)

    def render_status(self, record):
        return claim_status_badge(record)

    def value_status(self, record):
        return record.get_status_display()

    def render_batch(self, record):
        batch = record.batch
        return format_html(
            '<a href="{}">{}</a>',
            batch.get_absolute_url(),
            f"{batch.interchange_control_number:09d}",
        )

    def value_batch(self, record):
        return f"{record.batch.interchange_control_number:09d}" if record.batch_id else ""


class ClaimBatchTable(tables.Table):
    interchange_control_number = tables.Column(linkify=True, verbose_name="Interchange")
    group_control_number = tables.Column(verbose_name="Group")
    payer = tables.Column(default="All payers")
    claim_count = tables.Column(verbose_name="Claims")
    total_charge = tables.Column(verbose_name="Total")
    created_at = tables.DateTimeColumn(verbose_name="Created", format="Y-m-d H:i")
    created_by = tables.Column(verbose_name="By", default="—")

    class Meta:
        model = ClaimBatch
        fields = (
            "interchange_control_number",
            "group_control_number",
            "payer",
            "claim_count",
            "total_charge",
            "created_at",
            "created_by",
        )
        empty_text = "No claim batch exported yet."

    def render_interchange_control_number(self, value):
        return f"{value:09d}"


# Payment plans, financial assistance


class PaymentPlanTable(tables.Table):
    patient = tables.Column(
        verbose_name="Patient", linkify=lambda record: record.get_absolute_url()
    )
    total = tables.Column(verbose_name="Total")
    down_payment = tables.Column(verbose_name="Down payment")
    instalment_amount = tables.Column(verbose_name="Instalment")
    frequency = tables.Column(verbose_name="Every")
    start_date = tables.DateColumn(verbose_name="Starts", format="Y-m-d")
    status = tables.Column(verbose_name="Status")
    delinquent_since = tables.DateColumn(verbose_name="Delinquent since", format="Y-m-d")
    authorized_by = tables.Column(verbose_name="Authorized by")

    class Meta:
        model = PaymentPlan
        fields = (
            "patient",
            "total",
            "down_payment",
            "instalment_amount",
            "frequency",
            "start_date",
            "status",
            "delinquent_since",
            "authorized_by",
        )
        empty_text = "No payment plans match."


class FinancialAssistanceBandTable(tables.Table):
    name = tables.Column(
        verbose_name="Band", linkify=("billing:fa_band_edit", {"pk": tables.A("pk")})
    )
    poverty_level_max = tables.Column(verbose_name="Income up to (% of poverty level)")
    discount_percent = tables.Column(verbose_name="Discount (%)")
    is_active = tables.BooleanColumn(verbose_name="Active")

    class Meta:
        model = FinancialAssistanceBand
        fields = ("name", "poverty_level_max", "discount_percent", "is_active")
        empty_text = "No bands yet: add the practice's sliding-scale steps."


class FinancialAssistanceApprovalTable(tables.Table):
    patient = tables.Column(
        verbose_name="Patient", linkify=lambda record: record.get_absolute_url()
    )
    band = tables.Column(verbose_name="Band")
    poverty_level_percent = tables.Column(verbose_name="% of poverty level")
    valid_from = tables.DateColumn(verbose_name="From", format="Y-m-d")
    valid_until = tables.DateColumn(verbose_name="Until", format="Y-m-d")
    approved_by = tables.Column(verbose_name="Approved by")
    approved_at = tables.DateTimeColumn(verbose_name="Approved", format="Y-m-d")

    class Meta:
        model = FinancialAssistanceApproval
        fields = (
            "patient",
            "band",
            "poverty_level_percent",
            "valid_from",
            "valid_until",
            "approved_by",
            "approved_at",
        )
        empty_text = "No financial assistance approved yet."


# Statements


class StatementRunTable(tables.Table):
    statement_date = tables.DateColumn(
        verbose_name="Statement date",
        format="Y-m-d",
        linkify=lambda record: record.get_absolute_url(),
    )
    status = tables.Column(verbose_name="Status")
    statement_count = tables.Column(verbose_name="Statements")
    emailed_count = tables.Column(verbose_name="Emailed")
    printed_count = tables.Column(verbose_name="To print")
    total_due = tables.Column(verbose_name="Total due")
    started_by = tables.Column(verbose_name="Started by", default="Cycle job")
    started_at = tables.DateTimeColumn(verbose_name="Started", format="Y-m-d H:i")

    class Meta:
        model = StatementRun
        fields = (
            "statement_date",
            "status",
            "statement_count",
            "emailed_count",
            "printed_count",
            "total_due",
            "started_by",
            "started_at",
        )
        empty_text = "No statement run yet."


# Collections


class CollectionCaseTable(tables.Table):
    patient = tables.Column(
        verbose_name="Patient",
        linkify=lambda record: record.get_absolute_url(),
        order_by=("patient__last_name", "patient__first_name"),
    )
    stage = tables.Column(verbose_name="Stage")
    balance = tables.Column(verbose_name="Balance now", orderable=False)
    balance_at_open = tables.Column(verbose_name="At opening")
    stage_changed_at = tables.DateTimeColumn(verbose_name="Stage since", format="Y-m-d")
    opened_at = tables.DateTimeColumn(verbose_name="Opened", format="Y-m-d")
    flags = tables.Column(verbose_name="Flags", empty_values=(), orderable=False)
    status = tables.Column(verbose_name="Status")

    class Meta:
        model = CollectionCase
        fields = (
            "patient",
            "stage",
            "balance",
            "balance_at_open",
            "stage_changed_at",
            "opened_at",
            "flags",
            "status",
        )
        empty_text = "No collection cases match."

    def render_balance(self, value):
        return to_cents(value or 0)

    def value_balance(self, value):
        return to_cents(value or 0)

    def render_flags(self, record):
        flags = []
        if record.disputed:
            flags.append(("badge-bad", "Disputed"))
        if getattr(record, "broken_promise", False):
            flags.append(("badge-warn", "Broken promise"))
        if getattr(record, "write_off_pending", False):
            flags.append(("badge-info", "Write-off to approve"))
        if record.placed_at:
            flags.append(("badge-muted", record.agency_name))
        if not flags:
            return "—"
        return format_html_join(" ", '<span class="badge {}">{}</span>', flags)

    def value_flags(self, record):
        words = []
        if record.disputed:
            words.append("disputed")
        if getattr(record, "broken_promise", False):
            words.append("broken promise")
        if getattr(record, "write_off_pending", False):
            words.append("write-off to approve")
        return "; ".join(words)
