"""Patient accounts under /api/: payments and what they paid, payment plans, collection cases
and an account's balances, through the services and the role matrix of the account pages.

As on the pages (``billing.views.accounts``): the front desk takes payments and proposes
plans (billing "add"); billers apply credit, refund, mark checks returned, cancel plans and
open collection cases ("change"); only a practice manager authorizes a plan ("approve").
A payer's payment is the biller's ("change"). Collection cases follow the collections pages
(``billing.views.collections``). Everything here is about patients' money: every read is
audited.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import (
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
)
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from practicedesk.api.auditing import ReadAuditMixin, audit_record_read
from practicedesk.api.base import ApiViewMixin, as_api_error
from practicedesk.api.billing import account_serializers as account
from practicedesk.api.billing.filters import (
    AllocationFilterSet,
    CollectionCaseFilterSet,
    PaymentFilterSet,
    PaymentPlanFilterSet,
)
from practicedesk.api.billing.views import ImmutableMixin
from practicedesk.api.views import ApiViewSet
from practicedesk.billing.collections import (
    collection_agency_place,
    collection_contact_log,
    collection_dispute,
    collection_dispute_resolve,
    collection_write_off_decide,
    collection_write_off_request,
)
from practicedesk.billing.models import (
    ZERO,
    CollectionCase,
    CollectionWriteOff,
    LedgerEntry,
    Payment,
    PaymentPlan,
    PlanInstalment,
)
from practicedesk.billing.receivables import BUCKETS, aging_by_patient
from practicedesk.billing.selectors import (
    insurance_balance,
    patient_balance,
    patient_balance_subquery,
    patient_unapplied_credit,
    payment_sums,
)
from practicedesk.billing.services import (
    collection_case_open,
    payment_allocate,
    payment_plan_authorize,
    payment_plan_cancel,
    payment_plan_propose,
    payment_receive,
    payment_refund,
    payment_return_nsf,
)
from practicedesk.core.money import MoneySum
from practicedesk.core.permissions import can
from practicedesk.patients.models import Patient
from practicedesk.patients.selectors import patient_for_user, patients_for_user

PAYMENTS_ARE_POSTED = (
    "A received payment is never changed or deleted: apply its credit, refund it or mark the "
    "check returned (POST /api/payments/<id>/allocate/, /refund/ or /return/)."
)
ALLOCATIONS_ARE_POSTED = (
    "Applied money is a posted ledger entry and is never changed or deleted; a returned check "
    "reverses what it paid."
)
PLANS_CHANGE_BY_ACTIONS = (
    "A payment plan changes only through its actions (authorize, cancel); propose a new one "
    "to change its terms."
)
CASES_CHANGE_BY_ACTIONS = "Collection cases change only through their actions."
PATIENT = LedgerEntry.Responsibility.PATIENT
INSURANCE = LedgerEntry.Responsibility.INSURANCE
MONEY_FIELD = DecimalField(max_digits=16, decimal_places=2)


def visible_patient(user, patient: Patient | None) -> Patient | None:
    """The patient named in a request, if this user may see it (404 otherwise)."""
    if patient is not None and not patients_for_user(user).filter(pk=patient.pk).exists():
        raise exceptions.NotFound("No such patient.")
    return patient


def payments_for_user(user):
    """Payers' payments, and the payments of patients this user may see (as the pages)."""
    return Payment.objects.filter(Q(patient__in=patients_for_user(user)) | Q(patient__isnull=True))


