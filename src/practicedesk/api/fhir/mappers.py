"""Our records as FHIR R4 resources (plain JSON-ready dicts; the tests validate each type)."""

import datetime

from django.conf import settings
from django.utils import timezone

from practicedesk.core.models import Location
from practicedesk.patients.models import Patient
from practicedesk.scheduling.availability import Slot
from practicedesk.scheduling.models import Appointment, AppointmentType, Provider

MRN_SYSTEM = "urn:practicedesk:mrn"
LOCATION_CODE_SYSTEM = "urn:practicedesk:location"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
TAXONOMY_SYSTEM = "http://nucc.org/provider-taxonomy"
IDENTIFIER_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"
APPOINTMENT_TYPE_SYSTEM = "urn:practicedesk:appointment-type"

GENDER = {
    Patient.SexAtBirth.FEMALE: "female",
    Patient.SexAtBirth.MALE: "male",
    Patient.SexAtBirth.UNKNOWN: "unknown",
}

Status = Appointment.Status
APPOINTMENT_STATUS = {
    Status.SCHEDULED: "booked",
    Status.CONFIRMED: "booked",
    Status.ARRIVED: "arrived",
    Status.ROOMED: "checked-in",
    Status.WITH_PROVIDER: "checked-in",
    Status.CHECKED_OUT: "fulfilled",
    Status.CANCELLED: "cancelled",
    Status.NO_SHOW: "noshow",
}
# A FHIR status names one or more of ours (booked: scheduled or confirmed, and so on).
STATUSES_FOR_FHIR: dict[str, list[str]] = {}
for ours, theirs in APPOINTMENT_STATUS.items():
    STATUSES_FOR_FHIR.setdefault(theirs, []).append(ours)


def instant(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds")


def reference(resource_type: str, pk, display: str = "") -> dict:
    ref = {"reference": f"{resource_type}/{pk}"}
    if display:
        ref["display"] = display
    return ref


def address(record) -> dict:
    lines = [line for line in (record.address_line1, record.address_line2) if line]
    return {
        "use": "work" if isinstance(record, Location) else "home",
        "line": lines,
        "city": record.city,
        "state": record.state,
        "postalCode": record.postal_code,
        "country": "US",
    }


def telecom(system: str, value: str, use: str) -> dict:
    return {"system": system, "value": value, "use": use}


def npi_identifier(npi: str) -> dict:
    return {
        "use": "official",
        "type": {"coding": [{"system": IDENTIFIER_TYPE_SYSTEM, "code": "NPI"}]},
        "system": NPI_SYSTEM,
        "value": npi,
    }


def patient_resource(patient: Patient) -> dict:
    name = {"use": "official", "family": patient.last_name, "given": [patient.first_name]}
    if patient.middle_name:
        name["given"].append(patient.middle_name)
    if patient.suffix:
        name["suffix"] = [patient.suffix]
    names = [name]
    if patient.preferred_name:
        names.append({"use": "usual", "given": [patient.preferred_name]})
    phones = [
        telecom("phone", number, use)
        for number, use in ((patient.mobile_phone, "mobile"), (patient.home_phone, "home"))
        if number
    ]
    if patient.email:
        phones.append(telecom("email", patient.email, "home"))
    resource = {
        "resourceType": "Patient",
        "id": str(patient.pk),
        "meta": {"lastUpdated": instant(patient.updated_at)},
        "identifier": [
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {
                            "system": IDENTIFIER_TYPE_SYSTEM,
                            "code": "MR",
                            "display": "Medical record number",
                        }
                    ]
                },
                "system": MRN_SYSTEM,
                "value": patient.mrn,
            }
        ],
        "active": patient.status == Patient.Status.ACTIVE,
        "name": names,
        "telecom": phones,
        "gender": GENDER.get(patient.sex_at_birth, "unknown"),
        "birthDate": patient.date_of_birth.isoformat(),
        "deceasedBoolean": patient.status == Patient.Status.DECEASED,
        "address": [address(patient)],
        "communication": [{"language": {"text": patient.preferred_language}, "preferred": True}],
    }
    if patient.emergency_contact_name:
        contact = {
            "relationship": [{"text": patient.emergency_contact_relationship or "Emergency"}],
            "name": {"text": patient.emergency_contact_name},
        }
        if patient.emergency_contact_phone:
            contact["telecom"] = [telecom("phone", patient.emergency_contact_phone, "home")]
        resource["contact"] = [contact]
    if patient.merged_into_id:
        resource["link"] = [
            {"other": reference("Patient", patient.merged_into_id), "type": "replaced-by"}
        ]
    return resource


