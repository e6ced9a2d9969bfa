"""Billing representations. Reference data (payers, codes, prices) is saved through the model
rules and the pages' form rules; charges and claims only come in as what their services need."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import serializers

from practicedesk.api.base import as_api_error
from practicedesk.api.serializers import CleanModelSerializer
from practicedesk.billing.models import (
    Charge,
    Claim,
    ClaimLine,
    Fee,
    FeeSchedule,
    ServiceCode,
    modifier_validator,
)
from practicedesk.patients.models import Payer
from practicedesk.scheduling.models import Appointment

MAX_DIAGNOSES = 12
MAX_LINES = 30


class PayerSerializer(CleanModelSerializer):
    class Meta:
        model = Payer
        fields = [
            "id",
            "name",
            "payer_type",
            "payer_id",
            "phone",
            "timely_filing_days",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
            "is_active",
        ]


def upper_stripped(data, name: str):
    """The request data with ``name`` in upper case, as the pages' forms clean it."""
    if not hasattr(data, "get") or not isinstance(data.get(name), str):
        return data
    data = data.dict() if hasattr(data, "dict") else dict(data)
    data[name] = data[name].strip().upper()
    return data


class ServiceCodeSerializer(CleanModelSerializer):
    class Meta:
        model = ServiceCode
        fields = ["id", "code", "description", "default_units", "is_active"]

    def to_internal_value(self, data):
        return super().to_internal_value(upper_stripped(data, "code"))

    def validate_code(self, value):
        instance = self.instance
        if instance is not None and value != instance.code and instance.charges.exists():
            raise serializers.ValidationError(
                f"{instance.code} has posted charges, which must keep their code; archive it "
                "and add the new code instead."
            )
        return value


def active_service_code():
    return serializers.PrimaryKeyRelatedField(
        queryset=ServiceCode.objects.filter(is_active=True),
        error_messages={"does_not_exist": "Service code {pk_value} does not exist or is archived."},
    )


class ScheduleFeeSerializer(serializers.ModelSerializer):
    """A fee inside its schedule (the schedule is the parent)."""

    service_code = active_service_code()
    code = serializers.CharField(source="service_code.code", read_only=True)

    class Meta:
        model = Fee
        fields = ["id", "service_code", "code", "amount"]


class FeeScheduleSerializer(CleanModelSerializer):
    fees = ScheduleFeeSerializer(
        many=True,
        required=False,
        help_text="Given when the schedule is created; afterwards each fee is changed at "
        "/api/fees/.",
    )

    class Meta:
        model = FeeSchedule
        fields = ["id", "name", "payer", "effective_from", "effective_to", "created_at", "fees"]
        read_only_fields = ["created_at"]

    def validate(self, attrs):
        if self.instance is not None and "fees" in attrs:
            raise serializers.ValidationError(
                {"fees": ["Change the fees of an existing schedule one by one at /api/fees/."]}
            )
        instance = self.instance
        start = attrs.get("effective_from", instance.effective_from if instance else None)
        end = attrs.get("effective_to", instance.effective_to if instance else None)
        payer = attrs.get("payer", instance.payer if instance else None)
        errors = {}
        if start and end and end < start:
            errors["effective_to"] = ["The schedule would end before it starts."]
        if start:
            same_start = FeeSchedule.objects.filter(payer=payer, effective_from=start)
            if instance is not None:
                same_start = same_start.exclude(pk=instance.pk)
            first = same_start.first()
            if first is not None:
                errors["effective_from"] = [
                    f"“{first}” already starts on {start}; change its fees or choose another date."
                ]
        seen = set()
        for fee in attrs.get("fees", []):
            code = fee["service_code"]
            if code.pk in seen:
                errors.setdefault("fees", []).append(f"{code.code} is listed twice.")
            seen.add(code.pk)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    @transaction.atomic
    def create(self, validated_data):
        fees = validated_data.pop("fees", [])
        schedule = self.clean_and_save(FeeSchedule(**validated_data), {})
        for index, fee in enumerate(fees):
            fee = Fee(fee_schedule=schedule, **fee)
            try:
                fee.full_clean()
            except DjangoValidationError as error:
                raise serializers.ValidationError(
                    {"fees": {index: as_api_error(error).detail}}
                ) from error
            fee.save()
        return schedule


class FeeSerializer(CleanModelSerializer):
    """One fee of a schedule, as the schedule's page adds or changes it."""

    service_code = active_service_code()
    code = serializers.CharField(source="service_code.code", read_only=True)

    class Meta:
        model = Fee
        fields = ["id", "fee_schedule", "service_code", "code", "amount"]
        # One fee per code and schedule is checked in validate(), with the pages' message.
        validators = []

    def validate(self, attrs):
        instance = self.instance
        schedule = attrs.get("fee_schedule", instance.fee_schedule if instance else None)
        code = attrs.get("service_code", instance.service_code if instance else None)
        taken = Fee.objects.filter(fee_schedule=schedule, service_code=code)
        if instance is not None:
            taken = taken.exclude(pk=instance.pk)
        if taken.exists():
            raise serializers.ValidationError(
                {
                    "service_code": [
                        f"{code.code} already has a fee in this schedule; change that one."
                    ]
                }
            )
        return attrs


# Charges


class ChargeSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="service_code.code", read_only=True)
    modifiers = serializers.ListField(child=serializers.CharField(), read_only=True)
    diagnoses = serializers.SerializerMethodField(
        help_text="The ICD-10-CM codes the line points to, in pointer order."
    )
    reversed_by = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Charge
        fields = [
            "id",
            "appointment",
            "patient",
            "rendering_provider",
            "date_of_service",
            "service_code",
            "code",
            "modifiers",
            "units",
            "place_of_service",
            "unit_price",
            "amount",
            "diagnosis_pointers",
            "diagnoses",
            "reverses",
            "reversed_by",
            "posted_at",
            "posted_by",
        ]
        read_only_fields = fields

    def get_diagnoses(self, charge) -> list[str]:
        codes = {d.position: d.code for d in charge.appointment.diagnoses.all()}
        return [codes[p] for p in charge.diagnosis_pointers if p in codes]


class ChargeLineInputSerializer(serializers.Serializer):
    service_code = active_service_code()
    units = serializers.IntegerField(min_value=1, max_value=999, default=1)
    modifiers = serializers.ListField(
        child=serializers.CharField(max_length=2), max_length=4, default=list
    )
    diagnosis_pointers = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_DIAGNOSES),
        min_length=1,
        max_length=4,
        default=[1],
        help_text="1 to 4 positions (1-12) of the visit's diagnoses.",
    )
    place_of_service = serializers.RegexField(
        r"^\d{2}$",
        default="11",
        error_messages={"invalid": "Place of service is a 2-digit code, e.g. 11."},
    )

    def validate_modifiers(self, value):
        modifiers = [modifier.strip().upper() for modifier in value if modifier.strip()]
        for modifier in modifiers:
            try:
                modifier_validator(modifier)
            except DjangoValidationError as error:
                raise serializers.ValidationError(error.messages) from error
        return modifiers

    def validate_diagnosis_pointers(self, value):
        if len(set(value)) != len(value):
            raise serializers.ValidationError("A diagnosis is pointed to twice.")
        return value


class ChargePostSerializer(serializers.Serializer):
    """A visit's diagnoses and service lines, posted together: all of it or nothing."""

    appointment = serializers.PrimaryKeyRelatedField(queryset=Appointment.objects.all())
    diagnoses = serializers.ListField(
        child=serializers.CharField(max_length=10),
        max_length=MAX_DIAGNOSES,
        required=False,
        help_text="The visit's ICD-10-CM codes in claim order (1-12); the ones already "
        "recorded are kept if this is left out.",
    )
    lines = ChargeLineInputSerializer(many=True, allow_empty=False, max_length=MAX_LINES)


class ChargeReverseSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=200, help_text="Why the charge is reversed, e.g. “Wrong code”."
    )


# Claims


class ClaimLineSerializer(serializers.ModelSerializer):
    service_code = serializers.CharField(source="charge.service_code.code")
    modifiers = serializers.ListField(child=serializers.CharField(), source="charge.modifiers")
    units = serializers.IntegerField(source="charge.units")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, source="charge.amount")
    diagnosis_pointers = serializers.ListField(
        child=serializers.IntegerField(), source="charge.diagnosis_pointers"
    )

    class Meta:
        model = ClaimLine
        fields = [
            "line_number",
            "charge",
            "service_code",
            "modifiers",
            "units",
            "amount",
            "diagnosis_pointers",
        ]
        read_only_fields = fields


class ClaimSerializer(serializers.ModelSerializer):
    lines = ClaimLineSerializer(many=True, read_only=True)
    diagnoses = serializers.SerializerMethodField(
        help_text="The visit's ICD-10-CM codes in claim order."
    )
    balance = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        read_only=True,
        help_text="What the payer still owes on the claim's lines (the sum of their entries).",
    )

    class Meta:
        model = Claim
        fields = [
            "id",
            "claim_number",
            "appointment",
            "patient",
            "coverage",
            "payer",
            "payer_order",
            "primary_claim",
            "billing_location",
            "rendering_provider",
            "date_of_service",
            "status",
            "total_charge",
            "balance",
            "diagnoses",
            "lines",
            "batch",
            "first_submitted_at",
            "denial_reason",
            "created_at",
            "created_by",
        ]
        read_only_fields = fields

    def get_diagnoses(self, claim) -> list[str]:
        return [d.code for d in claim.appointment.diagnoses.all()]


class ClaimCreateSerializer(serializers.Serializer):
    """A visit's primary claim, or the secondary claim that follows a paid primary claim."""

    appointment = serializers.PrimaryKeyRelatedField(
        queryset=Appointment.objects.all(),
        required=False,
        help_text="The visit whose open charges are claimed to its primary coverage.",
    )
    primary_claim = serializers.PrimaryKeyRelatedField(
        queryset=Claim.objects.all(),
        required=False,
        help_text="Instead of appointment: the paid primary claim a secondary claim follows.",
    )

    def validate(self, attrs):
        if ("appointment" in attrs) == ("primary_claim" in attrs):
            raise serializers.ValidationError(
                "Give the appointment (a primary claim) or the primary claim (its secondary "
                "claim), not both."
            )
        return attrs


class ClaimStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=Claim.Status.choices,
        help_text="“ready” scrubs the claim first; by hand a claim goes back to draft, is "
        "appealed or closed. Submitted, paid and denied come from the export and remittances.",
    )
    note = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        default="",
        help_text="Kept in the claim's history; an appeal says what it argues.",
    )


class ClaimScrubSerializer(serializers.Serializer):
    claim = serializers.IntegerField()
    clean = serializers.BooleanField(help_text="True when nothing would get the claim rejected.")
    problems = serializers.ListField(child=serializers.CharField())


class ClaimProblemsSerializer(serializers.Serializer):
    problems = serializers.ListField(child=serializers.CharField())