class InputMixin:
    """An action may name its own serializer (a write's input, or a fuller read); the others
    use ``serializer_class``."""

    input_serializers: dict = {}

    def get_serializer_class(self):
        return self.input_serializers.get(self.action, self.serializer_class)

    def valid_input(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer


def allocation_renames(serializer) -> dict[str, str]:
    """The services name by-hand amounts ``allocation``; the API calls them ``allocations``."""
    return {"allocation": "allocations"} if "allocations" in serializer.validated_data else {}


# Payments


@extend_schema_view(
    create=extend_schema(
        request=account.PaymentReceiveSerializer,
        responses={201: account.PaymentSerializer},
        description="Receive money and post it in one transaction: on the charges owed the "
        "longest first (or the amounts given by hand), the rest of a patient's payment kept on "
        "account as credit. On any error nothing is recorded.",
    ),
    allocate=extend_schema(
        request=account.PaymentAllocateSerializer,
        responses=account.PaymentSerializer,
        description="Apply the payment's unapplied credit to the patient's charges; the "
        "balance does not move, the credit shrinks.",
    ),
    refund=extend_schema(
        request=account.PaymentRefundSerializer,
        responses=account.PaymentSerializer,
        description="Pay back part or all of the payment's unapplied credit.",
    ),
    return_check=extend_schema(
        request=account.PaymentReturnSerializer,
        responses=account.PaymentSerializer,
        description="A patient's check came back unpaid (NSF): everything it paid or holds is "
        "reversed, the returned-check fee posted, the patient flagged “checks not accepted” "
        "and a collection case opened.",
    ),
)
class PaymentViewSet(
    InputMixin,
    ImmutableMixin,
    ReadAuditMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    ApiViewSet,
):
    """Money received from patients and payers, with where it went (applied, on account,
    refunded); never edited."""

    area = "billing"
    action_permissions = {
        "create": "add",
        "allocate": "change",
        "refund": "change",
        "return_check": "change",
    }
    immutable_message = PAYMENTS_ARE_POSTED
    queryset = Payment.objects.all()
    serializer_class = account.PaymentSerializer
    filterset_class = PaymentFilterSet
    input_serializers = {
        "create": account.PaymentReceiveSerializer,
        "allocate": account.PaymentAllocateSerializer,
        "refund": account.PaymentRefundSerializer,
        "return_check": account.PaymentReturnSerializer,
    }

    def get_queryset(self):
        # Aggregating queries drop Meta.ordering: the model's order is named again.
        return (
            payments_for_user(self.request.user)
            .annotate(**payment_sums("ledger_entries__"))
            .order_by("-received_on", "-pk")
        )

    def respond(self, payment: Payment, code=status.HTTP_200_OK) -> Response:
        payment = self.get_queryset().get(pk=payment.pk)
        return Response(account.PaymentSerializer(payment).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.valid_input(request)
        data = serializer.validated_data
        user = request.user
        patient = visible_patient(user, data.get("patient"))
        if data.get("payer") is not None and not can(user, "billing", "change"):
            raise exceptions.PermissionDenied(
                "A payer's payment is posted by a biller; your role takes patients' payments."
            )
        try:
            payment = payment_receive(
                acting_user=user,
                amount=data["amount"],
                method=data["method"],
                location=data["location"],
                patient=patient,
                payer=data.get("payer"),
                received_on=data.get("received_on"),
                check_number=data["check_number"],
                routing_number=data["routing_number"],
                reference=data["reference"],
                allocation=serializer.allocation_value(),
                plan=data.get("plan"),
                memo=data["memo"],
            )
        except DjangoValidationError as error:
            raise as_api_error(error, allocation_renames(serializer)) from error
        return self.respond(payment, status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def allocate(self, request, pk=None):
        serializer = self.valid_input(request)
        payment = self.get_object()
        try:
            payment_allocate(
                acting_user=request.user,
                payment=payment,
                allocation=serializer.allocation_value(),
            )
        except DjangoValidationError as error:
            raise as_api_error(error, allocation_renames(serializer)) from error
        return self.respond(payment)

    @action(detail=True, methods=["post"])
    def refund(self, request, pk=None):
        data = self.valid_input(request).validated_data
        payment = self.get_object()
        try:
            payment_refund(acting_user=request.user, payment=payment, **data)
        except DjangoValidationError as error:
            raise as_api_error(error) from error
        return self.respond(payment)

    @action(detail=True, methods=["post"], url_path="return")
    def return_check(self, request, pk=None):
        data = self.valid_input(request).validated_data
        payment = self.get_object()
        try:
            payment_return_nsf(
                acting_user=request.user,
                payment=payment,
                reason=data["reason"],
                returned_on=data.get("returned_on"),
            )
        except DjangoValidationError as error:
            raise as_api_error(error) from error
        return self.respond(payment)


# Allocations


@extend_schema_view(
    create=extend_schema(
        request=account.AllocationCreateSerializer,
        responses={201: account.AllocationSerializer(many=True)},
        description="Apply a payment's unapplied credit to charges (oldest first, or by hand); "
        "the entries posted on the charges are returned.",
    )
)
class AllocationViewSet(
    InputMixin,
    ImmutableMixin,
    ReadAuditMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    ApiViewSet,
):
    """What payments paid on charges: their ledger entries on charges, reversed ones included
    (``reversed``)."""

    area = "billing"
    action_permissions = {"create": "change"}
    immutable_message = ALLOCATIONS_ARE_POSTED
    queryset = LedgerEntry.objects.all()
    serializer_class = account.AllocationSerializer
    filterset_class = AllocationFilterSet
    input_serializers = {"create": account.AllocationCreateSerializer}

    def get_queryset(self):
        return (
            LedgerEntry.objects.filter(
                kind=LedgerEntry.Kind.PAYMENT,
                charge__isnull=False,
                payment__isnull=False,
                patient__in=patients_for_user(self.request.user),
            )
            .select_related("payment", "charge__service_code")
            .annotate(
                applied=ExpressionWrapper(-F("amount"), output_field=MONEY_FIELD),
                is_reversed=Exists(LedgerEntry.objects.filter(reverses=OuterRef("pk"))),
            )
            .order_by("posted_at", "pk")
        )

    def create(self, request, *args, **kwargs):
        serializer = self.valid_input(request)
        payment = (
            payments_for_user(request.user)
            .filter(pk=serializer.validated_data["payment"].pk)
            .first()
        )
        if payment is None:
            raise exceptions.NotFound("No such payment.")
        try:
            entries = payment_allocate(
                acting_user=request.user,
                payment=payment,
                allocation=serializer.allocation_value(),
            )
        except DjangoValidationError as error:
            raise as_api_error(error, allocation_renames(serializer)) from error
        posted = self.get_queryset().filter(pk__in=[entry.pk for entry in entries])
        body = account.AllocationSerializer(posted, many=True).data
        return Response(body, status=status.HTTP_201_CREATED)


# Payment plans


@extend_schema_view(
    create=extend_schema(
        request=account.PaymentPlanProposeSerializer,
        responses={201: account.PaymentPlanSerializer},
        description="Propose a plan for the patient's whole balance: the down payment, then "
        "equal instalments, the last one taking the remainder. It runs once a practice "
        "manager authorizes it.",
    ),
    authorize=extend_schema(
        request=None,
        responses=account.PaymentPlanSerializer,
        description="A practice manager's authorization (recorded) makes a proposed plan run.",
    ),
    cancel=extend_schema(
        request=account.PaymentPlanCancelSerializer, responses=account.PaymentPlanSerializer
    ),
)
class PaymentPlanViewSet(
    InputMixin,
    ImmutableMixin,
    ReadAuditMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    ApiViewSet,
):
    """Payment plans with their instalments, each with what has been paid on it."""

    area = "billing"
    action_permissions = {"create": "add", "authorize": "approve", "cancel": "change"}
    immutable_message = PLANS_CHANGE_BY_ACTIONS
    queryset = PaymentPlan.objects.all()
    serializer_class = account.PaymentPlanSerializer
    filterset_class = PaymentPlanFilterSet
    input_serializers = {
        "create": account.PaymentPlanProposeSerializer,
        "cancel": account.PaymentPlanCancelSerializer,
    }

    def get_queryset(self):
        # What ``selectors.plan_paid_total`` sums, for a whole page in one query.
        paid = MoneySum("payments__amount", filter=Q(payments__status=Payment.Status.RECEIVED))
        return (
            PaymentPlan.objects.filter(patient__in=patients_for_user(self.request.user))
            .annotate(paid=paid)
            .prefetch_related(
                Prefetch("instalments", queryset=PlanInstalment.objects.order_by("number"))
            )
            .order_by("-proposed_at", "-pk")
        )

    def respond(self, plan: PaymentPlan, code=status.HTTP_200_OK) -> Response:
        plan = self.get_queryset().get(pk=plan.pk)
        return Response(account.PaymentPlanSerializer(plan).data, status=code)

    def create(self, request, *args, **kwargs):
        data = self.valid_input(request).validated_data
        patient = visible_patient(request.user, data["patient"])
        try:
            plan = payment_plan_propose(
                acting_user=request.user,
                patient=patient,
                total=data.get("total"),
                down_payment=data["down_payment"],
                instalment_amount=data["instalment_amount"],
                instalment_count=data.get("instalment_count"),
                frequency=data["frequency"],
                start_date=data["start_date"],
                note=data["note"],
            )
        except DjangoValidationError as error:
            raise as_api_error(error) from error
        return self.respond(plan, status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def authorize(self, request, pk=None):
        plan = self.get_object()
        try:
            plan = payment_plan_authorize(acting_user=request.user, plan=plan)
        except DjangoValidationError as error:
            raise as_api_error(error) from error
        return self.respond(plan)

    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = self.valid_input(request).validated_data
        plan = self.get_object()
        try:
            plan = payment_plan_cancel(acting_user=request.user, plan=plan, reason=data["reason"])
        except DjangoValidationError as error:
            raise as_api_error(error) from error
        return self.respond(plan)


# Collection cases


@extend_schema_view(
    list=extend_schema(description="The collection queue: every account worked for collection."),
    create=extend_schema(
        request=account.CollectionCaseOpenSerializer,
        responses={
            201: account.CollectionCaseDetailSerializer,
            200: account.CollectionCaseDetailSerializer,
        },
        description="Open a collection case for the patient's account and flag the patient; "
        "when one is open already it is kept (200) and returned.",
    ),
    contact=extend_schema(
        request=account.CollectionContactLogSerializer,
        responses={201: account.CollectionContactSerializer},
        description="Log a call, an email, a promise to pay or a note. Attempts to collect are "
        "refused while the account is disputed, and calls outside the contact hours.",
    ),
    dispute=extend_schema(
        request=account.CollectionDisputeSerializer,
        responses=account.CollectionCaseDetailSerializer,
        description="The patient disputes the debt: all collection stops until it is resolved.",
    ),
    resolve_dispute=extend_schema(
        request=account.CollectionDisputeResolveSerializer,
        responses=account.CollectionCaseDetailSerializer,
        description="The dispute is answered; collection resumes, the stage's clock restarts.",
    ),
    place_with_agency=extend_schema(
        request=account.CollectionAgencySerializer,
        responses=account.CollectionCaseDetailSerializer,
        description="Place the account with a collection agency after its final notice (the "
        "agency's export is made and kept; the ledger does not change).",
    ),
    write_off_request=extend_schema(
        request=account.CollectionWriteOffRequestSerializer,
        responses={201: account.CollectionWriteOffSerializer},
        description="Ask to write off the balance as bad debt; nothing posts until a practice "
        "manager approves.",
    ),
    write_off_decide=extend_schema(
        request=account.CollectionWriteOffDecisionSerializer,
        responses=account.CollectionWriteOffSerializer,
        description="A practice manager other than the one who asked approves the pending "
        "write-off (posted on the charges, oldest first; the case closes when nothing is "
        "left owed) or rejects it with a note.",
    ),
)
class CollectionCaseViewSet(
    InputMixin,
    ImmutableMixin,
    ReadAuditMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    ApiViewSet,
):
    """Patient accounts worked for collection, with what the patient owes now; a case with
    its contact log and write-off requests.

    As on the collections pages: the queue (the list) covers every account, so it needs
    billing "export"; a case needs "view"; working it needs "change"; deciding a write-off
    needs "approve".
    """

    area = "billing"
    action_permissions = {
        "list": "export",
        "create": "change",
        "contact": "change",
        "dispute": "change",
        "resolve_dispute": "change",
        "place_with_agency": "change",
        "write_off_request": "change",
        "write_off_decide": "approve",
    }
    immutable_message = CASES_CHANGE_BY_ACTIONS
    queryset = CollectionCase.objects.all()
    serializer_class = account.CollectionCaseSerializer
    filterset_class = CollectionCaseFilterSet
    input_serializers = {
        "retrieve": account.CollectionCaseDetailSerializer,
        "create": account.CollectionCaseOpenSerializer,
        "contact": account.CollectionContactLogSerializer,
        "dispute": account.CollectionDisputeSerializer,
        "resolve_dispute": account.CollectionDisputeResolveSerializer,
        "place_with_agency": account.CollectionAgencySerializer,
        "write_off_request": account.CollectionWriteOffRequestSerializer,
        "write_off_decide": account.CollectionWriteOffDecisionSerializer,
    }

    def get_queryset(self):
        cases = CollectionCase.objects.filter(
            patient__in=patients_for_user(self.request.user)
        ).annotate(balance=patient_balance_subquery())
        if self.action != "list":
            cases = cases.prefetch_related("contacts", "write_offs")
        return cases

    def respond(self, case: CollectionCase, code=status.HTTP_200_OK) -> Response:
        case = self.get_queryset().get(pk=case.pk)
        return Response(account.CollectionCaseDetailSerializer(case).data, status=code)

    def act(self, service, **kwargs):
        """Run a collections service on this case; its refusal is the 400's body."""
        try:
            return service(acting_user=self.request.user, **kwargs)
        except DjangoValidationError as error:
            raise as_api_error(error) from error

    def create(self, request, *args, **kwargs):
        data = self.valid_input(request).validated_data
        patient = visible_patient(request.user, data["patient"])
        open_cases = CollectionCase.objects.filter(
            patient=patient, status=CollectionCase.Status.OPEN
        )
        try:
            with transaction.atomic():
                was_open = open_cases.exists()
                case = collection_case_open(
                    acting_user=request.user, patient=patient, reason=data["reason"]
                )
        except DjangoValidationError as error:
            raise as_api_error(error) from error
        return self.respond(case, status.HTTP_200_OK if was_open else status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def contact(self, request, pk=None):
        data = self.valid_input(request).validated_data
        contact = self.act(collection_contact_log, case=self.get_object(), **data)
        body = account.CollectionContactSerializer(contact).data
        return Response(body, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def dispute(self, request, pk=None):
        data = self.valid_input(request).validated_data
        return self.respond(self.act(collection_dispute, case=self.get_object(), **data))

    @action(detail=True, methods=["post"], url_path="resolve-dispute")
    def resolve_dispute(self, request, pk=None):
        data = self.valid_input(request).validated_data
        return self.respond(self.act(collection_dispute_resolve, case=self.get_object(), **data))

    @action(detail=True, methods=["post"], url_path="agency")
    def place_with_agency(self, request, pk=None):
        data = self.valid_input(request).validated_data
        return self.respond(self.act(collection_agency_place, case=self.get_object(), **data))

    @action(detail=True, methods=["post"], url_path="write-off")
    def write_off_request(self, request, pk=None):
        data = self.valid_input(request).validated_data
        asked = self.act(collection_write_off_request, case=self.get_object(), **data)
        body = account.CollectionWriteOffSerializer(asked).data
        return Response(body, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"], url_path="write-off/decide")
    def write_off_decide(self, request, pk=None):
        data = self.valid_input(request).validated_data
        case = self.get_object()
        pending = case.write_offs.filter(status=CollectionWriteOff.Status.PENDING).first()
        if pending is None:
            raise exceptions.NotFound("No write-off of this case is waiting for a decision.")
        decided = self.act(collection_write_off_decide, request=pending, **data)
        return Response(account.CollectionWriteOffSerializer(decided).data)


# A patient's account


def aging_of(patient: Patient, responsibility: str, as_of) -> dict:
    rows = aging_by_patient(
        as_of, responsibility=responsibility, exclude=~Q(patient_id=patient.pk)
    ).rows
    buckets = rows[0].buckets if rows else {}
    found = {
        ("over_120" if bucket.key == "over_120" else f"days_{bucket.key}"): buckets.get(
            bucket.key, ZERO
        )
        for bucket in BUCKETS
    }
    found["total"] = rows[0].total if rows else ZERO
    return found


class AccountViewSet(ApiViewMixin, viewsets.ViewSet):
    """A patient's account: balances by who owes them, aged by date of service."""

    area = "billing"
    lookup_value_regex = r"\d+"

    @extend_schema(
        responses=account.AccountSerializer,
        description="The account of the patient with this id: what the patient and payers owe, "
        "the patient's unapplied credit, both balances by age (0–30 … over 120 days from the "
        "date of service), the plan proposed or running and the open collection case.",
    )
    def retrieve(self, request, pk=None):
        patient = patient_for_user(request.user, pk)
        audit_record_read(request, patient, via="api_account")
        today = timezone.localdate()
        plan = (
            PaymentPlan.objects.filter(patient=patient, status__in=PaymentPlan.LIVE_STATUSES)
            .values_list("pk", flat=True)
            .first()
        )
        case = (
            CollectionCase.objects.filter(patient=patient, status=CollectionCase.Status.OPEN)
            .values_list("pk", flat=True)
            .first()
        )
        body = {
            "patient": patient.pk,
            "guarantor": patient.guarantor_id or patient.pk,
            "as_of": today,
            "patient_balance": patient_balance(patient.pk),
            "insurance_balance": insurance_balance(patient.pk),
            "unapplied_credit": patient_unapplied_credit(patient.pk),
            "patient_aging": aging_of(patient, PATIENT, today),
            "insurance_aging": aging_of(patient, INSURANCE, today),
            "payment_plan": plan,
            "collection_case": case,
        }
        return Response(account.AccountSerializer(body).data)