def practitioner_resource(provider: Provider) -> dict:
    name = {"use": "official", "family": provider.last_name, "given": [provider.first_name]}
    if provider.credentials:
        name["suffix"] = [provider.credentials]
    return {
        "resourceType": "Practitioner",
        "id": str(provider.pk),
        "identifier": [npi_identifier(provider.npi)],
        "active": provider.is_active,
        "name": [name],
        "qualification": [
            {
                "code": {
                    "coding": [
                        {
                            "system": TAXONOMY_SYSTEM,
                            "code": provider.taxonomy_code,
                            "display": provider.specialty,
                        }
                    ],
                    "text": " ".join(filter(None, [provider.credentials, provider.specialty])),
                }
            }
        ],
    }


def location_resource(location: Location) -> dict:
    identifiers = [{"use": "usual", "system": LOCATION_CODE_SYSTEM, "value": location.code}]
    if location.npi:
        identifiers.append(npi_identifier(location.npi))
    phones = [telecom("phone", location.phone, "work")]
    if location.fax:
        phones.append(telecom("fax", location.fax, "work"))
    return {
        "resourceType": "Location",
        "id": str(location.pk),
        "identifier": identifiers,
        "status": "active" if location.is_active else "inactive",
        "name": location.name,
        "mode": "instance",
        "telecom": phones,
        "address": address(location),
    }


def appointment_type_concept(appointment_type: AppointmentType) -> dict:
    return {
        "coding": [
            {
                "system": APPOINTMENT_TYPE_SYSTEM,
                "code": str(appointment_type.pk),
                "display": appointment_type.name,
            }
        ],
        "text": appointment_type.name,
    }


def appointment_resource(appointment: Appointment) -> dict:
    participant_status = "declined" if appointment.status == Status.CANCELLED else "accepted"
    resource = {
        "resourceType": "Appointment",
        "id": str(appointment.pk),
        "status": APPOINTMENT_STATUS[appointment.status],
        "appointmentType": appointment_type_concept(appointment.appointment_type),
        "start": instant(appointment.start),
        "end": instant(appointment.end),
        "minutesDuration": appointment.minutes,
        "created": instant(appointment.booked_at),
        "participant": [
            {
                "actor": reference(
                    "Patient", appointment.patient_id, appointment.patient.display_name
                ),
                "required": "required",
                "status": participant_status,
            },
            {
                "actor": reference(
                    "Practitioner", appointment.provider_id, str(appointment.provider)
                ),
                "required": "required",
                "status": "accepted",
            },
            {
                "actor": reference("Location", appointment.location_id, str(appointment.location)),
                "required": "required",
                "status": "accepted",
            },
        ],
    }
    if appointment.reason:
        resource["description"] = appointment.reason
    if appointment.status == Status.CANCELLED and appointment.cancel_reason:
        resource["cancelationReason"] = {"text": appointment.cancel_reason}
    return resource


def schedule_id(provider_id: int, location_id: int) -> str:
    return f"{provider_id}-{location_id}"


def schedule_resource(provider: Provider, location: Location) -> dict:
    today = timezone.localdate()
    horizon_end = today + datetime.timedelta(days=settings.SLOT_SEARCH_DAYS)
    return {
        "resourceType": "Schedule",
        "id": schedule_id(provider.pk, location.pk),
        "active": provider.is_active and location.is_active,
        "actor": [
            reference("Practitioner", provider.pk, str(provider)),
            reference("Location", location.pk, str(location)),
        ],
        "specialty": [{"text": provider.specialty}],
        "planningHorizon": {"start": today.isoformat(), "end": horizon_end.isoformat()},
        "comment": f"{provider} at {location}",
    }


SLOT_ID_TIME = "%Y%m%d%H%M"


def slot_id(slot: Slot, appointment_type: AppointmentType) -> str:
    """Schedule, appointment type and start (UTC), e.g. 4-2-7-202501061400."""
    start = slot.start.astimezone(datetime.UTC)
    return f"{slot.provider.pk}-{slot.location_id}-{appointment_type.pk}-{start:{SLOT_ID_TIME}}"


def slot_resource(slot: Slot, appointment_type: AppointmentType) -> dict:
    return {
        "resourceType": "Slot",
        "id": slot_id(slot, appointment_type),
        "schedule": reference("Schedule", schedule_id(slot.provider.pk, slot.location_id)),
        "status": "free",
        "start": instant(slot.start),
        "end": instant(slot.end),
        "appointmentType": appointment_type_concept(appointment_type),
        "specialty": [{"text": slot.provider.specialty}],
    }
