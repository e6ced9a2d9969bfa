"""Patient accounts through the API: payments, what they were applied to, payment plans,
collection cases, statements and an account's balances. Reads only represent; every write
is an input serializer handed to its service (``billing.services``, ``billing.collections``)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from practicedesk.billing.models import (
    ZERO,
    Charge,
    CollectionCase,
    CollectionContact,
    CollectionWriteOff,
    LedgerEntry,
    Payment,
    PaymentPlan,
    PlanInstalment,
    Statement,
)
from practicedesk.billing.selectors import credit_from_sums
from practicedesk.billing.services import RefundMethod
from practicedesk.core.models import Location
from practicedesk.patients.models import Patient, Payer

MONEY = {"max_digits": 12, "decimal_places": 2}
MAX_ALLOCATIONS = 100


def money_field(**kwargs) -> serializers.DecimalField:
    """Money in, as the pages take it: the service says what is wrong with an amount of 0 or
    less, so only the number's form is checked here."""
    return serializers.DecimalField(**MONEY, **kwargs)


def named_choice_field(component: str, choices, **kwargs) -> serializers.ChoiceField:
    """A choice field whose choices are their own schema component: a choice set narrower
    than another field's of the same name (refund methods beside payment methods) then gets
    its own name instead of a generated one."""
    values = [value for value, _label in choices]

    @extend_schema_field({"type": "string", "enum": values}, component_name=component)
    class NamedChoiceField(serializers.ChoiceField):
        pass

    return NamedChoiceField(choices=choices, **kwargs)


def read_money(help_text: str = "", **kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(**MONEY, read_only=True, help_text=help_text, **kwargs)


# Payments


class PaymentSerializer(serializers.ModelSerializer):
    applied = read_money(
        "What the payment has paid on charges (the sum of its entries on them).",
        source="credit.applied",
    )
    unapplied = read_money(
        "Credit still on account, to apply or refund (0.00 once a check came back).",
        source="credit.unapplied",
    )
    refunded = read_money("What was paid back of its credit.", source="credit.refunded")

    class Meta:
        model = Payment
        fields = [
            "id",
            "receipt_number",
            "patient",
            "payer",
            "method",
            "amount",
            "applied",
            "unapplied",
            "refunded",
            "check_number",
            "routing_number",
            "reference",
            "received_on",
            "received_at",
            "received_by",
            "location",
            "plan",
            "remittance",
            "memo",
            "status",
            "returned_on",
            "returned_reason",
            "returned_by",
        ]
        read_only_fields = fields

    def to_representation(self, payment):
        # The sums come annotated by the viewset's queryset (one query for a whole page).
        if not hasattr(payment, "credit"):
            payment.credit = credit_from_sums(
                payment.status,
                payment.on_charges_sum,
                payment.on_account_sum,
                payment.refunded_sum,
            )
        return super().to_representation(payment)


class AllocationInputSerializer(serializers.Serializer):
    charge = serializers.PrimaryKeyRelatedField(queryset=Charge.objects.all())
    amount = money_field(help_text="What to apply to this charge; at most what is owed on it.")


class AllocationChoiceMixin(serializers.Serializer):
    """Oldest date of service first (the default), or the amounts per charge given by hand."""

    OLDEST_FIRST = "oldest_first"
    allocation_modes = (OLDEST_FIRST,)

    allocation = named_choice_field(
        "AllocationModeEnum",
        [(OLDEST_FIRST, "Oldest date of service first")],
        required=False,
        help_text="How to apply the money when no allocations are given: oldest date of "
        "service first.",
    )
    allocations = AllocationInputSerializer(
        many=True,
        required=False,
        allow_empty=False,
        max_length=MAX_ALLOCATIONS,
        help_text="The charges to apply the money to, by hand; never more than each charge's "
        "balance nor, together, more than the money.",
    )

    def validate(self, attrs):
        if "allocation" in attrs and "allocations" in attrs:
            raise serializers.ValidationError(
                {"allocations": ["Give the allocation mode or the allocations by hand, not both."]}
            )
        return attrs

    def allocation_value(self):
        """The service's ``allocation`` argument: a mode or (charge, amount) pairs."""
        data = self.validated_data
        if "allocations" in data:
            return [(line["charge"], line["amount"]) for line in data["allocations"]]
        return data.get("allocation", self.OLDEST_FIRST)


class PaymentReceiveSerializer(AllocationChoiceMixin):
    """Money received from a patient (or, for a biller, a payer), posted at once."""

    KEEP_AS_CREDIT = "none"

    allocation = named_choice_field(
        "ReceiptAllocationEnum",
        [
            (AllocationChoiceMixin.OLDEST_FIRST, "Oldest date of service first"),
            (KEEP_AS_CREDIT, "Keep it all on account as credit"),
        ],
        required=False,
        help_text="oldest_first (the default): the charges owed the longest are paid first, "
        "the rest kept on account; none: all of it kept on account as credit.",
    )
    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all(), required=False)
    payer = serializers.PrimaryKeyRelatedField(
        queryset=Payer.objects.all(),
        required=False,
        help_text="Instead of patient: a payer's payment, applied in full to its charges.",
    )
    method = serializers.ChoiceField(choices=Payment.Method.choices)
    amount = money_field()
    location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.all())
    received_on = serializers.DateField(required=False, help_text="Today if left out.")
    check_number = serializers.CharField(max_length=20, required=False, default="")
    routing_number = serializers.CharField(
        max_length=20, required=False, default="", help_text="Checks: the bank routing number."
    )
    reference = serializers.CharField(
        max_length=50,
        required=False,
        default="",
        help_text="Card: the authorization code or last 4 digits (never the card number). "
        "EFT: the trace number.",
    )
    plan = serializers.PrimaryKeyRelatedField(
        queryset=PaymentPlan.objects.all(),
        required=False,
        help_text="The running payment plan this payment is an instalment of.",
    )
    memo = serializers.CharField(max_length=200, required=False, default="")


