"""REST representations. They only validate and hand over: every write that matters goes
through the same service (or the same ``full_clean()`` rules) as the pages."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import serializers
from rest_framework.utils import model_meta

from practicedesk.api.base import as_api_error
from practicedesk.core.models import Location
from practicedesk.patients.models import Coverage, Patient
from practicedesk.patients.services import patient_register, patient_update
from practicedesk.scheduling.models import Appointment, AppointmentType, Provider, Room
from practicedesk.scheduling.services import FLOW_NEXT


class CleanModelSerializer(serializers.ModelSerializer):
    """Saves through the model's ``full_clean()``: the API keeps the forms' rules."""

    def create(self, validated_data):
        many = self.pop_to_many(validated_data)
        return self.clean_and_save(self.Meta.model(**validated_data), many)

    def update(self, instance, validated_data):
        many = self.pop_to_many(validated_data)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return self.clean_and_save(instance, many)

    def pop_to_many(self, validated_data) -> dict:
        relations = model_meta.get_field_info(self.Meta.model).relations
        return {
            name: validated_data.pop(name)
            for name in list(validated_data)
            if name in relations and relations[name].to_many
        }

    @transaction.atomic
    def clean_and_save(self, instance, many: dict):
        try:
            instance.full_clean()
        except DjangoValidationError as error:
            raise as_api_error(error) from error
        instance.save()
        for name, values in many.items():
            getattr(instance, name).set(values)
        return instance


class PatientSerializer(serializers.ModelSerializer):
    class Meta:
        model = Patient
        fields = [
            "id",
            "mrn",
            "first_name",
            "middle_name",
            "last_name",
            "suffix",
            "preferred_name",
            "date_of_birth",
            "sex_at_birth",
            "gender_identity",
            "mobile_phone",
            "home_phone",
            "email",
            "preferred_language",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
            "emergency_contact_name",
            "emergency_contact_phone",
            "emergency_contact_relationship",
            "guarantor",
            "referral_source",
            "home_location",
            "reminder_email_consent",
            "marketing_email_consent",
            "status",
            "merged_into",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["mrn", "merged_into", "created_at", "updated_at"]

    def validate_status(self, value):
        if value == Patient.Status.MERGED:
            raise serializers.ValidationError(
                "Records are merged with the merge action, not by setting the status."
            )
        return value

    def create(self, validated_data):
        try:
            return patient_register(
                acting_user=self.context["request"].user, patient=Patient(**validated_data)
            )
        except DjangoValidationError as error:
            raise as_api_error(error) from error

    def update(self, instance, validated_data):
        for name, value in validated_data.items():
            setattr(instance, name, value)
        try:
            return patient_update(acting_user=self.context["request"].user, patient=instance)
        except DjangoValidationError as error:
            raise as_api_error(error) from error


class CoverageSerializer(CleanModelSerializer):
    class Meta:
        model = Coverage
        fields = [
            "id",
            "patient",
            "payer",
            "plan_name",
            "member_id",
            "group_number",
            "order",
            "relationship",
            "subscriber_first_name",
            "subscriber_last_name",
            "subscriber_date_of_birth",
            "subscriber_sex",
            "effective_date",
            "end_date",
            "created_at",
        ]
        read_only_fields = ["created_at"]


class ProviderSerializer(CleanModelSerializer):
    class Meta:
        model = Provider
        fields = [
            "id",
            "first_name",
            "last_name",
            "credentials",
            "npi",
            "taxonomy_code",
            "specialty",
            "locations",
            "is_active",
        ]


class LocationSerializer(CleanModelSerializer):
    class Meta:
        model = Location
        fields = [
            "id",
            "code",
            "name",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
            "phone",
            "fax",
            "npi",
            "tax_id",
            "is_active",
        ]


class AppointmentTypeSerializer(CleanModelSerializer):
    class Meta:
        model = AppointmentType
        fields = [
            "id",
            "name",
            "duration_minutes",
            "colour",
            "patient_kind",
            "needs_room",
            "is_active",
        ]


class AppointmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Appointment
        fields = [
            "id",
            "patient",
            "provider",
            "location",
            "room",
            "appointment_type",
            "coverage",
            "start",
            "end",
            "status",
            "reason",
            "notes",
            "is_overbook",
            "overbook_reason",
            "series_id",
            "booked_by",
            "booked_at",
            "confirmed_at",
            "arrived_at",
            "roomed_at",
            "provider_at",
            "checked_out_at",
            "cancelled_at",
            "cancel_reason",
            "is_late_cancel",
        ]
        read_only_fields = fields


class AppointmentBookSerializer(serializers.Serializer):
    """What booking needs; ``appointment_book`` decides whether the time can be had."""

    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all())
    provider = serializers.PrimaryKeyRelatedField(queryset=Provider.objects.all())
    location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.all())
    appointment_type = serializers.PrimaryKeyRelatedField(queryset=AppointmentType.objects.all())
    start = serializers.DateTimeField()
    room = serializers.PrimaryKeyRelatedField(
        queryset=Room.objects.all(), required=False, allow_null=True
    )
    coverage = serializers.PrimaryKeyRelatedField(
        queryset=Coverage.objects.all(), required=False, allow_null=True
    )
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    overbook_reason = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )


class AppointmentCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, allow_blank=True, default="")


class AppointmentRescheduleSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    provider = serializers.PrimaryKeyRelatedField(
        queryset=Provider.objects.all(), required=False, allow_null=True
    )
    room = serializers.PrimaryKeyRelatedField(
        queryset=Room.objects.all(), required=False, allow_null=True
    )


FLOW_TARGETS = sorted({status for targets in FLOW_NEXT.values() for status in targets})


class AppointmentAdvanceSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[(status, Appointment.Status(status).label) for status in FLOW_TARGETS]
    )


class SlotQuerySerializer(serializers.Serializer):
    appointment_type = serializers.PrimaryKeyRelatedField(
        queryset=AppointmentType.objects.filter(is_active=True)
    )
    location = serializers.PrimaryKeyRelatedField(
        queryset=Location.objects.all(), required=False, allow_null=True
    )
    provider = serializers.PrimaryKeyRelatedField(
        queryset=Provider.objects.all(), required=False, allow_null=True
    )
    date = serializers.DateField(required=False, help_text="First day searched; today if empty.")
    days = serializers.IntegerField(min_value=1, max_value=31, default=7)


class SlotNextQuerySerializer(serializers.Serializer):
    appointment_type = serializers.PrimaryKeyRelatedField(
        queryset=AppointmentType.objects.filter(is_active=True)
    )
    location = serializers.PrimaryKeyRelatedField(
        queryset=Location.objects.all(), required=False, allow_null=True
    )
    provider = serializers.PrimaryKeyRelatedField(
        queryset=Provider.objects.all(), required=False, allow_null=True
    )
    not_before = serializers.DateTimeField(required=False, help_text="Now if empty.")


class SlotSerializer(serializers.Serializer):
    provider = serializers.IntegerField(source="provider.pk")
    provider_name = serializers.CharField(source="provider")
    location = serializers.IntegerField(source="location_id")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
