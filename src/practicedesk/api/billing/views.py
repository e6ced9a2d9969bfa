"""Billing endpoints under /api/: the pages' rules and services, the pages' role matrix.

Setting prices (service codes, fee schedules, fees) is billing "change" even to create, as on
the pages; posting a visit's charges is billing "add" (the front desk may enter them at
checkout); reversing a charge and everything done to claims is billing "change". Writing off a
charge's balance is billing "approve", as on the page: the manager is the recorded approver
(a biller asks for a bad-debt write-off through a collection case instead). Charges and
claims hold protected health information: every read of them is audited.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from practicedesk.api.auditing import ReadAuditMixin, audit_record_read
from practicedesk.api.base import as_api_error
from practicedesk.api.billing import account_serializers
from practicedesk.api.billing import serializers as billing_serializers
from practicedesk.api.billing.filters import ChargeFilterSet, ClaimFilterSet, FeeFilterSet
from practicedesk.api.views import ApiViewSet, Conflict, CrudViewSet, restricted
from practicedesk.billing.filters import FeeScheduleFilterSet, ServiceCodeFilterSet
from practicedesk.billing.models import (
    Charge,
    Claim,
    ClaimLine,
    Fee,
    FeeSchedule,
    ServiceCode,
    VisitDiagnosis,
    icd10_normalise,
)
from practicedesk.billing.selectors import claim_balance_subquery
from practicedesk.billing.services import (
    ChargeLine,
    charge_reverse,
    charges_post,
    claim_create,
    claim_mark_ready,
    claim_scrub,
    claim_secondary_create,
    claim_step,
    visit_diagnoses_set,
)
from practicedesk.billing.services import write_off as balance_write_off
from practicedesk.patients.filters import PayerFilterSet
from practicedesk.patients.models import Payer
from practicedesk.scheduling.models import Appointment

CHARGES_ARE_POSTED = (
    "Posted charges are never changed or deleted: reverse the charge "
    "(POST /api/charges/<id>/reverse/) and post the corrected line."
)
CLAIMS_CHANGE_BY_ACTIONS = (
    "Claims are created from a visit's charges and change only through their actions "
    "(ready, status); they are never edited or deleted."
)


class PayerViewSet(CrudViewSet):
    """Payers; deleting one archives it (coverage and claims keep naming it)."""

    area = "billing"
    queryset = Payer.objects.all()
    serializer_class = billing_serializers.PayerSerializer
    filterset_class = PayerFilterSet


PRICE_PERMISSIONS = {"create": "change"}


class ServiceCodeViewSet(CrudViewSet):
    """CPT and HCPCS codes the practice bills; deleting one archives it."""

    area = "billing"
    action_permissions = PRICE_PERMISSIONS
    queryset = ServiceCode.objects.all()
    serializer_class = billing_serializers.ServiceCodeSerializer
    filterset_class = ServiceCodeFilterSet


def schedule_priced_charges(schedule: FeeSchedule) -> bool:
    """Whether charges were posted on dates this practice schedule was in force."""
    if schedule.payer_id is not None:
        return False
    charges = Charge.objects.filter(date_of_service__gte=schedule.effective_from)
    if schedule.effective_to:
        charges = charges.filter(date_of_service__lte=schedule.effective_to)
    return charges.exists()


@extend_schema_view(
    create=extend_schema(
        description="Create a schedule and its fees in one request: all of it or nothing."
    )
)
class FeeScheduleViewSet(CrudViewSet):
    """The practice's fee schedules (no payer) and payers' contracted allowed amounts."""

    area = "billing"
    action_permissions = PRICE_PERMISSIONS
    queryset = FeeSchedule.objects.select_related("payer").prefetch_related(
        Prefetch("fees", queryset=Fee.objects.select_related("service_code"))
    )
    serializer_class = billing_serializers.FeeScheduleSerializer
    filterset_class = FeeScheduleFilterSet

    def perform_destroy(self, instance):
        if schedule_priced_charges(instance):
            raise Conflict(
                f"“{instance}” priced posted charges and is kept as their history; end it "
                "(effective to) instead."
            )
        super().perform_destroy(instance)


class FeeViewSet(CrudViewSet):
    """One fee of a schedule at a time, as the schedule's page adds and changes them."""

    area = "billing"
    action_permissions = PRICE_PERMISSIONS
    queryset = Fee.objects.select_related("service_code", "fee_schedule")
    serializer_class = billing_serializers.FeeSerializer
    filterset_class = FeeFilterSet


class ImmutableMixin:
    """PUT, PATCH and DELETE are refused with the reason, not just "method not allowed"."""

    immutable_message = ""

    def http_method_not_allowed(self, request, *args, **kwargs):
        if request.method in ("PUT", "PATCH", "DELETE"):
            raise exceptions.MethodNotAllowed(request.method, detail=self.immutable_message)
        return super().http_method_not_allowed(request, *args, **kwargs)