class PaymentAllocateSerializer(AllocationChoiceMixin):
    """Apply a payment's unapplied credit to charges."""


class PaymentRefundSerializer(serializers.Serializer):
    amount = money_field(help_text="At most the payment's unapplied credit.")
    method = named_choice_field(
        "RefundMethodEnum",
        RefundMethod.choices,
        help_text="Refunds leave from the bank, never the drawer.",
    )
    reason = serializers.CharField(max_length=200)
    reference = serializers.CharField(max_length=50, required=False, default="")


class PaymentReturnSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, default="Insufficient funds")
    returned_on = serializers.DateField(
        required=False, help_text="When the bank returned the check; today if left out."
    )


# Allocations: a payment's entries on charges


class AllocationSerializer(serializers.ModelSerializer):
    amount = read_money(
        "What was applied to the charge (the entry lowers its balance by this much).",
        source="applied",
    )
    receipt_number = serializers.CharField(source="payment.receipt_number", read_only=True)
    code = serializers.CharField(source="charge.service_code.code", read_only=True)
    date_of_service = serializers.DateField(source="charge.date_of_service", read_only=True)
    reversed = serializers.BooleanField(
        source="is_reversed",
        read_only=True,
        help_text="True when the entry was reversed (e.g. the check came back unpaid).",
    )

    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "payment",
            "receipt_number",
            "patient",
            "charge",
            "code",
            "date_of_service",
            "amount",
            "responsibility",
            "payer",
            "posted_on",
            "posted_at",
            "posted_by",
            "memo",
            "reversed",
        ]
        read_only_fields = fields


class AllocationCreateSerializer(PaymentAllocateSerializer):
    payment = serializers.PrimaryKeyRelatedField(
        queryset=Payment.objects.all(), help_text="The payment whose unapplied credit is applied."
    )


class LedgerEntrySerializer(serializers.ModelSerializer):
    """One posted entry, signed from the practice's side (negative lowers what is owed)."""

    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "kind",
            "amount",
            "responsibility",
            "patient",
            "charge",
            "payer",
            "payment",
            "memo",
            "posted_on",
            "posted_at",
            "posted_by",
            "approved_by",
        ]
        read_only_fields = fields


class WriteOffSerializer(serializers.Serializer):
    amount = money_field(help_text="At most what is owed on the charge by that party.")
    reason = serializers.CharField(max_length=180)
    responsibility = serializers.ChoiceField(
        choices=LedgerEntry.Responsibility.choices,
        default=LedgerEntry.Responsibility.PATIENT,
        help_text="Whose balance on the charge is written off.",
    )


# Payment plans


class InstalmentSerializer(serializers.ModelSerializer):
    paid = read_money(
        "What the plan's payments cover of it (they pay the instalments in due order)."
    )
    remaining = read_money()

    class Meta:
        model = PlanInstalment
        fields = ["number", "due_date", "amount", "paid", "remaining", "status"]
        read_only_fields = fields


class PaymentPlanSerializer(serializers.ModelSerializer):
    paid = read_money("What the patient has paid toward the plan (returned checks excluded).")
    instalments = InstalmentSerializer(many=True, read_only=True, source="schedule")

    class Meta:
        model = PaymentPlan
        fields = [
            "id",
            "patient",
            "status",
            "total",
            "paid",
            "down_payment",
            "instalment_amount",
            "frequency",
            "start_date",
            "note",
            "proposed_at",
            "proposed_by",
            "authorized_at",
            "authorized_by",
            "delinquent_since",
            "ended_at",
            "instalments",
        ]
        read_only_fields = fields

    def to_representation(self, plan):
        # ``plan_schedule``'s rule over the prefetched instalments (one query for a page of
        # plans, not two per plan): the plan's payments cover them in due order, a payment
        # beyond one instalment counting toward the next.
        left = plan.paid
        plan.schedule = []
        for instalment in plan.instalments.all():
            instalment.paid = max(min(left, instalment.amount), ZERO)
            instalment.remaining = instalment.amount - instalment.paid
            left -= instalment.paid
            plan.schedule.append(instalment)
        return super().to_representation(plan)


class PaymentPlanProposeSerializer(serializers.Serializer):
    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all())
    total = money_field(
        required=False, help_text="The patient's whole balance; checked against it if given."
    )
    down_payment = money_field(required=False, default=ZERO)
    instalment_amount = money_field()
    instalment_count = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="If given, checked: the instalments must add up to what is financed.",
    )
    frequency = serializers.ChoiceField(choices=PaymentPlan.Frequency.choices)
    start_date = serializers.DateField(help_text="When the down payment or first one is due.")
    note = serializers.CharField(max_length=300, required=False, default="")


class PaymentPlanCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


# Collection cases


class CollectionCaseSerializer(serializers.ModelSerializer):
    # Named once for the list's and the detail's components alike.
    status = named_choice_field(
        "CollectionCaseStatusEnum", CollectionCase.Status.choices, read_only=True
    )
    balance = read_money("What the patient owes now.")

    class Meta:
        model = CollectionCase
        fields = [
            "id",
            "patient",
            "status",
            "stage",
            "disputed",
            "reason",
            "balance_at_open",
            "balance",
            "opened_at",
            "opened_by",
            "closed_at",
        ]
        read_only_fields = fields


class CollectionCaseOpenSerializer(serializers.Serializer):
    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all())
    reason = serializers.CharField(max_length=200)


# A patient's account


class AgingSerializer(serializers.Serializer):
    days_0_30 = read_money()
    days_31_60 = read_money()
    days_61_90 = read_money()
    days_91_120 = read_money()
    over_120 = read_money()
    total = read_money()