def check_posted_pointers(appointment: Appointment, current: list[str], codes: list[str]) -> None:
    """Posted lines point to diagnoses by position: those positions must keep their codes."""
    charges = Charge.objects.filter(
        appointment=appointment, reverses__isnull=True, reversed_by__isnull=True
    ).select_related("service_code")
    for charge in charges:
        for pointer in charge.diagnosis_pointers:
            old = current[pointer - 1] if pointer <= len(current) else ""
            new = codes[pointer - 1] if pointer <= len(codes) else ""
            if old != new:
                raise serializers.ValidationError(
                    {
                        "diagnoses": [
                            f"Posted line {charge.service_code.code} points to diagnosis "
                            f"{pointer} ({old}); reverse that line before changing it."
                        ]
                    }
                )


@extend_schema_view(
    create=extend_schema(
        request=billing_serializers.ChargePostSerializer,
        responses={201: billing_serializers.ChargeSerializer(many=True)},
        description="Record a checked-out visit's diagnoses and post its service lines, each "
        "priced from the practice fee schedule in force on the date of service. One "
        "transaction: on any error nothing is recorded or posted.",
    ),
    reverse=extend_schema(
        request=billing_serializers.ChargeReverseSerializer,
        responses={201: billing_serializers.ChargeSerializer},
        description="Reverse a posted charge in full (a negative charge and reversals of its "
        "ledger entries); the reversal is returned.",
    ),
    write_off=extend_schema(
        request=account_serializers.WriteOffSerializer,
        responses={201: account_serializers.LedgerEntrySerializer},
        description="Write off part of what the patient (or the payer) owes on the charge. "
        'Billing "approve" (a practice manager), as on the page; the caller is the '
        "recorded approver.",
    ),
)
class ChargeViewSet(
    ImmutableMixin, ReadAuditMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet
):
    """Posted charges (service lines of visits), reversals included; never edited."""

    area = "billing"
    action_permissions = {"create": "add", "reverse": "change", "write_off": "approve"}
    immutable_message = CHARGES_ARE_POSTED
    queryset = Charge.objects.select_related("service_code", "reversed_by").prefetch_related(
        Prefetch("appointment__diagnoses", queryset=VisitDiagnosis.objects.order_by("position"))
    )
    serializer_class = billing_serializers.ChargeSerializer
    filterset_class = ChargeFilterSet
    input_serializers = {
        "create": billing_serializers.ChargePostSerializer,
        "reverse": billing_serializers.ChargeReverseSerializer,
        "write_off": account_serializers.WriteOffSerializer,
    }

    def get_serializer_class(self):
        return self.input_serializers.get(self.action, self.serializer_class)

    def validated(self, request) -> dict:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def reread(self, charges) -> list[Charge]:
        found = {c.pk: c for c in self.get_queryset().filter(pk__in=[c.pk for c in charges])}
        return [found[c.pk] for c in charges]

    def create(self, request, *args, **kwargs):
        data = self.validated(request)
        visits = restricted(Appointment.objects, request.user)
        if not visits.filter(pk=data["appointment"].pk).exists():
            raise exceptions.NotFound("No such appointment.")
        lines = [
            ChargeLine(
                service_code=line["service_code"],
                units=line["units"],
                modifiers=tuple(line["modifiers"]),
                diagnosis_pointers=tuple(line["diagnosis_pointers"]),
                place_of_service=line["place_of_service"],
            )
            for line in data["lines"]
        ]
        try:
            with transaction.atomic():
                # Locked first so no other change of the visit's diagnoses slips in between.
                appointment = visits.select_for_update(of=("self",)).get(pk=data["appointment"].pk)
                current = list(appointment.diagnoses.values_list("code", flat=True))
                if "diagnoses" in data:
                    codes = [icd10_normalise(code) for code in data["diagnoses"]]
                    if codes != current:
                        check_posted_pointers(appointment, current, codes)
                        visit_diagnoses_set(
                            acting_user=request.user, appointment=appointment, codes=codes
                        )
                charges = charges_post(
                    acting_user=request.user, appointment=appointment, lines=lines
                )
        except DjangoValidationError as error:
            raise as_api_error(error, {"codes": "diagnoses"}) from error
        body = billing_serializers.ChargeSerializer(self.reread(charges), many=True).data
        return Response(body, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def reverse(self, request, pk=None):
        data = self.validated(request)
        charge = self.get_object()
        try:
            reversal = charge_reverse(
                acting_user=request.user, charge=charge, reason=data["reason"]
            )
        except DjangoValidationError as error:
            raise as_api_error(error) from error
        body = billing_serializers.ChargeSerializer(self.reread([reversal])[0]).data
        return Response(body, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"], url_path="write-off")
    def write_off(self, request, pk=None):
        data = self.validated(request)
        charge = self.get_object()
        try:
            entry = balance_write_off(
                acting_user=request.user,
                approver=request.user,
                charge=charge,
                amount=data["amount"],
                reason=data["reason"],
                responsibility=data["responsibility"],
            )
        except DjangoValidationError as error:
            raise as_api_error(error) from error
        body = account_serializers.LedgerEntrySerializer(entry).data
        return Response(body, status=status.HTTP_201_CREATED)


def claim_response(claim: Claim, viewset, code=status.HTTP_200_OK) -> Response:
    claim = viewset.get_queryset().get(pk=claim.pk)
    return Response(billing_serializers.ClaimSerializer(claim).data, status=code)


@extend_schema_view(
    create=extend_schema(
        request=billing_serializers.ClaimCreateSerializer,
        responses={201: billing_serializers.ClaimSerializer},
        description="Claim a visit's open charges to its primary coverage on the date of "
        "service, or (given primary_claim) the secondary claim after the primary payer has "
        "paid; the claim starts as a draft.",
    ),
    scrub=extend_schema(
        responses=billing_serializers.ClaimScrubSerializer,
        description="Everything that would get the claim rejected, in plain words.",
    ),
    ready=extend_schema(
        request=None,
        responses={
            200: billing_serializers.ClaimSerializer,
            400: OpenApiResponse(
                billing_serializers.ClaimProblemsSerializer,
                description="The claim is not clean: the problems to fix.",
            ),
        },
        description="Scrub the claim; only a clean claim becomes ready to submit.",
    ),
    set_status=extend_schema(
        request=billing_serializers.ClaimStatusSerializer,
        responses=billing_serializers.ClaimSerializer,
        description="A lifecycle step, as on the claim's page: ready (through the scrubber), "
        "back to draft, appealed (with a note) or closed.",
    ),
)
class ClaimViewSet(
    ImmutableMixin, ReadAuditMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet
):
    """Claims with their lines and balance."""

    area = "billing"
    action_permissions = {
        "create": "change",
        "scrub": "view",
        "ready": "change",
        "set_status": "change",
    }
    immutable_message = CLAIMS_CHANGE_BY_ACTIONS
    queryset = Claim.objects.all()
    serializer_class = billing_serializers.ClaimSerializer
    filterset_class = ClaimFilterSet
    input_serializers = {
        "create": billing_serializers.ClaimCreateSerializer,
        "set_status": billing_serializers.ClaimStatusSerializer,
    }

    def get_queryset(self):
        claims = self.queryset.annotate(balance=claim_balance_subquery()).prefetch_related(
            Prefetch(
                "lines",
                queryset=ClaimLine.objects.select_related("charge__service_code").order_by(
                    "line_number"
                ),
            ),
            Prefetch(
                "appointment__diagnoses", queryset=VisitDiagnosis.objects.order_by("position")
            ),
        )
        return restricted(claims, self.request.user)

    def get_serializer_class(self):
        return self.input_serializers.get(self.action, self.serializer_class)

    def validated(self, request) -> dict:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def create(self, request, *args, **kwargs):
        data = self.validated(request)
        try:
            if "primary_claim" in data:
                primary = self.get_queryset().filter(pk=data["primary_claim"].pk).first()
                if primary is None:
                    raise exceptions.NotFound("No such claim.")
                claim = claim_secondary_create(acting_user=request.user, primary=primary)
            else:
                appointment = (
                    restricted(Appointment.objects, request.user)
                    .select_related("patient")
                    .filter(pk=data["appointment"].pk)
                    .first()
                )
                if appointment is None:
                    raise exceptions.NotFound("No such appointment.")
                claim = claim_create(acting_user=request.user, appointment=appointment)
        except DjangoValidationError as error:
            raise as_api_error(error) from error
        return claim_response(claim, self, status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"])
    def scrub(self, request, pk=None):
        claim = self.get_object()
        audit_record_read(request, claim, via="api")
        problems = claim_scrub(claim)
        return Response({"claim": claim.pk, "clean": not problems, "problems": problems})

    @action(detail=True, methods=["post"])
    def ready(self, request, pk=None):
        claim = self.get_object()
        try:
            claim = claim_mark_ready(acting_user=request.user, claim=claim)
        except DjangoValidationError as error:
            raise serializers.ValidationError({"problems": error.messages}) from error
        return claim_response(claim, self)

    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, pk=None):
        data = self.validated(request)
        claim = self.get_object()
        try:
            if data["status"] == Claim.Status.READY:
                claim = claim_mark_ready(acting_user=request.user, claim=claim)
            else:
                claim = claim_step(
                    acting_user=request.user,
                    claim=claim,
                    to_status=data["status"],
                    note=data["note"],
                )
        except DjangoValidationError as error:
            if hasattr(error, "error_dict"):
                raise as_api_error(error) from error
            raise serializers.ValidationError({"status": error.messages}) from error
        return claim_response(claim, self)