class AccountSerializer(serializers.Serializer):
    patient = serializers.IntegerField(read_only=True)
    guarantor = serializers.IntegerField(
        read_only=True, help_text="The responsible party: the patient's guarantor or the patient."
    )
    as_of = serializers.DateField(read_only=True)
    patient_balance = read_money("What the patient owes.")
    insurance_balance = read_money("What payers owe on the patient's charges.")
    unapplied_credit = read_money("Credit the patient's payments still hold on account.")
    patient_aging = AgingSerializer(
        read_only=True, help_text="The patient balance by age of the date of service."
    )
    insurance_aging = AgingSerializer(read_only=True)
    payment_plan = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The plan proposed or running, if any."
    )
    collection_case = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The open collection case, if any."
    )


# Collections: the case's log, write-off requests and the actions on a case


class CollectionContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = CollectionContact
        fields = [
            "id",
            "kind",
            "note",
            "at",
            "by",
            "letter",
            "promise_amount",
            "promise_date",
            "promise_status",
        ]
        read_only_fields = fields


class CollectionWriteOffSerializer(serializers.ModelSerializer):
    class Meta:
        model = CollectionWriteOff
        fields = [
            "id",
            "case",
            "amount",
            "reason",
            "status",
            "requested_at",
            "requested_by",
            "decided_at",
            "decided_by",
            "decision_note",
            "posted_amount",
        ]
        read_only_fields = fields


class CollectionCaseDetailSerializer(CollectionCaseSerializer):
    """A case with its contact log and write-off requests (as its page shows them)."""

    contacts = CollectionContactSerializer(many=True, read_only=True)
    write_offs = CollectionWriteOffSerializer(many=True, read_only=True)

    class Meta(CollectionCaseSerializer.Meta):
        fields = [
            *CollectionCaseSerializer.Meta.fields,
            "closed_reason",
            "stage_changed_at",
            "dispute_reason",
            "disputed_at",
            "disputed_by",
            "agency_name",
            "placed_balance",
            "placed_at",
            "placed_by",
            "contacts",
            "write_offs",
        ]
        read_only_fields = fields


class CollectionContactLogSerializer(serializers.Serializer):
    kind = named_choice_field(
        "ContactLogKindEnum",
        [
            (value, label)
            for value, label in CollectionContact.Kind.choices
            if value != CollectionContact.Kind.LETTER
        ],
        help_text="Letters are made by the collections run; log calls, emails, promises, notes.",
    )
    note = serializers.CharField(max_length=300, required=False, default="")
    promise_amount = money_field(required=False, help_text="A promise to pay: how much.")
    promise_date = serializers.DateField(required=False, help_text="A promise to pay: by when.")


class CollectionDisputeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="What the patient disputes.")


class CollectionDisputeResolveSerializer(serializers.Serializer):
    resolution = serializers.CharField(max_length=300)


class CollectionAgencySerializer(serializers.Serializer):
    agency_name = serializers.CharField(max_length=120)


class CollectionWriteOffRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, help_text="Why the balance cannot be collected.")


class CollectionWriteOffDecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField(
        help_text="True posts the write-off (and closes the case if nothing is left owed)."
    )
    note = serializers.CharField(
        max_length=200, required=False, default="", help_text="Required to reject."
    )


# Statements


class StatementSerializer(serializers.ModelSerializer):
    class Meta:
        model = Statement
        fields = [
            "id",
            "statement_number",
            "run",
            "guarantor",
            "statement_date",
            "period_start",
            "previous_balance",
            "new_charges",
            "payments_and_credits",
            "amount_due",
            "insurance_pending",
            "aging_0_30",
            "aging_31_60",
            "aging_61_90",
            "aging_91_120",
            "aging_over_120",
            "due_date",
            "delivery",
            "emailed_to",
            "emailed_at",
            "delivery_note",
            "sha256",
            "size_bytes",
            "created_at",
        ]
        read_only_fields = fields
